package app_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/chat"
)

// fakePoster stands for the outbound HTTP client: it records each request and answers with
// the next canned body.
type fakePoster struct {
	mu      sync.Mutex
	forms   []url.Values
	urls    []string
	answers []string
}

func (f *fakePoster) PostForm(ctx context.Context, rawURL string, form url.Values) (int, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, rawURL)
	f.forms = append(f.forms, form)
	a := ""
	if len(f.answers) > 0 {
		a, f.answers = f.answers[0], f.answers[1:]
	}
	return 200, []byte(a), nil
}

func TestApp_Tokens(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	tok, info, err := e.app.CreateToken(e.ctx, "alice", "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, app.TokenPrefix+info.ID+"_") {
		t.Errorf("token %q does not carry its id %q", tok, info.ID)
	}
	got, hash, err := e.app.AuthenticateToken(e.ctx, tok)
	if err != nil || got != alice || hash != auth.HashToken(tok) {
		t.Fatalf("AuthenticateToken = %v, %q, %v; want alice", got, hash, err)
	}
	for _, bad := range []string{"", "mmt_", tok + "x", strings.TrimPrefix(tok, "mmt_"), "Bearer " + tok} {
		if _, _, err := e.app.AuthenticateToken(e.ctx, bad); codeOf(err) != chat.EUnauthorized {
			t.Errorf("token %q: %v, want unauthorized", bad, err)
		}
	}

	t.Run("revoking closes its connections", func(t *testing.T) {
		if err := e.app.RevokeOwnToken(e.ctx, e.mustAccount(t, "bob"), info.ID); codeOf(err) != chat.ENotFound {
			t.Errorf("bob revoked alice's token: %v", err)
		}
		if err := e.app.RevokeOwnToken(e.ctx, alice, info.ID); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(e.rec.closes(), "session:"+hash) {
			t.Errorf("closes %v lack the token's connections", e.rec.closes())
		}
		if _, _, err := e.app.AuthenticateToken(e.ctx, tok); codeOf(err) != chat.EUnauthorized {
			t.Errorf("revoked token: %v", err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		tok, _, err := e.app.CreateOwnToken(e.ctx, alice, "short", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(2 * time.Hour)
		if _, _, err := e.app.AuthenticateToken(e.ctx, tok); codeOf(err) != chat.EUnauthorized {
			t.Errorf("expired token: %v", err)
		}
	})
	t.Run("deleted account", func(t *testing.T) {
		tok, _, err := e.app.CreateToken(e.ctx, "alice", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.app.DeleteAccount(e.ctx, "alice", "hard"); err != nil {
			t.Fatal(err)
		}
		e.mustAccount(t, "alice")
		if _, _, err := e.app.AuthenticateToken(e.ctx, tok); codeOf(err) != chat.EUnauthorized {
			t.Errorf("a deleted account's token works for the new alice: %v", err)
		}
	})
	t.Run("per-token rate limit", func(t *testing.T) {
		e.settings.set(func(s *chat.Settings) { s.TokenRequestsPerMinute = 3 })
		tok, _, _ := e.app.CreateToken(e.ctx, "bob", "", 0)
		var last error
		for range 4 {
			_, _, last = e.app.AuthenticateToken(e.ctx, tok)
		}
		if codeOf(last) != chat.ETooMany {
			t.Errorf("4th request in a minute: %v, want too_many", last)
		}
	})
}

func TestApp_Bots(t *testing.T) {
	e := newEnv(t)
	u, err := e.app.CreateBot(e.ctx, "deploybot", "Deploy Bot")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Bot || u.DisplayName != "Deploy Bot" {
		t.Errorf("bot record %+v", u)
	}
	for _, pw := range []string{"", "password123"} {
		if _, err := e.app.Login(e.ctx, "deploybot", pw); codeOf(err) != chat.EUnauthorized {
			t.Errorf("bot logged in with %q: %v", pw, err)
		}
	}
	if _, _, err := e.app.IssueResetLink(e.ctx, "deploybot", time.Hour, ""); codeOf(err) != chat.EInvalid {
		t.Errorf("reset link for a bot: %v", err)
	}
	us, err := e.app.Users(e.ctx, u.Account())
	if err != nil || len(us) != 1 || !us[0].Bot {
		t.Errorf("users = %+v, %v; want the bot marked", us, err)
	}
	if _, err := e.app.CreateBot(e.ctx, "webhook", ""); codeOf(err) != chat.EInvalid {
		t.Errorf("a bot took the reserved name webhook: %v", err)
	}
}

func TestApp_IncomingWebhook(t *testing.T) {
	w := newWorld(t)
	e := w.env
	h, hookURL, err := e.app.CreateIncomingWebhook(e.ctx, chat.Account{}, []string{"general"}, "Alerts", "")
	if err != nil {
		t.Fatal(err)
	}
	secret := hookURL[strings.LastIndex(hookURL, "/")+1:]
	m, err := e.app.PostWebhook(e.ctx, secret, "application/json", []byte(`{"text":"*disk* full <!here>","username":"\u0007ali\nce"}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Sender != chat.WebhookUser || m.Props == nil || !m.Props.FromWebhook || m.Props.Username != "alice" {
		t.Errorf("message %+v props %+v: want the webhook user, shown as alice with the webhook mark", m, m.Props)
	}
	if !strings.Contains(m.HTML, "<strong>disk</strong>") || !slices.Contains(m.Mentions, "here") {
		t.Errorf("html %q mentions %v", m.HTML, m.Mentions)
	}
	// Every member has it in their copy, with its props.
	for _, who := range []chat.Account{w.alice, w.bob} {
		msgs, _, err := e.app.History(e.ctx, who, "c:general", "", 1)
		if err != nil || len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].Props == nil || msgs[0].Props.Username != "alice" {
			t.Errorf("%s's newest message: %+v, %v", who.Name, msgs, err)
		}
	}

	t.Run("bad payloads post nothing", func(t *testing.T) {
		before := history(t, e, w.alice, "c:general")
		for _, body := range []string{`{`, `{"text":""}`, `{"text":"x","channel":"#random"}`, `[]`} {
			if _, err := e.app.PostWebhook(e.ctx, secret, "application/json", []byte(body)); err == nil {
				t.Errorf("payload %s was posted", body)
			}
		}
		if _, err := e.app.PostWebhook(e.ctx, "nope", "application/json", []byte(`{"text":"x"}`)); codeOf(err) != chat.ENotFound {
			t.Errorf("unknown secret: %v", err)
		}
		after := history(t, e, w.alice, "c:general")
		if after[0].ID != before[0].ID {
			t.Errorf("a refused payload posted %+v", after[0])
		}
	})
	t.Run("rotate and revoke", func(t *testing.T) {
		newURL, err := e.app.RotateIncomingWebhook(e.ctx, chat.Account{}, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.PostWebhook(e.ctx, secret, "application/json", []byte(`{"text":"x"}`)); codeOf(err) != chat.ENotFound {
			t.Errorf("the old URL still posts: %v", err)
		}
		newSecret := newURL[strings.LastIndex(newURL, "/")+1:]
		if _, err := e.app.PostWebhook(e.ctx, newSecret, "application/json", []byte(`{"text":"x"}`)); err != nil {
			t.Errorf("the new URL: %v", err)
		}
		if err := e.app.RevokeIncomingWebhook(e.ctx, chat.Account{}, h.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.PostWebhook(e.ctx, newSecret, "application/json", []byte(`{"text":"x"}`)); codeOf(err) != chat.ENotFound {
			t.Errorf("a revoked hook posts: %v", err)
		}
	})
	t.Run("members' hooks on a private channel", func(t *testing.T) {
		priv := w.convs["private"]
		if _, _, err := e.app.CreateIncomingWebhook(e.ctx, w.dave, []string{priv}, "", ""); codeOf(err) != chat.ENotFound {
			t.Errorf("a non-member made a hook into a private channel: %v", err)
		}
		if _, _, err := e.app.CreateIncomingWebhook(e.ctx, chat.Account{}, []string{priv}, "", ""); err == nil {
			t.Error("the administrator made a hook into a private channel")
		}
		h, u, err := e.app.CreateIncomingWebhook(e.ctx, w.bob, []string{priv}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if hs, err := e.app.IncomingWebhooks(e.ctx, w.dave, priv); codeOf(err) != chat.ENotFound {
			t.Errorf("a non-member listed the channel's hooks: %v %v", hs, err)
		}
		if err := e.app.RevokeIncomingWebhook(e.ctx, w.dave, h.ID); codeOf(err) != chat.ENotFound {
			t.Errorf("a non-member revoked the hook: %v", err)
		}
		if _, err := e.app.PostWebhook(e.ctx, u[strings.LastIndex(u, "/")+1:], "application/json", []byte(`{"text":"deploy done"}`)); err != nil {
			t.Fatal(err)
		}
		if msgs := history(t, e, w.alice, priv); msgs[0].Body != "deploy done" {
			t.Errorf("alice's newest in the private channel: %q", msgs[0].Body)
		}
	})
	t.Run("rate limit per hook", func(t *testing.T) {
		e.settings.set(func(s *chat.Settings) { s.HookPostsPerMinute = 2 })
		_, u, _ := e.app.CreateIncomingWebhook(e.ctx, chat.Account{}, []string{"general"}, "", "")
		s := u[strings.LastIndex(u, "/")+1:]
		var last error
		for range 3 {
			_, last = e.app.PostWebhook(e.ctx, s, "application/json", []byte(`{"text":"x"}`))
		}
		if codeOf(last) != chat.ETooMany {
			t.Errorf("3rd post in a minute: %v", last)
		}
	})
}

func TestApp_OutgoingAndCommands(t *testing.T) {
	w := newWorld(t)
	e := w.env
	fp := &fakePoster{answers: []string{`{"text":"deploying *main*"}`}}
	e.app.Poster = fp
	h, err := e.app.CreateOutgoingWebhook(e.ctx, "general", []string{"deploy"}, "http://ci.internal/hook", "CI")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.CreateOutgoingWebhook(e.ctx, "general", []string{"x"}, "file:///etc/passwd", ""); codeOf(err) != chat.EInvalid {
		t.Errorf("a file URL was accepted: %v", err)
	}
	if _, err := e.app.Post(e.ctx, w.bob, "c:general", "redeploy later", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Post(e.ctx, w.bob, "c:general", "deploy main now", "", nil); err != nil {
		t.Fatal(err)
	}
	e.app.Wait()
	if len(fp.forms) != 1 {
		t.Fatalf("%d requests, want 1 (only the message starting with the trigger word)", len(fp.forms))
	}
	f := fp.forms[0]
	if f.Get("token") != h.Token || f.Get("trigger_word") != "deploy" || f.Get("user_name") != "bob" || f.Get("channel_name") != "general" || f.Get("text") != "deploy main now" {
		t.Errorf("request form %v", f)
	}
	msgs := history(t, e, w.alice, "c:general")
	if msgs[0].Props == nil || msgs[0].Props.Username != "CI" || !strings.Contains(msgs[0].HTML, "<strong>main</strong>") {
		t.Errorf("the answer was not posted as CI: %+v", msgs[0])
	}

	t.Run("slash command", func(t *testing.T) {
		if _, err := e.app.CreateSlashCommand(e.ctx, "/weather", "https://example.com/w", "Weather", "[city]", "Weather"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.CreateSlashCommand(e.ctx, "me", "https://example.com/w", "", "", ""); codeOf(err) != chat.EConflict {
			t.Errorf("a built-in was replaced: %v", err)
		}
		fp.answers = []string{`{"text":"sunny in *Oslo*"}`, `{"response_type":"in_channel","text":"everyone: rain"}`}
		res, err := e.app.Command(e.ctx, w.bob, "c:general", "/weather oslo")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Ephemeral, "<strong>Oslo</strong>") || res.Message != nil {
			t.Errorf("ephemeral answer: %+v", res)
		}
		last := fp.forms[len(fp.forms)-1]
		if last.Get("command") != "/weather" || last.Get("text") != "oslo" || !strings.Contains(last.Get("response_url"), "/hooks/responses/") {
			t.Errorf("command form %v", last)
		}
		res, err = e.app.Command(e.ctx, w.bob, "c:general", "/weather all")
		if err != nil || res.Message == nil || res.Message.Props.Username != "Weather" {
			t.Fatalf("in_channel answer: %+v, %v", res, err)
		}
		// The delayed answer at response_url reaches bob only.
		respURL := fp.forms[len(fp.forms)-1].Get("response_url")
		secret := respURL[strings.LastIndex(respURL, "/")+1:]
		e.rec.take()
		if err := e.app.PostResponse(e.ctx, secret, "application/json", []byte(`{"text":"done"}`)); err != nil {
			t.Fatal(err)
		}
		evs := e.rec.take()
		if len(evs) != 1 || !slices.Equal(evs[0].to, []string{w.bob.ID}) || evs[0].ev.EventType() != "ephemeral" {
			t.Errorf("events %+v, want one ephemeral to bob", evs)
		}
		if _, err := e.app.Command(e.ctx, w.bob, "c:general", "/nosuch"); codeOf(err) != chat.ENotFound {
			t.Errorf("unknown command: %v", err)
		}
	})
	t.Run("built-ins", func(t *testing.T) {
		res, err := e.app.Command(e.ctx, w.bob, "c:general", "/me waves")
		if err != nil || res.Message == nil || !res.Message.Props.Emote || res.Message.Body != "waves" {
			t.Errorf("/me: %+v, %v", res, err)
		}
		res, err = e.app.Command(e.ctx, w.bob, "c:general", "/shrug ok")
		if err != nil || !strings.Contains(res.Message.HTML, `ok ¯\_(ツ)_/¯`) {
			t.Errorf("/shrug: %+v, %v", res.Message, err)
		}
		priv := w.convs["private"]
		if _, err := e.app.Command(e.ctx, w.alice, priv, "/invite @dave"); err != nil {
			t.Fatal(err)
		}
		if ms := must(e.app.Members(e.ctx, w.alice, priv)); !slices.Contains(ms, "dave") {
			t.Errorf("members after /invite: %v", ms)
		}
		if _, err := e.app.Command(e.ctx, w.alice, "c:general", "/invite @dave"); codeOf(err) != chat.EInvalid {
			t.Errorf("/invite in a public channel: %v", err)
		}
		if res, err := e.app.Command(e.ctx, w.dave, priv, "/leave"); err != nil || res.Action != "left" {
			t.Errorf("/leave: %+v %v", res, err)
		}
		if _, err := e.app.Command(e.ctx, w.dave, priv, "/me here"); codeOf(err) != chat.ENotFound {
			t.Errorf("dave still posts after /leave: %v", err)
		}
		if _, err := e.app.Command(e.ctx, w.bob, "c:general", "/mute"); err != nil {
			t.Fatal(err)
		}
		if p := must(e.app.NotificationPrefs(e.ctx, w.bob)); !p.Conversations["c:general"].Muted {
			t.Errorf("after /mute: %+v", p)
		}
		if _, err := e.app.Command(e.ctx, w.bob, "c:general", "/mute"); err != nil || must(e.app.NotificationPrefs(e.ctx, w.bob)).Conversations["c:general"].Muted {
			t.Errorf("a second /mute did not unmute: %v", err)
		}
		if res, _ := e.app.Command(e.ctx, w.bob, "c:general", "/call"); res.Action != "call" {
			t.Errorf("/call: %+v", res)
		}
	})
}

// history returns the newest message of conversation id in who's copy.
func history(t *testing.T, e *env, who chat.Account, id string) []chat.Message {
	t.Helper()
	msgs, _, err := e.app.History(e.ctx, who, id, "", 1)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("history of %s for %s: %v", id, who.Name, err)
	}
	return msgs
}
