package rediscache

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9/maintnotifications"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, wantErr string // wantErr "": valid
	}{
		{"redis://localhost:6379/0", ""},
		{"redis://:s3cret@cache.internal:6380/2", ""},
		{"rediss://user:s3cret@cache.internal/0", ""},
		{"http://cache.internal:6379", `must be a redis:// or rediss:// (TLS) URL (e.g. redis://localhost:6379/0); got scheme "http"`},
		{"unix:///run/redis.sock", `got scheme "unix"`},
		{"cache.internal:6379", "must be a redis:// or rediss://"},
		{"redis://:s3cret@cache.internal/zero", "invalid database number"},
		{"redis://u:s3cret@cache.internal:port/0", "is not a URL"},
		{"redis://u:s3cret@cache.internal/0?s3cret=1", "unexpected option"},
		{"redis://u:s3cr%20et@cache internal/0", "is not a URL"},
		{"redis://u:s3cret@cache.internal:70000/0", `"redis://u:xxxxx@cache.internal:70000/0" port must be 1 to 65535`},
		{"redis://u:s3cret@cache.internal/-1", "database number -1 must be 0 or more"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := ParseURL(tc.url)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseURL: %v; want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ParseURL: %v; want an error containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr") {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

func TestConnectSettings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		s         Settings
		addrs     []string
		db        int
		password  string
		cluster   bool
		wantError string
	}{
		{name: "one node", s: Settings{URL: "redis://:pw@10.0.0.1:6380/3"},
			addrs: []string{"10.0.0.1:6380"}, db: 3, password: "pw"},
		{name: "cluster nodes with the URL's credentials", s: Settings{URL: "redis://:pw@x/0", Addrs: []string{"a:1", "b:2"}},
			addrs: []string{"a:1", "b:2"}, password: "pw", cluster: true},
		{name: "sentinels", s: Settings{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "shop"},
			addrs: []string{"s1:26379", "s2:26379"}},
		{name: "a cluster with a database", s: Settings{URL: "redis://x/1", Addrs: []string{"a:1", "b:2"}},
			wantError: "only database 0"},
		{name: "nothing", s: Settings{}, wantError: "no URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := universalOptions(tc.s)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("universalOptions: %v; want an error containing %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(u.Addrs, ",") != strings.Join(tc.addrs, ",") || u.DB != tc.db || u.Password != tc.password {
				t.Errorf("Addrs %v DB %d Password %q; want %v %d %q", u.Addrs, u.DB, u.Password, tc.addrs, tc.db, tc.password)
			}
			if got := len(u.Addrs) > 1 && u.MasterName == ""; got != tc.cluster {
				t.Errorf("cluster: %t; want %t", got, tc.cluster)
			}
		})
	}
}

// What keeps a call within its deadline, and off the wire at connect.
func TestConnectTunesTheClientForTightDeadlines(t *testing.T) {
	u, err := universalOptions(Settings{URL: "redis://x/0?dial_timeout=10s", Timeout: 80 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{u.DialTimeout, u.ReadTimeout, u.WriteTimeout, u.PoolTimeout} {
		if d != 80*time.Millisecond {
			t.Errorf("a socket or pool timeout is %v; want the call's 80ms", d)
		}
	}
	if !u.ContextTimeoutEnabled || u.MaxRetries != 1 || u.DialerRetries != 1 || u.MaxRetryBackoff > 10*time.Millisecond {
		t.Errorf("ContextTimeoutEnabled %t MaxRetries %d DialerRetries %d MaxRetryBackoff %v; want true, 1, 1, <= 10ms",
			u.ContextTimeoutEnabled, u.MaxRetries, u.DialerRetries, u.MaxRetryBackoff)
	}
	if !u.DisableIdentity || u.MaintNotificationsConfig == nil || u.MaintNotificationsConfig.Mode != maintnotifications.ModeDisabled {
		t.Errorf("DisableIdentity %t MaintNotificationsConfig %+v; want no handshake beyond HELLO", u.DisableIdentity, u.MaintNotificationsConfig)
	}
	if d, _ := universalOptions(Settings{URL: "redis://x/0"}); d.ReadTimeout != DefaultTimeout {
		t.Errorf("default ReadTimeout = %v; want %v", d.ReadTimeout, DefaultTimeout)
	}
}
