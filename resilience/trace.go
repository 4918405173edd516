package resilience

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracing, when Options.Tracer is set. The layer annotates the span it
// finds in the context of a Fetch (the aggregator's "tile NAME" span) with
// how the tile was answered, and adds spans of its own: "attempt", one per
// backend call (a hedge's two attempts side by side under the same parent),
// and "refresh NAME", a new root linked to the span whose request found the
// entry stale. A shared fetch runs under the span of the miss that started
// it: its context keeps the caller's values (WithoutCancel).
//
// Without a tracer nothing here runs: every entry point checks t.tracer
// first, so tracing off costs a nil check.

// Attribute keys and values set by this package.
const (
	attrCache   = attribute.Key("vitrine.cache")   // on the tile span
	attrBreaker = attribute.Key("vitrine.breaker") // on the tile span
	attrTile    = attribute.Key("vitrine.tile")    // on attempt and refresh spans
	attrAttempt = attribute.Key("vitrine.attempt") // first | hedge
	attrResult  = attribute.Key("vitrine.result")  // won | cancelled | error | refused

	cacheHit       = "hit"
	cacheStale     = "stale"
	cacheMiss      = "miss"
	cacheCoalesced = "coalesced"
	cacheFallback  = "fallback"

	attemptFirst = "first"
	attemptHedge = "hedge"

	resultWon       = "won"
	resultCancelled = "cancelled"
	resultError     = "error"
	resultRefused   = "refused"
)

// noteCache records on the span in ctx how the cache answered. A later
// note replaces an earlier one: a miss that ends coalesced or rescued says
// so.
func (t *Tile) noteCache(ctx context.Context, how string) {
	if t.tracer != nil {
		trace.SpanFromContext(ctx).SetAttributes(attrCache.String(how))
	}
}

// noteBreaker records on the span in ctx the state of the breaker that let
// a fetch through (refusal is false) or refused it; a refusal is also an
// event, "circuit open".
func (t *Tile) noteBreaker(ctx context.Context, refused bool) {
	if t.tracer == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(attrBreaker.String(string(breakerState(t.breaker.State()))))
	if refused {
		span.AddEvent("circuit open")
	}
}

// startAttempt starts the span of one backend call, kind first or hedge;
// without a tracer it returns ctx and a nil span.
func (t *Tile) startAttempt(ctx context.Context, kind string) (context.Context, trace.Span) {
	if t.tracer == nil {
		return ctx, nil
	}
	return t.tracer.Start(ctx, "attempt", trace.WithAttributes(attrTile.String(t.name), attrAttempt.String(kind)))
}

// endAttempt ends an attempt's span, if it has one. won says its answer
// was the one used. Otherwise an attempt that answered anyway, or was
// cancelled (by the winner, or because nobody waited any more), lost; one
// that failed, or ran out of time, is an error.
func (r attemptResult) endAttempt(won bool) {
	if r.span == nil {
		return
	}
	result := resultError
	switch {
	case won:
		result = resultWon
	case r.err == nil, errors.Is(r.err, context.Canceled):
		result = resultCancelled
	default:
		r.span.SetStatus(codes.Error, r.err.Error())
	}
	r.span.SetAttributes(attrResult.String(result))
	r.span.End()
}

// refuseAttempt ends the span of an attempt the bulkhead refused.
func refuseAttempt(span trace.Span) {
	if span == nil {
		return
	}
	span.AddEvent("bulkhead full")
	span.SetAttributes(attrResult.String(resultRefused))
	span.End()
}

// startRefresh starts the root span of a background refresh, linked to the
// span of the request that triggered it (which it outlives, so it is not
// that span's child); without a tracer it returns ctx and a nil span.
func (t *Tile) startRefresh(ctx context.Context) (context.Context, trace.Span) {
	if t.tracer == nil {
		return ctx, nil
	}
	return t.tracer.Start(ctx, t.refreshName, trace.WithNewRoot(),
		trace.WithLinks(trace.LinkFromContext(ctx)), trace.WithAttributes(attrTile.String(t.name)))
}

// endRefresh ends a refresh's span, if it has one, with err as its status.
func endRefresh(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
