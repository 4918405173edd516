#!/usr/bin/env bash
# Three rounds, old and new binaries alternated, of the shared bench:
# in process (0 ms tiles, cache on) and over HTTP (0 ms, cache off).
cd /tmp/bench
for r in 1 2 3; do
  for v in old new; do
    echo "== round $r $v inproc $(uptime)"
    PROJECT_BIN=/tmp/ab/vitrine-$v CONTENDERS="ideal project" LATENCY=0 CONNS="64 256" OUT=/tmp/ab/sb-inproc-$v-$r.txt ./run.sh 2>/dev/null
  done
  for v in old new; do
    echo "== round $r $v http $(uptime)"
    VITRINE_CACHE=false PROJECT_BIN=/tmp/ab/vitrine-$v CONTENDERS="ideal-http project-http" LATENCY=0 CONNS="64 256" OUT=/tmp/ab/sb-http-$v-$r.txt ./run.sh 2>/dev/null
  done
done
echo ALLDONE
