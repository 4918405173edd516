package rediscache

import (
	"context"
	"time"
)

// Recorder receives what the tier does, for /metrics (package metrics
// implements it). Its methods are called on the request path and must not
// block.
type Recorder interface {
	Hit(tile string)            // Claim found an entry servable at `servable`
	Miss(tile string)           // Claim found none (or one too old)
	Write(tile string)          // Store wrote an entry
	Lock(tile string, won bool) // on a Miss: whether this caller took the lease
	// Call records every round trip: op is claim|store|drop|release; err
	// nil on success; ctx carries its span when tracing (for exemplars).
	Call(ctx context.Context, op string, d time.Duration, err error)
	Undecodable(tile string) // a stored value that did not decode (treated as a miss)
	Up(up bool)              // the tier's state changed (also called once at New with true)
}

// NopRecorder records nothing.
type NopRecorder struct{}

var _ Recorder = NopRecorder{}

func (NopRecorder) Hit(string)                                         {}
func (NopRecorder) Miss(string)                                        {}
func (NopRecorder) Write(string)                                       {}
func (NopRecorder) Lock(string, bool)                                  {}
func (NopRecorder) Call(context.Context, string, time.Duration, error) {}
func (NopRecorder) Undecodable(string)                                 {}
func (NopRecorder) Up(bool)                                            {}
