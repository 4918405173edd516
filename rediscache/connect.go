package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"vitrine/tiles"
	"vitrine/upstream"
)

// Defaults for Settings and Options.
const (
	DefaultPrefix = "vitrine:"
	// DefaultTimeout bounds every Redis call, well within a tile's budget.
	DefaultTimeout = 100 * time.Millisecond
)

// Settings say where the Redis tier is. URL (redis:// or rediss://) names a
// node, credentials, database and TLS; Addrs replaces its host with a
// Cluster's nodes or, with MasterName, Sentinels.
type Settings struct {
	URL        string
	Addrs      []string
	MasterName string
	Timeout    time.Duration // per call; 0 means DefaultTimeout
}

// ParseURL reads a -redis URL as the client will: redis:// or rediss://, a
// host, a port from 1 to 65535 if any, a database >= 0, no fragment. Its
// errors never show the password.
func ParseURL(s string) (*redis.Options, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("is not a URL (e.g. redis://localhost:6379/0); escape special characters of a password as %XX")
	}
	o, err := checkURL(s, u)
	if err != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			// The client's message may quote the path or query, which could hold it.
			return nil, errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
		}
		return nil, err
	}
	return o, nil
}

// Redacted is the URL s as it may be printed: its password, if any, as
// xxxxx (url.URL.Redacted); "" if s is not a URL.
func Redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Redacted()
}

// checkURL checks s, parsed as u, and returns the client's options for it.
func checkURL(s string, u *url.URL) (*redis.Options, error) {
	shown := strconv.Quote(tiles.Clip(u.Redacted(), 96))
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return nil, fmt.Errorf("%s must be a redis:// or rediss:// (TLS) URL (e.g. redis://localhost:6379/0); "+
			"got scheme %q", shown, tiles.Clip(u.Scheme, 20))
	case u.Hostname() == "":
		return nil, fmt.Errorf("%s has no host (e.g. redis://localhost:6379/0)", shown)
	case u.Fragment != "":
		return nil, fmt.Errorf("%s must not have a fragment (#...); write a # of a password as %%23", shown)
	}
	if p := u.Port(); p != "" {
		if err := upstream.CheckPort(p, 1); err != nil {
			return nil, fmt.Errorf("%s %w", shown, err)
		}
	}
	o, err := redis.ParseURL(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", shown, tiles.Clip(strings.TrimPrefix(err.Error(), "redis: "), 128))
	}
	if o.DB < 0 {
		return nil, fmt.Errorf("%s: database number %d must be 0 or more", shown, o.DB)
	}
	return o, nil
}

// Connect returns a client for s whose calls do not outlive s.Timeout. It
// does not dial: the client connects (and reconnects) on first use.
func Connect(s Settings) (redis.UniversalClient, error) {
	o, err := universalOptions(s)
	if err != nil {
		return nil, err
	}
	quietOnce.Do(func() { redis.SetLogger(debugLogger{}) })
	return redis.NewUniversalClient(o), nil
}

// The library's process-wide logger would print a line per failed dial; the
// tier logs its state changes itself, so the library's lines go to Debug.
var quietOnce sync.Once

type debugLogger struct{}

func (debugLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

func universalOptions(s Settings) (*redis.UniversalOptions, error) {
	o := &redis.Options{}
	if s.URL != "" {
		var err error
		if o, err = ParseURL(s.URL); err != nil {
			return nil, fmt.Errorf("redis URL %w", err)
		}
	}
	u := &redis.UniversalOptions{
		Addrs: s.Addrs, MasterName: s.MasterName,
		DB: o.DB, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
		ClientName: o.ClientName, Protocol: o.Protocol,
		PoolSize: o.PoolSize, MinIdleConns: o.MinIdleConns, MaxIdleConns: o.MaxIdleConns,
		MaxActiveConns: o.MaxActiveConns, ConnMaxIdleTime: o.ConnMaxIdleTime,
		ConnMaxLifetime: o.ConnMaxLifetime,
	}
	if len(u.Addrs) == 0 {
		if s.URL == "" {
			return nil, errors.New("redis: no URL and no addresses")
		}
		u.Addrs = []string{o.Addr}
	}
	if len(u.Addrs) > 1 && u.MasterName == "" && u.DB != 0 {
		return nil, fmt.Errorf("redis: a cluster has only database 0; got database %d", u.DB)
	}
	tune(u, s.Timeout)
	return u, nil
}

// tune keeps a call inside its deadline: socket timeouts at its budget, one
// quick retry (to reconnect after a restart), one dial, no handshake beyond HELLO.
func tune(u *redis.UniversalOptions, timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	u.DialTimeout, u.ReadTimeout, u.WriteTimeout = timeout, timeout, timeout
	u.PoolTimeout = timeout
	u.ContextTimeoutEnabled = true
	u.MaxRetries = 1
	u.MinRetryBackoff, u.MaxRetryBackoff = time.Millisecond, 5*time.Millisecond
	u.DialerRetries = 1
	// CLIENT SETINFO and MAINT_NOTIFICATIONS: a round trip each, per connection.
	u.DisableIdentity = true
	u.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if u.Protocol == 0 {
		u.Protocol = 2 // Vitrine uses no RESP3 feature
	}
}
