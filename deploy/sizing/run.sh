#!/usr/bin/env bash
# Measures the services' peak memory (peak_memory.py) with the binaries of BIN_DIR:
#   cargo build --release --bin shequ-registry --bin shequ-monitoring
#   bash deploy/sizing/run.sh target/release ../shared/data/divisions 40000
set -euo pipefail
cd "$(dirname "$0")/../.."
bin_dir=$(realpath "${1:-target/release}") data=$(realpath "${2:-data/divisions/hebei}") facilities=${3:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
mkdir -p "$work/gen"
"$work/venv/bin/python" -m grpc_tools.protoc -I proto --python_out="$work/gen" --grpc_python_out="$work/gen" \
    $(cd proto && find . -name '*.proto' | sed 's|^\./||')
PYTHONPATH="$work/gen" "$work/venv/bin/python" deploy/sizing/peak_memory.py "$bin_dir" "$data" "$facilities"
