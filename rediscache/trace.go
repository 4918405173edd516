package rediscache

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// The span names of the round trips, made once.
var spanNames = map[string]string{
	"claim": "redis claim", "store": "redis store", "drop": "redis drop", "release": "redis release",
}

// startSpan starts the "redis OP" span of one round trip, a child of the
// span in ctx (the tile's, or its refresh's).
func (c *Cache) startSpan(ctx context.Context, op, tile string) (context.Context, trace.Span) {
	name, ok := spanNames[op]
	if !ok {
		name = "redis " + op
	}
	return c.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		semconv.DBSystemNameRedis,
		semconv.DBOperationName(op),
		attribute.String("vitrine.tile", tile),
	))
}

// endSpan ends a round trip's span, with an Error status if it failed
// (an error reply, a timeout, a refused connection, the caller leaving).
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// downEvent notes on the caller's span a call not sent because the tier is
// down.
func downEvent(ctx context.Context, op string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("redis down", trace.WithAttributes(semconv.DBOperationName(op)))
	}
}
