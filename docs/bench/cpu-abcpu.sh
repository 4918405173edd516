#!/usr/bin/env bash
# abcpu.sh ROUNDS N BENCH DIR name=testbin... : interleaved rounds; each runs
# the benchmark BENCH for exactly N iterations in DIR and prints the process's
# CPU time (user+sys, which includes GC) per iteration, beside wall ns/op.
set -euo pipefail
rounds=$1 n=$2 bench=$3 dir=$4; shift 4
cd "$dir"
for r in $(seq "$rounds"); do
  for nb in "$@"; do
    name=${nb%%=*} bin=${nb#*=}
    out=$( { /usr/bin/time -f "cpu %U %S" "$bin" -test.run XXX -test.bench "$bench" -test.benchtime ${n}x -test.benchmem; } 2>&1 )
    cpu=$(awk -v n=$n '/^cpu /{printf "%.2f", ($2+$3)*1e6/n}' <<<"$out")
    wall=$(awk '/^Benchmark/{print $3}' <<<"$out" | head -1)
    echo "round=$r bin=$name cpu-us/op=$cpu wall-ns/op=$wall load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
