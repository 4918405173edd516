package config

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrRestart is the error of a reload that would change a setting only a
// restart applies (RestartOnly).
var ErrRestart = errors.New("restart to apply; nothing was reloaded")

// RestartOnly returns an error wrapping ErrRestart and naming the first
// setting that differs between old and cur and that a running Vitrine does
// not change: the listeners, the Redis connection, tracing, the identity
// source, the secret of cache keys and the shutdown's drain. It never
// shows a value: some are secrets.
func RestartOnly(old, cur Config) error {
	for _, s := range []struct {
		name string
		same bool
	}{
		{"-addr", old.Addr == cur.Addr},
		{"-admin-addr", old.AdminAddr == cur.AdminAddr},
		{"-redis (or the file's redis: nodes)", old.Redis.URL == cur.Redis.URL &&
			reflect.DeepEqual(old.Redis.Addrs, cur.Redis.Addrs) && old.Redis.MasterName == cur.Redis.MasterName},
		{"-redis-prefix", old.Redis.Prefix == cur.Redis.Prefix},
		{"-redis-timeout", old.Redis.Timeout == cur.Redis.Timeout},
		{"-trace", old.Trace == cur.Trace},
		{"-trace-sample", (old.TraceSample == nil) == (cur.TraceSample == nil) &&
			(old.TraceSample == nil || *old.TraceSample == *cur.TraceSample)},
		{"-key-secret", old.KeySecret == cur.KeySecret},
		{"-identity (or its settings: the file's identity:, -identity-keys)", reflect.DeepEqual(old.Identity, cur.Identity)},
		{"-shutdown-timeout", old.ShutdownTimeout == cur.ShutdownTimeout},
	} {
		if !s.same {
			return fmt.Errorf("%s changed: %w", s.name, ErrRestart)
		}
	}
	return nil
}
