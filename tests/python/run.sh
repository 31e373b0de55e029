#!/usr/bin/env bash
# Generates a Python client from proto/ and runs it against a freshly started shequ-registry, then
# a survey client against a shequ-survey pointed at that registry: proof that another language can
# integrate using nothing but the contracts.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'kill "${survey:-0}" "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
mkdir -p "$work/gen"
"$work/venv/bin/python" -m grpc_tools.protoc -I proto --python_out="$work/gen" --grpc_python_out="$work/gen" \
    $(cd proto && find . -name '*.proto' | sed 's|^\./||')

cargo build --locked --quiet --bin shequ-registry --bin shequ-survey
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/debug/shequ-registry serve --listen "127.0.0.1:$port" --database-url "sqlite://$work/registry.sqlite" \
    >"$work/server.log" 2>&1 &
server=$!
if ! PYTHONPATH="$work/gen" "$work/venv/bin/python" tests/python/registry_client.py "127.0.0.1:$port" data/divisions/sample; then
    echo "--- server log ---"; cat "$work/server.log"; exit 1
fi
survey_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SHEQU__SURVEY__REGISTRY_ENDPOINT="http://127.0.0.1:$port" target/debug/shequ-survey serve \
    --listen "127.0.0.1:$survey_port" --database-url "sqlite://$work/survey.sqlite" >"$work/survey.log" 2>&1 &
survey=$!
if ! PYTHONPATH="$work/gen" "$work/venv/bin/python" tests/python/survey_client.py "127.0.0.1:$survey_port"; then
    echo "--- survey log ---"; cat "$work/survey.log"; exit 1
fi
kill -TERM "$survey"
wait "$survey"
echo "survey stopped cleanly on SIGTERM"
kill -TERM "$server"
wait "$server"
echo "registry stopped cleanly on SIGTERM"
