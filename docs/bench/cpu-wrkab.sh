#!/usr/bin/env bash
# wrkab.sh ROUNDS DURATION "CONNS" name=bin... -- server flags
# Interleaved A/B of Vitrine binaries under wrk: each round starts each
# binary in turn (0 ms tiles unless flags say otherwise), warms it up for 1 s,
# runs wrk at each connection count, stops it. Prints one line per run.
set -euo pipefail
rounds=$1 dur=$2 conns=$3; shift 3
bins=()
while [[ $1 != -- ]]; do bins+=("$1"); shift; done; shift
port=18790
for r in $(seq "$rounds"); do
  for nb in "${bins[@]}"; do
    name=${nb%%=*} bin=${nb#*=}
    "$bin" -addr 127.0.0.1:$port "$@" >/tmp/ab/server-$name.log 2>&1 &
    pid=$!
    for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$port/home && break; sleep 0.1; done
    wrk -t1 -c8 -d1s http://127.0.0.1:$port/home >/dev/null
    for c in $conns; do
      t0=$(awk '{print $14+$15}' /proc/$pid/stat)
      out=$(wrk -t2 -c$c -d$dur --timeout 2s http://127.0.0.1:$port/home)
      t1=$(awk '{print $14+$15}' /proc/$pid/stat)
      rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
      n=$(awk '/requests in/{print $1}' <<<"$out")
      us=$(awk -v a=$t0 -v b=$t1 -v n=$n -v hz=$(getconf CLK_TCK) 'BEGIN{printf "%.1f", (b-a)/hz*1e6/n}')
      echo "round=$r bin=$name conns=$c req/s=$rps cpu-us/page=$us pages=$n load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
    done
    kill $pid; wait $pid 2>/dev/null || true
  done
done
