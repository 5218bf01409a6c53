#!/usr/bin/env bash
# The campaign model's cost (docs/investigate.md, §3): the simulated estate at each SCALE
# (default "1 25": about 400,000 and 10 million records) hunted with every SigmaHQ rule and the
# built-in ones, `dwell hunt` (detections as JSON lines) against `dwell investigate` (the same
# hunt, then background learning, campaigns, identities, the report), alternating so both see
# the same machine, REPEAT runs each (default 3), medians, all cores. Prints time, peak RSS and
# the ratio investigate / hunt, and whether the campaign is the truth's (one campaign, its
# first event and impact). Needs GNU time, python3 and ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCALES=${SCALES:-"1 25"}
REPEAT=${REPEAT:-3}
SHARED=${DWELL_SHARED:-$ROOT/../shared}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwell-campaign.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time" >&2; exit 2; }
[ -d "$SHARED/data/sigma/rules" ] || { echo "bench: needs $SHARED/data/sigma/rules" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cargo build --release -q -p dwell
DWELL=$ROOT/target/release/dwell
R=(--no-progress --color never --rules "$SHARED/data/sigma/rules" --with-builtin)

for scale in $SCALES; do
    rm -rf "$WORK/estate"
    "$DWELL" simulate --out "$WORK/estate" --scale "$scale" >/dev/null 2>&1
    logs=$WORK/estate/logs
    records=$(python3 -c "import json,sys; print(sum(json.load(open(sys.argv[1]))['files'].values()))" "$WORK/estate/truth.json")
    HUNT=("$DWELL" hunt "${R[@]}" -f jsonl "$logs")
    INV=("$DWELL" investigate "${R[@]}" --format json --host "ESX01=$logs/esx01" --host "DB01=$logs/db01" "$logs")
    alternate HUNT INV
    read -r hs hk <<< "$(median HUNT)"
    read -r is ik <<< "$(median INV)"
    "${INV[@]}" > "$WORK/report.json" 2>/dev/null || true
    verdict=$(python3 - "$WORK/report.json" "$WORK/estate/truth.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))
c = [i for i in r["incidents"] if i["campaign"]]
ok = len(c) == 1
if ok:
    f = c[0]["first"]
    ok = f["source"].endswith(t["first_malicious"]["file"]) and f["record"] == t["first_malicious"]["line"]
    ok = ok and (c[0]["impact"] or {}).get("time", "")[:19] == t["impact"][:19]
print(f'{r["detections"]} detections, {r["campaigns"]} campaign(s), {"the truth" if ok else "NOT the truth"}')
PY
)
    printf 'scale %s (%s records): hunt %.1f s, %s MiB; investigate %.1f s, %s MiB; ratio %.2f; %s\n' \
        "$scale" "$records" "$hs" "$(mib "$hk")" "$is" "$(mib "$ik")" \
        "$(echo "$is/$hs" | bc -l)" "$verdict"
done
