package webserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/hub"
	"github.com/minimost/minimost/pkg/store"
	"github.com/minimost/minimost/pkg/webserver"
	"github.com/minimost/minimost/web"
)

// These tests run the real web server on the real application layer and store (in a temporary
// directory) over real HTTP on loopback, in-process: the limits only HTTP can show.

type settingsVar struct {
	mu sync.Mutex
	s  chat.Settings
}

func (v *settingsVar) Get() chat.Settings {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.s
}

// cheapHasher is argon2id at its smallest cost: these tests are about HTTP, not hashing.
var cheapParams = auth.Params{Memory: 64, Time: 1, Threads: 1}

type server struct {
	*httptest.Server
	web *webserver.Server
	app *app.App
}

func newServer(t *testing.T, edit func(*chat.Settings), setup func(*webserver.Server)) *server {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sv := &settingsVar{s: chat.DefaultSettings()}
	if edit != nil {
		edit(&sv.s)
	}
	h := hub.New()
	a := app.New(st, auth.NewHasher(cheapParams, 2), sv, h, h, h, dir)
	ws := &webserver.Server{App: a, Hub: h, Signer: auth.NewSigner([]byte(strings.Repeat("k", 32))), Web: web.FS}
	if setup != nil {
		setup(ws)
	}
	ws.Init()
	ts := httptest.NewUnstartedServer(ws.Handler())
	ts.Config.ConnContext = ws.ConnContext
	ts.Config.ConnState = ws.ConnState
	ts.Start()
	t.Cleanup(func() {
		h.CloseAll()
		ts.CloseClientConnections()
		ts.Close()
	})
	return &server{Server: ts, web: ws, app: a}
}

// client is a browser-like client: cookies, the CSRF header and our Origin.
type client struct {
	t    *testing.T
	s    *server
	http *http.Client
	xff  string
}

func (s *server) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, s: s, http: &http.Client{Jar: jar, Transport: &http.Transport{DisableKeepAlives: true}}}
}

func (c *client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	if method != "GET" && c.csrf() == "" {
		c.do("GET", "/api/csrf", nil)
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, c.s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.s.URL)
	req.Header.Set("X-CSRF-Token", c.csrf())
	if c.xff != "" {
		req.Header.Set("X-Forwarded-For", c.xff)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (c *client) csrf() string {
	u, _ := http.NewRequest("GET", c.s.URL, nil)
	for _, ck := range c.http.Jar.Cookies(u.URL) {
		if ck.Name == "mm_csrf" {
			return ck.Value
		}
	}
	return ""
}

func (c *client) mustRegister(name string) {
	c.t.Helper()
	if st, body := c.do("POST", "/api/register", map[string]string{"username": name, "password": name + "-password"}); st != 201 {
		c.t.Fatalf("register %s: %d %v", name, st, body)
	}
}

func (c *client) dialWS() (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{"Origin": {c.s.URL}}
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.s.URL, "http")+"/ws", &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h})
	if err == nil {
		c.t.Cleanup(func() { conn.CloseNow() })
	}
	return conn, resp, err
}

func TestLimits_SocketsPerUser(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(st *chat.Settings) { st.MaxSocketsPerUser = 2 }, nil)
	alice := s.client(t)
	alice.mustRegister("alice")
	for i := range 2 {
		c, _, err := alice.dialWS()
		if err != nil {
			t.Fatalf("socket %d: %v", i+1, err)
		}
		// Read the hello: the subscription is counted before it is sent.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _, err = c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, resp, err := alice.dialWS()
	if err == nil || resp == nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a 3rd socket with max_sockets_per_user 2: err %v, response %v; want 429 with Retry-After", err, resp)
	}
}

func TestLimits_ConnectionsPerAddress(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(st *chat.Settings) { st.ConnectionsPerAddress = 2 }, nil)
	// Two idle connections from 127.0.0.1 take the address's share.
	for range 2 {
		c, err := net.Dial("tcp", s.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
			t.Fatalf("a connection within the limit: %q, %v", line, err)
		}
	}
	resp, err := http.Get(s.URL + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a 3rd connection from one address = %d, want 503 with Retry-After", resp.StatusCode)
	}
}

func TestLimits_SlowBodyIsCutOff(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, func(w *webserver.Server) { w.JSONBodyDeadline = 200 * time.Millisecond })
	c, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Headers, then one byte of a 100-byte body, then nothing.
	fmt.Fprintf(c, "POST /api/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", s.Listener.Addr())
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // only bounds a failing test
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, "400") && !strings.Contains(line, "403") {
		t.Errorf("a body that never arrives: %q, %v; want the server to answer and give up on it", line, err)
	}
}

func TestLogin_LockoutIsPerAddress(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, func(w *webserver.Server) { w.TrustProxy = true; w.AuthBurst = 40 })
	owner := s.client(t)
	owner.mustRegister("alice")
	attacker := s.client(t)
	attacker.xff = "203.0.113.9"
	locked := false
	for range 20 {
		st, _ := attacker.do("POST", "/api/login", map[string]string{"username": "alice", "password": "guess-guess"})
		if st == 429 {
			locked = true
			break
		}
		if st != 401 {
			t.Fatalf("a wrong guess = %d", st)
		}
	}
	if !locked {
		t.Fatal("20 wrong guesses from one address were never rate limited")
	}
	alice := s.client(t)
	alice.xff = "198.51.100.7"
	if st, body := alice.do("POST", "/api/login", map[string]string{"username": "alice", "password": "alice-password"}); st != 200 {
		t.Errorf("alice from her own address after the attack = %d %v, want 200", st, body)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, nil)
	phone, laptop := s.client(t), s.client(t)
	phone.mustRegister("alice")
	if st, _ := laptop.do("POST", "/api/login", map[string]string{"username": "alice", "password": "alice-password"}); st != 200 {
		t.Fatal("login")
	}
	if st, _ := laptop.do("POST", "/api/me/logout-all", nil); st != 204 {
		t.Fatalf("logout-all = %d", st)
	}
	for name, c := range map[string]*client{"phone": phone, "laptop": laptop} {
		if st, _ := c.do("GET", "/api/me", nil); st != 401 {
			t.Errorf("%s after log out everywhere: /api/me = %d, want 401", name, st)
		}
	}
}

// closeCounter records the reasons Server.OnWSClose reports.
type closeCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *closeCounter) add(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[reason]++
}

func (c *closeCounter) get(reason string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[reason]
}

// waitFor polls until the reason has been counted want times.
func (c *closeCounter) waitFor(t *testing.T, reason string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		c.mu.Lock()
		got, all := c.n[reason], maps.Clone(c.n)
		c.mu.Unlock()
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("closes counted %v, want %d of %q", all, want, reason)
		}
	}
}

// closeStatus reads conn until it ends, and returns the close status it ended with (-1:
// none).
func closeStatus(ctx context.Context, conn *websocket.Conn) websocket.StatusCode {
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestWebSocket_CloseReasons(t *testing.T) {
	t.Parallel()
	closes := &closeCounter{n: map[string]int{}}
	s := newServer(t, nil, func(ws *webserver.Server) { ws.OnWSClose = closes.add })
	c := s.client(t)
	c.mustRegister("alice")
	ctx := context.Background()

	// A client that closes properly, and one that drops the connection without a close frame:
	// both left of their own accord.
	conn, _, err := c.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	closes.waitFor(t, webserver.CloseByClient, 1)
	conn, _, err = c.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	conn.CloseNow()
	closes.waitFor(t, webserver.CloseByClient, 2)

	// A binary frame is refused: the server ends the connection for it.
	conn, _, err = c.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(ctx, websocket.MessageBinary, []byte("x"))
	if st := closeStatus(ctx, conn); st != websocket.StatusUnsupportedData { // after the hello
		t.Fatalf("after a binary frame: close status %d, want %d", st, websocket.StatusUnsupportedData)
	}
	closes.waitFor(t, webserver.CloseByProtocol, 1)

	// Logging out ends the session and with it the socket.
	conn, _, err = c.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}()
	if st, _ := c.do("POST", "/api/logout", nil); st != 204 {
		t.Fatalf("logout = %d", st)
	}
	closes.waitFor(t, webserver.CloseBySession, 1)
	closes.waitFor(t, webserver.CloseByClient, 2)
}

// Two handshakes of one account that pass the check of max_sockets_per_user together: the
// subscription, which checks it again, refuses the one that comes second. Its client is told
// to try again later (1013) and the close is counted as "limit".
func TestWebSocket_LimitAtTheSubscriptionIsCounted(t *testing.T) {
	t.Parallel()
	closes := &closeCounter{n: map[string]int{}}
	arrived, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	s := newServer(t, func(st *chat.Settings) { st.MaxSocketsPerUser = 1 }, func(ws *webserver.Server) {
		ws.OnWSClose = closes.add
		ws.SetBeforeSubscribe(func() {
			if first.CompareAndSwap(false, true) {
				close(arrived)
				<-release
			}
		})
	})
	c := s.client(t)
	c.mustRegister("alice")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The first handshake passes the check, and stops short of its subscription.
	refused := make(chan websocket.StatusCode, 1)
	go func() {
		conn, _, err := c.dialWS()
		if err != nil {
			t.Error(err)
			refused <- -1
			return
		}
		refused <- closeStatus(ctx, conn)
	}()
	<-arrived
	// A second one passes the check too, and takes the account's one socket.
	second, _, err := c.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := second.Read(ctx); err != nil { // its hello
		t.Fatal(err)
	}
	close(release)
	if st := <-refused; st != websocket.StatusTryAgainLater {
		t.Errorf("the handshake over the limit ended with close status %d, want %d (try again later)", st, websocket.StatusTryAgainLater)
	}
	closes.waitFor(t, webserver.CloseByLimit, 1)
	if n := closes.get(webserver.CloseByClient); n != 0 {
		t.Errorf("%d closes counted as the client's", n)
	}
}

// A client that stops reading does not answer pings: the server drops it, and counts it as
// a ping timeout.
func TestWebSocket_UnansweredPingIsCounted(t *testing.T) {
	t.Parallel()
	closes := &closeCounter{n: map[string]int{}}
	s := newServer(t, nil, func(ws *webserver.Server) {
		ws.OnWSClose = closes.add
		ws.WSPingInterval, ws.WSPingTimeout = 10*time.Millisecond, 50*time.Millisecond
	})
	c := s.client(t)
	c.mustRegister("alice")
	if _, _, err := c.dialWS(); err != nil { // never read: pongs are sent by a reader
		t.Fatal(err)
	}
	closes.waitFor(t, webserver.CloseByPingTimeout, 1)
}

// A daemon that stops tells its clients so (1001, going away) and counts their sockets as
// ended by the shutdown.
func TestWebSocket_ShutdownIsCounted(t *testing.T) {
	t.Parallel()
	closes := &closeCounter{n: map[string]int{}}
	s := newServer(t, nil, func(ws *webserver.Server) { ws.OnWSClose = closes.add })
	c := s.client(t)
	c.mustRegister("alice")
	ctx := context.Background()
	conn, _, err := c.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Read(ctx); err != nil { // the hello: the subscription is in place
		t.Fatal(err)
	}
	s.web.Hub.CloseAll()
	if st := closeStatus(ctx, conn); st != websocket.StatusGoingAway {
		t.Fatalf("at shutdown: close status %d, want %d", st, websocket.StatusGoingAway)
	}
	closes.waitFor(t, webserver.CloseByShutdown, 1)
	if n := closes.get(webserver.CloseByClient); n != 0 {
		t.Fatalf("%d sockets counted as left by the client at shutdown", n)
	}
}
