package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// eventually retries cond until it holds or timeout passes; it reports whether it held.
func lcEventually(timeout time.Duration, cond func() bool) bool { return poll(timeout, cond) }

// sqlInt runs a COUNT-like query with the real sqlite3 shell and returns the number.
func lcSQLInt(t *testing.T, d *Daemon, db, q string) int {
	t.Helper()
	out := d.SQLite(db, q)
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("sqlite3 %s %q = %q, not a number", db, q, out)
	}
	return n
}

// waitSQL waits until the query gives want (the fan-out to user databases is asynchronous
// after the acknowledgement) and fails the test if it never does.
func lcWaitSQL(t *testing.T, d *Daemon, db, q string, want int) {
	t.Helper()
	var got int
	if !lcEventually(5*time.Second, func() bool { got = lcSQLInt(t, d, db, q); return got == want }) {
		t.Errorf("sqlite3 %s %q = %d, want %d", db, q, got, want)
	}
}

// postNoFatal sends a JSON POST without touching t (safe from any goroutine).
func lcPostNoFatal(c *Client, path string, body any, csrf string) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", c.d.URL+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.d.URL)
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, rb, nil
}

var resetURLRe = regexp.MustCompile(`^(https?://[^/]+)/reset\?token=([A-Za-z0-9_-]+)$`)

// issueReset runs minimostctl reset-password and returns the printed URL's base and token.
func issueReset(t *testing.T, d *Daemon, args ...string) (base, token string) {
	t.Helper()
	out := d.MustCtl(append([]string{"reset-password"}, args...)...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("reset-password printed %d lines, want exactly one URL line:\n%s", len(lines), out)
	}
	m := resetURLRe.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("reset-password printed %q, want <base>/reset?token=<base64url>", lines[0])
	}
	u, err := url.Parse(lines[0])
	if err != nil || u.Query().Get("token") != m[2] {
		t.Fatalf("printed URL %q does not parse to its token: %v", lines[0], err)
	}
	return m[1], m[2]
}

// resetPassword uses a token against the daemon's real URL.
func useResetToken(c *Client, token, pw string) Response {
	return c.Do("POST", "/api/reset-password", map[string]string{"token": token, "new_password": pw})
}

func lcLoginStatus(d *Daemon, name, pw string) int {
	return d.NewClient().Do("POST", "/api/login", map[string]string{"username": name, "password": pw}).Status
}

func TestReset_IssueLink(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")

	t.Run("default URL and one hour", func(t *testing.T) {
		before := time.Now().Unix()
		base, token := issueReset(t, d, "alice")
		// Without -base-url the link points where the daemon listens.
		if got, want := base, d.URL; got != want {
			t.Errorf("URL base = %q, want %q", got, want)
		}
		if got := len(token); got < 43 {
			t.Errorf("token has %d base64url characters, want >= 43 (256 bits)", got)
		}
		if got := lcSQLInt(t, d, "auth.db", "SELECT COUNT(*) FROM password_reset_tokens WHERE username='alice' AND used=0"); got != 1 {
			t.Errorf("unused alice tokens = %d, want 1", got)
		}
		exp := lcSQLInt(t, d, "auth.db", "SELECT MAX(expires_ts) FROM password_reset_tokens WHERE username='alice'")
		if got, want := int64(exp), before+3600; got < want-60 || got > want+60 {
			t.Errorf("expires_ts = %d, want about now+3600 = %d", got, want)
		}
		dump := d.SQLite("auth.db", ".dump")
		if strings.Contains(dump, token) {
			t.Errorf("the raw token appears in the sqlite3 dump of auth.db")
		}
		for _, f := range []string{"auth.db", "auth.db-wal"} {
			if b, err := d.ReadFile(f); err == nil && bytes.Contains(b, []byte(token)) {
				t.Errorf("the raw token appears in the bytes of %s", f)
			}
		}
		// The system DM to alice, in her own database.
		lcWaitSQL(t, d, "users/alice.db",
			"SELECT COUNT(*) FROM messages WHERE sender='system' AND conversation='d:alice,system' AND lower(body) LIKE '%reset%request%'", 1)
		if got := lcSQLInt(t, d, "users/bob.db", "SELECT COUNT(*) FROM messages WHERE sender='system'"); got != 0 {
			t.Errorf("bob's db has %d system messages, want 0", got)
		}
		// And through the API.
		a := d.NewClient()
		a.Login("alice", "alice-password")
		h := a.History("d:alice,system")
		if len(h) != 1 || h[0].Sender != "system" || !strings.Contains(strings.ToLower(h[0].Body), "reset") {
			t.Errorf("alice's system DM history = %+v, want one reset notice from system", h)
		}
	})

	t.Run("base-url", func(t *testing.T) {
		base, _ := issueReset(t, d, "bob", "--base-url", "https://chat.example.com")
		if got, want := base, "https://chat.example.com"; got != want {
			t.Errorf("URL base = %q, want %q", got, want)
		}
	})

	t.Run("expires 30", func(t *testing.T) {
		before := time.Now().Unix()
		d.SQLite("auth.db", "DELETE FROM password_reset_tokens WHERE username='bob'")
		issueReset(t, d, "bob", "--expires", "30")
		exp := lcSQLInt(t, d, "auth.db", "SELECT MAX(expires_ts) FROM password_reset_tokens WHERE username='bob'")
		if got, want := int64(exp), before+1800; got < want-60 || got > want+60 {
			t.Errorf("expires_ts = %d, want about now+1800 = %d", got, want)
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		n0 := lcSQLInt(t, d, "auth.db", "SELECT COUNT(*) FROM password_reset_tokens")
		r := d.Ctl("reset-password", "nosuchuser")
		if got, want := r.Code, 1; got != want {
			t.Errorf("exit code = %d, want %d (stderr %q)", got, want, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "nosuchuser") || !strings.Contains(strings.ToLower(r.Stderr), "no such user") {
			t.Errorf("stderr = %q, want a clear 'no such user' message naming the user", r.Stderr)
		}
		if strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("stdout = %q, want nothing", r.Stdout)
		}
		if got := lcSQLInt(t, d, "auth.db", "SELECT COUNT(*) FROM password_reset_tokens"); got != n0 {
			t.Errorf("token rows = %d after a failed reset, want %d", got, n0)
		}
	})

	t.Run("help", func(t *testing.T) {
		r := d.Ctl("reset-password", "--help")
		if r.Code != 0 {
			t.Errorf("--help exit %d, want 0", r.Code)
		}
		for _, f := range []string{"--expires", "--base-url"} {
			if !strings.Contains(r.Stdout+r.Stderr, f) {
				t.Errorf("reset-password --help does not list %s:\n%s", f, r.Stdout)
			}
		}
	})
}

func TestReset_UseToken(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t, "-auth-burst", "200")
	d.CreateUser("alice", "alice-password")
	// Two sessions of alice, one with a WebSocket.
	s1, s2 := d.NewClient(), d.NewClient()
	s1.Login("alice", "alice-password")
	s2.Login("alice", "alice-password")
	ws := s2.MustWS()
	_, token := issueReset(t, d, "alice")

	anon := d.NewClient()
	r := useResetToken(anon, token, "brand-new-password")
	if r.Status != 204 {
		t.Fatalf("reset: status %d, want 204: %s", r.Status, r.Body)
	}
	t.Run("new password works, old does not", func(t *testing.T) {
		if got := lcLoginStatus(d, "alice", "brand-new-password"); got != 200 {
			t.Errorf("login with new password: %d, want 200", got)
		}
		if got := lcLoginStatus(d, "alice", "alice-password"); got != 401 {
			t.Errorf("login with old password: %d, want 401", got)
		}
	})
	t.Run("sessions ended", func(t *testing.T) {
		for i, c := range []*Client{s1, s2} {
			if got := c.Do("GET", "/api/me", nil).Status; got != 401 {
				t.Errorf("session %d /api/me = %d, want 401", i+1, got)
			}
		}
		err := ws.ReadErr(5 * time.Second)
		if got := websocket.CloseStatus(err); got != 4001 {
			t.Errorf("websocket closed with %v (status %d), want 4001", err, got)
		}
		if got := lcSQLInt(t, d, "auth.db", "SELECT COUNT(*) FROM sessions WHERE username='alice'"); got != 1 {
			t.Errorf("alice sessions = %d, want 1 (only the login after the reset)", got)
		}
	})
	t.Run("token is used", func(t *testing.T) {
		if got := lcSQLInt(t, d, "auth.db", "SELECT used FROM password_reset_tokens WHERE username='alice'"); got != 1 {
			t.Errorf("used = %d, want 1", got)
		}
		r := useResetToken(anon, token, "another-password")
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid, expired or already used") {
			t.Errorf("second use: %d %s, want 400 with the invalid/expired/used message", r.Status, r.Body)
		}
		if got := lcLoginStatus(d, "alice", "brand-new-password"); got != 200 {
			t.Errorf("login after refused reuse: %d, want 200 (password unchanged)", got)
		}
	})
	t.Run("expired", func(t *testing.T) {
		_, tok := issueReset(t, d, "alice")
		d.SQLite("auth.db", "UPDATE password_reset_tokens SET expires_ts = unixepoch() - 10 WHERE used = 0")
		r := useResetToken(anon, tok, "expired-password")
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid, expired or already used") {
			t.Errorf("expired token: %d %s, want 400 with the invalid/expired/used message", r.Status, r.Body)
		}
		if got := lcLoginStatus(d, "alice", "expired-password"); got != 401 {
			t.Errorf("login with the refused password: %d, want 401", got)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		r := useResetToken(anon, strings.Repeat("A", 43), "whatever-password")
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid, expired or already used") {
			t.Errorf("unknown token: %d %s, want 400 with the same message", r.Status, r.Body)
		}
	})
}

func TestReset_Race(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t, "-auth-burst", "200")
	d.CreateUser("alice", "alice-password")
	for round := 0; round < 3; round++ {
		_, token := issueReset(t, d, "alice")
		pws := []string{"password-one-" + strconv.Itoa(round), "password-two-" + strconv.Itoa(round)}
		clients := []*Client{d.NewClient(), d.NewClient()}
		csrfs := []string{clients[0].csrf(), clients[1].csrf()}
		codes := make([]int, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[i], _, errs[i] = lcPostNoFatal(clients[i], "/api/reset-password",
					map[string]string{"token": token, "new_password": pws[i]}, csrfs[i])
			}()
		}
		close(start)
		wg.Wait()
		for _, e := range errs {
			if e != nil {
				t.Fatal(e)
			}
		}
		winner := -1
		switch {
		case codes[0] == 204 && codes[1] == 400:
			winner = 0
		case codes[0] == 400 && codes[1] == 204:
			winner = 1
		default:
			t.Fatalf("round %d: statuses %v, want exactly one 204 and one 400", round, codes)
		}
		if got := lcLoginStatus(d, "alice", pws[winner]); got != 200 {
			t.Errorf("round %d: winner's password login = %d, want 200", round, got)
		}
		if got := lcLoginStatus(d, "alice", pws[1-winner]); got != 401 {
			t.Errorf("round %d: loser's password login = %d, want 401", round, got)
		}
	}
}

func TestReset_Page(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	_, token := issueReset(t, d, "alice")
	get := func(tok string) (int, http.Header, []byte) {
		resp, err := d.anonClient().Get(d.URL + "/reset?token=" + url.QueryEscape(tok))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	code, h, body := get(token)
	if code != 200 {
		t.Fatalf("GET /reset: %d, want 200", code)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q, want no-referrer", got)
	}
	if h.Get("Content-Security-Policy") == "" {
		t.Errorf("the reset page has no Content-Security-Policy")
	}
	if !bytes.Contains(bytes.ToLower(body), []byte("password")) {
		t.Errorf("reset page body does not look like a password form")
	}
	for _, bad := range []string{"garbage", strings.Repeat("x", 43), ""} {
		gcode, gh, gbody := get(bad)
		if gcode != code || !bytes.Equal(gbody, body) {
			t.Errorf("token %q: %d (%d bytes), want the same answer as a real token: %d (%d bytes)", bad, gcode, len(gbody), code, len(body))
		}
		if got := gh.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("token %q: Referrer-Policy = %q, want no-referrer", bad, got)
		}
	}
}

func TestReset_CleanupTokens(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t, "-auth-burst", "200")
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	setup := func() {
		// One used (consumed through the API), one expired, two valid.
		_, used := issueReset(t, d, "alice")
		if r := useResetToken(d.NewClient(), used, "alice-password-2"); r.Status != 204 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		_, expired := issueReset(t, d, "bob")
		d.SQLite("auth.db", "UPDATE password_reset_tokens SET expires_ts = unixepoch() - 5 WHERE used = 0 AND username = 'bob'")
		_ = expired
		issueReset(t, d, "alice")
		issueReset(t, d, "bob")
	}
	count := func(where string) int {
		return lcSQLInt(t, d, "auth.db", "SELECT COUNT(*) FROM password_reset_tokens WHERE "+where)
	}
	check := func(t *testing.T) {
		if got := count("used = 1"); got != 0 {
			t.Errorf("used tokens left = %d, want 0", got)
		}
		if got := count("expires_ts < unixepoch()"); got != 0 {
			t.Errorf("expired tokens left = %d, want 0", got)
		}
		if got := count("used = 0 AND expires_ts > unixepoch()"); got != 2 {
			t.Errorf("valid tokens = %d, want 2", got)
		}
	}
	t.Run("minimostctl", func(t *testing.T) {
		setup()
		if got := count("1"); got != 4 {
			t.Fatalf("tokens before cleanup = %d, want 4", got)
		}
		out := d.MustCtl("cleanup", "tokens")
		if !strings.Contains(out, "removed 2") {
			t.Errorf("cleanup tokens printed %q, want 'removed 2 ...'", out)
		}
		check(t)
	})
	t.Run("guide sqlite3", func(t *testing.T) {
		d.SQLite("auth.db", "DELETE FROM password_reset_tokens")
		setup()
		d.Shell(`sqlite3 auth.db "DELETE FROM password_reset_tokens WHERE used = 1 OR expires_ts < unixepoch();"`)
		check(t)
		// The daemon still serves valid tokens afterwards.
		_, tok := issueReset(t, d, "bob")
		if r := useResetToken(d.NewClient(), tok, "bob-password-2"); r.Status != 204 {
			t.Errorf("reset after manual purge: %d %s, want 204", r.Status, r.Body)
		}
	})
}
