#!/usr/bin/env bash
# Parse throughput per log family: each family's real samples (../shared/data/logs, and the
# test fixtures where no public sample exists) replicated to at least SIZE MiB (default 200),
# read by dwell with every SigmaHQ rule loaded, on one thread pinned to one core, twice: with
# `hunt --parse-only` (parse plus routing: every event decoded, counted and routed to the rules
# of its log source, none evaluated; the issue-8 target) and as a full hunt (the rules that
# apply evaluated too). MB/s per core, with the time to load the rules (the same run on an
# empty input) taken out; the full hunt also with it.
#
# Usage: bench/formats.sh [SIZE_MIB]     REPEAT runs per family (default 3), median reported;
#        FAMILIES="syslog auditd" to measure only those.
# Needs: ../shared, GNU time, taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SIZE=${1:-200}
REPEAT=${REPEAT:-3}
SHARED=${DWELL_SHARED:-$ROOT/../shared}
RULES=$SHARED/data/sigma/rules
LOGS=$SHARED/data/logs
FIX=$ROOT/crates/pipeline/tests/fixtures/sources
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwell-formats.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
[ -d "$RULES" ] && [ -d "$LOGS" ] || { echo "bench: $SHARED/data is missing" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cargo build --release -q -p dwell
DWELL=$ROOT/target/release/dwell
HUNT=(taskset -c 0 "$DWELL" hunt --rules "$RULES" -t 1 --no-progress --color never)

# build NAME HEADER_FILE FILES... : concatenates FILES (after HEADER_FILE, once, if not "-")
# until the corpus reaches SIZE MiB.
build() {
    local name=$1 header=$2; shift 2
    wanted "$name" || return 0
    local out=$WORK/$name
    : > "$out.one"
    for f in "$@"; do cat "$f" >> "$out.one"; printf '\n' >> "$out.one"; done
    if [ "$header" != - ]; then cat "$header" > "$out"; else : > "$out"; fi
    local need=$(( SIZE << 20 ))
    # Double the block until it is a MiB or more, then append it until the corpus is big enough.
    while [ "$(stat -c %s "$out.one")" -lt 1048576 ]; do cat "$out.one" "$out.one" > "$out.two"; mv "$out.two" "$out.one"; done
    while [ "$(stat -c %s "$out")" -lt "$need" ]; do cat "$out.one" >> "$out"; done
    rm "$out.one"
}

printf 'family\tMiB\tparse+routing MB/s\thunt MB/s\thunt MB/s with rule loading\tpeak RSS MiB (hunt)\n'
echo '{}' > "$WORK/empty.json"
once warmup "${HUNT[@]}" "$WORK/empty.json"
LOAD=$(run load "${HUNT[@]}" "$WORK/empty.json") || exit 2
LOAD=${LOAD%% *}

wanted() { [ -z "${FAMILIES:-}" ] || [[ " $FAMILIES " == *" $1 "* ]]; }

measure() {
    local name=$1 file=$WORK/$1
    wanted "$name" || return 0
    local bytes; bytes=$(stat -c %s "$file")
    local p; p=$(run "$name-parse" "${HUNT[@]}" --parse-only "$file") || exit 2
    local m; m=$(run "$name" "${HUNT[@]}" "$file") || exit 2
    read -r psecs _ <<< "$p"
    read -r secs kib <<< "$m"
    awk -v n="$name" -v b="$bytes" -v p="$psecs" -v s="$secs" -v l="$LOAD" -v k="$kib" 'BEGIN {
        printf "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\n", n, b/1048576, b/1e6/(p-l), b/1e6/(s-l), b/1e6/s, k/1024 }'
    rm -f "$file"
}

build syslog - "$LOGS/linux-syslog/test.log" "$LOGS/linux-syslog/syslog_ssh.log" "$LOGS/linux-syslog/syslog" \
    "$LOGS/postgresql/pg-syslog.1" "$FIX/auth.log" "$FIX/syslog"; measure syslog
build esxi - "$FIX/esxi-shell.log" "$FIX/esxi-auth.log" "$FIX/esxi-hostd.log" "$LOGS/vmware-vcenter/logfile_vpxd.0"; measure esxi
build auditd - "$LOGS/linux-auditd/audit-rhel7.log" "$LOGS/linux-auditd/test2.log" "$LOGS/linux-auditd/test3.log" \
    "$LOGS/linux-auditd/audit_enriched.log"; measure auditd
build postgresql - "$LOGS/postgresql/light.postgres.log" "$LOGS/postgresql/rds.log" "$LOGS/postgresql/multiline_param.log"; measure postgresql
build postgresql-csv - "$FIX/postgresql.csv" "$LOGS/postgresql/csv_statement_without_duration.log"; measure postgresql-csv
build access-log - "$LOGS/web-access/logfile_shop_access_log.0"; measure access-log
build w3c - "$LOGS/iis/logfile_w3c_big.0"; measure w3c
build squid - "$FIX/squid-access.log"; measure squid
build cloudtrail - "$LOGS/aws-cloudtrail/aws_cloudtrail.jsonl"; measure cloudtrail
build azure - "$LOGS/azure-activity/azure_activity_log.jsonl" "$FIX/entra-audit.jsonl" "$FIX/azure-activity.jsonl"; measure azure
build postgresql-json - "$LOGS/postgresql/pg_vacuums.json"; measure postgresql-json
build zeek - "$FIX/zeek.jsonl"; measure zeek
build m365 - "$FIX/m365.jsonl"; measure m365
echo "rule loading alone: ${LOAD}s (median of $REPEAT)" >&2
