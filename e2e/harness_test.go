package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/minimost/minimost/pkg/daemon"
)

// binDir holds the minimostd and minimostctl binaries built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	// The in-process daemons' Main.Run sets the umask to 0077, and the umask is the whole
	// test binary's: set it first, so every test (and every process it starts: minimostctl,
	// sqlite3, bash, Chromium) sees the same umask whichever test ran first. A test that
	// gives a file to another uid, or checks a mode it set itself, sets it with os.Chmod.
	syscall.Umask(0o077)
	dir, err := os.MkdirTemp("", "minimost-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// One go build for both binaries: it compiles what they share once and links them in
	// parallel. minimost_testhooks compiles in the crash tests' deletion hook
	// (cmd/minimostd/testhooks.go).
	cmd := exec.Command("go", "build", "-tags", "minimost_testhooks", "-o", dir+string(filepath.Separator), "../cmd/minimostd", "../cmd/minimostctl")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build minimostd and minimostctl:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopChromium()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---- waiting ----
//
// Tests never sleep for a fixed time: they wait for the condition they need with waitFor
// (poll, where not getting there is not a failure by itself), for a WebSocket frame with
// WS.WaitFor, and for the state of a page with Browser.WaitJS. Where a test checks that
// something does NOT happen, it first waits for an event that shows the daemon got past the
// point where it would have happened (a frame on another socket, a client count, an empty
// fan-out journal), then checks.

// waitTimeout is how long waitFor waits: generous, because the tests run in parallel on
// small machines; a condition that holds returns at once anyway.
const waitTimeout = 30 * time.Second

// poll calls cond until it returns true or timeout has passed, and reports whether it did.
// It checks at once, then after 5 ms, doubling the interval up to 100 ms.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	interval := 5 * time.Millisecond
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		<-time.After(min(interval, left)) // the polling interval, not a wait for an outcome
		interval = min(2*interval, 100*time.Millisecond)
	}
}

// waitFor polls cond until it holds; after waitTimeout it fails the test, naming what it
// waited for.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	if !poll(waitTimeout, cond) {
		tb.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
	}
}

// copiesWritten waits until every message acknowledged so far is in its recipients'
// users/*.db files: the fan-out writes a member's copies about a second after the send,
// keeping them in presence.db's journal meanwhile, and removes a journal row once all its
// copies are durable. Reads through the API do not wait for it (they merge what is queued).
func copiesWritten(tb testing.TB, d *Daemon) {
	tb.Helper()
	waitFor(tb, "every copy written to users/*.db (an empty journal)", func() bool {
		return d.SQLite("presence.db", "SELECT COUNT(*) FROM journal;") == "0"
	})
}

// RequireTool returns the path of an external tool (sqlite3, chromium). When it is missing
// the test skips with a loud message, or fails under MINIMOST_E2E=required.
func RequireTool(tb testing.TB, names ...string) string {
	tb.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("*** %s not installed: this end-to-end test cannot run (install it, e.g. apt-get install %s) ***", names[0], names[0])
	if os.Getenv("MINIMOST_E2E") == "required" {
		tb.Fatal(msg + " and MINIMOST_E2E=required")
	}
	fmt.Fprintln(os.Stderr, "SKIP:", tb.Name(), msg)
	tb.Skip(msg)
	return ""
}

// syncBuffer is a bytes.Buffer safe for a process writing while a test reads.
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

// Daemon is a minimostd under test, one of two kinds:
//
//   - in-process (StartDaemon, StartDaemonIn; most tests): pkg/daemon's Main runs inside the
//     test binary, as cmd/minimostd runs it, with the same flags; Stop is Main.Close. It
//     serves real HTTPS on a real port and the admin gRPC service on the real Unix socket,
//     which Ctl reaches with the real minimostctl binary. It costs no process start.
//   - a real process (StartProcess, StartProcessIn): the minimostd binary, for what only a
//     process shows: SIGKILL (Kill), the exit of a crashed or refused daemon (ExitErr),
//     SIGTERM, Env, file modes under the daemon's own umask, peers of another uid, and the
//     guide's procedures and the browser tests, run against the real binary.
type Daemon struct {
	t      testing.TB
	Dir    string // the data directory
	Addr   string // host:port, the one the daemon reported (a new one after each Start)
	URL    string // https://host:port
	Socket string
	Args   []string // extra flags
	Env    []string // extra environment (KEY=VALUE) for the process, used by Start; process only
	Log    *syncBuffer
	// process: a real minimostd process rather than Main in-process.
	process bool
	// A process.
	cmd    *exec.Cmd
	exited chan error
	// In-process.
	main   *daemon.Main
	cancel context.CancelFunc
}

// anyPort is the -listen address the harness gives minimostd: the kernel picks a free port
// when the daemon binds, so no other process or parallel test can take it in between (as it
// could with a port found free and released before the daemon starts). A process logs the
// address it got (servingRe), and Start reads it from there; in-process, Main.URL says it.
const anyPort = "127.0.0.1:0"

// servingRe matches the line minimostd logs once it serves: msg="minimostd serving" url=...
var servingRe = regexp.MustCompile(`minimostd serving.*?\burl=(https?://[^\s"]+)`)

// StartDaemon runs minimostd in-process on a fresh data directory with extra flags.
func StartDaemon(tb testing.TB, args ...string) *Daemon {
	tb.Helper()
	return StartDaemonIn(tb, tb.TempDir(), args...)
}

// StartDaemonIn runs minimostd in-process on dir (existing state is kept).
func StartDaemonIn(tb testing.TB, dir string, args ...string) *Daemon {
	tb.Helper()
	return startDaemon(tb, dir, false, args)
}

// StartProcess runs the minimostd binary on a fresh data directory with extra flags.
func StartProcess(tb testing.TB, args ...string) *Daemon {
	tb.Helper()
	return StartProcessIn(tb, tb.TempDir(), args...)
}

// StartProcessIn runs the minimostd binary on dir (existing state is kept).
func StartProcessIn(tb testing.TB, dir string, args ...string) *Daemon {
	tb.Helper()
	return startDaemon(tb, dir, true, args)
}

func startDaemon(tb testing.TB, dir string, process bool, args []string) *Daemon {
	tb.Helper()
	d := &Daemon{t: tb, Dir: dir, Socket: filepath.Join(dir, "minimost.sock"), Args: args, process: process}
	d.Start()
	tb.Cleanup(func() { d.Stop() })
	return d
}

// flags is minimostd's command line.
func (d *Daemon) flags() []string {
	return append([]string{"-data", d.Dir, "-listen", anyPort, "-log-level", "debug"}, d.Args...)
}

// Start starts the daemon (again, on the same data directory; in-process, a new Main), on a
// new port, and waits until it serves HTTPS and the admin socket. d.Addr and d.URL are where
// it listens; d.Log is a new buffer with its log.
func (d *Daemon) Start() {
	tb := d.t
	tb.Helper()
	d.Log = &syncBuffer{}
	if d.process {
		d.startProcess()
	} else {
		d.startInProcess()
	}
	d.Addr = strings.TrimPrefix(strings.TrimPrefix(d.URL, "https://"), "http://")
	healthy := func() bool {
		if _, err := os.Stat(d.Socket); err != nil {
			return false
		}
		resp, err := d.anonClient().Get(d.URL + "/api/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	if !poll(20*time.Second, func() bool { return d.running() && healthy() }) {
		tb.Fatalf("minimostd at %s: no admin socket or /api/health not 200 within 20 s:\n%s", d.URL, d.Log.String())
	}
}

// running fails the test if the daemon's process has exited; it returns true otherwise.
func (d *Daemon) running() bool {
	d.t.Helper()
	if !d.process {
		return true
	}
	select {
	case err := <-d.exited:
		d.cmd = nil
		d.t.Fatalf("minimostd exited at start: %v\n%s", err, d.Log.String())
	default:
	}
	return true
}

// startProcess starts the minimostd binary and waits until it logs the URL it serves.
func (d *Daemon) startProcess() {
	tb := d.t
	tb.Helper()
	d.cmd = exec.Command(filepath.Join(binDir, "minimostd"), d.flags()...)
	d.cmd.Stdout, d.cmd.Stderr = d.Log, d.Log
	if len(d.Env) > 0 {
		d.cmd.Env = append(os.Environ(), d.Env...)
	}
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	d.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(d.cmd, d.exited)
	var served string
	if !poll(20*time.Second, func() bool {
		if m := servingRe.FindStringSubmatch(d.Log.String()); m != nil {
			served = m[1]
		}
		return d.running() && served != ""
	}) {
		tb.Fatalf("minimostd did not log `minimostd serving url=...` within 20 s:\n%s", d.Log.String())
	}
	d.URL = served
}

// inProcessRun serialises the Main.Run of in-process daemons. Run listens on the admin socket
// with admin.ListenLogger, which sets the process-wide umask to 0177 for the bind: a
// directory another daemon's Run created in that moment (users/, uploads/, avatars/) would
// lose its search bit.
var inProcessRun sync.Mutex

// startInProcess runs pkg/daemon's Main in the test binary, as cmd/minimostd does: ParseFlags
// and Run (which returns once everything listens), its log (debug and up) into d.Log.
func (d *Daemon) startInProcess() {
	tb := d.t
	tb.Helper()
	if len(d.Env) > 0 {
		tb.Fatalf("Daemon.Env %q needs a real minimostd process, but this daemon runs in-process: start it with StartProcess or StartProcessIn", d.Env)
	}
	if d.main != nil {
		tb.Fatalf("Daemon.Start: the in-process daemon on %s is running; Stop it first", d.Dir)
	}
	m := daemon.NewMain()
	m.Stdout, m.Stderr = d.Log, d.Log
	if err := m.ParseFlags(d.flags()); err != nil {
		tb.Fatalf("minimostd (in-process) %s: %v\n%s", strings.Join(d.flags(), " "), err, d.Log.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	inProcessRun.Lock()
	err := m.Run(ctx)
	inProcessRun.Unlock()
	if err != nil {
		m.Close()
		cancel()
		tb.Fatalf("minimostd (in-process) did not start: %v\n%s", err, d.Log.String())
	}
	d.main, d.cancel = m, cancel
	d.URL = m.URL()
}

// processOnly fails the test unless the daemon is a real process.
func (d *Daemon) processOnly(what string) {
	d.t.Helper()
	if !d.process {
		d.t.Fatalf("Daemon.%s needs a real minimostd process, but this daemon runs in-process (StartDaemon, StartDaemonIn): start it with StartProcess or StartProcessIn", what)
	}
}

// Clients returns how many WebSocket clients the daemon counts (minimostctl status --json).
// A test that closed a socket waits for the count to drop before it checks what the
// daemon did about it.
func (d *Daemon) Clients() int {
	d.t.Helper()
	var st struct {
		ConnectedClients int `json:"connected_clients"`
	}
	if err := json.Unmarshal([]byte(d.MustCtl("status", "--json")), &st); err != nil {
		d.t.Fatalf("minimostctl status --json: %v", err)
	}
	return st.ConnectedClients
}

// WaitClients waits until the daemon counts n WebSocket clients: it has then handled every
// connect and disconnect that makes the difference.
func (d *Daemon) WaitClients(n int) {
	d.t.Helper()
	got := -1
	if !poll(waitTimeout, func() bool { got = d.Clients(); return got == n }) {
		d.t.Fatalf("timed out after %v waiting for %d connected WebSocket clients (the daemon counts %d)", waitTimeout, n, got)
	}
}

// Stop stops the daemon as SIGTERM does and returns how long that took: a process gets
// SIGTERM and is waited for (at most 15 s); in-process, Run's context ends and Main.Close
// runs (at most 15 s), as in cmd/minimostd.
func (d *Daemon) Stop() time.Duration {
	if d.main != nil {
		return d.stopInProcess()
	}
	if d.cmd == nil {
		return 0
	}
	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		d.t.Errorf("minimostd did not stop within 15 s of SIGTERM")
	}
	d.cmd = nil
	return time.Since(start)
}

func (d *Daemon) stopInProcess() time.Duration {
	m := d.main
	d.main = nil // Main.Close is not idempotent
	start := time.Now()
	d.cancel()
	m.Logger.Info("shutting down")
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			d.t.Errorf("minimostd (in-process) Close: %v\n%s", err, d.Log.String())
		}
	case <-time.After(15 * time.Second):
		d.t.Errorf("minimostd (in-process) Close did not return within 15 s")
	}
	return time.Since(start)
}

// Kill sends SIGKILL and waits for the process to be gone. A process only: an in-process
// daemon fails the test.
func (d *Daemon) Kill() {
	d.t.Helper()
	d.processOnly("Kill")
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
}

// ExitErr waits up to timeout for the process to exit by itself and returns its error. A
// process only: an in-process daemon fails the test.
func (d *Daemon) ExitErr(timeout time.Duration) (error, bool) {
	d.t.Helper()
	d.processOnly("ExitErr")
	select {
	case err := <-d.exited:
		d.cmd = nil
		return err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Path returns a path inside the data directory.
func (d *Daemon) Path(rel ...string) string { return filepath.Join(append([]string{d.Dir}, rel...)...) }

// ReadFile returns the bytes of a file of the data directory (relative to it), read by a
// child process (cat). A test must not open a database file itself while an in-process daemon
// has it open: closing any descriptor of a file drops every POSIX lock the process holds on
// it, the daemon's SQLite locks included, and a sqlite3 shell could then checkpoint and
// remove the WAL under the daemon, whose later commits nobody else would see.
func (d *Daemon) ReadFile(rel string) ([]byte, error) {
	var errb bytes.Buffer
	cmd := exec.Command("cat", "--", d.Path(rel))
	cmd.Stderr = &errb
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("cat %s: %v: %s", d.Path(rel), err, strings.TrimSpace(errb.String()))
	}
	return b, nil
}

// CtlResult is what a minimostctl run printed.
type CtlResult struct {
	Stdout, Stderr string
	Code           int
}

// Ctl runs minimostctl against the daemon's socket.
func (d *Daemon) Ctl(args ...string) CtlResult { return d.CtlStdin("", args...) }

// CtlStdin runs minimostctl with stdin.
func (d *Daemon) CtlStdin(stdin string, args ...string) CtlResult {
	d.t.Helper()
	return runCtl(d.t, "", d.Socket, stdin, args...)
}

// runCtl runs the minimostctl binary in cwd ("" for the test's) against socket.
func runCtl(tb testing.TB, cwd, socket, stdin string, args ...string) CtlResult {
	tb.Helper()
	cmd := exec.Command(filepath.Join(binDir, "minimostctl"), append([]string{"--socket", socket}, args...)...)
	cmd.Dir = cwd
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("run minimostctl: %v", err)
	}
	return CtlResult{out.String(), errb.String(), code}
}

// WriteSettings rewrites settings.json with fn applied to its keys, atomically (a temporary
// file renamed over it), as an admin's editor would.
func (d *Daemon) WriteSettings(fn func(map[string]any)) {
	d.t.Helper()
	b, err := os.ReadFile(d.Path("settings.json"))
	if err != nil {
		d.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		d.t.Fatal(err)
	}
	fn(m)
	out, _ := json.MarshalIndent(m, "", "  ")
	tmp := d.Path("settings.json.tmp")
	if err := os.WriteFile(tmp, append(out, '\n'), 0o644); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, d.Path("settings.json")); err != nil {
		d.t.Fatal(err)
	}
}

// MustCtl runs minimostctl and fails the test unless it exits 0.
func (d *Daemon) MustCtl(args ...string) string {
	d.t.Helper()
	r := d.Ctl(args...)
	if r.Code != 0 {
		d.t.Fatalf("minimostctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// CreateUser makes an account with minimostctl users create --password-stdin.
func (d *Daemon) CreateUser(name, password string) {
	d.t.Helper()
	r := d.CtlStdin(password+"\n", "users", "create", name, "--password-stdin")
	if r.Code != 0 {
		d.t.Fatalf("create user %s: exit %d: %s", name, r.Code, r.Stderr)
	}
}

func (d *Daemon) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(d.Path("cert.pem")); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func (d *Daemon) anonClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: d.tlsConfig()}}
}

// Client is a browser-like API client: a cookie jar, the CSRF header, the Origin header.
type Client struct {
	t    testing.TB
	d    *Daemon
	HTTP *http.Client
	// Origin is sent with every request (the daemon's own by default).
	Origin string
	// NoCSRF leaves the X-CSRF-Token header off.
	NoCSRF bool
	User   string
}

// NewClient returns a client with an empty cookie jar that trusts the daemon's certificate.
func (d *Daemon) NewClient() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: d.t, d: d, Origin: d.URL, HTTP: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: d.tlsConfig()},
	}}
}

// Cookie returns the value of a cookie the client holds.
func (c *Client) Cookie(name string) string {
	u, _ := url.Parse(c.d.URL)
	for _, k := range c.HTTP.Jar.Cookies(u) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

func (c *Client) csrf() string {
	if v := c.Cookie("mm_csrf"); v != "" {
		return v
	}
	resp, err := c.HTTP.Get(c.d.URL + "/api/csrf")
	if err != nil {
		c.t.Fatalf("get csrf: %v", err)
	}
	resp.Body.Close()
	return c.Cookie("mm_csrf")
}

// Response is an API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r Response) JSON() map[string]any {
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return m
}

// Decode decodes the body into v.
func (r Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns error.code of an error answer.
func (r Response) ErrorCode() string {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Raw sends a request with a raw body and content type.
func (c *Client) Raw(method, path, ctype string, body []byte) Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.d.URL+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.Origin != "" {
		req.Header.Set("Origin", c.Origin)
	}
	if method != "GET" && method != "HEAD" && !c.NoCSRF {
		req.Header.Set("X-CSRF-Token", c.csrf())
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{resp.StatusCode, resp.Header, b}
}

// Do sends body (nil: none) as JSON.
func (c *Client) Do(method, path string, body any) Response {
	c.t.Helper()
	if body == nil {
		return c.Raw(method, path, "", nil)
	}
	b, _ := json.Marshal(body)
	return c.Raw(method, path, "application/json", b)
}

// Must sends a JSON request and fails unless the status is want.
func (c *Client) Must(want int, method, path string, body any) Response {
	c.t.Helper()
	r := c.Do(method, path, body)
	if r.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// Login logs in and fails the test if it cannot.
func (c *Client) Login(name, password string) {
	c.t.Helper()
	c.Must(200, "POST", "/api/login", map[string]string{"username": name, "password": password})
	c.User = name
}

// Register registers and fails the test if it cannot.
func (c *Client) Register(name, password string) {
	c.t.Helper()
	c.Must(201, "POST", "/api/register", map[string]string{"username": name, "password": password})
	c.User = name
}

// ConvPath returns /api/conversations/<escaped id><suffix>.
func ConvPath(id, suffix string) string {
	return "/api/conversations/" + url.PathEscape(id) + suffix
}

// Message is the API's message, as tests need it.
type Message struct {
	ID           string `json:"id"`
	Conversation string `json:"conversation"`
	Sender       string `json:"sender"`
	Body         string `json:"body"`
	HTML         string `json:"html"`
	SentTS       int64  `json:"sent_ts"`
	EditedTS     int64  `json:"edited_ts"`
	Deleted      bool   `json:"deleted"`
	Attachment   *struct {
		StoredName string `json:"stored_name"`
		Name       string `json:"name"`
		Deleted    bool   `json:"deleted"`
		URL        string `json:"url"`
		Image      bool   `json:"image"`
	} `json:"attachment"`
	Reactions []struct {
		Emoji string   `json:"emoji"`
		Users []string `json:"users"`
	} `json:"reactions"`
}

// Post sends a message and returns it.
func (c *Client) Post(conv, body string) Message {
	c.t.Helper()
	r := c.Must(201, "POST", ConvPath(conv, "/messages"), map[string]string{"body": body})
	var out struct{ Message Message }
	r.Decode(c.t, &out)
	return out.Message
}

// History returns the newest page of a conversation.
func (c *Client) History(conv string) []Message {
	c.t.Helper()
	r := c.Must(200, "GET", ConvPath(conv, "/messages?limit=200"), nil)
	var out struct{ Messages []Message }
	r.Decode(c.t, &out)
	return out.Messages
}

// WS is a WebSocket connection of a client.
type WS struct {
	t    testing.TB
	C    *websocket.Conn
	Boot string
	Seq  uint64
	Conn string // the connection's id, from its hello
}

// DialWS opens the client's WebSocket (query: e.g. "boot=..&since=..").
func (c *Client) DialWS(query string) (*WS, *http.Response, error) {
	u := "wss://" + c.d.Addr + "/ws"
	if query != "" {
		u += "?" + query
	}
	h := http.Header{}
	if c.Origin != "" {
		h.Set("Origin", c.Origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.HTTP, HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	w := &WS{t: c.t, C: conn}
	c.t.Cleanup(func() { conn.CloseNow() })
	hello := w.Next(5 * time.Second)
	if hello["type"] != "hello" {
		c.t.Fatalf("first frame = %v, want hello", hello)
	}
	w.Boot, _ = hello["boot"].(string)
	w.Conn, _ = hello["conn"].(string)
	return w, resp, nil
}

// MustWS opens the WebSocket and fails the test if it cannot.
func (c *Client) MustWS() *WS {
	c.t.Helper()
	w, _, err := c.DialWS("")
	if err != nil {
		c.t.Fatalf("dial websocket: %v", err)
	}
	return w
}

// Next reads one frame (nil on timeout or close).
func (w *WS) Next(timeout time.Duration) map[string]any {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := w.C.Read(ctx)
	if err != nil {
		return nil
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if s, ok := m["seq"].(float64); ok {
		w.Seq = uint64(s)
	}
	return m
}

// ReadErr reads until an error (the socket closed) or timeout; it returns the error.
func (w *WS) ReadErr(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if _, _, err := w.C.Read(ctx); err != nil {
			return err
		}
	}
}

// WaitFor reads frames until one has type typ and satisfies match (nil: any).
func (w *WS) WaitFor(typ string, timeout time.Duration, match func(map[string]any) bool) map[string]any {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m := w.Next(time.Until(deadline))
		if m == nil {
			break
		}
		if m["type"] == typ && (match == nil || match(m)) {
			return m
		}
	}
	w.t.Fatalf("no %q frame within %v", typ, timeout)
	return nil
}

// Send writes a JSON frame.
func (w *WS) Send(v any) {
	w.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.C.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("websocket write: %v", err)
	}
}

// SQLite runs the real sqlite3 shell on db (relative to the data directory) and returns its
// trimmed output; it fails the test on a non-zero exit.
func (d *Daemon) SQLite(db, sql string) string {
	d.t.Helper()
	bin := RequireTool(d.t, "sqlite3")
	cmd := exec.Command(bin, db, sql)
	cmd.Dir = d.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("sqlite3 %s %q: %v\n%s", db, sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Shell runs a bash script in the data directory (the guide's shell procedures).
func (d *Daemon) Shell(script string) string {
	d.t.Helper()
	RequireTool(d.t, "sqlite3")
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = d.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("shell %q: %v\n%s", script, err, out)
	}
	return strings.TrimSpace(string(out))
}

// rawNoFail sends a JSON request and returns status 0 instead of failing the test when the
// daemon cannot be reached (for crash tests).
func (c *Client) rawNoFail(method, path string, body any) Response {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, c.d.URL+path, bytes.NewReader(b))
	if err != nil {
		return Response{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.Origin)
	req.Header.Set("X-CSRF-Token", c.Cookie("mm_csrf"))
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}
	}
	return Response{resp.StatusCode, resp.Header, rb}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
