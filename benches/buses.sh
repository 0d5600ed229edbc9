#!/usr/bin/env bash
# The split with each event bus, side by side in one `cleave compare` run: events over HTTP,
# and through NATS JetStream, Redis Streams, RabbitMQ and Kafka servers started here on
# free loopback ports, each with its store in a temporary directory and the settings that
# cleave's promise needs of it (docs/events.md). A broker that is not installed is left out.
#
#   cargo build --release && benches/buses.sh [compare flags…]
#
# The flags go to `cleave compare` (default: --rate 100 --drill none --duration 20s
# --rounds 4). Needs nats-server, redis-server, rabbitmq-server and tansu
# (`cargo install tansu --locked --features libsql`).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CLEAVE_BIN:-$ROOT/target/release/cleave}
FLAGS=("$@")
[ ${#FLAGS[@]} -gt 0 ] || FLAGS=(--rate 100 --drill none --duration 20s --rounds 4)
export PATH="$PATH:/usr/sbin:${CARGO_HOME:-$HOME/.cargo}/bin"
# Debian's script that runs a node as the calling user, in the foreground.
RABBITMQ=/usr/lib/rabbitmq/bin/rabbitmq-server

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_port <port> <name>: until something accepts connections on it, at most a minute.
wait_port() {
    for _ in $(seq 600); do
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
        sleep 0.1
    done
    echo "$2 does not answer on :$1; its log: $WORK/$2.log" >&2
    exit 1
}

TOPOLOGIES=(--topology microservices)
with_bus() { TOPOLOGIES+=(--topology microservices --with "CLEAVE_EVENT_BUS=$1"); }

if command -v nats-server >/dev/null; then
    port=$(free_port)
    nats-server -js -a 127.0.0.1 -p "$port" -sd "$WORK/nats" >"$WORK/nats.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port" nats
    with_bus "nats://127.0.0.1:$port"
fi

if command -v redis-server >/dev/null; then
    port=$(free_port)
    mkdir "$WORK/redis"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$WORK/redis" \
        --appendonly yes --appendfsync always --save '' >"$WORK/redis.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port" redis
    with_bus "redis://127.0.0.1:$port"
fi

if [ -x "$RABBITMQ" ] && command -v epmd >/dev/null; then
    port=$(free_port)
    node="$WORK/rabbitmq"
    mkdir -p "$node/home" "$node/mnesia" "$node/log"
    echo -n cleave-bench-cookie >"$node/home/.erlang.cookie"
    chmod 400 "$node/home/.erlang.cookie"
    printf 'listeners.tcp.default = 127.0.0.1:%s\n' "$port" >"$node/rabbitmq.conf"
    epmd_port=$(free_port)
    ERL_EPMD_PORT=$epmd_port ERL_EPMD_ADDRESS=127.0.0.1 epmd >"$WORK/epmd.log" 2>&1 &
    PIDS+=($!)
    HOME="$node/home" ERL_EPMD_PORT=$epmd_port RABBITMQ_NODENAME="cleave-$port@localhost" \
        RABBITMQ_MNESIA_BASE="$node/mnesia" RABBITMQ_LOG_BASE="$node/log" \
        RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$(free_port) \
        RABBITMQ_CONFIG_FILE="$node/rabbitmq.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$node/enabled_plugins" \
        RABBITMQ_PID_FILE="$node/rabbitmq.pid" RUNNING_UNDER_SYSTEMD=1 \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
        "$RABBITMQ" >"$WORK/rabbitmq.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port" rabbitmq
    with_bus "amqp://guest:guest@127.0.0.1:$port/%2f"
fi

if command -v tansu >/dev/null; then
    port=$(free_port)
    mkdir "$WORK/kafka"
    (cd "$WORK/kafka" && exec tansu broker --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine sqlite://tansu.db) >"$WORK/kafka.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port" kafka
    with_bus "kafka://127.0.0.1:$port"
fi

"$BIN" compare "${TOPOLOGIES[@]}" --data-dir "$WORK/compare" "${FLAGS[@]}"
