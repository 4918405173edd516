#!/usr/bin/env bash
# Identity cost: alice's page at 256 connections on a build BEFORE (named by
# ?user=alice) against a build AFTER (?user=alice, and a verified JWT),
# alternated; tiles over HTTP from `vitrine backends` at 0 ms, cache on.
#   BEFORE=/tmp/vitrine-before AFTER=/tmp/vitrine-after docs/bench/identity-cost.sh
set -u
BEFORE=${BEFORE:?a Vitrine binary}; AFTER=${AFTER:?a Vitrine binary with -identity}; D=${D:-8s}; R=${R:-3}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
tiles='tiles:
  - {name: banners, url: "http://127.0.0.1:19000/banners"}
  - {name: products, url: "http://127.0.0.1:19000/products"}
  - {name: recommendations, url: "http://127.0.0.1:19000/recommendations", personalised: true}'
printf '%s\n' "$tiles" > "$dir/query.yaml"
printf 'identity: {source: jwt, jwks: "http://127.0.0.1:19000/.well-known/jwks.json", issuer: vitrine-demo, audience: vitrine}\n%s\n' \
  "$tiles" > "$dir/jwt.yaml"
"$AFTER" backends -addr 127.0.0.1:19000 -latency banners=0,products=0,recommendations=0 >/dev/null 2>&1 & pb=$!
sleep 1
TOKEN=$("$AFTER" token -user alice -ttl 1h)
for r in $(seq 1 "$R"); do
  for mode in before-query after-query after-jwt; do
    bin=$AFTER; conf=query; url='http://127.0.0.1:19001/home?user=alice'; hdr=()
    [[ $mode == before-query ]] && bin=$BEFORE
    [[ $mode == after-jwt ]] && { conf=jwt; url=http://127.0.0.1:19001/home; hdr=(-H "Authorization: Bearer $TOKEN"); }
    "$bin" -config "$dir/$conf.yaml" -addr 127.0.0.1:19001 >/dev/null 2>&1 & pv=$!
    sleep 1
    out=$(wrk -t2 -c256 -d"$D" --latency "${hdr[@]}" "$url")
    echo "$mode round $r: $(grep Requests/sec <<<"$out") $(grep ' 99%' <<<"$out")"
    kill $pv; wait $pv 2>/dev/null
  done
done
kill $pb; wait $pb 2>/dev/null
