package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"vitrine/servertest"
)

// BenchmarkReplicas drives GET /home?user=uN (1,000 users) through nginx
// (examples/nginx.conf) in front of two Vitrine replicas sharing one
// redis-server, every tile over HTTP from `vitrine backends`, with
// loadWorkers (256) closed-loop clients, the cache on:
//
//	0ms              the backends answer at once (-latency ...=0s)
//	default          the backends' default latencies (40/80/120ms)
//	redis-down       default latencies, Redis stopped before the run
//	one-replica      default latencies, one replica without Redis or nginx,
//	                 for comparison
//
// Each round starts everything afresh, serves an unmeasured warm-up of 1,000
// pages (one per user), then max(b.N, 2*loadWorkers) measured pages, in a run
// far shorter than the TTL (30s, 60s per user), and reports, besides pages/s
// and the page quantiles:
//
//	requests/key     backend requests per key (tile and user) over the run,
//	                 from the backends' /stats
//	fetches/key      the same without the hedged second requests (the
//	                 replicas' vitrine_hedges_started_total): 1 is one fetch
//	                 per key per TTL across the replicas
//	redis-rt/page    Redis round trips per page (every replica's
//	                 vitrine_redis_call_seconds count over the pages served)
//	redis-rt/miss    the same per memory miss (vitrine_cache_misses_total,
//	                 which counts every request that missed, coalesced
//	                 ones included)
//	claims/key/replica  Redis claims (the read, with the lease when
//	                 nothing servable is there) per key and replica: 1 when
//	                 each replica asks once per key, more when a replica
//	                 that lost a lease polls for the holder's entry
//	writes/key       Redis writes per key across the replicas: 1 when
//	                 only the lease holder writes
//
//	go test -run XXX -bench Replicas -benchtime 20000x -count 3 .
//
// The load client, the replicas and the backends share this process's two
// cores with nginx and Redis: the figures are for comparing the scenarios
// with each other, on one machine in one hour.
func BenchmarkReplicas(b *testing.B) {
	const users = 1000
	zero := []string{"-latency", "banners=0s,products=0s,recommendations=0s"}
	for _, sc := range []struct {
		name      string
		latency   []string
		replicas  int
		redisDown bool
	}{
		{name: "0ms", latency: zero, replicas: 2},
		{name: "default", replicas: 2},
		{name: "redis-down", replicas: 2, redisDown: true},
		{name: "one-replica", replicas: 1},
	} {
		b.Run(sc.name, func(b *testing.B) {
			b.StopTimer()
			be := startBackends(b, sc.latency...)
			args := []string{"-backend", tilesAt(be.base)}
			if sc.replicas > 1 {
				redis := servertest.Redis(b)
				args = append(args, "-redis", redis.URL())
				if sc.redisDown {
					redis.Stop()
				}
			}
			var bases []string
			for range sc.replicas {
				bases = append(bases, start(b, append(args, sc.latency...)...).base)
			}
			target := bases[0]
			if sc.replicas > 1 {
				target = servertest.Nginx(b, nginxSite(b, bases[0], bases[1])).URL()
			}
			client := newLoadClient(loadWorkers)
			defer client.CloseIdleConnections()
			ctx := context.Background()
			path := usersPath(users)
			drive(ctx, client, target, loadPlan{workers: loadWorkers, pages: users, maxTime: loadMaxTime, path: path})
			pages := max(b.N, 2*loadWorkers)
			b.StartTimer()
			res := drive(ctx, client, target, loadPlan{workers: loadWorkers, pages: pages, maxTime: loadMaxTime, path: path})
			b.StopTimer()

			ls := res.latencies()
			b.ReportMetric(float64(len(ls))/res.elapsed.Seconds(), "pages/s")
			b.ReportMetric(float64(res.elapsed.Nanoseconds())/float64(max(len(ls), 1)), "ns/op")
			b.ReportMetric(millis(quantile(ls, 0.50)), "p50-ms")
			b.ReportMetric(millis(quantile(ls, 0.99)), "p99-ms")
			if bad := res.count(func(p pageRecord) bool { return p.code != http.StatusOK }); bad > 0 {
				b.Errorf("%d pages not 200; want none", bad)
			}
			b.ReportMetric(res.share(func(p pageRecord) bool { return p.code == http.StatusOK && int(p.status[stOK]) == p.tiles }), "complete-%")

			var rt, claims, stores, misses, served, hedges float64
			for _, base := range bases {
				m, err := scrapeMetrics(client, base)
				if err != nil {
					b.Fatal(err)
				}
				rt += m.sum("vitrine_redis_call_seconds_count")
				claims += m.sum("vitrine_redis_call_seconds_count", "op", "claim")
				stores += m.sum("vitrine_redis_call_seconds_count", "op", "store")
				misses += m.sum("vitrine_cache_misses_total")
				served += m.sum("vitrine_pages_total")
				hedges += m.sum("vitrine_hedges_started_total")
			}
			b.ReportMetric(rt/max(served, 1), "redis-rt/page")
			b.ReportMetric(rt/max(misses, 1), "redis-rt/miss")
			var fetches, keys int64
			for _, perUser := range backendStats(b, be.base) {
				for _, n := range perUser {
					fetches += n
					keys++
				}
			}
			b.ReportMetric(float64(fetches)/float64(max(keys, 1)), "requests/key")
			if sc.replicas > 1 {
				b.ReportMetric(claims/float64(max(keys, 1))/float64(sc.replicas), "claims/key/replica")
				b.ReportMetric(stores/float64(max(keys, 1)), "writes/key")
			}
			b.ReportMetric((float64(fetches)-hedges)/float64(max(keys, 1)), "fetches/key")
			if testing.Verbose() {
				b.Logf("%d pages in %v (lag %v); tiles: %s", len(ls), res.elapsed.Round(time.Millisecond), res.lag, res.tileSummary())
			}
		})
	}
}
