#!/usr/bin/env bash
# What Sigma correlations add to a hunt: EVENTS synthetic Security logon events (default ten
# million) over GROUPS distinct users (default one million), all inside one hour so every group
# is live at once (a password spray, below), hunted with two base rules, then with the same
# rules plus an `event_count` and a `temporal` correlation grouped by user. Also the investigation on the attack samples.
# Median of REPEAT runs (default 3) with peak RSS; prints the ratios against the targets.
#
# Usage: bench/correlation.sh [EVENTS] [GROUPS]     Needs GNU time; ../shared for the last part.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EVENTS=${1:-10000000}
NGROUPS=${2:-1000000}
REPEAT=${REPEAT:-3}
SHARED=${DWELL_SHARED:-$ROOT/../shared}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwell-corr.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 2; }

echo "== building" >&2
cargo build --release -q -p dwell
DWELL=$ROOT/target/release/dwell

echo "== $EVENTS events over $NGROUPS users" >&2
# A password spray: every 0.3 ms an event, users in turn, so each user gets EVENTS/GROUPS
# events spread over the hour (ten million events span 50 minutes). Each is a failed logon
# (4625), except that one user in ten logs on successfully (4624) on their last turn, which
# completes the `temporal` sequence; the `event_count` threshold is never reached, so every
# group stays live to the end.
awk -v n="$EVENTS" -v g="$NGROUPS" 'BEGIN {
    per = int(n / g);
    for (i = 0; i < n; i++) {
        us = i * 300; s = int(us / 1000000); frac = us % 1000000;
        u = i % g; turn = int(i / g);
        id = (turn == per - 1 && u % 10 == 0) ? 4624 : 4625;
        printf "{\"Channel\":\"Security\",\"EventID\":%d,\"Computer\":\"dc01\",\"TargetUserName\":\"user%d\",\"@timestamp\":\"2026-01-01T%02d:%02d:%02d.%06dZ\"}\n",
            id, u, int(s / 3600), int(s / 60) % 60, s % 60, frac
    }
}' > "$WORK/events.jsonl"
echo "   $(du -h "$WORK/events.jsonl" | cut -f1)" >&2

. bench/lib.sh
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b > 0 ? (a - b) / b * 100 : 0) }'; }

echo "== measuring (median of $REPEAT)" >&2
BASE=bench/correlation/base.yml
CORR=bench/correlation/correlations.yml
plain=$(run plain "$DWELL" hunt --rules "$BASE" "$WORK/events.jsonl" --no-progress --format jsonl -o /dev/null)
corr=$(run corr "$DWELL" hunt --rules "$BASE" --rules "$CORR" "$WORK/events.jsonl" --no-progress --format jsonl -o /dev/null)
read -r ps pk <<< "$plain"; read -r cs ck <<< "$corr"
fired=$(grep -o 'Detections: [0-9,]*' "$WORK/corr.err" | head -1)

if [ -d "$SHARED/data/evtx/attack-samples" ]; then
    R=$SHARED/data/sigma/rules; A=$SHARED/data/evtx/attack-samples
    hunt=$(run hunt "$DWELL" hunt --rules "$R" "$A" --no-progress --format jsonl -o /dev/null)
    inv=$(run inv "$DWELL" investigate --rules "$R" "$A" --no-progress --format json -o /dev/null \
        --case "$WORK/case.dwell" --html "$WORK/report.html" --timeline "$WORK/timeline.csv")
    read -r hs hk <<< "$hunt"; read -r is ik <<< "$inv"
fi

cat <<EOT
dwell correlation benchmark: $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))
$EVENTS events, $NGROUPS distinct group-by values, all live within one hour

| run | seconds | peak RSS MiB |
|---|---:|---:|
| hunt, 2 rules | $ps | $(mib "$pk") |
| hunt, 2 rules + event_count + temporal | $cs | $(mib "$ck") |
EOT
if [ -n "${hs:-}" ]; then
cat <<EOT
| hunt, attack samples, all SigmaHQ rules | $hs | $(mib "$hk") |
| investigate, attack samples (+ case file, HTML, timeline) | $is | $(mib "$ik") |
EOT
fi
cat <<EOT

correlation adds $(pct "$cs" "$ps") to hunt time (target <= +20%), $(( (ck - pk) / 1024 )) MiB of memory (target <= 1024 at 1M live groups)
EOT
[ -n "${hs:-}" ] && echo "investigation adds $(pct "$is" "$hs") to hunt time on the attack samples"
echo "corr run: $fired"
