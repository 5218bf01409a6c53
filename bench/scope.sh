#!/usr/bin/env bash
# `dwell scope` at size: a synthetic PostgreSQL csvlog with pgaudit of LINES entries (default
# 1,000,000: an application's keyed reads and, among them, an attacker's exports) and a snapshot
# of CUSTOMERS customers (default 1,000,000) with their orders. Measures scope on one thread and
# on all cores (REPEAT runs, default 3, medians): log MB/s, and the exact enumeration over the
# snapshot, with peak RSS; then, when PostgreSQL is installed, the same over a throwaway database
# holding the same tables (the --db path). Needs GNU time and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LINES=${LINES:-1000000}
CUSTOMERS=${CUSTOMERS:-1000000}
REPEAT=${REPEAT:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwell-scope.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cargo build --release -q -p dwell
DWELL=$ROOT/target/release/dwell

python3 - "$WORK" "$LINES" "$CUSTOMERS" <<'PY'
import os, random, sys
work, lines, customers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
os.makedirs(f"{work}/logs", exist_ok=True)
with open(f"{work}/customers.csv", "w") as f:
    f.write("customer_id,first_name,last_name,email,date_of_birth,phone,postcode\n")
    for i in range(1, customers + 1):
        f.write(f"{i},First{i},Last{i},c{i}@mail.example,19{50 + i % 50}-0{1 + i % 9}-1{i % 10},07700 {i:06d},LS{i % 30} {i % 9}AB\n")
with open(f"{work}/orders.csv", "w") as f:
    f.write("order_id,customer_id,items_json,delivery_postcode\n")
    for i in range(1, customers + 1):
        if i % 3:
            f.write(f"{5000000 + i},{i},\"[{{\"\"sku\"\":{i % 300}}}]\",LS1 1AB\n")
attack = {lines // 3: "COPY (SELECT customer_id, first_name, last_name, email FROM public.customers WHERE customer_id BETWEEN 100001 AND 400000) TO STDOUT WITH CSV HEADER",
          lines // 2: "COPY (SELECT order_id, customer_id, items_json FROM public.orders WHERE customer_id BETWEEN 250001 AND 700000) TO STDOUT",
          2 * lines // 3: "SELECT customer_id, email, phone FROM public.customers WHERE postcode LIKE 'LS1 %' OR date_of_birth < '1960-01-01'",
          3 * lines // 4: "SELECT c.email, o.items_json FROM public.customers c JOIN public.orders o ON o.customer_id = c.customer_id WHERE c.postcode LIKE 'LS2 %'"}
with open(f"{work}/logs/postgresql.csv", "w") as f:
    for n in range(lines):
        t = f"2025-03-25 {n * 86399 // lines // 3600:02d}:{n * 86399 // lines // 60 % 60:02d}:{n * 86399 // lines % 60:02d}.{n % 1000:03d} UTC"
        if n in attack:
            user, host, sql, app = "mallory", "10.10.30.23", attack[n], "psql"
        else:
            user, host, app = "svc_orders", "10.10.50.31", "order-service"
            sql = "SELECT order_id, status, placed_at FROM public.orders WHERE customer_id = $1"
        q = sql.replace('"', '""""')
        f.write(f'{t},"{user}","shop",{1000 + n % 5000},"{host}:{40000 + n % 20000}",67e3{n:08x}.1,{n % 50},"SELECT",2025-03-25 00:00:00 UTC,3/{n},0,LOG,00000,"AUDIT: SESSION,{n},1,READ,SELECT,TABLE,public.orders,""{q}"",<none>,3",,,,,,,,,"{app}","client backend",,0\n')
with open(f"{work}/map.yml", "w") as f:
    f.write("tables:\n  public.customers:\n    person: customer_id\n    columns: {first_name: name, last_name: name, email: email, date_of_birth: date_of_birth, phone: phone, postcode: postal_address}\n  public.orders:\n    person: customer_id\n    columns: {order_id: order_history, items_json: order_history}\n")
PY
bytes=$(stat -c %s "$WORK/logs/postgresql.csv")
S=(scope --account mallory --data-map "$WORK/map.yml" --snapshot "public.customers=$WORK/customers.csv"
   --snapshot "public.orders=$WORK/orders.csv" --format json --no-progress "$WORK/logs")
# The log alone (no snapshot): parse, filter and analyse.
L=(scope --account mallory --data-map "$WORK/map.yml" --format json --no-progress "$WORK/logs")
measure() {
    local name=$1; shift
    read -r s k <<< "$(run "$name" "$@")"
    printf '%-40s %6.2f s  %6.0f MB/s of log  peak RSS %s MiB\n' "$name" "$s" \
        "$(echo "$bytes/1000000/$s" | bc -l)" "$(mib "$k")"
}
printf 'log: %s lines, %.0f MB; snapshot: %s customers\n' "$LINES" "$(echo "$bytes/1000000" | bc -l)" "$CUSTOMERS"
measure "log only, 1 thread" taskset -c 0 "$DWELL" "${L[@]}" -t 1
measure "log only, all cores" "$DWELL" "${L[@]}"
measure "log + exact over the snapshots" "$DWELL" "${S[@]}"
"$DWELL" "${S[@]}" > "$WORK/scope.json" 2>/dev/null
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print('people', s['people_affected'], 'by category', s['people_by_category'])" "$WORK/scope.json"

# The database path: the same tables loaded into a throwaway PostgreSQL (when one is installed),
# and each read run again, rewritten, read-only.
initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$initdb" ]; then
    echo "database path: skipped (no PostgreSQL under /usr/lib/postgresql)"
    exit 0
fi
bin=$(dirname "$initdb")
PG=$(mktemp -d /tmp/dwell-scope-pg.XXXXXX)
chmod 755 "$PG"; chmod 755 "$WORK"; chmod 644 "$WORK"/*.csv
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$PG"
PORT=$((20000 + RANDOM % 20000))
as_pg "$bin/initdb" -D "$PG/data" -A trust -U postgres >/dev/null
as_pg "$bin/pg_ctl" -D "$PG/data" -o "-p $PORT -k $PG -c listen_addresses=127.0.0.1" -l "$PG/server.log" -w start >/dev/null
trap 'as_pg "$bin/pg_ctl" -D "$PG/data" -m immediate stop >/dev/null 2>&1; rm -rf "$WORK" "$PG"' EXIT
psql=(as_pg "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -v ON_ERROR_STOP=1)
"${psql[@]}" -c "CREATE DATABASE shop" postgres
"${psql[@]}" shop <<SQL
CREATE TABLE customers (customer_id int PRIMARY KEY, first_name text, last_name text, email text, date_of_birth date, phone text, postcode text);
CREATE TABLE orders (order_id int PRIMARY KEY, customer_id int, items_json text, delivery_postcode text);
\copy customers FROM '$WORK/customers.csv' CSV HEADER
\copy orders FROM '$WORK/orders.csv' CSV HEADER
ANALYZE;
SQL
D=(scope --account mallory --data-map "$WORK/map.yml" --db "postgres://postgres@127.0.0.1:$PORT/shop"
   --format json --no-progress "$WORK/logs")
measure "log + exact from the database" "$DWELL" "${D[@]}"
"$DWELL" "${D[@]}" > "$WORK/scope-db.json" 2>/dev/null
python3 -c "import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); print('database path people', b['people_affected'], 'same as the snapshots' if (a['people_by_category'], a['records_affected']) == (b['people_by_category'], b['records_affected']) else 'DIFFERENT from the snapshots')" "$WORK/scope.json" "$WORK/scope-db.json"
