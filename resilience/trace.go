package resilience

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// Tracing, when Options.Tracer is set. The layers annotate the span they
// find in the context of a Fetch (the aggregator's "tile NAME" span) with
// how the tile was answered (vitrine.cache, by the memory, coalescer and
// fallback layers) and the breaker's state (vitrine.breaker, with an event
// "circuit open" on a refusal), and add spans of their own: "attempt", one
// per backend call (the attempts layer; a hedge's two attempts side by side
// under the same parent), and "refresh NAME", a new root linked to the span
// whose request found the entry stale (the memory layer). A shared fetch
// runs under the span of the miss that started it: its context keeps the
// caller's values.
//
// Without a tracer the attempts layer is left out and the others check a
// flag, so tracing off costs a nil check.

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

// note records on the span in ctx how the tile was answered. A later note
// replaces an earlier one: a miss that ends coalesced or rescued says so.
func (b *base) note(ctx context.Context, how string) {
	if b.traced {
		trace.SpanFromContext(ctx).SetAttributes(attrCache.String(how))
	}
}

// attempts is the layer that traces each attempt at the backend
// (Options.Tracer set) in a span "attempt": its kind, first or hedge, and
// its result. An attempt the bulkhead refused (its error wraps
// ErrBulkheadFull) is "refused". Under the hedging layer, which names the
// attempt in its context (withAttempt), the span is left open for the
// hedge to end once it knows which attempt won; otherwise an attempt wins
// if it succeeds.
type attempts struct {
	base
	tracer trace.Tracer
}

func (l *attempts) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	a, hedged := ctx.Value(attemptKey{}).(*attemptTrace)
	kind := attemptFirst
	if hedged {
		kind = a.kind
	}
	ctx, span := l.tracer.Start(ctx, "attempt", trace.WithAttributes(attrTile.String(l.name), attrAttempt.String(kind)))
	out, err := l.next.Fetch(ctx, req)
	switch {
	case errors.Is(err, ErrBulkheadFull):
		span.AddEvent("bulkhead full")
		span.SetAttributes(attrResult.String(resultRefused))
		span.End()
	case hedged:
		a.span = span
	default:
		endAttempt(span, err, err == nil)
	}
	return out, err
}

// attemptTrace is one of a hedged fetch's attempts: its kind, and its span
// while the hedge has not ended it.
type attemptTrace struct {
	kind string
	span trace.Span // nil without tracing, or once ended
}

type attemptKey struct{}

// withAttempt names the attempt made with the returned context.
func withAttempt(ctx context.Context, a *attemptTrace) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

// end ends the attempt's span, if it is open; won says its answer was used.
func (a *attemptTrace) end(err error, won bool) {
	if a.span != nil {
		endAttempt(a.span, err, won)
		a.span = nil
	}
}

// endAttempt ends an attempt's span, whose answer was used if won.
// Otherwise an attempt that answered anyway, or was cancelled (by the
// winner, or because nobody waited any more), lost; one that failed, or
// ran out of time, is an error.
func endAttempt(span trace.Span, err error, won bool) {
	result := resultError
	switch {
	case won:
		result = resultWon
	case err == nil, errors.Is(err, context.Canceled):
		result = resultCancelled
	default:
		span.SetStatus(codes.Error, err.Error())
	}
	span.SetAttributes(attrResult.String(result))
	span.End()
}

// startRefresh starts the root span of a background refresh of tile,
// linked to the span of the request that triggered it (which it outlives,
// so it is not that span's child); without a tracer it returns ctx and a
// nil span.
func startRefresh(ctx context.Context, tracer trace.Tracer, tile string) (context.Context, trace.Span) {
	if tracer == nil {
		return ctx, nil
	}
	return tracer.Start(ctx, "refresh "+tile, trace.WithNewRoot(),
		trace.WithLinks(trace.LinkFromContext(ctx)), trace.WithAttributes(attrTile.String(tile)))
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
