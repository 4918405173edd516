package aggregator_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// TestDeadlineCountsFromArrival checks that a page's deadline counts from
// when its request arrived, not from when the page started: a page that
// waited in line gets less tile time, not more time in all; and that one
// that waited past half its deadline (or all of it) asks its tiles only for
// what they hold (Request.Shed), and says so in its Summary.
func TestDeadlineCountsFromArrival(t *testing.T) {
	const page = time.Second
	tests := []struct {
		waited   time.Duration // before the page starts
		wantTime time.Duration // the page's own elapsed time
		wantShed string
	}{
		{0, page, ""},
		{300 * time.Millisecond, page - 300*time.Millisecond, ""},
		{page / 2, page / 2, ""},
		{600 * time.Millisecond, 400 * time.Millisecond, aggregator.ShedWaited},
		{page, 0, aggregator.ShedExpired},
		{3 * page, 0, aggregator.ShedExpired},
	}
	for _, tt := range tests {
		t.Run(tt.waited.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var shed []bool
				slow := &tilestest.Fetcher{TileName: "slow", FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
					shed = append(shed, req.Shed)
					if err := tiles.Wait(ctx, 5*time.Second); err != nil {
						return tiles.Outcome{}, err
					}
					return tiles.Fresh(dataOf("slow")), nil
				}}
				a := mustNew(t, aggregator.Options{TileTimeout: 2 * page, PageTimeout: page}, slow)
				arrived := time.Now()
				time.Sleep(tt.waited)
				p := a.Page(t.Context(), tiles.Request{Arrived: arrived})
				want := aggregator.Summary{Elapsed: tt.wantTime, Waited: tt.waited, Shed: tt.wantShed}
				if p.Summary != want {
					t.Errorf("Summary = %+v; want %+v", p.Summary, want)
				}
				if got := time.Since(arrived); got != max(page, tt.waited) {
					t.Errorf("page left %v after its arrival; want %v", got, max(page, tt.waited))
				}
				if p.Results[0].Status != tiles.StatusTimeout {
					t.Errorf("slow: status %s; want timeout", p.Results[0].Status)
				}
				if len(shed) != 1 || shed[0] != (tt.wantShed != "") {
					t.Errorf("the fetcher was asked with Shed = %v; want [%v]", shed, tt.wantShed != "")
				}
			})
		})
	}
}

// TestNoArrivalNoWait checks that a request without an arrival, or with
// one after the page's start, or a page without a deadline, waits nothing
// and is never shed.
func TestNoArrivalNoWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustNew(t, aggregator.Options{PageTimeout: time.Second}, after("a", 10*time.Millisecond))
		none := mustNew(t, aggregator.Options{}, after("a", 10*time.Millisecond))
		long := time.Now()
		time.Sleep(time.Hour)
		for _, tc := range []struct {
			a   *aggregator.Aggregator
			req tiles.Request
		}{{a, tiles.Request{}}, {a, tiles.Request{Arrived: time.Now().Add(time.Minute)}}, {none, tiles.Request{Arrived: long}}} {
			if got, want := tc.a.Page(t.Context(), tc.req).Summary, (aggregator.Summary{Elapsed: 10 * time.Millisecond,
				Complete: true}); got != want {
				t.Errorf("Summary = %+v; want %+v", got, want)
			}
		}
	})
}
