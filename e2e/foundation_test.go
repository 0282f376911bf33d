package e2e_test

// End-to-end tests of the "Foundation" issue: the data directory contract (its files, modes,
// schema and settings.json), the daemon's lifecycle, every minimostctl command and the hot
// backup, all against the daemon (in-process, or the real minimostd binary where the test is about the process: the
// fresh data directory's modes, the lifecycle, the peer check), the real minimostctl binary,
// real HTTPS clients and the real sqlite3 shell.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ---- helpers shared by foundation_test.go and guide_test.go ----

// sqliteIn runs the real sqlite3 shell on db inside dir and returns its trimmed output.
func sqliteIn(tb testing.TB, dir, db, sql string) string {
	tb.Helper()
	bin := RequireTool(tb, "sqlite3")
	cmd := exec.Command(bin, db, sql)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("sqlite3 %s %q in %s: %v\n%s", db, sql, dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// ctlIn runs minimostctl with the working directory cwd.
func ctlIn(tb testing.TB, cwd, socket string, args ...string) CtlResult {
	tb.Helper()
	return runCtl(tb, cwd, socket, "", args...)
}

// startExpectingFailure runs minimostd on dir and waits (at most timeout) for it to exit by
// itself; it returns the combined output and the exit code. A daemon still running after
// timeout is killed and the test fails.
func startExpectingFailure(tb testing.TB, dir string, timeout time.Duration) (string, int) {
	tb.Helper()
	cmd := exec.Command(filepath.Join(binDir, "minimostd"), "-data", dir, "-listen", anyPort)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), ee.ExitCode()
		}
		if err != nil {
			tb.Fatalf("minimostd: %v", err)
		}
		return out.String(), 0
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		tb.Fatalf("minimostd kept running for %v, want it to refuse to start; output:\n%s", timeout, out.String())
		return "", 0
	}
}

func perm(tb testing.TB, path string) fs.FileMode {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatalf("stat %s: %v", path, err)
	}
	return fi.Mode().Perm()
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// historyIDs returns the ids of the newest page of conv as c sees it.
func historyIDs(c *Client, conv string) []string {
	var ids []string
	for _, m := range c.History(conv) {
		ids = append(ids, m.ID)
	}
	return ids
}

// stillServes posts a message as c and waits until it is in the history of each reader.
func stillServes(tb testing.TB, c *Client, label string, readers ...*Client) {
	tb.Helper()
	m := c.Post("c:general", "still serving after "+label)
	for _, r := range append([]*Client{c}, readers...) {
		waitFor(tb, r.User+" to read the message posted after "+label, func() bool {
			return slices.Contains(historyIDs(r, "c:general"), m.ID)
		})
	}
}

// clientWithSession returns a client of d that holds the session cookie value of from.
func clientWithSession(tb testing.TB, d *Daemon, session string) *Client {
	tb.Helper()
	c := d.NewClient()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(d.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "mm_session", Value: session, Path: "/"}})
	c.HTTP.Jar = jar
	return c
}

// meStatus returns the status of GET /api/me for c.
func meStatus(c *Client) int { return c.Do("GET", "/api/me", nil).Status }

// conversationIDs returns the ids of GET /api/conversations.
func conversationIDs(tb testing.TB, c *Client) []string {
	tb.Helper()
	var out struct {
		Conversations []struct{ ID string } `json:"conversations"`
	}
	c.Must(200, "GET", "/api/conversations", nil).Decode(tb, &out)
	var ids []string
	for _, cv := range out.Conversations {
		ids = append(ids, cv.ID)
	}
	return ids
}

// countVisible runs the guide's count query on users/<user>.db.
func countVisible(tb testing.TB, d *Daemon, user string) int {
	tb.Helper()
	n, err := strconv.Atoi(d.SQLite("users/"+user+".db", "SELECT COUNT(*) FROM messages WHERE deleted=0;"))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// in returns a copy of c that reports failures to t (for use inside t.Run).
func (c *Client) in(t testing.TB) *Client { cc := *c; cc.t = t; return &cc }

// in returns a copy of d that reports failures to t, for Ctl, SQLite and Shell inside t.Run;
// Start and Stop must go through the original.
func (d *Daemon) in(t testing.TB) *Daemon { dd := *d; dd.t = t; return &dd }

// restarted points c at d after d.Start picked a new port.
func (c *Client) restarted() { c.Origin = c.d.URL }

// ---- 1. fresh start ----

func TestFoundation_FreshStart(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	// A real process: the modes of what it creates come from its own umask.
	d := StartProcess(t)

	t.Run("layout", func(t *testing.T) {
		for _, p := range []string{"auth.db", "presence.db", "secret.key", "cert.pem", "key.pem", "settings.json", "minimost.sock"} {
			fi, err := os.Stat(d.Path(p))
			if err != nil {
				t.Errorf("%s: %v, want it created on first start", p, err)
				continue
			}
			if fi.IsDir() {
				t.Errorf("%s is a directory, want a file", p)
			}
		}
		for _, p := range []string{"users", "uploads", "avatars"} {
			fi, err := os.Stat(d.Path(p))
			if err != nil || !fi.IsDir() {
				t.Errorf("%s/: %v, want a directory", p, err)
			}
		}
		if fi, err := os.Stat(d.Socket); err == nil && fi.Mode().Type() != fs.ModeSocket {
			t.Errorf("minimost.sock mode = %v, want a socket", fi.Mode())
		}
	})

	t.Run("modes", func(t *testing.T) {
		for _, p := range []string{"secret.key", "key.pem", "minimost.sock"} {
			if got, want := perm(t, d.Path(p)), fs.FileMode(0o600); got != want {
				t.Errorf("%s mode = %v, want %v", p, got, want)
			}
		}
		if n := len(mustRead(t, d.Path("secret.key"))); n < 32 {
			t.Errorf("secret.key has %d bytes, want at least 32", n)
		}
	})

	t.Run("cert", func(t *testing.T) {
		block, _ := pem.Decode(mustRead(t, d.Path("cert.pem")))
		if block == nil || block.Type != "CERTIFICATE" {
			t.Fatalf("cert.pem: no CERTIFICATE block")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("parse cert.pem: %v", err)
		}
		for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
			if err := cert.VerifyHostname(h); err != nil {
				t.Errorf("cert.pem is not valid for %s: %v", h, err)
			}
		}
		if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			t.Errorf("cert.pem valid %v..%v, want now inside", cert.NotBefore, cert.NotAfter)
		}
		kb, _ := pem.Decode(mustRead(t, d.Path("key.pem")))
		if kb == nil || !strings.Contains(kb.Type, "PRIVATE KEY") {
			t.Errorf("key.pem: no private key block")
		}
	})

	t.Run("settings defaults", func(t *testing.T) {
		var got map[string]any
		if err := json.Unmarshal(mustRead(t, d.Path("settings.json")), &got); err != nil {
			t.Fatalf("settings.json: %v", err)
		}
		want := map[string]any{
			"channels": []any{"general"}, "image_retention_days": 30.0, "file_retention_days": 30.0,
			"message_retention_days": 770.0, "registration": "open", "max_upload_mb": 50.0,
		}
		for k, v := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(v) {
				t.Errorf("settings.json %q = %v, want %v", k, got[k], v)
			}
		}
	})

	d.CreateUser("alice", "alice-password")

	t.Run("users db created", func(t *testing.T) {
		d := d.in(t)
		if _, err := os.Stat(d.Path("users", "alice.db")); err != nil {
			t.Fatalf("users/alice.db after users create: %v", err)
		}
		cols := d.SQLite("users/alice.db", "SELECT name FROM pragma_table_info('messages');")
		for _, c := range []string{"sender", "deleted", "sent_ts"} {
			if !slices.Contains(strings.Fields(cols), c) {
				t.Errorf("users/alice.db messages columns = %q, want %s", cols, c)
			}
		}
	})

	t.Run("WAL mode", func(t *testing.T) {
		d := d.in(t)
		for _, db := range []string{"auth.db", "presence.db", "users/alice.db"} {
			if got, want := d.SQLite(db, "PRAGMA journal_mode;"), "wal"; got != want {
				t.Errorf("%s journal_mode = %q, want %q", db, got, want)
			}
		}
	})

	t.Run("guide schema", func(t *testing.T) {
		d := d.in(t)
		want := map[string]map[string][]string{
			"auth.db": {
				"users": {"username"}, "user_settings": {"username", "avatar_file"},
				"password_reset_tokens": {"username", "used", "expires_ts"},
			},
			"presence.db": {
				"presence": {"user"}, "typing": {"user"}, "read_receipts": {"reader"},
				"message_reactions": {"reactor"}, "private_channel_members": {"username"},
				"call_participants": {"username"},
			},
		}
		for db, tables := range want {
			for table, cols := range tables {
				out := d.SQLite(db, "PRAGMA table_info("+table+");")
				var got []string
				for _, line := range strings.Split(out, "\n") {
					if f := strings.Split(line, "|"); len(f) > 1 {
						got = append(got, f[1])
					}
				}
				for _, c := range cols {
					if !slices.Contains(got, c) {
						t.Errorf("%s %s columns = %v, want %s", db, table, got, c)
					}
				}
			}
		}
		// The token itself is never stored: no column named token.
		if cols := d.SQLite("auth.db", "SELECT name FROM pragma_table_info('password_reset_tokens');"); slices.Contains(strings.Fields(cols), "token") {
			t.Errorf("password_reset_tokens has a plain token column: %q", cols)
		}
	})

	t.Run("restart keeps everything", func(t *testing.T) {
		c := d.NewClient().in(t)
		c.Login("alice", "alice-password")
		m := c.Post("c:general", "before restart")
		session := c.Cookie("mm_session")
		key, cert := mustRead(t, d.Path("secret.key")), mustRead(t, d.Path("cert.pem"))
		d.Stop()
		d.Start()
		c.restarted()
		if got := mustRead(t, d.Path("secret.key")); !bytes.Equal(got, key) {
			t.Errorf("secret.key changed across a restart")
		}
		if got := mustRead(t, d.Path("cert.pem")); !bytes.Equal(got, cert) {
			t.Errorf("cert.pem changed across a restart")
		}
		if got, want := strings.TrimSpace(d.in(t).MustCtl("users", "list")), "alice"; got != want {
			t.Errorf("users list after restart = %q, want %q", got, want)
		}
		if got := c.Cookie("mm_session"); got != session {
			t.Fatalf("client lost its cookie")
		}
		if got, want := meStatus(c), 200; got != want {
			t.Errorf("GET /api/me with the old session after restart: %d, want %d", got, want)
		}
		if ids := historyIDs(c, "c:general"); !slices.Contains(ids, m.ID) {
			t.Errorf("history after restart = %v, want %s", ids, m.ID)
		}
		stillServes(t, c, "restart")
	})
}

// ---- 3. minimostctl ----

func TestFoundation_Ctl(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d := StartDaemon(t)
	before := time.Now().Unix()
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	after := time.Now().Unix()
	alice, bob := d.NewClient(), d.NewClient()
	alice.Login("alice", "alice-password")
	bob.Login("bob", "bob-password")
	for i := range 3 {
		alice.Post("c:general", fmt.Sprintf("general %d", i))
	}
	stillServes(t, alice, "setup", bob)

	t.Run("status", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		alice.MustWS()
		out := d.MustCtl("status")
		for _, s := range []string{"version:", "uptime:", "data dir:      " + d.Dir, "clients:", "next cleanup:"} {
			if !strings.Contains(out, s) {
				t.Errorf("status = %q, want it to contain %q", out, s)
			}
		}
		var st struct {
			Version          string `json:"version"`
			UptimeSeconds    *int64 `json:"uptime_seconds"`
			DataDir          string `json:"data_dir"`
			ListenAddr       string `json:"listen_addr"`
			ConnectedClients int    `json:"connected_clients"`
			NextCleanupTS    int64  `json:"next_cleanup_ts"`
		}
		if err := json.Unmarshal([]byte(d.MustCtl("status", "--json")), &st); err != nil {
			t.Fatalf("status --json: %v", err)
		}
		if st.Version == "" || st.UptimeSeconds == nil || st.DataDir != d.Dir || !strings.Contains(st.ListenAddr, d.Addr) {
			t.Errorf("status --json = %+v, want version, uptime, data dir %s, listen %s", st, d.Dir, d.Addr)
		}
		if got, want := st.ConnectedClients, 1; got != want {
			t.Errorf("connected_clients = %d, want %d (one WebSocket open)", got, want)
		}
		if st.NextCleanupTS <= time.Now().Unix() {
			t.Errorf("next_cleanup_ts = %d, want in the future", st.NextCleanupTS)
		}
	})

	t.Run("users list", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		if got, want := d.MustCtl("users", "list"), "alice\nbob\n"; got != want {
			t.Errorf("users list = %q, want %q", got, want)
		}
		var us []struct {
			Username  string `json:"username"`
			CreatedTS int64  `json:"created_ts"`
			Messages  *int   `json:"messages"`
		}
		if err := json.Unmarshal([]byte(d.MustCtl("users", "list", "--json")), &us); err != nil {
			t.Fatalf("users list --json: %v", err)
		}
		if len(us) != 2 {
			t.Fatalf("users list --json = %+v, want alice and bob", us)
		}
		for _, u := range us {
			if u.CreatedTS < before || u.CreatedTS > after {
				t.Errorf("%s created_ts = %d, want within [%d, %d]", u.Username, u.CreatedTS, before, after)
			}
			if u.Messages == nil {
				t.Errorf("%s: no message count", u.Username)
			} else if got, want := *u.Messages, countVisible(t, d, u.Username); got != want {
				t.Errorf("%s messages = %d, want %d (sqlite3 count)", u.Username, got, want)
			}
		}
	})

	t.Run("users create invalid", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		entries := func() []string {
			var names []string
			for _, dir := range []string{d.Dir, d.Path("users")} {
				es, _ := os.ReadDir(dir)
				for _, e := range es {
					if !strings.HasSuffix(e.Name(), "-wal") && !strings.HasSuffix(e.Name(), "-shm") {
						names = append(names, dir+"/"+e.Name())
					}
				}
			}
			return names
		}
		was := entries()
		for _, tc := range []struct{ name, msg string }{
			{"../x", "username may contain only"},
			{"Bob", "username may contain only"},
			{"a", "2 to 32 characters"},
			{"system", "reserved"},
			{"x/../../y", "username may contain only"},
		} {
			r := d.CtlStdin("long-enough-password\n", "users", "create", tc.name, "--password-stdin")
			if r.Code != 1 {
				t.Errorf("users create %q: exit %d, want 1", tc.name, r.Code)
			}
			if !strings.HasPrefix(r.Stderr, "minimostctl: ") || !strings.Contains(r.Stderr, tc.msg) || strings.Count(r.Stderr, "\n") != 1 {
				t.Errorf("users create %q: stderr %q, want one line containing %q", tc.name, r.Stderr, tc.msg)
			}
		}
		if got := entries(); !slices.Equal(got, was) {
			t.Errorf("files after refused creates = %v, want %v", got, was)
		}
		if _, err := os.Stat(d.Path("x.db")); err == nil {
			t.Errorf("x.db written outside users/")
		}
		if got, want := d.MustCtl("users", "list"), "alice\nbob\n"; got != want {
			t.Errorf("users list = %q, want %q", got, want)
		}
	})

	t.Run("users create duplicate and short password", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		r := d.CtlStdin("another-password\n", "users", "create", "alice", "--password-stdin")
		if r.Code != 1 || !strings.Contains(r.Stderr, "already exists") {
			t.Errorf("duplicate create: exit %d, stderr %q; want 1 and \"already exists\"", r.Code, r.Stderr)
		}
		alice2 := d.NewClient()
		alice2.Login("alice", "alice-password") // the old password still works
		r = d.CtlStdin("short\n", "users", "create", "carl", "--password-stdin")
		if r.Code != 1 {
			t.Errorf("short password: exit %d, want 1", r.Code)
		}
		if _, err := os.Stat(d.Path("users", "carl.db")); err == nil {
			t.Errorf("users/carl.db written for a refused account")
		}
	})

	t.Run("integrity-check", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		r := d.Ctl("integrity-check")
		if r.Code != 0 {
			t.Fatalf("integrity-check: exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
		}
		for _, db := range []string{"auth.db: ok", "presence.db: ok", "users/alice.db: ok", "users/bob.db: ok"} {
			if !strings.Contains(r.Stdout, db) {
				t.Errorf("integrity-check = %q, want %q", r.Stdout, db)
			}
		}
	})

	t.Run("checkpoint", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		out := d.MustCtl("checkpoint", "alice")
		if !strings.Contains(out, "users/alice.db: ok") || strings.Contains(out, "bob") {
			t.Errorf("checkpoint alice = %q, want only users/alice.db ok", out)
		}
		out = d.MustCtl("checkpoint")
		for _, db := range []string{"auth.db", "presence.db", "users/alice.db", "users/bob.db"} {
			if !strings.Contains(out, db+": ok") {
				t.Errorf("checkpoint = %q, want %s ok", out, db)
			}
		}
		if r := d.Ctl("checkpoint", "nobody1"); r.Code != 1 {
			t.Errorf("checkpoint nobody1: exit %d, want 1", r.Code)
		}
		stillServes(t, alice, "checkpoint", bob)
	})

	t.Run("vacuum", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		out := d.MustCtl("vacuum", "bob")
		if !strings.Contains(out, "users/bob.db: ok") {
			t.Errorf("vacuum bob = %q", out)
		}
		out = d.MustCtl("vacuum")
		for _, db := range []string{"auth.db", "presence.db", "users/alice.db", "users/bob.db"} {
			if !strings.Contains(out, db+": ok") {
				t.Errorf("vacuum = %q, want %s ok", out, db)
			}
		}
		r := d.Ctl("vacuum", "nobody1")
		if r.Code != 1 || !strings.Contains(r.Stderr, "nobody1") {
			t.Errorf("vacuum unknown user: exit %d, stderr %q; want 1 naming the user", r.Code, r.Stderr)
		}
		r = d.Ctl("vacuum", "../auth")
		if r.Code != 1 {
			t.Errorf("vacuum ../auth: exit %d, want 1", r.Code)
		}
		stillServes(t, alice, "vacuum", bob)
	})

	t.Run("stats", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		out := d.MustCtl("stats")
		for _, s := range []string{"users: 2", "alice", "users/", "uploads/", "avatars/", "auth.db", "presence.db"} {
			if !strings.Contains(out, s) {
				t.Errorf("stats = %q, want %q", out, s)
			}
		}
		var st struct {
			Users           int            `json:"users"`
			MessagesPerUser map[string]int `json:"messages_per_user"`
			Disk            map[string]int64
		}
		if err := json.Unmarshal([]byte(d.MustCtl("stats", "--json")), &st); err != nil {
			t.Fatalf("stats --json: %v", err)
		}
		if st.Users != 2 {
			t.Errorf("stats users = %d, want 2", st.Users)
		}
		for _, u := range []string{"alice", "bob"} {
			if got, want := st.MessagesPerUser[u], countVisible(t, d, u); got != want {
				t.Errorf("stats messages of %s = %d, want %d", u, got, want)
			}
		}
		for _, k := range []string{"users", "auth_db", "presence_db"} {
			if st.Disk[k] <= 0 {
				t.Errorf("stats disk %s = %d, want > 0", k, st.Disk[k])
			}
		}
	})

	t.Run("channels", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		if got, want := d.MustCtl("channels", "list"), "general\n"; got != want {
			t.Errorf("channels list = %q, want %q", got, want)
		}
		d.MustCtl("channels", "add", "design")
		var s struct{ Channels []string }
		if err := json.Unmarshal(mustRead(t, d.Path("settings.json")), &s); err != nil {
			t.Fatalf("settings.json after channels add: %v", err)
		}
		if got, want := s.Channels, []string{"general", "design"}; !slices.Equal(got, want) {
			t.Errorf("settings.json channels = %v, want %v", got, want)
		}
		if ids := conversationIDs(t, alice); !slices.Contains(ids, "c:design") {
			t.Errorf("conversations right after channels add = %v, want c:design", ids)
		}
		m := alice.Post("c:design", "design talk")
		waitFor(t, "bob to see the design message", func() bool { return slices.Contains(historyIDs(bob, "c:design"), m.ID) })

		r := d.Ctl("channels", "add", "Bad Name")
		if r.Code != 1 || !strings.Contains(r.Stderr, "channel name") {
			t.Errorf("channels add 'Bad Name': exit %d, stderr %q; want 1", r.Code, r.Stderr)
		}
		if r := d.Ctl("channels", "add", "design"); r.Code != 1 {
			t.Errorf("channels add design twice: exit %d, want 1", r.Code)
		}
		if r := d.Ctl("channels", "remove", "nope"); r.Code != 1 {
			t.Errorf("channels remove nope: exit %d, want 1", r.Code)
		}

		d.MustCtl("channels", "remove", "design")
		if got, want := d.MustCtl("channels", "list"), "general\n"; got != want {
			t.Errorf("channels list after remove = %q, want %q", got, want)
		}
		if ids := conversationIDs(t, alice); slices.Contains(ids, "c:design") {
			t.Errorf("conversations right after channels remove = %v, want no c:design", ids)
		}
		if got, want := alice.Do("GET", ConvPath("c:design", "/messages"), nil).Status, 404; got != want {
			t.Errorf("history of a removed channel: %d, want %d", got, want)
		}
		copiesWritten(t, d)
		for _, u := range []string{"alice", "bob"} {
			if got := d.SQLite("users/"+u+".db", "SELECT COUNT(*) FROM messages WHERE conversation='c:design';"); got != "1" {
				t.Errorf("users/%s.db messages of the removed channel = %s, want 1 (kept)", u, got)
			}
		}
		es, _ := os.ReadDir(d.Dir)
		for _, e := range es {
			if strings.HasSuffix(e.Name(), ".tmp") {
				t.Errorf("temporary file %s left in the data directory", e.Name())
			}
		}
		// Adding it back shows the old messages again.
		d.MustCtl("channels", "add", "design")
		if ids := historyIDs(alice, "c:design"); !slices.Contains(ids, m.ID) {
			t.Errorf("history of re-added channel = %v, want %s", ids, m.ID)
		}
	})

	t.Run("cleanup tokens", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		now := time.Now().Unix()
		d.SQLite("auth.db", fmt.Sprintf(`INSERT INTO password_reset_tokens(token_hash, username, created_ts, expires_ts, used) VALUES
			('expired', 'alice', %d, %d, 0), ('used', 'alice', %d, %d, 1);`, now-7200, now-3600, now, now+3600))
		out := d.MustCtl("reset-password", "bob")
		if !strings.Contains(out, d.URL+"/reset?token=") {
			t.Errorf("reset-password = %q, want a link to %s, where the daemon listens", out, d.URL)
		}
		if got, want := d.MustCtl("cleanup", "tokens"), "removed 2 tokens\n"; got != want {
			t.Errorf("cleanup tokens = %q, want %q", got, want)
		}
		if got, want := d.SQLite("auth.db", "SELECT username FROM password_reset_tokens;"), "bob"; got != want {
			t.Errorf("tokens left = %q, want %q", got, want)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		for _, args := range [][]string{
			{"bogus"}, {"users", "delete", "bob"}, {"users", "delete", "bob", "--mode", "medium", "--yes"},
			{"vacuum", "--nope"}, {"backup"}, {"channels", "add"}, {"status", "extra"},
		} {
			r := d.Ctl(args...)
			if r.Code != 2 {
				t.Errorf("minimostctl %v: exit %d, want 2 (stderr %q)", args, r.Code, r.Stderr)
			}
			if !strings.HasPrefix(r.Stderr, "minimostctl: ") {
				t.Errorf("minimostctl %v: stderr %q, want a minimostctl: line", args, r.Stderr)
			}
		}
		if got := d.MustCtl("users", "list"); got != "alice\nbob\n" {
			t.Errorf("users list after usage errors = %q", got)
		}
	})

	t.Run("help", func(t *testing.T) {
		d, alice, bob := d.in(t), alice.in(t), bob.in(t)
		_, _ = alice, bob
		for _, args := range [][]string{{"--help"}, {"backup", "--help"}, {"users", "create", "--help"}} {
			r := d.Ctl(args...)
			if r.Code != 0 || !strings.Contains(r.Stdout, "Usage:") {
				t.Errorf("minimostctl %v: exit %d, stdout %q; want 0 and usage", args, r.Code, r.Stdout)
			}
		}
	})

	t.Run("daemon stopped", func(t *testing.T) {
		d.Stop()
		want := "minimostctl: cannot reach minimostd at " + d.Socket + ": is it running?\n"
		for _, args := range [][]string{{"status"}, {"users", "list"}, {"integrity-check"}} {
			r := d.Ctl(args...)
			if r.Code != 1 || r.Stderr != want {
				t.Errorf("minimostctl %v with the daemon stopped: exit %d, stderr %q; want 1 and %q", args, r.Code, r.Stderr, want)
			}
		}
		// MINIMOST_SOCKET is the default of --socket.
		cmd := exec.Command(filepath.Join(binDir, "minimostctl"), "status")
		cmd.Env = append(os.Environ(), "MINIMOST_SOCKET="+d.Socket)
		out, _ := cmd.CombinedOutput()
		if string(out) != want {
			t.Errorf("with MINIMOST_SOCKET: %q, want %q", out, want)
		}
	})
}

// TestFoundation_IntegrityCheckCorrupt damages a page of users/bob.db while the daemon is
// stopped; after the restart integrity-check must say so and exit 1.
func TestFoundation_IntegrityCheckCorrupt(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	alice := d.NewClient()
	alice.Login("alice", "alice-password")
	body := strings.Repeat("lorem ipsum dolor sit amet ", 40)
	var last Message
	for i := range 60 {
		last = alice.Post("c:general", fmt.Sprintf("%d %s", i, body))
	}
	bob := d.NewClient()
	bob.Login("bob", "bob-password")
	waitFor(t, "bob's copy", func() bool { return slices.Contains(historyIDs(bob, "c:general"), last.ID) })
	d.Stop()

	path := d.Path("users", "bob.db")
	if _, err := os.Stat(path + "-wal"); err == nil {
		if fi, _ := os.Stat(path + "-wal"); fi.Size() > 0 {
			t.Fatalf("users/bob.db-wal not empty after stop")
		}
	}
	pageSize, _ := strconv.Atoi(sqliteIn(t, d.Dir, "users/bob.db", "PRAGMA page_size;"))
	pages, _ := strconv.Atoi(sqliteIn(t, d.Dir, "users/bob.db", "PRAGMA page_count;"))
	if pages < 10 {
		t.Fatalf("users/bob.db has %d pages, want a bigger file to damage", pages)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte{0xAB}, pageSize*2)
	if _, err := f.WriteAt(garbage, int64(pageSize*(pages/2))); err != nil {
		t.Fatal(err)
	}
	f.Close()

	d.Start()
	alice.restarted()
	r := d.Ctl("integrity-check")
	if got, want := r.Code, 1; got != want {
		t.Errorf("integrity-check on a damaged users/bob.db: exit %d, want %d\n%s", got, want, r.Stdout)
	}
	if !strings.Contains(r.Stdout, "auth.db: ok") || !strings.Contains(r.Stdout, "users/alice.db: ok") {
		t.Errorf("integrity-check = %q, want the healthy databases ok", r.Stdout)
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if strings.HasPrefix(line, "users/bob.db:") && strings.HasSuffix(line, ": ok") {
			t.Errorf("integrity-check says %q, want users/bob.db reported damaged", line)
		}
	}
	if !strings.Contains(r.Stderr, "integrity check failed for 1 of") {
		t.Errorf("stderr = %q, want the failure summary", r.Stderr)
	}
	// The other accounts keep working.
	stillServes(t, alice, "corruption of bob.db")
}

// ---- 4. backup ----

func TestFoundation_Backup(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	// A writer posts as fast as it can while the backup runs: the per-account message rate is
	// turned off, or how many it got in before the backup ended decided whether the posts
	// after it were refused.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "settings.json"), []byte(`{"channels": ["general"], "posts_per_minute": 0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := StartDaemonIn(t, dir)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	alice, bob := d.NewClient(), d.NewClient()
	alice.Login("alice", "alice-password")
	bob.Login("bob", "bob-password")
	dm := alice.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"bob"}}).JSON()["conversation"].(map[string]any)["id"].(string)
	os.WriteFile(d.Path("uploads", "report.pdf"), []byte("%PDF-1.4 report"), 0o644)
	os.WriteFile(d.Path("avatars", "a.png"), []byte("\x89PNG fake"), 0o644)

	var mu sync.Mutex
	var acked []string // ids acknowledged so far, in order
	for i := range 10 {
		acked = append(acked, alice.Post("c:general", fmt.Sprintf("warm-up %d", i)).ID)
	}
	acked = append(acked, bob.Post(dm, "a direct message").ID)

	ctx, cancel := context.WithCancel(context.Background())
	writerDone := make(chan struct{})
	poster := d.NewClient()
	poster.Login("alice", "alice-password")
	go func() {
		defer close(writerDone)
		for i := 0; ctx.Err() == nil; i++ {
			b, _ := json.Marshal(map[string]string{"body": fmt.Sprintf("under load %d", i)})
			req, _ := http.NewRequest("POST", d.URL+ConvPath("c:general", "/messages"), bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", d.URL)
			req.Header.Set("X-CSRF-Token", poster.Cookie("mm_csrf"))
			resp, err := poster.HTTP.Do(req)
			if err != nil {
				continue
			}
			var out struct{ Message Message }
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode == 201 {
				mu.Lock()
				acked = append(acked, out.Message.ID)
				mu.Unlock()
			}
		}
	}()
	waitFor(t, "the writer to get going", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) > 20 })

	bk := filepath.Join(t.TempDir(), "backup")
	mu.Lock()
	ackedBefore := slices.Clone(acked)
	mu.Unlock()
	r := d.Ctl("backup", bk)
	mu.Lock()
	ackedDuring := len(acked) - len(ackedBefore)
	mu.Unlock()
	cancel()
	<-writerDone
	if r.Code != 0 {
		t.Fatalf("backup: exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
	t.Logf("backup: %s(%d messages acknowledged before, %d during)", r.Stdout, len(ackedBefore), ackedDuring)

	t.Run("contents", func(t *testing.T) {
		for _, p := range []string{"auth.db", "presence.db", "users/alice.db", "users/bob.db", "secret.key", "cert.pem", "key.pem", "settings.json", "uploads/report.pdf", "avatars/a.png"} {
			if _, err := os.Stat(filepath.Join(bk, p)); err != nil {
				t.Errorf("backup lacks %s: %v", p, err)
			}
		}
		for _, p := range []string{"secret.key", "settings.json", "cert.pem", "key.pem"} {
			if !bytes.Equal(mustRead(t, filepath.Join(bk, p)), mustRead(t, d.Path(p))) {
				t.Errorf("backup %s differs from the original", p)
			}
		}
		for _, p := range []string{"secret.key", "key.pem"} {
			if got := perm(t, filepath.Join(bk, p)); got&0o077 != 0 {
				t.Errorf("backup %s mode = %v, want 0600", p, got)
			}
		}
		if _, err := os.Stat(filepath.Join(bk, "minimost.sock")); err == nil {
			t.Errorf("backup contains the admin socket")
		}
		es, _ := os.ReadDir(bk)
		for _, e := range es {
			if strings.HasSuffix(e.Name(), ".tmp") {
				t.Errorf("backup contains temporary file %s", e.Name())
			}
		}
	})

	t.Run("integrity", func(t *testing.T) {
		dbs, _ := filepath.Glob(filepath.Join(bk, "users", "*.db"))
		for _, db := range append([]string{filepath.Join(bk, "auth.db"), filepath.Join(bk, "presence.db")}, dbs...) {
			if got, want := sqliteIn(t, bk, db, "PRAGMA integrity_check;"), "ok"; got != want {
				t.Errorf("%s integrity_check = %q, want %q", db, got, want)
			}
		}
	})

	stillServes(t, alice, "backup", bob)
	session := alice.Cookie("mm_session")

	t.Run("restored daemon", func(t *testing.T) {
		r2 := StartDaemonIn(t, bk)
		if got, want := r2.MustCtl("users", "list"), "alice\nbob\n"; got != want {
			t.Errorf("restored users = %q, want %q", got, want)
		}
		b2 := r2.NewClient()
		b2.Login("bob", "bob-password")
		a2 := clientWithSession(t, r2, session)
		a2.User = "alice"
		if got, want := meStatus(a2), 200; got != want {
			t.Errorf("original session cookie on the restored copy: %d, want %d", got, want)
		}
		// Every message acknowledged before the backup started is in the restored copy.
		for _, u := range []string{"alice", "bob"} {
			out := sqliteIn(t, bk, "users/"+u+".db", "SELECT id FROM messages;")
			have := strings.Fields(out)
			missing := 0
			for _, id := range ackedBefore {
				if !slices.Contains(have, id) {
					missing++
				}
			}
			if missing > 0 {
				t.Errorf("restored users/%s.db lacks %d of %d messages acknowledged before the backup", u, missing, len(ackedBefore))
			}
		}
		// Consistent (a hot backup under load): a message of c:general is in every member's copy or in
		// none; one acknowledged while the backup ran may be in it or not, but not half
		// fanned out. Fails until pkg/store's Snapshot is fixed (see the report).
		t.Run("consistent under load", func(t *testing.T) {
			q := "SELECT id FROM messages WHERE conversation = 'c:general' ORDER BY id;"
			// The restored daemon replayed its journal at start, before it served.
			ca, cb := strings.Fields(r2.in(t).SQLite("users/alice.db", q)), strings.Fields(r2.in(t).SQLite("users/bob.db", q))
			var onlyA, onlyB []string
			for _, id := range ca {
				if !slices.Contains(cb, id) {
					onlyA = append(onlyA, id)
				}
			}
			for _, id := range cb {
				if !slices.Contains(ca, id) {
					onlyB = append(onlyB, id)
				}
			}
			if len(onlyA)+len(onlyB) > 0 {
				t.Errorf("restored backup is not consistent: %d messages of c:general only in alice's copy %v, %d only in bob's %v (of %d/%d); want every message in both or neither",
					len(onlyA), onlyA, len(onlyB), onlyB, len(ca), len(cb))
			}
		})
		if got, want := r2.SQLite("presence.db", "PRAGMA integrity_check;"), "ok"; got != want {
			t.Errorf("restored presence.db: %q", got)
		}
		stillServes(t, a2, "restore", b2)
	})

	t.Run("non-empty dir refused", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644)
		r := d.Ctl("backup", dir)
		if r.Code != 1 || !strings.Contains(r.Stderr, "not empty") {
			t.Errorf("backup into a non-empty dir: exit %d, stderr %q; want 1 and \"not empty\"", r.Code, r.Stderr)
		}
		es, _ := os.ReadDir(dir)
		if len(es) != 1 {
			t.Errorf("non-empty backup dir now has %d entries, want 1 (nothing written)", len(es))
		}
		if r := d.Ctl("backup", d.Path("users", "bk")); r.Code != 1 {
			t.Errorf("backup inside the data directory: exit %d, want 1", r.Code)
		}
	})

	t.Run("relative dir", func(t *testing.T) {
		cwd := t.TempDir()
		r := ctlIn(t, cwd, d.Socket, "backup", "rel-bk")
		if r.Code != 0 {
			t.Fatalf("backup rel-bk: exit %d: %s", r.Code, r.Stderr)
		}
		if _, err := os.Stat(filepath.Join(cwd, "rel-bk", "auth.db")); err != nil {
			t.Errorf("relative backup not under the ctl's cwd: %v", err)
		}
		if !strings.Contains(r.Stdout, filepath.Join(cwd, "rel-bk")) {
			t.Errorf("backup output %q, want the absolute directory", r.Stdout)
		}
	})
}

// ---- 5. lifecycle ----

func TestFoundation_Lifecycle(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")

	// The lifecycle is a process's: each daemon here is the real binary.
	t.Run("second daemon refused", func(t *testing.T) {
		t.Parallel()
		d := StartProcess(t)
		out, code := startExpectingFailure(t, d.Dir, 10*time.Second)
		if code == 0 || !strings.Contains(out, "already") {
			t.Errorf("second daemon: exit %d, output %q; want non-zero and \"already\"", code, out)
		}
		if fi, err := os.Stat(d.Socket); err != nil || fi.Mode().Type() != fs.ModeSocket {
			t.Errorf("first daemon's socket after the refused start: %v", err)
		}
		d.MustCtl("status")
		d.CreateUser("alice", "alice-password")
		c := d.NewClient()
		c.Login("alice", "alice-password")
		stillServes(t, c, "a refused second daemon")
	})

	t.Run("stale socket replaced", func(t *testing.T) {
		t.Parallel()
		d := StartProcess(t)
		d.CreateUser("alice", "alice-password")
		d.Kill()
		fi, err := os.Lstat(d.Socket)
		if err != nil || fi.Mode().Type() != fs.ModeSocket {
			t.Fatalf("after SIGKILL the socket file is %v (%v), want a stale socket", fi, err)
		}
		want := "minimostctl: cannot reach minimostd at " + d.Socket + ": is it running?\n"
		if r := d.Ctl("status"); r.Code != 1 || r.Stderr != want {
			t.Errorf("ctl on a stale socket: exit %d, stderr %q; want 1, %q", r.Code, r.Stderr, want)
		}
		d.Start()
		if got, want := perm(t, d.Socket), fs.FileMode(0o600); got != want {
			t.Errorf("new socket mode = %v, want %v", got, want)
		}
		if got, want := d.MustCtl("users", "list"), "alice\n"; got != want {
			t.Errorf("users list after restart = %q, want %q", got, want)
		}
	})

	t.Run("not a socket left alone", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "minimost.sock"), []byte("precious"), 0o644)
		out, code := startExpectingFailure(t, dir, 10*time.Second)
		if code == 0 || !strings.Contains(out, "not a socket") {
			t.Errorf("start with a regular file at minimost.sock: exit %d, %q", code, out)
		}
		if got := string(mustRead(t, filepath.Join(dir, "minimost.sock"))); got != "precious" {
			t.Errorf("minimost.sock content = %q, want it untouched", got)
		}
	})

	t.Run("invalid settings", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, content string
			line          int
			reason        string
		}{
			{"bad JSON", "{\n  \"channels\": [\"general\"],\n  \"image_retention_days\": 30,,\n  \"file_retention_days\": 30\n}\n", 3, "invalid JSON"},
			{"negative", "{\n  \"channels\": [\"general\"],\n  \"image_retention_days\": -1\n}\n", 3, `"image_retention_days" must be 0 (off) or a positive number`},
			{"non-integer", "{\n  \"channels\": [\"general\"],\n  \"file_retention_days\": 30,\n  \"message_retention_days\": 1.5\n}\n", 4, `"message_retention_days" must be a whole number`},
			{"unknown key", "{\n  \"channels\": [\"general\"],\n  \"colour\": \"blue\"\n}\n", 3, `unknown key "colour"`},
			{"string number", "{\n  \"max_upload_mb\": \"50\"\n}\n", 2, `"max_upload_mb" must be a whole number`},
			{"bad channel", "{\n  \"channels\": [\"general\", \"../x\"]\n}\n", 2, `"channels"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				os.WriteFile(filepath.Join(dir, "settings.json"), []byte(tc.content), 0o644)
				out, code := startExpectingFailure(t, dir, 10*time.Second)
				if code == 0 {
					t.Fatalf("minimostd started with an invalid settings.json:\n%s", out)
				}
				wantLoc := fmt.Sprintf("%s:%d:", filepath.Join(dir, "settings.json"), tc.line)
				if !strings.Contains(out, wantLoc) || !strings.Contains(out, tc.reason) {
					t.Errorf("output = %q, want %q and %q", out, wantLoc, tc.reason)
				}
				if _, err := os.Stat(filepath.Join(dir, "auth.db")); err == nil {
					t.Errorf("auth.db created although settings.json is invalid")
				}
				if got := string(mustRead(t, filepath.Join(dir, "settings.json"))); got != tc.content {
					t.Errorf("settings.json rewritten: %q", got)
				}
			})
		}
	})

	t.Run("zero retention is valid", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "settings.json"), []byte(`{"channels": ["general", "software"], "image_retention_days": 0, "file_retention_days": 30, "message_retention_days": 0}`), 0o644)
		d := StartProcessIn(t, dir)
		if got, want := d.MustCtl("channels", "list"), "general\nsoftware\n"; got != want {
			t.Errorf("channels = %q, want %q", got, want)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		t.Parallel()
		d := StartProcess(t)
		d.CreateUser("alice", "alice-password")
		d.CreateUser("bob", "bob-password")
		a, b := d.NewClient(), d.NewClient()
		a.Login("alice", "alice-password")
		b.Login("bob", "bob-password")
		ws := b.MustWS()
		for i := range 20 {
			a.Post("c:general", fmt.Sprintf("m%d", i))
		}
		took := d.Stop()
		if took > 10*time.Second {
			t.Errorf("SIGTERM took %v, want at most 10 s", took)
		}
		if err := ws.ReadErr(2 * time.Second); !strings.Contains(fmt.Sprint(err), "1001") && !strings.Contains(fmt.Sprint(err), "going away") {
			t.Errorf("WebSocket close at shutdown: %v, want 1001 going away", err)
		}
		if _, err := os.Lstat(d.Socket); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket after SIGTERM: %v, want it removed", err)
		}
		wals, _ := filepath.Glob(d.Path("*.db-wal"))
		uw, _ := filepath.Glob(d.Path("users", "*.db-wal"))
		for _, w := range append(wals, uw...) {
			if fi, err := os.Stat(w); err == nil && fi.Size() > 0 {
				t.Errorf("%s has %d bytes after stop, want it checkpointed (empty or gone)", w, fi.Size())
			}
		}
		if got, want := sqliteIn(t, d.Dir, "users/bob.db", "SELECT COUNT(*) FROM messages;"), "20"; got != want {
			t.Errorf("bob's messages after stop = %s, want %s", got, want)
		}
		if !strings.Contains(d.Log.String(), "shutting down") {
			t.Errorf("log lacks shutting down")
		}
	})
}

// ---- 6. peer credentials ----

func TestFoundation_AdminSocketPeerCredentials(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to run minimostctl as another uid")
	}
	// A real process: the daemon's peer check is against its own process's uid.
	d := StartProcess(t)
	// Make the path reachable for uid 65534 for this test only, so that the daemon's
	// peer-credential check is what refuses it, not the file permissions.
	for _, p := range []string{filepath.Dir(d.Dir), d.Dir} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(d.Socket, 0o666); err != nil {
		t.Fatal(err)
	}
	binCopy := t.TempDir()
	os.Chmod(binCopy, 0o755)
	ctl := filepath.Join(binCopy, "minimostctl")
	if err := os.WriteFile(ctl, mustRead(t, filepath.Join(binDir, "minimostctl")), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(ctl, 0o755) // the test binary's umask is 0077 (TestMain)
	os.Chmod(filepath.Dir(binCopy), 0o755)

	var out []byte
	var err error
	// "text file busy" while a process another test forks at the same moment still holds the
	// descriptor WriteFile wrote the copy with (golang.org/issue/22315): try again.
	poll(waitTimeout, func() bool {
		cmd := exec.Command(ctl, "--socket", d.Socket, "users", "list")
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err = cmd.CombinedOutput()
		return !errors.Is(err, syscall.ETXTBSY)
	})
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("minimostctl as uid 65534: %v, output %q; want a non-zero exit", err, out)
	}
	if !strings.Contains(string(out), "refused") {
		t.Errorf("minimostctl as uid 65534 said %q, want it to say the daemon refused", out)
	}
	waitFor(t, "the daemon to log the refusal", func() bool {
		return strings.Contains(d.Log.String(), "refused connection from another user")
	})
	if got, want := strings.TrimSpace(d.MustCtl("status", "--json")) != "", true; got != want {
		t.Errorf("root's status after the refusal failed")
	}
	d.CreateUser("alice", "alice-password")
	c := d.NewClient()
	c.Login("alice", "alice-password")
	stillServes(t, c, "a refused peer")
}
