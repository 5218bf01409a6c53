#!/usr/bin/env bash
# Rules built to defeat the prefilter (issue 7's list), each alone and beside a condition every
# event meets (so the prefilter cannot skip the rule and its long list must be searched):
#   - `CommandLine|contains` with 190,000 values that never occur;
#   - 50,000 wildcard values (`*zqpwnd*zoo*`) and 50,000 short ones (`*f*sq*`);
#   - 20,000 regular expressions (`lsz.*ipk`);
# over 2,000 Sysmon process-creation events. Prints wall time and peak RSS per rule, median of
# REPEAT (default 3), and the same for BASELINE (an older dwell) when it is set.
#
# Usage: [BASELINE=/path/to/older/dwell] bench/hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwell-hostile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 2; }

echo "== building" >&2
cargo build --release -q -p dwell
DWELL=$PWD/target/release/dwell
. bench/lib.sh

# Deterministic random lower-case words (awk's rand with a fixed seed).
words() { awk -v n="$1" -v len="$2" -v seed="$3" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
    w = ""; for (j = 0; j < len; j++) w = w sprintf("%c", 97 + int(rand() * 26)); print w } }'; }

awk 'BEGIN { srand(7); for (i = 0; i < 2000; i++) { w = "";
    for (j = 0; j < 60; j++) w = w sprintf("%c", 97 + int(rand() * 26));
    printf "{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"h\",\"CommandLine\":\"C:\\\\Windows\\\\system32\\\\cmd.exe /c %s\",\"Image\":\"C:\\\\Windows\\\\cmd.exe\",\"UtcTime\":\"2024-01-01 00:%02d:%02d\"}\n", w, int(i / 60) % 60, i % 60 } }' \
    > "$WORK/events.jsonl"

# rule NAME TITLE MODIFIER: a rule whose CommandLine values are read from stdin, one per line;
# NAME_and.yml is the same rule with an Image condition every event meets.
rule() {
    local name=$1 title=$2 field=$3
    {
        printf 'title: %s\nid: 00000000-0000-0000-0000-0000000%05d\nstatus: test\nlevel: high\n' "$title" "$RANDOM"
        printf 'logsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n'
        echo "__IMAGE__"
        printf '    %s:\n' "$field"
        sed "s/.*/      - '&'/"
        printf '  condition: sel\n'
    } > "$WORK/$name.tmp"
    grep -v '^__IMAGE__$' "$WORK/$name.tmp" > "$WORK/$name.yml"
    sed "s/^__IMAGE__$/    Image|endswith: '\\\\cmd.exe'/" "$WORK/$name.tmp" > "$WORK/${name}_and.yml"
}
words 190000 6 1 | sed 's/^/zq/' | rule contains "Big contains" 'CommandLine|contains'
paste -d' ' <(words 50000 4 2) <(words 50000 3 3) | awk '{ printf "*zq%s*%s*\n", $1, $2 }' \
    | rule wildcards "Big wildcards" CommandLine
paste -d' ' <(words 50000 1 4) <(words 50000 2 5) | awk '{ printf "*%s*%s*\n", $1, $2 }' \
    | rule short_wildcards "Big short wildcards" CommandLine
paste -d' ' <(words 20000 3 6) <(words 20000 3 7) | awk '{ printf "%s.*%s\n", $1, $2 }' \
    | rule regexes "Many regexes" 'CommandLine|re'

echo "== measuring (median of $REPEAT)" >&2
printf '| rule | this build: s, peak MiB |%s\n' "${BASELINE:+ baseline: s, peak MiB |}"
printf '|---|---|%s\n' "${BASELINE:+---|}"
for name in contains wildcards short_wildcards regexes; do
    for variant in "$name" "${name}_and"; do
        args=(hunt --rules "$WORK/$variant.yml" "$WORK/events.jsonl" --no-progress --format jsonl -o /dev/null)
        cur=("$DWELL" "${args[@]}")
        if [ -n "${BASELINE:-}" ]; then
            # This build and the baseline back to back in each round (see `alternate`).
            base=("$BASELINE" "${args[@]}")
            alternate cur base
            now=$(median cur); before=$(median base)
            read -r bs bk <<< "$before"
        else
            now=$(run cur "${cur[@]}")
        fi
        read -r s k <<< "$now"
        row="| \`$variant\` | $s s, $(mib "$k") |"
        [ -z "${BASELINE:-}" ] || row="$row $bs s, $(mib "$bk") |"
        echo "$row"
    done
done
echo
echo "dwell rules check on each (what it flags as costly):"
for name in contains wildcards short_wildcards regexes; do
    said=$("$DWELL" rules check "$WORK/${name}_and.yml" 2>&1) || {
        echo "bench: dwell rules check failed on $name:" >&2; echo "$said" >&2; exit 2; }
    echo "  $name: $(grep -i -m1 'costly' <<< "$said" || echo 'not flagged')"
done
