package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// bearer sends a request with an access token: no cookie, no CSRF token, no Origin, as a
// script or bot does.
func bearer(t *testing.T, d *Daemon, token, method, path string, body any) Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := d.anonClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{resp.StatusCode, resp.Header, b}
}

// postHook posts a payload to an incoming webhook URL as Alertmanager or curl would.
func postHook(t *testing.T, d *Daemon, hookURL, ctype string, body []byte) Response {
	t.Helper()
	resp, err := d.anonClient().Post(hookURL, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", hookURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{resp.StatusCode, resp.Header, b}
}

// TestIntegrations_BotToken: a bot made with minimostctl connects with a token, answers a
// message live, and is cut off at once when the token is revoked.
func TestIntegrations_BotToken(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("bob", "bob-password-1")
	bob := d.NewClient()
	bob.Login("bob", "bob-password-1")
	bobWS := bob.MustWS()

	d.MustCtl("bots", "create", "echobot", "--display-name", "Echo Bot")
	token := strings.TrimSpace(d.MustCtl("tokens", "create", "echobot", "--name", "e2e"))
	if !strings.HasPrefix(token, "mmt_") {
		t.Fatalf("token %q", token)
	}
	// Only the token's hash is kept.
	for _, f := range []string{"auth.db", "auth.db-wal"} {
		if b, err := d.ReadFile(f); err == nil && bytes.Contains(b, []byte(token)) {
			t.Errorf("%s holds the token itself", f)
		}
	}
	var me struct {
		User struct {
			Username string `json:"username"`
			Bot      bool   `json:"bot"`
		} `json:"user"`
	}
	r := bearer(t, d, token, "GET", "/api/me", nil)
	r.Decode(t, &me)
	if r.Status != 200 || me.User.Username != "echobot" || !me.User.Bot {
		t.Fatalf("GET /api/me with the token: %d %s", r.Status, r.Body)
	}
	apiErr(t, "bot password login", d.NewClient().Do("POST", "/api/login", map[string]string{"username": "echobot", "password": "anything-at-all"}), 401, "unauthorized")
	apiErr(t, "a wrong token", bearer(t, d, token+"x", "GET", "/api/me", nil), 401, "unauthorized")
	apiErr(t, "tokens managed with a token", bearer(t, d, token, "GET", "/api/me/tokens", nil), 403, "forbidden")

	// The bot's WebSocket, with the token and no cookie.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "wss://"+d.Addr+"/ws", &websocket.DialOptions{
		HTTPClient: d.anonClient(), HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("bot websocket: %v", err)
	}
	defer conn.CloseNow()
	botWS := &WS{t: t, C: conn}
	if hello := botWS.Next(5 * time.Second); hello["type"] != "hello" {
		t.Fatalf("bot's first frame %v", hello)
	}
	m := bob.Post("c:general", "hello bot")
	got := botWS.WaitFor("message.new", 10*time.Second, wsMsgID(m.ID))
	body := got["message"].(map[string]any)["body"].(string)
	reply := bearer(t, d, token, "POST", ConvPath("c:general", "/messages"), map[string]string{"body": "echo: " + body})
	if reply.Status != 201 {
		t.Fatalf("bot reply: %d %s", reply.Status, reply.Body)
	}
	bobWS.WaitFor("message.new", 10*time.Second, func(f map[string]any) bool {
		msg := f["message"].(map[string]any)
		return msg["sender"] == "echobot" && msg["body"] == "echo: hello bot"
	})

	// Revocation closes the bot's socket and ends the token at once.
	var list []struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	if err := json.Unmarshal([]byte(d.MustCtl("--json", "tokens", "list", "echobot")), &list); err != nil || len(list) != 1 {
		t.Fatalf("tokens list: %v %v", list, err)
	}
	d.MustCtl("tokens", "revoke", list[0].ID)
	if err := botWS.ReadErr(10 * time.Second); err == nil {
		t.Error("the revoked token's socket is still open")
	}
	apiErr(t, "a revoked token", bearer(t, d, token, "GET", "/api/me", nil), 401, "unauthorized")
}

// TestIntegrations_IncomingWebhooks posts what Alertmanager, Grafana and a GitHub Actions step
// send (written from their documented formats) and checks what every member gets.
func TestIntegrations_IncomingWebhooks(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password-1")
	d.CreateUser("bob", "bob-password-1")
	d.MustCtl("channels", "add", "alerts")
	// Alertmanager's payload names #alerts: the hook may post there as well as to general.
	hookURL := strings.TrimSpace(d.MustCtl("webhooks", "create", "--channel", "general", "--channel", "alerts", "--username", "Alerts"))
	if !strings.HasPrefix(hookURL, d.URL+"/hooks/") {
		t.Fatalf("hook URL %q is not on %s", hookURL, d.URL)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile("../pkg/slack/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, p := range []struct {
		name, ctype string
		body        []byte
	}{
		{"alertmanager", "application/json", read("alertmanager.json")},
		{"grafana", "application/json", read("grafana.json")},
		{"github", "application/x-www-form-urlencoded", []byte("payload=" + url.QueryEscape(string(read("github.json"))))},
	} {
		r := postHook(t, d, hookURL, p.ctype, p.body)
		if r.Status != 200 || string(r.Body) != "ok" {
			t.Fatalf("%s payload: %d %q", p.name, r.Status, r.Body)
		}
	}
	// Refused payloads post nothing.
	for _, bad := range []struct {
		body   string
		status int
	}{{`{"text":`, 400}, {`{"text":""}`, 400}, {`{"text":"x","channel":"#random"}`, 403}, {`{"text":"x","channel":"#nowhere"}`, 403}} {
		if r := postHook(t, d, hookURL, "application/json", []byte(bad.body)); r.Status != bad.status || len(r.Body) == 0 {
			t.Errorf("payload %s: %d %q, want %d with a reason", bad.body, r.Status, r.Body, bad.status)
		}
	}
	if r := postHook(t, d, d.URL+"/hooks/not-a-hook", "application/json", []byte(`{"text":"x"}`)); r.Status != 404 {
		t.Errorf("unknown hook: %d", r.Status)
	}

	type msg struct {
		Sender string `json:"sender"`
		HTML   string `json:"html"`
		Props  struct {
			FromWebhook bool   `json:"from_webhook"`
			Username    string `json:"username"`
		} `json:"props"`
	}
	for _, who := range []string{"alice", "bob"} {
		c := d.NewClient()
		c.Login(who, who+"-password-1")
		var msgs []msg
		for _, ch := range []string{"c:alerts", "c:general"} {
			r := c.Must(200, "GET", ConvPath(ch, "/messages?limit=10"), nil)
			var out struct{ Messages []msg }
			r.Decode(t, &out)
			msgs = append(msgs, out.Messages...)
		}
		if len(msgs) != 3 {
			t.Fatalf("%s has %d messages in alerts and general, want the 3 posted", who, len(msgs))
		}
		for i, want := range []struct{ user, html string }{
			{"Alertmanager", `class="mm-card mm-card-red"`},
			{"Grafana", `>Severity</div>`},
			{"Alerts", `<div class="mm-block-header">Build failed: acme/app</div>`},
		} {
			m := msgs[i]
			if m.Sender != "webhook" || !m.Props.FromWebhook || m.Props.Username != want.user || !strings.Contains(m.HTML, want.html) {
				t.Errorf("%s's message %d: sender %q props %+v html %s", who, i, m.Sender, m.Props, m.HTML)
			}
		}
	}
	// The copies are in each member's own database, as the guide's sqlite3 procedures see them.
	copiesWritten(t, d)
	if got := d.SQLite("users/bob.db", "SELECT COUNT(*) FROM messages WHERE sender = 'webhook' AND props LIKE '%from_webhook%'"); got != "3" {
		t.Errorf("bob.db holds %s webhook messages, want 3", got)
	}
}

// hookTarget is an integration's receiving end on loopback: it records requests and answers.
type hookTarget struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
}

func newHookTarget(t *testing.T, answer string) *hookTarget {
	h := &hookTarget{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, h.URL+"/hook", http.StatusTemporaryRedirect)
			return
		}
		r.ParseForm()
		h.mu.Lock()
		h.forms = append(h.forms, r.PostForm)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookTarget) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.forms)
}

// TestIntegrations_OutgoingAndCommands: an outgoing webhook and a slash command on loopback
// are refused until settings.json allows the host, then delivered; a redirect to an address
// not allowed is refused.
func TestIntegrations_OutgoingAndCommands(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("bob", "bob-password-1")
	bob := d.NewClient()
	bob.Login("bob", "bob-password-1")
	target := newHookTarget(t, `{"text":"deployed *main*","response_type":"in_channel"}`)
	d.MustCtl("webhooks", "outgoing", "create", "--channel", "general", "--trigger", "deploy", "--url", target.URL+"/hook", "--username", "CI")
	d.MustCtl("commands", "create", "ship", "--url", target.URL+"/hook", "--description", "Ship it")

	// Loopback, not allowed: nothing reaches the target.
	bob.Post("c:general", "deploy main")
	waitFor(t, "the refusal in the log", func() bool {
		return strings.Contains(d.Log.String(), "outgoing webhook") && strings.Contains(d.Log.String(), "address not allowed")
	})
	r := bob.Do("POST", ConvPath("c:general", "/commands"), map[string]string{"text": "/ship now"})
	apiErr(t, "command to loopback", r, 503, "unavailable")
	if n := target.count(); n != 0 {
		t.Fatalf("the loopback target got %d requests while not allowed", n)
	}

	// Allowed by name, but redirected to an address that is not.
	d.WriteSettings(func(m map[string]any) { m["integration_allowed_hosts"] = []string{"localhost"} })
	waitFor(t, "the settings applied", func() bool {
		return strings.Count(d.Log.String(), "settings.json applied") >= 1
	})
	redirecting := strings.Replace(target.URL, "127.0.0.1", "localhost", 1) + "/redirect"
	d.MustCtl("commands", "create", "hop", "--url", redirecting)
	r = bob.Do("POST", ConvPath("c:general", "/commands"), map[string]string{"text": "/hop"})
	apiErr(t, "command redirected to loopback", r, 503, "unavailable")
	if !strings.Contains(string(r.Body), "not allowed") || target.count() != 0 {
		t.Fatalf("redirect: %s, target got %d", r.Body, target.count())
	}

	// Allowed: delivered, in Slack's format, and the answers posted.
	d.WriteSettings(func(m map[string]any) { m["integration_allowed_hosts"] = []string{"127.0.0.1"} })
	waitFor(t, "the settings applied again", func() bool {
		return strings.Count(d.Log.String(), "settings.json applied") >= 2
	})
	r = bob.Must(200, "POST", ConvPath("c:general", "/commands"), map[string]string{"text": "/ship now"})
	var res struct {
		Message *Message `json:"message"`
	}
	r.Decode(t, &res)
	if res.Message == nil || !strings.Contains(res.Message.HTML, "<strong>main</strong>") {
		t.Fatalf("command answer %s", r.Body)
	}
	bob.Post("c:general", "deploy again")
	waitFor(t, "the outgoing webhook's answer", func() bool {
		n := 0
		for _, m := range bob.History("c:general") {
			if m.Sender == "webhook" && strings.Contains(m.HTML, "deployed") {
				n++
			}
		}
		return n == 2 // the command's and the outgoing webhook's
	})
	target.mu.Lock()
	defer target.mu.Unlock()
	var cmd, out url.Values
	for _, f := range target.forms {
		if f.Get("command") != "" {
			cmd = f
		} else {
			out = f
		}
	}
	if cmd.Get("command") != "/ship" || cmd.Get("text") != "now" || cmd.Get("user_name") != "bob" || cmd.Get("token") == "" || !strings.Contains(cmd.Get("response_url"), "/hooks/responses/") {
		t.Errorf("slash command request %v", cmd)
	}
	if out.Get("trigger_word") != "deploy" || out.Get("text") != "deploy again" || out.Get("channel_name") != "general" || out.Get("token") == "" {
		t.Errorf("outgoing webhook request %v", out)
	}
}

// TestCalls_ICEServers: the STUN and TURN servers of settings.json reach signed-in clients
// (and only them), and a hand edit applies without a restart.
func TestCalls_ICEServers(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password-1")
	alice := d.NewClient()
	alice.Login("alice", "alice-password-1")
	var cfg struct {
		ICE []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		} `json:"ice_servers"`
	}
	alice.Must(200, "GET", "/api/calls/config", nil).Decode(t, &cfg)
	if cfg.ICE == nil || len(cfg.ICE) != 0 {
		t.Fatalf("default ice_servers = %+v, want an empty list", cfg.ICE)
	}
	apiErr(t, "anonymous call config", d.NewClient().Do("GET", "/api/calls/config", nil), 401, "unauthorized")
	d.WriteSettings(func(m map[string]any) {
		m["ice_servers"] = []map[string]any{{"urls": []string{"stun:stun.example.org:3478"}},
			{"urls": []string{"turn:turn.example.org:3478"}, "username": "mm", "credential": "s3cret"}}
	})
	waitFor(t, "the servers applied", func() bool {
		alice.Must(200, "GET", "/api/calls/config", nil).Decode(t, &cfg)
		return len(cfg.ICE) == 2
	})
	if cfg.ICE[1].URLs[0] != "turn:turn.example.org:3478" || cfg.ICE[1].Username != "mm" || cfg.ICE[1].Credential != "s3cret" {
		t.Errorf("ice_servers = %+v", cfg.ICE)
	}
}
