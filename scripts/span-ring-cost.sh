#!/usr/bin/env bash
# Usage: scripts/span-ring-cost.sh target/release/cleave <scratch dir> [rounds] [seconds a turn]
# The cost of the span ring: two all-in-ones side by side, one keeping 4096 spans (the
# default), one none (--recent-spans 0); the same closed-loop load on each in turn, ROUNDS
# times; CPU time per request and resident memory read from /proc after each turn.
set -uo pipefail
trap 'kill ${PID[ring]:-} ${PID[none]:-} 2>/dev/null' EXIT
BIN=$1; OUT=$2; ROUNDS=${3:-4}; SECS=${4:-8}
rm -rf "$OUT"; mkdir -p "$OUT"
declare -A PORT=([ring]=18201 [none]=18202) SPANS=([ring]=4096 [none]=0) PID
for v in ring none; do
  "$BIN" --listen 127.0.0.1:${PORT[$v]} --data-dir "$OUT/$v" --recent-spans ${SPANS[$v]} >"$OUT/$v.log" 2>&1 &
  PID[$v]=$!
done
sleep 3
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
rss() { awk '/VmRSS/{print $2}' /proc/$1/status; }
reqs() { curl -s 127.0.0.1:$1/metrics | awk '/^cleave_http_requests_total/{s+=$2} END{print s+0}'; }
tick=$(getconf CLK_TCK)
echo "round variant requests cpu_ms_per_request rss_kib" | tee "$OUT/rounds.txt"
for r in $(seq 1 $ROUNDS); do
  for v in ring none; do
    c0=$(cpu ${PID[$v]}); q0=$(reqs ${PORT[$v]})
    "$BIN" compare --target http://127.0.0.1:${PORT[$v]} --duration ${SECS}s --rounds 1 --warmup 0s \
      --drill none --concurrency 16 --out "$OUT/report-$v-$r" >"$OUT/compare-$v-$r.log" 2>&1
    c1=$(cpu ${PID[$v]}); q1=$(reqs ${PORT[$v]})
    awk -v r=$r -v v=$v -v q=$((q1-q0)) -v c=$((c1-c0)) -v t=$tick -v m=$(rss ${PID[$v]}) \
      'BEGIN{printf "%d %s %d %.4f %d\n", r, v, q, c*1000/t/q, m}' | tee -a "$OUT/rounds.txt"
  done
done
