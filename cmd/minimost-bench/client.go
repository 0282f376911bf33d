package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/tidwall/gjson"
)

// client is one logged-in account with its WebSocket.
type client struct {
	name   string
	base   *url.URL
	origin string
	http   *http.Client
	ws     *websocket.Conn
	wmu    sync.Mutex // one writer at a time

	// What the reader saw; owned by the reader goroutine until it ends.
	latencies []time.Duration // send → message.new here, for this run's messages
	acks      []time.Duration // send → ack (senders only)
	lastRecv  time.Time
	errors    int // error frames
	// watch, when set, is the ?watch= of the handshake: the accounts whose presence this
	// client shows, as the web client names its DM partners (-watch).
	watch *string
	// dropped is set when the server closed the socket before the run ended (closeCode says
	// how: 1013 "try again later" is a client that fell too far behind).
	dropped   bool
	closeCode websocket.StatusCode

	// Where the client is in the event stream, for a reconnect with ?boot=&since= as the web
	// client does: the daemon's boot id from hello and the last seq seen (the reader updates
	// lastSeq; a reconnect reads it after the reader ended).
	boot    string
	lastSeq uint64
	seqSet  bool
	// Frames counted while reading: presence events and resyncs (a catch-up the daemon's
	// ring no longer covered).
	presence atomic.Int64
	resyncs  atomic.Int64
	// What dropped and closeCode say, readable while the reader runs: closed by the daemon,
	// and of those, as too slow.
	closedByServer, closedSlow atomic.Bool
	// drops counts, over all clients, the sockets that ended while being read: the first
	// few reasons are logged.
	drops *atomic.Int64
	// onRefused, when set, is told the client_id of a send the daemon answered with an error
	// (the message was not accepted: no copy of it will come).
	onRefused func(clientID string)
}

func newClient(name string, base *url.URL, transport http.RoundTripper) *client {
	jar, _ := cookiejar.New(nil)
	return &client{
		name: name, base: base, origin: base.Scheme + "://" + base.Host,
		http: &http.Client{Jar: jar, Timeout: 60 * time.Second, Transport: transport},
	}
}

func (c *client) cookie(name string) string {
	for _, k := range c.http.Jar.Cookies(c.base) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

// cookies returns the session and CSRF cookies the client holds (name → value).
func (c *client) cookies() map[string]string {
	out := map[string]string{}
	for _, k := range c.http.Jar.Cookies(c.base) {
		if k.Name == sessionCookieName || k.Name == csrfCookieName {
			out[k.Name] = k.Value
		}
	}
	return out
}

// restore gives the client cookies saved by an earlier run.
func (c *client) restore(cookies map[string]string) {
	var list []*http.Cookie
	for k, v := range cookies {
		list = append(list, &http.Cookie{Name: k, Value: v, Path: "/"})
	}
	c.http.Jar.SetCookies(c.base, list)
}

// sessionValid asks the daemon whether the client's session cookie is still a session: false
// when it is refused (401), an error for any other failure.
func (c *client) sessionValid(ctx context.Context) (bool, error) {
	err := c.once(ctx, "GET", "/api/me", nil, nil)
	var he *httpError
	if errors.As(err, &he) && he.code == http.StatusUnauthorized {
		return false, nil
	}
	return err == nil, err
}

// httpError is a non-2xx answer.
type httpError struct {
	method, path, status, body string
	code                       int
	retryAfter                 int // seconds, from Retry-After
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.method, e.path, e.status, e.body)
}

// do sends a JSON request with the CSRF double-submit header and Origin, retrying after a
// 429 as its Retry-After says (login is rate-limited per client address).
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	for {
		err := c.once(ctx, method, path, body, out)
		var he *httpError
		if !errors.As(err, &he) || he.code != http.StatusTooManyRequests {
			return err
		}
		select {
		case <-time.After(time.Duration(max(he.retryAfter, 1)) * time.Second):
		case <-ctx.Done():
			return fmt.Errorf("%s %s: rate limited (start minimostd with -auth-burst >= -users): %w", method, path, ctx.Err())
		}
	}
}

// once sends a JSON request once, with the CSRF double-submit header and Origin; a non-2xx
// answer is an *httpError.
func (c *client) once(ctx context.Context, method, path string, body, out any) error {
	if method != "GET" && c.cookie("mm_csrf") == "" {
		if err := c.once(ctx, "GET", "/api/csrf", nil, nil); err != nil {
			return err
		}
	}
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Origin", c.origin)
	if method != "GET" {
		req.Header.Set("X-CSRF-Token", c.cookie("mm_csrf"))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return &httpError{method: method, path: path, status: resp.Status, body: strings.TrimSpace(string(b)),
			code: resp.StatusCode, retryAfter: wait}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *client) login(ctx context.Context, password string) error {
	return c.do(ctx, "POST", "/api/login", map[string]string{"username": c.name, "password": password}, nil)
}

func (c *client) dial(ctx context.Context) error { return c.dialQuery(ctx, "") }

// dialQuery opens the WebSocket with query (e.g. "?boot=…&since=…") and reads its hello.
func (c *client) dialQuery(ctx context.Context, query string) error {
	scheme := "wss"
	if c.base.Scheme == "http" {
		scheme = "ws"
	}
	h := http.Header{}
	h.Set("Origin", c.origin)
	if c.watch != nil {
		if query == "" {
			query = "?"
		} else {
			query += "&"
		}
		query += "watch=" + url.QueryEscape(*c.watch)
	}
	conn, _, err := websocket.Dial(ctx, scheme+"://"+c.base.Host+"/ws"+query, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h})
	if err != nil {
		return fmt.Errorf("websocket of %s: %w", c.name, err)
	}
	conn.SetReadLimit(1 << 20)
	_, b, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return fmt.Errorf("websocket of %s: %w", c.name, err)
	}
	var hello struct {
		Type string `json:"type"`
		Boot string `json:"boot"`
		Seq  uint64 `json:"seq"`
	}
	if json.Unmarshal(b, &hello); hello.Type != "hello" {
		conn.CloseNow()
		return fmt.Errorf("websocket of %s: first frame %s, want hello", c.name, b)
	}
	c.boot, c.lastSeq, c.seqSet = helloPosition(c.boot, c.lastSeq, c.seqSet, hello.Boot, hello.Seq)
	c.ws = conn
	return nil
}

// helloPosition is where a client stands in the event stream after a hello, as the web
// client reckons it: on a first connection, or one to a daemon that restarted (another boot
// id), it counts from the hello's seq; on a reconnect to the same daemon it keeps the last
// seq it saw, the replay bringing what it missed.
func helloPosition(boot string, last uint64, set bool, helloBoot string, helloSeq uint64) (string, uint64, bool) {
	if !set || boot != helloBoot {
		return helloBoot, helloSeq, true
	}
	return boot, last, true
}

// resumeQuery is the query of a reconnect: ?boot=…&since=… once a hello was seen.
func resumeQuery(boot string, last uint64, set bool) string {
	if !set || boot == "" {
		return ""
	}
	return "?boot=" + url.QueryEscape(boot) + "&since=" + strconv.FormatUint(last, 10)
}

func (c *client) send(ctx context.Context, v any) error {
	b, _ := json.Marshal(v)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.ws.Write(wctx, websocket.MessageText, b)
}

// serverFrame is what the reader needs of a server frame.
type serverFrame struct {
	Type     string
	ClientID string
	Code     string
	Seq      uint64
	// Body is the message's body in a message.new frame (whose message is an object; an
	// error frame's is a string).
	Body string
}

// parseServerFrame picks from a frame the fields the reader needs, without decoding the rest.
// Every client reads every copy of a big channel's messages: decoding each frame whole with
// encoding/json (the frame, then its message) took a third of this load generator's CPU, a
// core shared with the daemon it measures. ok is false when b has no type.
func parseServerFrame(b []byte) (f serverFrame, ok bool) {
	r := gjson.GetManyBytes(b, "type", "client_id", "code", "seq", "message.body")
	if r[0].Type != gjson.String {
		return serverFrame{}, false
	}
	f = serverFrame{Type: r[0].Str, ClientID: r[1].Str, Code: r[2].Str, Seq: r[3].Uint()}
	if r[4].Type == gjson.String {
		f.Body = r[4].Str
	}
	return f, true
}

// tag is what the body of a benchmark message carries: run id, sender, sequence and the
// send time, so that every receiver can compute its own latency without a shared map.
func makeBody(run string, sender, seq int, at time.Time) string {
	return fmt.Sprintf("mmbench %s %d %d %d", run, sender, seq, at.UnixNano())
}

func parseBody(run, body string) (sender, seq int, at time.Time, ok bool) {
	f := strings.Fields(body)
	if len(f) < 5 || f[0] != "mmbench" || f[1] != run {
		return 0, 0, time.Time{}, false
	}
	s, err1 := strconv.Atoi(f[2])
	q, err2 := strconv.Atoi(f[3])
	ns, err3 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, time.Time{}, false
	}
	return s, q, time.Unix(0, ns), true
}

// read consumes frames until the socket closes, recording latencies; onCopy is called for
// every copy of this run's messages, onAck for every ack.
func (c *client) read(ctx context.Context, run string, onCopy func(sender, seq int), onAck func(clientID string, at time.Time)) {
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.dropped, c.closeCode = true, websocket.CloseStatus(err)
				if c.drops != nil && c.drops.Add(1) <= 3 {
					logf("socket of %s ended: %v", c.name, err)
				}
				c.closedByServer.Store(true)
				c.closedSlow.Store(c.closeCode == websocket.StatusTryAgainLater)
			}
			return
		}
		now := time.Now()
		f, ok := parseServerFrame(b)
		if !ok {
			continue
		}
		if f.Seq > c.lastSeq && f.Type != "hello" && f.Type != "resync" {
			c.lastSeq = f.Seq
		}
		switch f.Type {
		case "presence":
			c.presence.Add(1)
		case "resync":
			c.resyncs.Add(1)
		case "message.new":
			if sender, seq, at, ok := parseBody(run, f.Body); ok {
				c.latencies = append(c.latencies, now.Sub(at))
				c.lastRecv = now
				onCopy(sender, seq)
			}
		case "ack":
			onAck(f.ClientID, now)
		case "error":
			c.errors++
			if c.onRefused != nil && f.ClientID != "" {
				c.onRefused(f.ClientID)
			}
			if c.errors <= 3 {
				logf("error frame for %s: %s", c.name, b)
			}
		}
	}
}
