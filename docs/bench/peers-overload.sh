#!/usr/bin/env bash
# Vitrine beside plain Go (the shared bench's ideal and ideal-http), the
# build before the CPU and overload work (OLD) and after (NEW) alternated,
# three rounds; every figure of the "Against the targets" table in
# docs/benchmarks.md. Usage, from the repository:
#   go build -o /tmp/vitrine-new . && (build 645751b the same way as /tmp/vitrine-old)
#   cp -r ../shared/bench /tmp/sb   # run.sh writes its tables beside itself
#   BENCH=/tmp/sb OLD=/tmp/vitrine-old NEW=/tmp/vitrine-new docs/bench/peers-overload.sh
set -u
B=${BENCH:?the shared bench folder}; R=${R:-3}
for r in $(seq 1 "$R"); do
  for build in NEW OLD; do
    bin=${!build}
    echo "=== round $r, $build, over HTTP, 0 ms, cache off"
    (cd "$B" && VITRINE_CACHE=false CONTENDERS="ideal-http project-http" CONNS="64 256 1024" LATENCY=0 \
      PROJECT_BIN="$bin" OUT=/dev/null ./run.sh 2>&1 | grep -E '^(ideal-http|project-http) ')
    echo "=== round $r, $build, over HTTP, 120 ms, cache off"
    (cd "$B" && VITRINE_CACHE=false CONTENDERS="ideal-http project-http" CONNS="256 1024" \
      PROJECT_BIN="$bin" OUT=/dev/null ./run.sh 2>&1 | grep -E '^(ideal-http|project-http) ')
    echo "=== round $r, $build, in process, 0 ms, cache on"
    (cd "$B" && CONTENDERS="ideal project" CONNS="64 256" LATENCY=0 \
      PROJECT_BIN="$bin" OUT=/dev/null ./run.sh 2>&1 | grep -E '^(ideal|project) ')
  done
done
