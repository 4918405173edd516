package graceful_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"vitrine/graceful"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// failingListener fails every Accept, as a listener whose socket broke.
type failingListener struct{ net.Listener }

func (failingListener) Accept() (net.Conn, error) { return nil, errors.New("accept: socket broke") }

// TestServeWithAdminFails: if the admin server stops, the public one shuts
// down and the error is returned (main exits 1), rather than the operator
// losing its metrics unseen.
func TestServeWithAdminFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer adminLn.Close()
	srv, admin := &http.Server{Handler: http.NotFoundHandler()}, &http.Server{Handler: http.NotFoundHandler()}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan error, 1)
	go func() {
		done <- graceful.ServeWithAdmin(context.Background(), srv, ln, admin, failingListener{adminLn}, time.Second, logger)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "socket broke") {
			t.Errorf("ServeWithAdmin = %v; want the admin server's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("ServeWithAdmin still serving 10s after the admin server failed; want it to stop")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Errorf("the public port still accepts connections; want it shut down with the admin one")
	}
}
