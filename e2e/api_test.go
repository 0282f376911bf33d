package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// apiPNG returns a real w×h PNG; noisy makes it incompressible (for size limits).
func apiPNG(t testing.TB, w, h int, noisy bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x), uint8(y), 200, 255}
			if noisy {
				c = color.RGBA{uint8(r.Uint32()), uint8(r.Uint32()), uint8(r.Uint32()), 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// apiMultipart builds a multipart/form-data body with one file field and text fields.
func apiMultipart(t testing.TB, field, filename string, data []byte, fields map[string]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

// apiUpload posts a multipart file to path.
func apiUpload(c *Client, path, field, filename string, data []byte, fields map[string]string) Response {
	c.t.Helper()
	ct, body := apiMultipart(c.t, field, filename, data, fields)
	return c.Raw("POST", path, ct, body)
}

// apiErr checks that r is an error answer with status and code, and a non-empty message.
func apiErr(t testing.TB, what string, r Response, status int, code string) {
	t.Helper()
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	if r.Status != status {
		t.Errorf("%s: status = %d, want %d (body %s)", what, r.Status, status, r.Body)
		return
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == nil {
		t.Errorf("%s: body %q is not {\"error\":{...}}", what, r.Body)
		return
	}
	if code != "" && e.Error.Code != code {
		t.Errorf("%s: error code = %q, want %q", what, e.Error.Code, code)
	}
	if e.Error.Message == "" {
		t.Errorf("%s: error message is empty", what)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type = %q, want application/json", what, ct)
	}
}

// apiSetCookie returns the Set-Cookie named name of a response.
func apiSetCookie(t testing.TB, r Response, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, r.Header.Values("Set-Cookie"))
	return nil
}

// apiSetSession replaces the client's mm_session cookie.
func apiSetSession(c *Client, value string) {
	u, _ := url.Parse(c.d.URL)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "mm_session", Value: value, Path: "/"}})
}

// apiEditSettings rewrites settings.json with fn applied, then waits until the daemon has
// noticed (it re-reads a changed file within a second): until /api/config shows the
// written values of the keys it has (registration, max_upload_mb).
func apiEditSettings(t testing.TB, d *Daemon, fn func(map[string]any)) {
	t.Helper()
	var written map[string]any
	d.WriteSettings(func(m map[string]any) { fn(m); written = m })
	c := d.NewClient()
	var cfg map[string]any
	waitFor(t, "/api/config to show the edited settings.json", func() bool {
		cfg = c.Must(200, "GET", "/api/config", nil).JSON()
		for _, k := range []string{"registration", "max_upload_mb"} {
			if fmt.Sprint(cfg[k]) != fmt.Sprint(written[k]) {
				return false
			}
		}
		return true
	})
}

// apiDirFiles lists the names in a directory of the data directory.
func apiDirFiles(t testing.TB, d *Daemon, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(d.Path(dir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestAPI_RegisterLoginLogoutMe(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	c := d.NewClient()
	r := c.Must(201, "POST", "/api/register", map[string]string{"username": "alice", "password": "alice-password"})
	var out struct {
		User struct {
			Username, Theme string
			DisplayName     string `json:"display_name"`
		}
	}
	r.Decode(t, &out)
	if got, want := out.User.Username, "alice"; got != want {
		t.Errorf("registered username = %q, want %q", got, want)
	}
	ck := apiSetCookie(t, r, "mm_session")
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Errorf("mm_session cookie = %+v, want HttpOnly, Secure, SameSite=Lax, Path=/", ck)
	}
	if _, err := os.Stat(d.Path("users", "alice.db")); err != nil {
		t.Errorf("users/alice.db after registration: %v", err)
	}
	me := c.Must(200, "GET", "/api/me", nil)
	me.Decode(t, &out)
	if got, want := out.User.Username, "alice"; got != want {
		t.Errorf("/api/me username = %q, want %q", got, want)
	}

	c.Must(204, "POST", "/api/logout", nil)
	apiErr(t, "me after logout", c.Do("GET", "/api/me", nil), 401, "unauthorized")

	// Each login starts a new session with a new cookie value.
	seen := map[string]bool{ck.Value: true}
	for i := range 3 {
		r := c.Must(200, "POST", "/api/login", map[string]string{"username": "alice", "password": "alice-password"})
		ck := apiSetCookie(t, r, "mm_session")
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
			t.Errorf("login %d: mm_session cookie = %+v, want HttpOnly, Secure, SameSite=Lax, Path=/", i, ck)
		}
		if seen[ck.Value] {
			t.Errorf("login %d: session cookie value reused", i)
		}
		seen[ck.Value] = true
	}
	c.Must(200, "GET", "/api/me", nil)
	// A logged-out session's old cookie stays dead.
	old := c.Cookie("mm_session")
	c.Must(204, "POST", "/api/logout", nil)
	apiSetSession(c, old)
	apiErr(t, "me with a logged-out cookie", c.Do("GET", "/api/me", nil), 401, "unauthorized")
}

func TestAPI_SessionCookieTampered(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	c := d.NewClient()
	c.Login("alice", "alice-password")
	good := c.Cookie("mm_session")
	dot := strings.LastIndexByte(good, '.')
	if dot < 0 {
		t.Fatalf("session cookie %q has no signature", good)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other := StartDaemon(t)
	other.CreateUser("alice", "alice-password")
	oc := other.NewClient()
	oc.Login("alice", "alice-password")
	foreign := oc.Cookie("mm_session")

	for _, tc := range []struct{ name, value string }{
		{"id flipped", flip(good, 3)},
		{"signature flipped", flip(good, len(good)-3)},
		{"signature removed", good[:dot]},
		{"empty", ""},
		{"other daemon's key", foreign},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := d.NewClient()
			apiSetSession(x, tc.value)
			apiErr(t, "GET /api/me", x.Do("GET", "/api/me", nil), 401, "unauthorized")
		})
	}
	c.Must(200, "GET", "/api/me", nil)
}

func TestAPI_BadInputWritesNothing(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t, "-auth-burst", "400")
	d.CreateUser("taken", "taken-password")
	count := func() string { return d.SQLite("auth.db", "SELECT COUNT(*) FROM users") }
	if got := count(); got != "1" {
		t.Fatalf("users before = %s, want 1", got)
	}
	js := "application/json"
	cred := func(u, p string) string {
		b, _ := json.Marshal(map[string]string{"username": u, "password": p})
		return string(b)
	}
	big := `{"username":"bigbody","password":"` + strings.Repeat("x", 65<<10) + `"}`
	cases := []struct {
		name, ctype, body string
		status            int
		code              string
	}{
		{"missing fields", js, `{}`, 400, "invalid"},
		{"missing password", js, `{"username":"newuser"}`, 400, "invalid"},
		{"missing username", js, `{"password":"long-enough-pw"}`, 400, "invalid"},
		{"empty body", js, ``, 400, "invalid"},
		{"null", js, `null`, 400, "invalid"},
		{"malformed JSON", js, `{"username":"newuser","password":`, 400, "invalid"},
		{"not an object", js, `["newuser","long-enough-pw"]`, 400, "invalid"},
		{"wrong field type", js, `{"username":5,"password":"long-enough-pw"}`, 400, "invalid"},
		{"trailing garbage", js, cred("newuser", "long-enough-pw") + ` x`, 400, "invalid"},
		{"trailing brace", js, cred("newuser", "long-enough-pw") + `}`, 400, "invalid"},
		{"trailing second object", js, cred("newuser", "long-enough-pw") + cred("newuser2", "long-enough-pw"), 400, "invalid"},
		{"unknown field", js, `{"username":"newuser","password":"long-enough-pw","admin":true}`, 400, "invalid"},
		{"invalid UTF-8", js, "{\"username\":\"new\xffuser\",\"password\":\"long-enough-pw\"}", 400, "invalid"},
		{"invalid UTF-8 in password", js, "{\"username\":\"newuser\",\"password\":\"long-\xfe\xffenough\"}", 400, "invalid"},
		{"text/plain", "text/plain", cred("newuser", "long-enough-pw"), 415, "unsupported_media_type"},
		{"form encoded", "application/x-www-form-urlencoded", "username=newuser&password=long-enough-pw", 415, "unsupported_media_type"},
		{"no content type", "", cred("newuser", "long-enough-pw"), 415, "unsupported_media_type"},
		{"body over 64 KiB", js, big, 413, "too_large"},
		{"password 7 chars", js, cred("newuser", "1234567"), 400, "invalid"},
		{"password empty", js, cred("newuser", ""), 400, "invalid"},
		{"password 1025 bytes", js, cred("newuser", strings.Repeat("p", 1025)), 400, "invalid"},
		{"username uppercase", js, cred("Alice", "long-enough-pw"), 400, "invalid"},
		{"username ../etc", js, cred("../etc", "long-enough-pw"), 400, "invalid"},
		{"username one char", js, cred("a", "long-enough-pw"), 400, "invalid"},
		{"username 33 chars", js, cred(strings.Repeat("a", 33), "long-enough-pw"), 400, "invalid"},
		{"username starts with dot", js, cred(".alice", "long-enough-pw"), 400, "invalid"},
		{"username with slash", js, cred("al/ice", "long-enough-pw"), 400, "invalid"},
		{"username with NUL", js, cred("al\x00ice", "long-enough-pw"), 400, "invalid"},
		{"username with space", js, cred("al ice", "long-enough-pw"), 400, "invalid"},
		{"username empty", js, cred("", "long-enough-pw"), 400, "invalid"},
		{"reserved system", js, cred("system", "long-enough-pw"), 400, "invalid"},
		{"reserved admin", js, cred("admin", "long-enough-pw"), 400, "invalid"},
		{"duplicate name", js, cred("taken", "long-enough-pw"), 409, "conflict"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := d.NewClient()
			r := c.Raw("POST", "/api/register", tc.ctype, []byte(tc.body))
			apiErr(t, "register", r, tc.status, tc.code)
			for _, line := range r.Header.Values("Set-Cookie") {
				if strings.HasPrefix(line, "mm_session=") {
					t.Errorf("a refused registration set a session cookie: %s", line)
				}
			}
		})
	}

	// CSRF and Origin.
	csrf := []struct {
		name  string
		setup func(c *Client) *http.Request
	}{
		{"missing CSRF header", func(c *Client) *http.Request {
			c.NoCSRF = true
			return nil
		}},
		{"CSRF header not matching the cookie", func(c *Client) *http.Request {
			c.csrf()
			req, _ := http.NewRequest("POST", d.URL+"/api/register", strings.NewReader(cred("csrfuser", "long-enough-pw")))
			req.Header.Set("Content-Type", js)
			req.Header.Set("Origin", d.URL)
			req.Header.Set("X-CSRF-Token", d.NewClient().csrf())
			return req
		}},
		{"CSRF header without a cookie", func(c *Client) *http.Request {
			req, _ := http.NewRequest("POST", d.URL+"/api/register", strings.NewReader(cred("csrfuser", "long-enough-pw")))
			req.Header.Set("Content-Type", js)
			req.Header.Set("Origin", d.URL)
			req.Header.Set("X-CSRF-Token", d.NewClient().csrf())
			return req
		}},
		{"foreign Origin", func(c *Client) *http.Request {
			c.Origin = "https://evil.example"
			return nil
		}},
		{"Origin with another port", func(c *Client) *http.Request {
			c.Origin = "https://127.0.0.1:1"
			return nil
		}},
		{"http Origin", func(c *Client) *http.Request {
			c.Origin = "http://" + d.Addr
			return nil
		}},
	}
	for _, tc := range csrf {
		t.Run(tc.name, func(t *testing.T) {
			c := d.NewClient()
			req := tc.setup(c)
			var r Response
			if req == nil {
				r = c.Raw("POST", "/api/register", js, []byte(cred("csrfuser", "long-enough-pw")))
			} else {
				resp, err := c.HTTP.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				resp.Body.Close()
				r = Response{resp.StatusCode, resp.Header, b.Bytes()}
			}
			apiErr(t, "register", r, 403, "forbidden")
		})
	}
	// CSRF is checked on logged-in requests too.
	c := d.NewClient()
	c.Login("taken", "taken-password")
	c.NoCSRF = true
	apiErr(t, "PATCH /api/me without CSRF", c.Do("PATCH", "/api/me", map[string]string{"display_name": "x"}), 403, "forbidden")
	c.NoCSRF = false
	c.Origin = "https://evil.example"
	apiErr(t, "logout with a foreign Origin", c.Do("POST", "/api/logout", nil), 403, "forbidden")
	c.Origin = d.URL
	c.Must(200, "GET", "/api/me", nil)

	if got, want := count(), "1"; got != want {
		t.Errorf("users after bad registrations = %s, want %s", got, want)
	}
	if got := apiDirFiles(t, d, "users"); len(got) != 1 || got[0] != "taken.db" {
		// WAL side files may exist; only .db files matter.
		var dbs []string
		for _, f := range got {
			if strings.HasSuffix(f, ".db") {
				dbs = append(dbs, f)
			}
		}
		if len(dbs) != 1 || dbs[0] != "taken.db" {
			t.Errorf("users/ = %v, want only taken.db", got)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "etc.db")); err == nil {
		t.Errorf("etc.db written outside users/")
	}
}

func TestAPI_RegistrationClosed(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	c := d.NewClient()
	c.Register("early", "early-password")
	apiEditSettings(t, d, func(m map[string]any) { m["registration"] = "closed" })
	var cfg struct{ Registration string }
	d.NewClient().Must(200, "GET", "/api/config", nil).Decode(t, &cfg)
	if got, want := cfg.Registration, "closed"; got != want {
		t.Errorf("/api/config registration = %q, want %q", got, want)
	}
	apiErr(t, "register while closed", d.NewClient().Do("POST", "/api/register", map[string]string{"username": "late", "password": "late-password"}), 403, "forbidden")
	if got, want := d.SQLite("auth.db", "SELECT COUNT(*) FROM users WHERE username='late'"), "0"; got != want {
		t.Errorf("late accounts = %s, want %s", got, want)
	}
	d.CreateUser("bycli", "bycli-password")
	d.NewClient().Login("bycli", "bycli-password")
	d.NewClient().Login("early", "early-password")

	apiEditSettings(t, d, func(m map[string]any) { m["registration"] = "open" })
	d.NewClient().Register("late", "late-password")
}

// apiLoginFrom sends a login as if from address addr (the daemon runs with -trust-proxy).
func apiLoginFrom(t testing.TB, c *Client, addr, user, pw string) Response {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	req, _ := http.NewRequest("POST", c.d.URL+"/api/login", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.Origin)
	req.Header.Set("X-CSRF-Token", c.csrf())
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return Response{resp.StatusCode, resp.Header, buf.Bytes()}
}

func checkTooMany(t testing.TB, what string, r Response) {
	t.Helper()
	apiErr(t, what, r, 429, "too_many")
	if r.Status != 429 {
		return
	}
	var e struct {
		Error struct {
			Message    string
			RetryAfter int `json:"retry_after"`
		}
	}
	r.Decode(t, &e)
	ra := r.Header.Get("Retry-After")
	var secs int
	if _, err := fmt.Sscanf(ra, "%d", &secs); err != nil || secs < 1 {
		t.Errorf("%s: Retry-After = %q, want a positive number of seconds", what, ra)
	}
	if e.Error.RetryAfter != secs {
		t.Errorf("%s: retry_after = %d, want %d (the Retry-After header)", what, e.Error.RetryAfter, secs)
	}
	if want := fmt.Sprintf("too many attempts, try again in %d s", secs); e.Error.Message != want {
		t.Errorf("%s: message = %q, want %q", what, e.Error.Message, want)
	}
}

func TestAPI_RateLimits(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		d := StartDaemon(t, "-auth-burst", "4")
		d.CreateUser("alice", "alice-password")
		c := d.NewClient()
		var got []int
		for i := range 8 {
			// A different username every time: only the address limit applies.
			r := c.Do("POST", "/api/login", map[string]string{"username": fmt.Sprintf("user%d", i), "password": "wrong-password"})
			got = append(got, r.Status)
			if r.Status == 429 {
				checkTooMany(t, "login burst", r)
				break
			}
		}
		if got[len(got)-1] != 429 {
			t.Fatalf("login statuses = %v, want 429 after the burst of 4", got)
		}
		if len(got) != 5 {
			t.Errorf("login statuses = %v, want four 401 then 429", got)
		}
		// Even the right password is refused while limited.
		checkTooMany(t, "right password while limited", c.Do("POST", "/api/login", map[string]string{"username": "alice", "password": "alice-password"}))
		// Registration is limited per address too.
		var reg []int
		for i := range 10 {
			r := c.Do("POST", "/api/register", map[string]string{"username": fmt.Sprintf("new%d", i), "password": "x"})
			reg = append(reg, r.Status)
			if r.Status == 429 {
				checkTooMany(t, "registration burst", r)
				break
			}
		}
		if reg[len(reg)-1] != 429 {
			t.Errorf("registration statuses = %v, want 429 at the end", reg)
		}
	})
	t.Run("per address and username", func(t *testing.T) {
		d := StartDaemon(t, "-auth-burst", "40", "-trust-proxy")
		d.CreateUser("alice", "alice-password")
		c := d.NewClient()
		var got []int
		for i := range 20 {
			// One address guessing alice's password: its failures count.
			r := apiLoginFrom(t, c, "10.0.0.1", "alice", "wrong-password")
			got = append(got, r.Status)
			if r.Status == 429 {
				checkTooMany(t, "per-address-and-username burst", r)
				break
			}
			if r.Status != 401 {
				t.Fatalf("login %d: status %d, want 401: %s", i, r.Status, r.Body)
			}
		}
		if got[len(got)-1] != 429 {
			t.Fatalf("statuses = %v, want 429 after the guesses", got)
		}
		// The guesses cannot lock the real alice out: from her own address she logs in.
		if r := apiLoginFrom(t, c, "10.0.0.2", "alice", "alice-password"); r.Status != 200 {
			t.Errorf("alice from her address during the attack: status %d, want 200: %s", r.Status, r.Body)
		}
		// Another username from the guessing address is not affected either.
		if r := apiLoginFrom(t, c, "10.0.0.1", "bob", "wrong-password"); r.Status != 401 {
			t.Errorf("bob from the same address: status %d, want 401: %s", r.Status, r.Body)
		}
	})
}

func TestAPI_NoUserEnumeration(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t, "-auth-burst", "100")
	d.CreateUser("alice", "alice-password")
	c := d.NewClient()
	ref := c.Do("POST", "/api/login", map[string]string{"username": "alice", "password": "wrong-password"})
	apiErr(t, "wrong password", ref, 401, "unauthorized")
	for _, tc := range []struct{ name, user, pw string }{
		{"missing user", "nosuchuser", "wrong-password"},
		{"missing user, alice's password", "nosuchuser", "alice-password"},
		{"invalid name", "No Such/User", "wrong-password"},
		{"reserved name", "system", "wrong-password"},
		{"empty name", "", "wrong-password"},
		{"long name", strings.Repeat("a", 100), "wrong-password"},
		{"empty password", "alice", ""},
		{"password too long", "alice", strings.Repeat("p", 2000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do("POST", "/api/login", map[string]string{"username": tc.user, "password": tc.pw})
			if r.Status != ref.Status || !bytes.Equal(r.Body, ref.Body) {
				t.Errorf("got %d %s, want %d %s (same as a wrong password)", r.Status, r.Body, ref.Status, ref.Body)
			}
		})
	}
}

func TestAPI_ChangePassword(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "old-password")
	a1, a2 := d.NewClient(), d.NewClient()
	a1.Login("alice", "old-password")
	a2.Login("alice", "old-password")
	ws2 := a2.MustWS()
	ws1 := a1.MustWS()

	apiErr(t, "wrong current password", a1.Do("POST", "/api/me/password", map[string]string{"current_password": "not-it-at-all", "new_password": "new-password"}), 403, "forbidden")
	apiErr(t, "new password too short", a1.Do("POST", "/api/me/password", map[string]string{"current_password": "old-password", "new_password": "short"}), 400, "invalid")
	apiErr(t, "new password too long", a1.Do("POST", "/api/me/password", map[string]string{"current_password": "old-password", "new_password": strings.Repeat("p", 1025)}), 400, "invalid")
	a2.Must(200, "GET", "/api/me", nil) // nothing changed yet

	a1.Must(204, "POST", "/api/me/password", map[string]string{"current_password": "old-password", "new_password": "new-password"})
	err := ws2.ReadErr(5 * time.Second)
	if got, want := websocket.CloseStatus(err), websocket.StatusCode(4001); got != want {
		t.Errorf("other session's WebSocket: close status %d (%v), want %d", got, err, want)
	}
	apiErr(t, "other session's /api/me", a2.Do("GET", "/api/me", nil), 401, "unauthorized")
	a1.Must(200, "GET", "/api/me", nil)
	// The changing session's socket stays open.
	ws1.Send(map[string]string{"type": "ping"})
	ws1.WaitFor("pong", 5*time.Second, nil)

	apiErr(t, "old password", d.NewClient().Do("POST", "/api/login", map[string]string{"username": "alice", "password": "old-password"}), 401, "unauthorized")
	d.NewClient().Login("alice", "new-password")
}

func TestAPI_Profile(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	c := d.NewClient()
	c.Login("alice", "alice-password")
	type user struct {
		DisplayName string `json:"display_name"`
		Theme       string `json:"theme"`
	}
	me := func() user {
		var out struct{ User user }
		c.Must(200, "GET", "/api/me", nil).Decode(t, &out)
		return out.User
	}
	c.Must(200, "PATCH", "/api/me", map[string]string{"display_name": "Alice L", "theme": "dark"})
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"control character", map[string]any{"display_name": "Ali\x01ce"}},
		{"newline", map[string]any{"display_name": "Ali\nce"}},
		{"DEL", map[string]any{"display_name": "Ali\x7fce"}},
		{"65 characters", map[string]any{"display_name": strings.Repeat("é", 65)}},
		{"theme blue", map[string]any{"theme": "blue"}},
		{"theme empty", map[string]any{"theme": ""}},
		{"theme wrong type", map[string]any{"theme": 1}},
		{"unknown field", map[string]any{"username": "bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiErr(t, "PATCH /api/me", c.Do("PATCH", "/api/me", tc.body), 400, "invalid")
			if got, want := me(), (user{"Alice L", "dark"}); got != want {
				t.Errorf("after a refused change: %+v, want %+v", got, want)
			}
		})
	}
	c.Must(200, "PATCH", "/api/me", map[string]string{"display_name": strings.Repeat("é", 64), "theme": "light"})
	if got, want := me(), (user{strings.Repeat("é", 64), "light"}); got != want {
		t.Errorf("64-character name: %+v, want %+v", got, want)
	}
	xss := `<script>alert("x")</script>&<b>`
	r := c.Must(200, "PATCH", "/api/me", map[string]string{"display_name": xss})
	if bytes.Contains(r.Body, []byte("<script")) {
		t.Errorf("JSON answer contains a raw <script: %s", r.Body)
	}
	if got := me().DisplayName; got != xss {
		t.Errorf("display name = %q, want %q stored as text", got, xss)
	}
	var users struct {
		Users []struct {
			Username    string
			DisplayName string `json:"display_name"`
		}
	}
	c.Must(200, "GET", "/api/users", nil).Decode(t, &users)
	if len(users.Users) != 1 || users.Users[0].DisplayName != xss {
		t.Errorf("/api/users = %+v, want alice with display name %q", users.Users, xss)
	}
}

func TestAPI_Avatar(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	c := d.NewClient()
	c.Login("alice", "alice-password")
	b := d.NewClient()
	b.Login("bob", "bob-password")
	type user struct {
		AvatarURL string `json:"avatar_url"`
	}
	upload := func(name string, data []byte) (Response, string) {
		r := apiUpload(c, "/api/me/avatar", "avatar", name, data, nil)
		var out struct{ User user }
		json.Unmarshal(r.Body, &out)
		return r, out.User.AvatarURL
	}
	pic := apiPNG(t, 32, 32, false)
	r, avatar := upload("me.png", pic)
	if r.Status != 200 || !strings.HasPrefix(avatar, "/api/avatars/") {
		t.Fatalf("upload PNG: %d %s, want 200 and an avatar_url", r.Status, r.Body)
	}
	if got := apiDirFiles(t, d, "avatars"); len(got) != 1 || "/api/avatars/"+got[0] != avatar {
		t.Errorf("avatars/ = %v, want just %s", got, avatar)
	}
	for _, who := range []*Client{c, b} {
		r := who.Do("GET", avatar, nil)
		if r.Status != 200 || !bytes.Equal(r.Body, pic) {
			t.Errorf("GET avatar: %d (%d bytes), want 200 and the image", r.Status, len(r.Body))
		}
		if got, want := r.Header.Get("Content-Type"), "image/png"; got != want {
			t.Errorf("avatar Content-Type = %q, want %q", got, want)
		}
		if got, want := r.Header.Get("X-Content-Type-Options"), "nosniff"; got != want {
			t.Errorf("avatar X-Content-Type-Options = %q, want %q", got, want)
		}
	}
	apiErr(t, "anonymous avatar", d.NewClient().Do("GET", avatar, nil), 401, "unauthorized")
	apiErr(t, "unknown avatar", c.Do("GET", "/api/avatars/nosuchfile.png", nil), 404, "not_found")

	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	html := []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	for _, tc := range []struct {
		name, file string
		data       []byte
	}{
		{"svg", "me.svg", svg},
		{"svg named png", "me.png", svg},
		{"html named png", "me.png", html},
		{"empty", "me.png", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := upload(tc.file, tc.data)
			apiErr(t, "avatar upload", r, 400, "invalid")
		})
	}
	apiErr(t, "avatar as JSON", c.Do("POST", "/api/me/avatar", map[string]string{"avatar": "x"}), 415, "unsupported_media_type")
	apiErr(t, "avatar in the wrong field", apiUpload(c, "/api/me/avatar", "file", "me.png", pic, nil), 400, "invalid")
	if got := apiDirFiles(t, d, "avatars"); len(got) != 1 || "/api/avatars/"+got[0] != avatar {
		t.Errorf("avatars/ after refused uploads = %v, want just %s", got, avatar)
	}

	// Replacing removes the old file.
	pic2 := apiPNG(t, 16, 16, false)
	r, avatar2 := upload("new.png", pic2)
	if r.Status != 200 || avatar2 == avatar || avatar2 == "" {
		t.Fatalf("replace avatar: %d %s, want 200 and a new avatar_url", r.Status, r.Body)
	}
	if got := apiDirFiles(t, d, "avatars"); len(got) != 1 || "/api/avatars/"+got[0] != avatar2 {
		t.Errorf("avatars/ after replacing = %v, want just %s", got, avatar2)
	}
	apiErr(t, "old avatar", c.Do("GET", avatar, nil), 404, "not_found")

	// Size limit from settings.json.
	apiEditSettings(t, d, func(m map[string]any) { m["max_upload_mb"] = 1 })
	large := apiPNG(t, 700, 700, true)
	if len(large) <= 1<<20 {
		t.Fatalf("test image is only %d bytes", len(large))
	}
	r, _ = upload("large.png", large)
	apiErr(t, "avatar over max_upload_mb", r, 413, "too_large")
	if got := apiDirFiles(t, d, "avatars"); len(got) != 1 || "/api/avatars/"+got[0] != avatar2 {
		t.Errorf("avatars/ after an oversize upload = %v, want just %s", got, avatar2)
	}

	// Deleting removes the file.
	var out struct{ User user }
	c.Must(200, "DELETE", "/api/me/avatar", nil).Decode(t, &out)
	if out.User.AvatarURL != "" {
		t.Errorf("avatar_url after delete = %q, want none", out.User.AvatarURL)
	}
	if got := apiDirFiles(t, d, "avatars"); len(got) != 0 {
		t.Errorf("avatars/ after delete = %v, want empty", got)
	}
}

func TestAPI_SecurityHeaders(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	c := d.NewClient()
	for _, path := range []string{"/", "/api/health", "/reset?token=abc", "/api/me", "/no/such/page"} {
		t.Run(path, func(t *testing.T) {
			r := c.Do("GET", path, nil)
			h := r.Header
			csp := h.Get("Content-Security-Policy")
			if csp == "" {
				t.Fatalf("no Content-Security-Policy")
			}
			var scriptSrc string
			for _, dir := range strings.Split(csp, ";") {
				f := strings.Fields(dir)
				if len(f) > 0 && f[0] == "script-src" {
					scriptSrc = dir
				}
				if len(f) > 0 && f[0] == "default-src" && scriptSrc == "" {
					scriptSrc = dir
				}
			}
			if scriptSrc == "" || strings.Contains(scriptSrc, "'unsafe-inline'") || strings.Contains(scriptSrc, "'unsafe-eval'") {
				t.Errorf("script-src = %q, want one without 'unsafe-inline'", scriptSrc)
			}
			if !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q lacks frame-ancestors 'none'", csp)
			}
			if got, want := h.Get("X-Content-Type-Options"), "nosniff"; got != want {
				t.Errorf("X-Content-Type-Options = %q, want %q", got, want)
			}
			if h.Get("Referrer-Policy") == "" {
				t.Errorf("no Referrer-Policy")
			}
			if !strings.Contains(h.Get("Strict-Transport-Security"), "max-age=") {
				t.Errorf("Strict-Transport-Security = %q, want max-age", h.Get("Strict-Transport-Security"))
			}
			if strings.HasPrefix(path, "/reset") {
				if got, want := h.Get("Referrer-Policy"), "no-referrer"; got != want {
					t.Errorf("/reset Referrer-Policy = %q, want %q", got, want)
				}
				if r.Status != 200 {
					t.Errorf("/reset status %d, want 200", r.Status)
				}
			}
		})
	}
}
