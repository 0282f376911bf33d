package daemon_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/daemon"
	"github.com/minimost/minimost/pkg/store"
)

// TestMain_Health runs the daemon in-process on a temporary data directory, asks it for
// /api/health over HTTPS, and closes it.
func TestMain_Health(t *testing.T) {
	m := MustRunMain(t)
	dir := m.Config.DataDir

	resp, err := httpsClient(t, dir).Get(m.URL() + "/api/health")
	if err != nil {
		t.Fatalf("GET /api/health: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/health: %d, want 200", resp.StatusCode)
	}
	if fi, err := os.Stat(filepath.Join(dir, "minimost.sock")); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Errorf("admin socket: %v, want a socket in the data directory", err)
	}

	MustCloseMain(t, m)
	if _, err := os.Lstat(filepath.Join(dir, "minimost.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("admin socket after Close: %v, want it removed", err)
	}
	if _, err := httpsClient(t, dir).Get(m.URL() + "/api/health"); err == nil {
		t.Errorf("GET /api/health after Close succeeded, want the port closed")
	}
}

// MustRunMain runs minimostd's Main in-process on a new temporary data directory, listening
// on a port the kernel picks, with extra command-line flags; it fails the test if Main does
// not start. The caller closes it with MustCloseMain. Main.Run sets the process's umask to
// 0077: tests that run it see that umask afterwards.
func MustRunMain(tb testing.TB, args ...string) *daemon.Main {
	tb.Helper()
	m, _ := mustRunMainLog(tb, args...)
	return m
}

// mustRunMainLog is MustRunMain, and the daemon's log. A -data among args takes the place of
// the temporary directory.
func mustRunMainLog(tb testing.TB, args ...string) (*daemon.Main, *syncBuffer) {
	tb.Helper()
	log := &syncBuffer{}
	m := daemon.NewMain()
	m.Stdout, m.Stderr = log, log
	if err := m.ParseFlags(append([]string{"-data", tb.TempDir(), "-listen", "127.0.0.1:0", "-log-level", "debug"}, args...)); err != nil {
		tb.Fatalf("ParseFlags: %v\n%s", err, log)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		tb.Fatalf("Run: %v\n%s", err, log)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("minimostd's log:\n%s", log)
		}
	})
	return m, log
}

// MustCloseMain closes m and fails the test on an error.
func MustCloseMain(tb testing.TB, m *daemon.Main) {
	tb.Helper()
	if err := m.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
}

// httpsClient trusts the self-signed certificate the daemon generated in dir.
func httpsClient(tb testing.TB, dir string) *http.Client {
	tb.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatalf("cert.pem: no certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
		DisableKeepAlives: true,
	}}
}

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMain_SdNotify runs the daemon as systemd would with Type=notify and WatchdogSec=: it
// must say READY=1 once it serves, WATCHDOG=1 at half the watchdog period, and STOPPING=1
// when it closes.
func TestMain_SdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms: WATCHDOG=1 every 50 ms
	t.Setenv("WATCHDOG_PID", "")

	states := make(chan string, 100)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(states)
				return
			}
			states <- string(buf[:n])
		}
	}()
	next := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case got, ok := <-states:
				if !ok {
					t.Fatalf("notify socket closed before %s", want)
				}
				if got == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %s from the daemon", want)
			}
		}
	}

	m := MustRunMain(t)
	next("READY=1")
	next("WATCHDOG=1")
	MustCloseMain(t, m)
	next("STOPPING=1")
}

// TestExitCode: -check-config on an invalid file exits 1, a bad flag 2, -version 0.
func TestExitCode(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "settings.json"), []byte("{\n  \"colour\": 1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"-data", dir, "-check-config"}, 1},
		{[]string{"-no-such-flag"}, 2},
		{[]string{"-max-open-user-dbs", "0"}, 2},
		{[]string{"-version"}, 0},
	} {
		m := daemon.NewMain()
		var out bytes.Buffer
		m.Stdout, m.Stderr = &out, &out
		err := m.ParseFlags(tc.args)
		if got := daemon.ExitCode(err); got != tc.want {
			t.Errorf("%v: exit code %d (%v), want %d", tc.args, got, err, tc.want)
		}
	}
}

// After a start the daemon opens, in the background, the user databases of the accounts with
// live sessions (the most recent first, up to the handle cache's bound, -max-open-user-dbs),
// and says so.
func TestMain_WarmsUserDBsAtStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default", nil, "opened=2"}, // ann's and ben's
		{"bound", []string{"-max-open-user-dbs", "1"}, "opened=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := warmedLog(t, tc.args...)
			if !strings.Contains(log, `msg="user databases warmed" `+tc.want+" ") {
				t.Fatalf("warming with %v: want %s:\n%s", tc.args, tc.want, log)
			}
		})
	}
}

// warmedLog starts the daemon (with args) on a data directory of three accounts, two of them
// with live sessions, and returns its log once it says the user databases are warmed.
func warmedLog(t *testing.T, args ...string) string {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ann", "ben", "cat"} {
		a, err := s.CreateUser(ctx, n, "x", nil)
		if err != nil {
			t.Fatal(err)
		}
		if n != "cat" { // cat never logged in
			if err := s.CreateSession(ctx, "h-"+n, a, time.Now().Add(time.Hour).Unix(), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m, log := mustRunMainLog(t, append([]string{"-data", dir, "-init"}, args...)...)
	defer MustCloseMain(t, m)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(log.String(), "user databases warmed") {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no warming logged:\n%s", log)
		}
	}
	return log.String()
}
