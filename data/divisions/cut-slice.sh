#!/bin/sh
# Cut a slice of the national division codes (china-division 2.7.0 CSVs) into a smaller set
# of the same five gzipped files, keeping the source lines byte for byte and in source order.
#
# usage: cut-slice.sh SRC_DIR OUT_DIR FILTER...
#   FILTER is province=CODE, city=CODE or area=CODE; several filters are unioned.
#   A filter keeps that unit, everything whose parent columns point at it, and its ancestors
#   (area=110101 also keeps province 11 and city 1101).
# example: cut-slice.sh ../shared/data/divisions data/divisions/hebei province=13
#
# Only POSIX sh, awk and gzip. Rows are selected by the parent columns in the data
# (provinceCode, cityCode, areaCode), never by code prefix; afterwards every row's parents
# are checked to be in the slice.
set -eu

if [ "$#" -lt 3 ]; then
    echo "usage: $0 SRC_DIR OUT_DIR province=CODE|city=CODE|area=CODE..." >&2
    exit 2
fi
src=$1
out=$2
shift 2

files="provinces cities areas streets villages"
for f in $files; do
    [ -r "$src/$f.csv.gz" ] || { echo "missing $src/$f.csv.gz" >&2; exit 1; }
done

provinces=""
cities=""
areas=""
for filter in "$@"; do
    code=${filter#*=}
    case $code in
        '' | *[!0-9]*) echo "bad filter \`$filter\`: code must be digits" >&2; exit 2 ;;
    esac
    case $filter in
        province=*) provinces="$provinces $code" ;;
        city=*) cities="$cities $code" ;;
        area=*) areas="$areas $code" ;;
        *) echo "bad filter \`$filter\`: use province=, city= or area=" >&2; exit 2 ;;
    esac
done

# Ancestors of the city and area filters, read from the parent columns.
ancestors=$(
    {
        gzip -dc "$src/cities.csv.gz" | sed 's/^/cities,/'
        gzip -dc "$src/areas.csv.gz" | sed 's/^/areas,/'
    } | awk -F, -v C="$cities" -v A="$areas" '
        BEGIN {
            nc = split(C, cl, " "); for (i = 1; i <= nc; i++) want["cities," cl[i]] = 1
            na = split(A, al, " "); for (i = 1; i <= na; i++) want["areas," al[i]] = 1
        }
        ($1 "," $2) in want {
            found[$1 "," $2] = 1
            if ($1 == "cities") print "province", $4
            else { print "city", $4; print "province", $5 }
        }
        END {
            for (k in want) if (!(k in found)) {
                split(k, kk, ",")
                print "unknown " (kk[1] == "cities" ? "city" : "area") " code " kk[2] > "/dev/stderr"
                bad = 1
            }
            exit bad
        }'
)
keep_provinces=$(printf '%s\n' "$ancestors" | awk '$1 == "province" { printf "%s ", $2 }')
keep_cities=$(printf '%s\n' "$ancestors" | awk '$1 == "city" { printf "%s ", $2 }')

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

for f in $files; do
    case $f in
        provinces) keep="$provinces $keep_provinces" ;;
        cities) keep="$cities $keep_cities" ;;
        areas) keep="$areas" ;;
        *) keep="" ;;
    esac
    gzip -dc "$src/$f.csv.gz" | awk -F, -v K="$keep" -v P="$provinces" -v C="$cities" -v A="$areas" '
        function set(list, arr,   n, i, parts) {
            n = split(list, parts, " ")
            for (i = 1; i <= n; i++) if (parts[i] != "") arr[parts[i]] = 1
        }
        NR == 1 {
            set(K, keep); set(P, prov); set(C, city); set(A, area)
            for (i = 1; i <= NF; i++) col[$i] = i
            print
            next
        }
        ($1 in keep) ||
        (("provinceCode" in col) && ($(col["provinceCode"]) in prov)) ||
        (("cityCode" in col) && ($(col["cityCode"]) in city)) ||
        (("areaCode" in col) && ($(col["areaCode"]) in area))
    ' >"$tmp/$f.csv"
done

# Every row's parents must be in the slice: the data's parent columns agree with each other.
awk -F, '
    FNR == 1 { file = FILENAME; sub(/.*\//, "", file); for (i in col) delete col; for (i = 1; i <= NF; i++) col[$i] = i; next }
    { have[$1] = 1
      for (c in parent) if ((c in col) && !($(col[c]) in have)) { print file ": parent " $(col[c]) " of " $1 " not in slice" > "/dev/stderr"; bad = 1 } }
    END { exit bad }
    BEGIN { parent["provinceCode"]; parent["cityCode"]; parent["areaCode"]; parent["streetCode"] }
' "$tmp/provinces.csv" "$tmp/cities.csv" "$tmp/areas.csv" "$tmp/streets.csv" "$tmp/villages.csv"

mkdir -p "$out"
for f in $files; do
    # -n: no name or timestamp in the header, so re-running gives the same bytes.
    gzip -n -9 <"$tmp/$f.csv" >"$out/$f.csv.gz"
    printf '%s\t%s\n' "$f" "$(($(wc -l <"$tmp/$f.csv") - 1))"
done
