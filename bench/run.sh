#!/usr/bin/env bash
# dwell's speed and memory benchmark, in one run, on one corpus:
#   - the parse-only floor: the evtx crate rendering every record as JSON, one thread;
#   - dwell hunt on the EVTX files, 1 thread and all threads;
#   - RSigma and dwell on the same events as flat JSON lines, 1 thread;
#   - loading and compiling every SigmaHQ rule.
# Each measurement is repeated (REPEAT, default 3) and the median is reported, with peak RSS.
#
# Usage: bench/run.sh [COPIES]       (COPIES of ../shared/data/evtx/parser-samples, default 20)
#        BASELINE=/path/to/older/dwell bench/run.sh   also measures an older build on the same
#        corpus in the same run, for before/after comparisons of a change.
# Needs: ../shared, GNU time (/usr/bin/time), taskset; installs rsigma 0.23.0 if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COPIES=${1:-20}
REPEAT=${REPEAT:-3}
SHARED=${DWELL_SHARED:-$ROOT/../shared}
RULES=$SHARED/data/sigma/rules
SAMPLES=$SHARED/data/evtx/parser-samples
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwell-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
THREADS=$(nproc)

[ -d "$RULES" ] && [ -d "$SAMPLES" ] || { echo "bench: $SHARED/data is missing" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 2; }

echo "== building" >&2
cargo build --release -q -p dwell
cargo build --release -q --manifest-path bench/evtx-floor/Cargo.toml
DWELL=$ROOT/target/release/dwell
FLOOR=$ROOT/bench/evtx-floor/target/release/evtx-floor
if ! command -v rsigma >/dev/null; then
    echo "== installing rsigma 0.23.0 (once)" >&2
    cargo install rsigma --version 0.23.0 --locked -q
fi
RSIGMA=$(command -v rsigma)
RSIGMA_VERSION=$("$RSIGMA" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
[ "$RSIGMA_VERSION" = 0.23.0 ] || echo "bench: warning: $RSIGMA is rsigma ${RSIGMA_VERSION:-of unknown version}, not 0.23.0" >&2
command -v taskset >/dev/null || { echo "bench: needs taskset (util-linux)" >&2; exit 2; }

echo "== corpus: $COPIES copies of $SAMPLES" >&2
for i in $(seq 1 "$COPIES"); do
    mkdir -p "$WORK/evtx/c$i"
    cp "$SAMPLES"/*.evtx "$WORK/evtx/c$i/"
done
"$FLOOR" --flat-jsonl "$WORK/events.jsonl" "$WORK/evtx" >/dev/null
echo '{"Channel":"Security","EventID":4624}' > "$WORK/one.jsonl"
RECORDS=$("$FLOOR" "$WORK/evtx" | sed -E 's/.*records=([0-9]+).*/\1/')
JSON_RECORDS=$(wc -l < "$WORK/events.jsonl")
echo "   $RECORDS EVTX records ($(du -sh "$WORK/evtx" | cut -f1)), $JSON_RECORDS JSON lines ($(du -sh "$WORK/events.jsonl" | cut -f1))" >&2

. bench/lib.sh

echo "== measuring (median of $REPEAT)" >&2
floor=$(run floor taskset -c 0 "$FLOOR" "$WORK/evtx")
load=$(run load "$DWELL" hunt --rules "$RULES" "$WORK/one.jsonl" --no-progress -o /dev/null)
# One-thread runs are pinned to one core, as the floor and RSigma are: dwell's reader and
# output threads then share that core instead of borrowing the other one.
hunt_args_evtx=(hunt --rules "$RULES" "$WORK/evtx" --threads 1 --no-progress --format jsonl -o /dev/null)
hunt_args_json=(hunt --rules "$RULES" "$WORK/events.jsonl" --threads 1 --no-progress --format jsonl -o /dev/null)
dwell_evtx_1=(taskset -c 0 "$DWELL" "${hunt_args_evtx[@]}")
dwell_json_1=(taskset -c 0 "$DWELL" "${hunt_args_json[@]}")
if [ -n "${BASELINE:-}" ]; then
    # Each round runs this build and the baseline back to back (see `alternate`).
    base_evtx_1=(taskset -c 0 "$BASELINE" "${hunt_args_evtx[@]}")
    base_json_1=(taskset -c 0 "$BASELINE" "${hunt_args_json[@]}")
    alternate dwell_evtx_1 base_evtx_1
    alternate dwell_json_1 base_json_1
    b1=$(median base_evtx_1); bj=$(median base_json_1)
    d1=$(median dwell_evtx_1); dj=$(median dwell_json_1)
else
    d1=$(run dwell_evtx_1 "${dwell_evtx_1[@]}")
    dj=$(run dwell_json_1 "${dwell_json_1[@]}")
fi
dn=$(run dwell_evtx_n "$DWELL" hunt --rules "$RULES" "$WORK/evtx" --threads "$THREADS" --no-progress --format jsonl -o /dev/null)
rs=$(run rsigma_json_1 taskset -c 0 "$RSIGMA" engine eval -r "$RULES" -e "@$WORK/events.jsonl" --output-format ndjson --quiet --bloom-prefilter)

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
read -r fs fk <<< "$floor"; read -r ls lk <<< "$load"
read -r d1s d1k <<< "$d1"; read -r dns dnk <<< "$dn"
read -r djs djk <<< "$dj"; read -r rss rsk <<< "$rs"
fr=$(rate "$RECORDS" "$fs"); d1r=$(rate "$RECORDS" "$d1s"); dnr=$(rate "$RECORDS" "$dns")
djr=$(rate "$JSON_RECORDS" "$djs"); rsr=$(rate "$JSON_RECORDS" "$rss")

cat <<EOF
dwell benchmark: $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $COPIES copies of parser-samples
rules: $(find "$RULES" -name '*.yml' | wc -l) SigmaHQ rule files; events: $RECORDS EVTX records, $JSON_RECORDS JSON lines

| run | seconds | records/s | peak RSS MiB |
|---|---:|---:|---:|
| evtx crate, render JSON, 1 thread (floor) | $fs | $fr | $(mib "$fk") |
| dwell hunt EVTX, 1 thread, 1 core | $d1s | $d1r | $(mib "$d1k") |
| dwell hunt EVTX, $THREADS threads | $dns | $dnr | $(mib "$dnk") |
| dwell hunt JSON lines, 1 thread, 1 core | $djs | $djr | $(mib "$djk") |
| rsigma ${RSIGMA_VERSION:-?} JSON lines, 1 core (--bloom-prefilter) | $rss | $rsr | $(mib "$rsk") |
| dwell: load and compile all rules (prefilter automata are built later, on first use) | $ls | | $(mib "$lk") |

$(if [ -n "${BASELINE:-}" ]; then
    read -r b1s b1k <<< "$b1"; read -r bjs bjk <<< "$bj"
    echo "| baseline ($BASELINE) EVTX, 1 thread | $b1s | $(rate "$RECORDS" "$b1s") | $(mib "$b1k") |"
    echo "| baseline JSON lines, 1 thread | $bjs | $(rate "$JSON_RECORDS" "$bjs") | $(mib "$bjk") |"
    echo
    echo "this build / baseline: EVTX $(ratio "$b1s" "$d1s")x, JSON $(ratio "$bjs" "$djs")x faster"
fi)

ratios:
  dwell EVTX 1 thread / floor          = $(ratio "$d1r" "$fr")   (target >= 0.6)
  dwell JSON 1 thread / rsigma         = $(ratio "$djr" "$rsr")   (target >= 5)
  dwell EVTX $THREADS threads / 1 thread     = $(ratio "$dnr" "$d1r")   (ideal $THREADS)
  dwell peak RSS                       = $(mib "$(printf '%s\n' "$d1k" "$dnk" "$djk" | sort -n | tail -1)") MiB   (target <= 250)
  rule load                            = ${ls}s   (target < 0.5)
EOF
for f in dwell_evtx_1 dwell_json_1 rsigma_json_1; do
    echo "last stderr line of $f: $(tail -1 "$WORK/$f.err")"
done
