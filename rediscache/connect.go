package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults for Settings and Options.
const (
	DefaultPrefix = "vitrine:"
	// DefaultTimeout bounds every Redis call: the tier must answer well
	// within a tile's budget or be skipped.
	DefaultTimeout = 100 * time.Millisecond
)

// Settings say where the Redis tier is. URL (redis:// or rediss://) names a
// single node, and carries credentials, database and TLS. Addrs, when set,
// replaces its host: several addresses are a Redis Cluster, and with
// MasterName they are Sentinels. Settings with neither are not a tier.
type Settings struct {
	URL        string
	Addrs      []string
	MasterName string
	Prefix     string        // key namespace; "" means DefaultPrefix
	Timeout    time.Duration // per call; 0 means DefaultTimeout
}

// ParseURL checks a -redis value. Its error never contains the URL's
// password, so that it can be printed and logged.
func ParseURL(s string) error {
	_, err := parseURL(s)
	return err
}

// Connect returns a client for s, tuned so that no call outlives
// s.Timeout. It does not dial: Redis may be down at start-up, and the
// client connects (and reconnects) on first use.
func Connect(s Settings) (redis.UniversalClient, error) {
	o, err := universalOptions(s)
	if err != nil {
		return nil, err
	}
	quietOnce.Do(func() { redis.SetLogger(debugLogger{}) })
	return redis.NewUniversalClient(o), nil
}

// The client library logs each failed dial on a logger of its own, which
// would print a line per call while Redis is down; the tier logs its state
// changes itself (health.go), so the library's lines go to slog's Debug.
// The library's logger is process-wide, hence once.
var quietOnce sync.Once

type debugLogger struct{}

func (debugLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

func universalOptions(s Settings) (*redis.UniversalOptions, error) {
	o := &redis.Options{}
	if s.URL != "" {
		var err error
		if o, err = parseURL(s.URL); err != nil {
			return nil, err
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

// tune sets what keeps a call inside its deadline: socket timeouts at the
// call's budget, one retry without a long backoff (it reconnects a pooled
// connection that a restarted server closed), one dial attempt per call,
// and no per-connection handshake beyond HELLO.
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
	// CLIENT SETINFO and CLIENT MAINT_NOTIFICATIONS each cost a round trip
	// on every new connection and only serve Redis Cloud's tooling.
	u.DisableIdentity = true
	u.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if u.Protocol == 0 {
		u.Protocol = 2 // Vitrine uses no RESP3 feature
	}
}

// parseURL is redis.ParseURL restricted to TCP, with its errors scrubbed of
// the URL's credentials.
func parseURL(s string) (*redis.Options, error) {
	u, err := url.Parse(s)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error quotes the whole URL
		}
		return nil, fmt.Errorf("redis URL: %s", scrub(err.Error(), s))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("redis URL: scheme must be redis:// or rediss://; got %q", scrub(u.Scheme, s))
	}
	o, err := redis.ParseURL(s)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "redis: ")
		return nil, fmt.Errorf("redis URL: %s", scrub(msg, s))
	}
	return o, nil
}

// scrub replaces the user-info part of raw (user:password before the host)
// wherever it appears in msg.
func scrub(msg, raw string) string {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at <= 0 {
		return msg
	}
	info := rest[:at]
	msg = strings.ReplaceAll(msg, info, "xxxxx")
	if _, pw, ok := strings.Cut(info, ":"); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
		if dec, err := url.PathUnescape(pw); err == nil && dec != "" {
			msg = strings.ReplaceAll(msg, dec, "xxxxx")
		}
	}
	return msg
}
