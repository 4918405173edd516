package resilience

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// Tracing, with Options.Tracer. The layers annotate the span of a Fetch
// (the aggregator's "tile NAME") with how the tile was answered
// (vitrine.cache) and the breaker's state (vitrine.breaker; an event
// "circuit open" on a refusal), and add spans: "attempt" per backend call
// (a hedge's two side by side), and "refresh NAME", a root linked to the
// span that found the entry stale. A flight runs under the span of the miss
// that started it. Tracing off costs a flag check.
const (
	attrCache   = attribute.Key("vitrine.cache")   // on the tile span
	attrBreaker = attribute.Key("vitrine.breaker") // on the tile span
	attrTile    = attribute.Key("vitrine.tile")    // on attempt and refresh spans
	attrAttempt = attribute.Key("vitrine.attempt") // first | hedge
	attrResult  = attribute.Key("vitrine.result")  // won | cancelled | error | refused

	cacheHit, cacheStale, cacheMiss, cacheCoalesced, cacheFallback = "hit", "stale", "miss", "coalesced", "fallback"
	attemptFirst, attemptHedge                                     = "first", "hedge"
	resultWon, resultCancelled, resultError, resultRefused         = "won", "cancelled", "error", "refused"
)

// note records on the span in ctx how the tile was answered; a later note
// replaces an earlier one.
func (b *base) note(ctx context.Context, how string) {
	if b.traced {
		trace.SpanFromContext(ctx).SetAttributes(attrCache.String(how))
	}
}

// attempts is the layer that traces each attempt in a span "attempt": its
// kind and result ("refused" if its error wraps ErrBulkheadFull). A hedge's
// attempt (attemptKey) is left for the hedge to end once it knows which
// won; any other wins if it succeeds.
type attempts struct {
	base
	tracer trace.Tracer
}

func (l *attempts) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	a, hedged := ctx.Value(attemptKey{}).(*hedgeAttempt)
	if !hedged {
		a = &hedgeAttempt{kind: attemptFirst}
	}
	ctx, span := l.tracer.Start(ctx, "attempt", trace.WithAttributes(attrTile.String(l.name), attrAttempt.String(a.kind)))
	out, err := l.next.Fetch(ctx, req)
	switch {
	case errors.Is(err, ErrBulkheadFull):
		span.AddEvent("bulkhead full")
		span.SetAttributes(attrResult.String(resultRefused))
		span.End()
	case hedged:
		a.span = span
	default:
		a.span, a.err = span, err
		a.end(err == nil)
	}
	return out, err
}

// end ends the attempt's span, if it has one: won if its answer was used,
// cancelled if it answered anyway or was cancelled, else an error.
func (a *hedgeAttempt) end(won bool) {
	if a.span == nil {
		return
	}
	result := resultError
	switch {
	case won:
		result = resultWon
	case a.err == nil, errors.Is(a.err, context.Canceled):
		result = resultCancelled
	default:
		a.span.SetStatus(codes.Error, a.err.Error())
	}
	a.span.SetAttributes(attrResult.String(result))
	a.span.End()
}

// startRefresh starts the span of a refresh of tile, and returns what ends
// it with the refresh's error.
func startRefresh(ctx context.Context, tracer trace.Tracer, tile string) (context.Context, func(error)) {
	if tracer == nil {
		return ctx, func(error) {}
	}
	ctx, span := tracer.Start(ctx, "refresh "+tile, trace.WithNewRoot(),
		trace.WithLinks(trace.LinkFromContext(ctx)), trace.WithAttributes(attrTile.String(tile)))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
