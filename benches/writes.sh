#!/usr/bin/env bash
# Writes side by side, in interleaved rounds: each round runs every case once, in an order
# that rotates from round to round, so that whatever else loads the machine loads them
# alike. Prints each case's rate per round, then the ratios computed within each round
# (median, min and max over rounds). See docs/benchmarks.md.
#
#   cargo build --release && benches/writes.sh [rounds] [seconds per case]
#
# WRITES_CASES="sqlite sqlite_ceiling" runs only those cases.
#
# Cases, each `POST /orders` from wrk with 32 connections unless said otherwise:
#   sqlite          the all-in-one on SQLite, spans neither exported nor kept for the
#                   dashboard (--recent-spans 0)
#   sqlite_default  the same with its defaults: the dashboard's ring of recent spans on
#   sqlite_otlp     the same as sqlite, exporting its spans over OTLP to a sink that
#                   accepts them: the only case that builds OpenTelemetry spans
#   sqlite_ceiling  no HTTP, no cleave: the sqlite3 shell writing the same rows as an
#                   order's whole life, 32 orders per transaction, multi-row statements
#   pg              the all-in-one on PostgreSQL 15 (default settings, same machine)
#   pgbench         pgbench, 32 clients, running benches/pgbench/place_order.sql: the
#                   same statements as `pg` for an order's whole life, no lock
#   replicas_1      orders on PostgreSQL as two processes, both wrk's aimed at the first
#   replicas_2      the same, one wrk at each (two wrk's of 16 connections in both cases)
# Needs wrk, sqlite3, python3 and PostgreSQL 15 (/usr/lib/postgresql/15/bin).
set -euo pipefail

ROUNDS=${1:-5}
SECS=${2:-8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CLEAVE_BIN:-$ROOT/target/release/cleave}
PG=/usr/lib/postgresql/15/bin
CONNECTIONS=32
BATCH=32
read -ra CASES <<<"${WRITES_CASES:-sqlite sqlite_default sqlite_otlp sqlite_ceiling pg pgbench replicas_1 replicas_2}"

WORK=$(mktemp -d)
# PostgreSQL runs as its own user when this runs as root: it writes its socket and log here.
chmod 777 "$WORK"
PIDS=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    as_pg "$PG/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_ready() {
    for _ in $(seq 200); do
        curl -fs "http://127.0.0.1:$1/readyz" >/dev/null && return
        sleep 0.1
    done
    echo "no answer on :$1" >&2
    exit 1
}
# cleave <log name> <port> <args…>: starts a process in the background, waits until ready.
cleave() {
    local name=$1 port=$2
    shift 2
    RUST_LOG=warn "$BIN" --listen "127.0.0.1:$port" "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    wait_ready "$port"
}
create_user() {
    curl -fs -X POST "http://127.0.0.1:$1/users" -H 'content-type: application/json' \
        -d "{\"email\":\"buyer$RANDOM@example.com\",\"name\":\"Buyer\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
# A wrk script posting the same order for user $1.
order_script() {
    cat >"$WORK/order-$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"user_id":"$1","currency":"EUR","items":[{"sku":"BOOK-1","quantity":2,"unit_price_cents":1999}]}'
LUA
    echo "$WORK/order-$1.lua"
}
# wrk_rate <script> <connections> <port>: requests/s of 2xx answers; fails on any other.
wrk_rate() {
    local out
    out=$(wrk -t1 -c"$2" -d"${SECS}s" -s "$1" "http://127.0.0.1:$3/orders")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "$out" >&2
        exit 1
    fi
    awk '/Requests\/sec/ {print $2}' <<<"$out"
}
psql_at() { as_pg "$PG/psql" -h "$WORK" -p "$PGPORT" -qAt -d "$1" -c "$2"; }
# Waits until every order of a case has been paid and shipped, so that no case pays for
# another's backlog of events.
drain_pg() {
    for _ in $(seq 600); do
        [ "$(psql_at "$1" "SELECT count(*) FROM orders.orders WHERE status = 'pending'")" = 0 ] && return
        sleep 0.1
    done
    echo "$1: events not drained" >&2
}
drain_sqlite() {
    for _ in $(seq 600); do
        [ "$(sqlite3 "file:$1/orders.db?mode=ro" "SELECT count(*) FROM orders WHERE status = 'pending'")" = 0 ] && return
        sleep 0.1
    done
    echo "$1: events not drained" >&2
}

# PostgreSQL: a throwaway cluster with default settings but for connections.
PGPORT=$(free_port)
mkdir "$WORK/pg"
chown postgres "$WORK/pg" 2>/dev/null || true
as_pg "$PG/initdb" -D "$WORK/pg" -U postgres -A trust >/dev/null
as_pg "$PG/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
    -o "-p $PGPORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
for db in pg replicas pgbench; do psql_at postgres "CREATE DATABASE $db"; done
url() { echo "postgres://postgres@127.0.0.1:$PGPORT/$1"; }

# sqlite, sqlite_default, sqlite_otlp: three all-in-one processes, the last exporting to a
# sink.
SINK=$(free_port)
python3 -c '
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
' "$SINK" &
PIDS+=($!)
P_SQLITE=$(free_port)
P_OTLP=$(free_port)
cleave sqlite "$P_SQLITE" --data-dir "$WORK/sqlite" --recent-spans 0
PID_SQLITE=${PIDS[-1]}
P_DEFAULT=$(free_port)
cleave sqlite_default "$P_DEFAULT" --data-dir "$WORK/sqlite_default"
PID_DEFAULT=${PIDS[-1]}
cleave sqlite_otlp "$P_OTLP" --data-dir "$WORK/sqlite_otlp" --recent-spans 0 \
    --otlp-endpoint "http://127.0.0.1:$SINK"
PID_OTLP=${PIDS[-1]}
S_SQLITE=$(order_script "$(create_user "$P_SQLITE")")
S_OTLP=$(order_script "$(create_user "$P_OTLP")")
S_DEFAULT=$(order_script "$(create_user "$P_DEFAULT")")

# sqlite_ceiling: the modules' own schema, migrated by cleave.
"$BIN" migrate --data-dir "$WORK/ceiling" >/dev/null 2>&1
ceiling_sql() {
    local n=$1
    cat <<SQL
PRAGMA journal_mode = WAL;
ATTACH '$WORK/ceiling/payments.db' AS payments;
ATTACH '$WORK/ceiling/shipping.db' AS shipping;
PRAGMA main.journal_mode = WAL; PRAGMA payments.journal_mode = WAL; PRAGMA shipping.journal_mode = WAL;
PRAGMA main.synchronous = NORMAL; PRAGMA payments.synchronous = NORMAL; PRAGMA shipping.synchronous = NORMAL;
CREATE TEMP TABLE b (order_id BLOB, placed_id BLOB, payment_id BLOB, outcome_id BLOB);
SQL
    for _ in $(seq "$n"); do
        cat <<SQL
DELETE FROM temp.b;
INSERT INTO temp.b WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BATCH)
    SELECT randomblob(16), randomblob(16), randomblob(16), randomblob(16) FROM n;
BEGIN;
INSERT INTO main.orders (id, user_id, currency, items, total_cents, status, created_at, updated_at)
    SELECT order_id, x'00112233445566778899aabbccddeeff', 'EUR',
           '[{"sku":"BOOK-1","quantity":2,"unit_price_cents":1999}]', 3998, 'pending',
           strftime('%Y-%m-%dT%H:%M:%fZ'), strftime('%Y-%m-%dT%H:%M:%fZ') FROM temp.b;
INSERT INTO main.outbox (id, topic, occurred_at, request_id, traceparent, payload)
    SELECT placed_id, 'orders.order_placed', strftime('%Y-%m-%dT%H:%M:%fZ'), NULL, NULL,
           json_object('order_id', hex(order_id), 'amount_cents', 3998, 'currency', 'EUR') FROM temp.b;
COMMIT;
BEGIN;
INSERT INTO payments.inbox (event_id, processed_at) SELECT placed_id, strftime('%Y-%m-%dT%H:%M:%fZ') FROM temp.b;
INSERT INTO payments.payments (id, order_id, amount_cents, currency, status, created_at)
    SELECT payment_id, order_id, 3998, 'EUR', 'authorized', strftime('%Y-%m-%dT%H:%M:%fZ') FROM temp.b;
INSERT INTO payments.outbox (id, topic, occurred_at, request_id, traceparent, payload)
    SELECT outcome_id, 'payments.payment_authorized', strftime('%Y-%m-%dT%H:%M:%fZ'), NULL, NULL,
           json_object('payment_id', hex(payment_id), 'order_id', hex(order_id)) FROM temp.b;
COMMIT;
BEGIN;
INSERT INTO main.inbox (event_id, processed_at) SELECT outcome_id, strftime('%Y-%m-%dT%H:%M:%fZ') FROM temp.b;
UPDATE main.orders SET status = 'paid', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ')
    WHERE id IN (SELECT order_id FROM temp.b) AND status = 'pending';
COMMIT;
BEGIN;
INSERT INTO shipping.inbox (event_id, processed_at) SELECT outcome_id, strftime('%Y-%m-%dT%H:%M:%fZ') FROM temp.b;
INSERT INTO shipping.shipments (id, order_id, created_at)
    SELECT randomblob(16), order_id, strftime('%Y-%m-%dT%H:%M:%fZ') FROM temp.b;
COMMIT;
SQL
    done
}
# A script as long as about SECS seconds at 1 500 orders/s (a loaded 2-core machine); its
# rate is timed as it runs.
ceiling_sql $((SECS * 1500 / BATCH)) >"$WORK/ceiling.sql"
ceiling_rate() {
    local orders
    orders=$(($(grep -c '^DELETE FROM temp.b' "$WORK/ceiling.sql") * BATCH))
    python3 - "$orders" "$WORK" <<'PY'
import resource, subprocess, sys, time
orders, work = int(sys.argv[1]), sys.argv[2]
start = time.monotonic()
with open(f"{work}/ceiling.sql") as script:
    subprocess.run(["sqlite3", f"{work}/ceiling/orders.db"], stdin=script,
                   stdout=subprocess.DEVNULL, check=True)
wall = time.monotonic() - start
used = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(f"{work}/cpu", "a") as cpu:
    print("sqlite_ceiling", round((used.ru_utime + used.ru_stime) * 1e6 / orders, 1), file=cpu)
print(round(orders / wall, 1))
PY
}

# pg: the all-in-one on its own database.
P_PG=$(free_port)
cleave pg "$P_PG" --database-url "$(url pg)"
PID_PG=${PIDS[-1]}
S_PG=$(order_script "$(create_user "$P_PG")")

# pgbench: the same schema, migrated by cleave, and a user.
"$BIN" migrate --database-url "$(url pgbench)" >/dev/null 2>&1
BENCH_USER=$(psql_at pgbench "INSERT INTO users.users (id, email, email_key, name, created_at) \
    VALUES (gen_random_uuid(), 'b@example.com', 'b@example.com', 'B', now()) RETURNING id" | head -1)
pgbench_rate() {
    local out
    out=$(as_pg "$PG/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -M prepared \
        -c "$CONNECTIONS" -j 2 -T "$SECS" -D "user_id=$BENCH_USER" \
        -f "$ROOT/benches/pgbench/place_order.sql" pgbench 2>&1)
    if ! grep -q '^tps' <<<"$out" || grep -q 'failed: [1-9]' <<<"$out"; then
        echo "$out" >&2
        exit 1
    fi
    awk '/^tps/ {print $3}' <<<"$out"
}

# replicas: orders twice, and every other module in one process, on one database.
P_O1=$(free_port)
P_O2=$(free_port)
P_REST=$(free_port)
PEERS=(--users-url "http://127.0.0.1:$P_REST" --payments-url "http://127.0.0.1:$P_REST"
    --shipping-url "http://127.0.0.1:$P_REST" --orders-url "http://127.0.0.1:$P_O1")
RUST_LOG=warn "$BIN" --role=gateway,users,payments,shipping --listen "127.0.0.1:$P_REST" \
    --database-url "$(url replicas)" "${PEERS[@]}" >"$WORK/rest.log" 2>&1 &
PIDS+=($!)
sleep 1
cleave orders-1 "$P_O1" --role=orders --database-url "$(url replicas)" "${PEERS[@]}"
cleave orders-2 "$P_O2" --role=orders --database-url "$(url replicas)" "${PEERS[@]}"
wait_ready "$P_REST"
S_REPLICAS=$(order_script "$(create_user "$P_REST")")
two_wrk_rate() {
    wrk_rate "$S_REPLICAS" $((CONNECTIONS / 2)) "$1" >"$WORK/wrk-a" &
    local a=$!
    wrk_rate "$S_REPLICAS" $((CONNECTIONS / 2)) "$2" >"$WORK/wrk-b"
    wait $a
    python3 -c "print(round($(cat "$WORK/wrk-a") + $(cat "$WORK/wrk-b"), 1))"
}

# CPU time of process $1 so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
# cpu_used <case> <pid> <rate> <ticks before>: CPU µs per order, events applied, into
# $WORK/cpu.
cpu_used() {
    python3 -c "print('$1', round(($(cpu_ticks "$2") - $4) * 1e6 / $(getconf CLK_TCK) / ($3 * $SECS), 1))" >>"$WORK/cpu"
}
# Context switches of every thread of process $1 so far: each is a thread handing off.
switches() {
    cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'
}
# switched <case> <pid> <rate> <switches before>: context switches per order, the events'
# application included, into $WORK/switches.
switched() {
    python3 -c "print('$1', round(($(switches "$2") - $4) / ($3 * $SECS), 1))" >>"$WORK/switches"
}

run_case() {
    local before ticks rate
    case $1 in
    sqlite)
        before=$(switches "$PID_SQLITE")
        ticks=$(cpu_ticks "$PID_SQLITE")
        rate=$(wrk_rate "$S_SQLITE" "$CONNECTIONS" "$P_SQLITE")
        drain_sqlite "$WORK/sqlite"
        switched sqlite "$PID_SQLITE" "$rate" "$before"
        cpu_used sqlite "$PID_SQLITE" "$rate" "$ticks"
        echo "$rate"
        ;;
    sqlite_default)
        ticks=$(cpu_ticks "$PID_DEFAULT")
        rate=$(wrk_rate "$S_DEFAULT" "$CONNECTIONS" "$P_DEFAULT")
        drain_sqlite "$WORK/sqlite_default"
        cpu_used sqlite_default "$PID_DEFAULT" "$rate" "$ticks"
        echo "$rate"
        ;;
    sqlite_otlp)
        ticks=$(cpu_ticks "$PID_OTLP")
        rate=$(wrk_rate "$S_OTLP" "$CONNECTIONS" "$P_OTLP")
        drain_sqlite "$WORK/sqlite_otlp"
        cpu_used sqlite_otlp "$PID_OTLP" "$rate" "$ticks"
        echo "$rate"
        ;;
    sqlite_ceiling) ceiling_rate ;;
    pg)
        before=$(switches "$PID_PG")
        rate=$(wrk_rate "$S_PG" "$CONNECTIONS" "$P_PG")
        drain_pg pg
        switched pg "$PID_PG" "$rate" "$before"
        echo "$rate"
        ;;
    pgbench) pgbench_rate ;;
    replicas_1) two_wrk_rate "$P_O1" "$P_O1" && drain_pg replicas ;;
    replicas_2) two_wrk_rate "$P_O1" "$P_O2" && drain_pg replicas ;;
    esac
}

echo "$ROUNDS rounds of ${SECS} s per case; orders/s"
printf 'round %s\n' "${CASES[*]}" >"$WORK/rates"
for round in $(seq "$ROUNDS"); do
    declare -A rate=()
    n=${#CASES[@]}
    for i in $(seq 0 $((n - 1))); do
        c=${CASES[$(((i + round) % n))]}
        rate[$c]=$(run_case "$c" | head -1)
    done
    line="$round"
    for c in "${CASES[@]}"; do line="$line ${rate[$c]}"; done
    echo "$line" | tee -a "$WORK/rates"
done

touch "$WORK/switches" "$WORK/cpu"
python3 - "$WORK/rates" "$WORK/switches" "$WORK/cpu" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def per_case(path):
    figures = {}
    for line in open(path):
        name, per_order = line.split()
        figures.setdefault(name, []).append(float(per_order))
    return figures
switches, cpu = per_case(sys.argv[2]), per_case(sys.argv[3])
names, rounds = rows[0][1:], [dict(zip(rows[0][1:], map(float, r[1:]))) for r in rows[1:]]
def show(label, values):
    values = sorted(values)
    print(f"  {label:<34} {statistics.median(values):8.2f}  [{values[0]:.2f}, {values[-1]:.2f}]")
print("median [min, max] over rounds")
for name in names:
    show(name, [r[name] for r in rounds])
for label, a, b in [
    ("sqlite / sqlite_ceiling", "sqlite", "sqlite_ceiling"),
    ("sqlite_default / sqlite (span ring)", "sqlite_default", "sqlite"),
    ("sqlite_otlp / sqlite (observability)", "sqlite_otlp", "sqlite"),
    ("pg / pgbench", "pg", "pgbench"),
    ("pg / sqlite", "pg", "sqlite"),
    ("replicas_2 / replicas_1", "replicas_2", "replicas_1"),
]:
    if a in names and b in names:
        show(label, [r[a] / r[b] for r in rounds])
print("context switches per order, all threads of the process, events applied")
for name, values in switches.items():
    show(name, values)
print("CPU µs per order, events applied (cleave: the whole process; ceiling: sqlite3)")
for name, values in cpu.items():
    show(name, values)
for label, a, b in [
    ("sqlite_ceiling / sqlite CPU", "sqlite_ceiling", "sqlite"),
    ("sqlite / sqlite_default CPU (span ring)", "sqlite", "sqlite_default"),
    ("sqlite / sqlite_otlp CPU (observability)", "sqlite", "sqlite_otlp"),
]:
    if a in cpu and b in cpu:
        show(label, [x / y for x, y in zip(cpu[a], cpu[b])])
PY
