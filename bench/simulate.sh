#!/usr/bin/env bash
# The simulated estate (docs/simulate.md) at SCALE (default 1): how fast `dwell simulate` writes
# it, and a full hunt of it with the built-in rules alone and with every SigmaHQ rule of rules/
# beside them, on one thread pinned to one core and on all cores. REPEAT runs (default 3),
# medians. Needs GNU time and taskset; ../shared for the SigmaHQ runs (skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCALE=${1:-1}
REPEAT=${REPEAT:-3}
SHARED=${DWELL_SHARED:-$ROOT/../shared}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwell-simulate.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cargo build --release -q -p dwell
DWELL=$ROOT/target/release/dwell

: > "$WORK/simulate.times"
for i in $(seq 1 "$REPEAT"); do
    rm -rf "$WORK/estate"
    once simulate taskset -c 0 "$DWELL" simulate --out "$WORK/estate" --scale "$SCALE"
done
read -r secs kib <<< "$(median simulate)"
bytes=$(du -sb "$WORK/estate/logs" | cut -f1)
records=$(python3 -c "import json,sys; print(sum(json.load(open(sys.argv[1]))['files'].values()))" "$WORK/estate/truth.json")
printf 'simulate --scale %s: %s records, %.0f MB of logs in %.2f s (%.0f records/s, %.0f MB/s), peak RSS %s MiB\n' \
    "$SCALE" "$records" "$(echo "$bytes/1000000" | bc -l)" "$secs" "$(echo "$records/$secs" | bc -l)" \
    "$(echo "$bytes/1000000/$secs" | bc -l)" "$(mib "$kib")"

hunt() {
    local name=$1; shift
    local m; m=$(run "$name" "$@" "$WORK/estate/logs") || exit 2
    read -r s k <<< "$m"
    printf '%-34s %6.2f s  %8.0f records/s  %5.0f MB/s  peak RSS %s MiB\n' "$name" "$s" \
        "$(echo "$records/$s" | bc -l)" "$(echo "$bytes/1000000/$s" | bc -l)" "$(mib "$k")"
}
H=(hunt --no-progress --color never -f jsonl)
hunt "built-in rules, 1 thread" taskset -c 0 "$DWELL" "${H[@]}" -t 1
hunt "built-in rules, all cores" "$DWELL" "${H[@]}"
if [ -d "$SHARED/data/sigma/rules" ]; then
    R=(--rules "$SHARED/data/sigma/rules" --with-builtin)
    hunt "built-in + SigmaHQ, 1 thread" taskset -c 0 "$DWELL" "${H[@]}" "${R[@]}" -t 1
    hunt "built-in + SigmaHQ, all cores" "$DWELL" "${H[@]}" "${R[@]}"
else
    echo "SigmaHQ runs skipped: $SHARED/data/sigma/rules is missing" >&2
fi
