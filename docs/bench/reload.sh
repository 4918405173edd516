#!/usr/bin/env bash
# Hot reload under load: wrk on /home for D, R rounds, each round once
# without reloads and once with N reloads (POST /reload every 0.3s, two
# valid files alternated that differ in products' timeout and TTL and in
# one added tile, notice); tiles over HTTP from `vitrine backends` at 0 ms,
# notice too (an added tile's first fetch is a cold miss: at notice's default
# latency the pages waiting for it would measure the backend, not the reload).
# Two loads: paced (each connection waits 31ms between pages: about 2,000
# pages/s over 64 connections) and max (wrk as fast as it can).
#   docs/bench/reload.sh > docs/bench/reload.txt
#   D=15s R=6 N=50 LOADS=paced docs/bench/reload.sh   # shorter runs, alternated
set -u
D=${D:-32s}; R=${R:-2}; N=${N:-100}; C=${C:-64}; LOADS=${LOADS:-paced max}
cd "$(dirname "$0")/../.."
dir=$(mktemp -d); trap 'kill $pb $pv 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/vitrine" . || exit 1
B=http://127.0.0.1:19100; P=http://127.0.0.1:19101; A=http://127.0.0.1:19102
printf 'tiles:\n  - {name: banners, url: "%s/banners"}\n  - {name: products, url: "%s/products", timeout: 300ms, ttl: 30s}\n  - {name: recommendations, url: "%s/recommendations", personalised: true}\n' \
  $B $B $B > "$dir/a.yaml"
printf 'tiles:\n  - {name: banners, url: "%s/banners"}\n  - {name: products, url: "%s/products", timeout: 400ms, ttl: 20s}\n  - {name: recommendations, url: "%s/recommendations", personalised: true}\n  - {name: notice, url: "%s/notice"}\n' \
  $B $B $B $B > "$dir/b.yaml"
cp "$dir/a.yaml" "$dir/live.yaml"
"$dir/vitrine" backends -addr 127.0.0.1:19100 -latency banners=0,products=0,recommendations=0,notice=0 >/dev/null 2>&1 & pb=$!
"$dir/vitrine" -config "$dir/live.yaml" -addr 127.0.0.1:19101 -admin-addr 127.0.0.1:19102 >/dev/null 2>"$dir/log" & pv=$!
sleep 1
curl -sf -o /dev/null "$B/healthz" || { echo "vitrine backends did not start" >&2; exit 1; }
curl -sf -o /dev/null "$A/healthz" || { echo "vitrine did not start: $(cat "$dir/log")" >&2; exit 1; }
[[ $(curl -s "$P/home" | grep -o '"status":"ok"' | wc -l) == 3 ]] || { echo "a tile of /home is not ok" >&2; exit 1; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, shared; wrk -t2 -c$C -d$D --latency $P/home; $N reloads per loaded run"
wrk -t2 -c"$C" -d5s "$P/home" >/dev/null # warm-up
echo 'function delay() return 31 end' > "$dir/paced.lua"
echo 'function delay() return 0 end' > "$dir/max.lua"
reloads() {
  for i in $(seq 1 "$N"); do
    if ((i % 2)); then cp "$dir/b.yaml" "$dir/live.yaml"; else cp "$dir/a.yaml" "$dir/live.yaml"; fi
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "$A/reload"
    sleep 0.3
  done > "$dir/codes"
}
for r in $(seq 1 "$R"); do
  for load in $LOADS; do
    modes="without with"; ((r % 2)) || modes="with without" # alternate the order: drift hits both alike
    for mode in $modes; do
      [[ $mode == with ]] && { reloads & pr=$!; }
      out=$(wrk -t2 -c"$C" -d"$D" --latency -s "$dir/$load.lua" "$P/home")
      echo "== round $r, $load load, $mode reloads"
      [[ $mode == with ]] && { wait $pr; echo "reload answers (count, status): $(sort "$dir/codes" | uniq -c | tr -s ' \n' ' ')"; }
      grep -q 'Socket errors' <<<"$out" || echo "Socket errors: none"
      echo "$out"
    done
  done
done
echo "== $A/metrics"
curl -sS "$A/metrics" | grep -E '^vitrine_(config_reloads_total|pages_total|tile_results_total\{status="(error|timeout)")'
echo "== pages answered other than 200 (Vitrine's log): $(grep -c 'msg=request' "$dir/log") requests logged, $(grep 'msg=request' "$dir/log" | grep -vc 'status=200') not 200"
