package servertest

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// command sends one inline command to addr and returns the first line of
// the answer.
func command(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return strings.TrimSpace(line)
}

func TestRedisStopAndStartOnTheSamePort(t *testing.T) {
	r := Redis(t)
	addr := r.Addr()
	if got, want := r.URL(), "redis://"+addr+"/0"; got != want {
		t.Errorf("URL() = %q; want %q", got, want)
	}
	if got, want := command(t, addr, "SET k v"), "+OK"; got != want {
		t.Fatalf("SET = %q; want %q", got, want)
	}

	r.Stop()
	if err := ping(addr); err == nil {
		t.Fatal("PING answered after Stop; want no server")
	}
	r.Stop() // a second Stop does nothing

	r.Start()
	if got := r.Addr(); got != addr {
		t.Errorf("Addr() after Start = %q; want %q", got, addr)
	}
	if err := ping(addr); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	// Persistence is off: the restarted server has forgotten k.
	if got, want := command(t, addr, "GET k"), "$-1"; got != want {
		t.Errorf("GET k after restart = %q; want %q (nil)", got, want)
	}
}

func TestRedisServersAreIndependent(t *testing.T) {
	a, b := Redis(t), Redis(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
	command(t, a.Addr(), "SET k a")
	if got, want := command(t, b.Addr(), "EXISTS k"), ":0"; got != want {
		t.Errorf("EXISTS k on the other server = %q; want %q", got, want)
	}
}
