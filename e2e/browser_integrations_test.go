package e2e_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_Integrations: what members see of integrations — a Grafana alert as a card
// with the webhook tag in every member's browser, a bot's tag, slash commands from the
// composer's suggestions, and access tokens made and revoked in Settings.
func TestBrowser_Integrations(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	d.MustCtl("bots", "create", "deploybot", "--display-name", "Deploy Bot")
	token := strings.TrimSpace(d.MustCtl("tokens", "create", "deploybot"))
	hookURL := strings.TrimSpace(d.MustCtl("webhooks", "create", "--channel", "general"))
	alice := d.NewBrowser(1280, 800)
	bob := d.NewBrowser(1280, 800)
	alice.Login("alice", "alice-password")
	bob.Login("bob", "bob-password")
	bxOpenConv(alice, "c:general")
	bxOpenConv(bob, "c:general")

	grafana, err := os.ReadFile("../pkg/slack/testdata/grafana.json")
	if err != nil {
		t.Fatal(err)
	}
	if r := postHook(t, d, hookURL, "application/json", grafana); r.Status != 200 {
		t.Fatalf("post the Grafana alert: %d %s", r.Status, r.Body)
	}
	if r := bearer(t, d, token, "POST", ConvPath("c:general", "/messages"), map[string]string{"body": "deployed v1.2"}); r.Status != 201 {
		t.Fatalf("bot post: %d %s", r.Status, r.Body)
	}
	card := `document.querySelector('#message-list .message.from-webhook .mm-card.mm-card-red .mm-card-title a[href="http://grafana.example:3000/alerting/list"]')`
	for _, b := range []*Browser{alice, bob} {
		b.WaitJS("the Grafana card", card, 10*time.Second)
		who := Eval[string](b, `(() => { const m = document.querySelector('#message-list .message.from-webhook'); return m.querySelector('.message-sender').textContent + '|' + m.querySelector('.tag').textContent; })()`)
		if who != "Grafana|webhook" {
			t.Errorf("the webhook message is shown as %q, want Grafana with the webhook tag", who)
		}
		if n := Eval[int](b, `document.querySelectorAll('#message-list .mm-card-field-short').length`); n != 2 {
			t.Errorf("%d short fields shown, want 2", n)
		}
		b.WaitJS("the bot's message with its tag", `[...document.querySelectorAll('#message-list .message[data-sender="deploybot"]')].some((m) => m.querySelector('.tag-bot') && m.textContent.includes('deployed v1.2'))`, 10*time.Second)
	}
	if os.Getenv("MINIMOST_SCREENSHOTS") == "1" {
		// Like TestUI_Screenshots: docs/screenshots/ changes only when asked to.
		alice.Screenshot("../docs/screenshots/integrations-webhook.png")
	}

	t.Run("slash commands", func(t *testing.T) {
		alice.Run("type /sh", chromedp.SendKeys(chromedp.CSS("#composer"), "/sh"))
		// The one selected, which Tab picks: right after the "/", before "sh" narrows the
		// list, every command is listed and the first (/me) is selected.
		alice.WaitJS("the command suggestion", `document.querySelector('#autocomplete .ac-item[aria-selected="true"]')?.dataset.key === 'shrug'`, 10*time.Second)
		alice.Run("pick it and send", chromedp.SendKeys(chromedp.CSS("#composer"), "\t"), chromedp.SendKeys(chromedp.CSS("#composer"), "fine\n"))
		alice.WaitJS("the shrug", bxHasMessage(`fine ¯\_(ツ)_/¯`), 10*time.Second)
		bob.WaitJS("bob sees the shrug", bxHasMessage(`fine ¯\_(ツ)_/¯`), 10*time.Second)
		alice.Run("/me", chromedp.SendKeys(chromedp.CSS("#composer"), "/me waves\n"))
		bob.WaitJS("bob sees the emote", `[...document.querySelectorAll('#message-list .message.emote .message-body')].some((e) => e.textContent.includes('waves'))`, 10*time.Second)
		// An answer only alice sees stays while the conversation goes on.
		alice.Run("/mute", chromedp.SendKeys(chromedp.CSS("#composer"), "/mute \n"))
		alice.WaitJS("the ephemeral answer", `[...document.querySelectorAll('#ephemeral-notes .ephemeral')].some((e) => e.textContent.includes('is muted'))`, 10*time.Second)
		bobAPI := d.NewClient()
		bobAPI.Login("bob", "bob-password")
		bobAPI.Post("c:general", "after the mute")
		alice.WaitJS("bob's message", bxHasMessage("after the mute"), 10*time.Second)
		if !Eval[bool](alice, `[...document.querySelectorAll('#ephemeral-notes .ephemeral')].some((e) => e.textContent.includes('is muted'))`) {
			t.Error("the ephemeral answer went when a message came")
		}
		if n := Eval[int](bob, `document.querySelectorAll('#ephemeral-notes .ephemeral').length`); n != 0 {
			t.Errorf("bob sees %d of alice's ephemeral answers", n)
		}
		alice.Run("/mute again", chromedp.SendKeys(chromedp.CSS("#composer"), "/mute \n"))
		alice.WaitJS("unmuted", `[...document.querySelectorAll('#ephemeral-notes .ephemeral')].some((e) => e.textContent.includes('no longer muted'))`, 10*time.Second)
		alice.Run("an unknown command", chromedp.SendKeys(chromedp.CSS("#composer"), "/nosuch\n"))
		alice.WaitJS("its error beside the composer", `(() => { const e = document.querySelector('#composer-error'); return !e.hidden && e.textContent.includes('/nosuch'); })()`, 10*time.Second)
		if v := Eval[string](alice, `document.querySelector('#composer').value`); v != "/nosuch" {
			t.Errorf("the composer holds %q after a failed command, want the command back", v)
		}
	})

	t.Run("a member's webhook", func(t *testing.T) {
		bxClick(alice, "#webhooks-btn")
		alice.WaitJS("the webhooks dialog", bxVisible("#webhook-create"), 10*time.Second)
		bxFill(alice, "#webhook-username", "Uptime")
		bxClick(alice, "#webhook-create")
		alice.WaitJS("the URL shown once", `(document.querySelector('#webhooks-dialog .token-secret') || {}).textContent?.includes('/hooks/')`, 10*time.Second)
		u := Eval[string](alice, `document.querySelector('#webhooks-dialog .token-secret').textContent`)
		if r := postHook(t, d, u, "application/json", []byte(`{"text":"site *up* again"}`)); r.Status != 200 {
			t.Fatalf("post to the member's hook: %d %s", r.Status, r.Body)
		}
		bob.WaitJS("bob sees it as Uptime", `[...document.querySelectorAll('#message-list .message.from-webhook')].some((m) => m.querySelector('.message-sender').textContent === 'Uptime' && m.querySelector('.message-body strong')?.textContent === 'up')`, 10*time.Second)
		Eval[bool](alice, `(() => { document.querySelector('#webhooks-dialog').close(); return true; })()`)
	})

	t.Run("tokens in settings", func(t *testing.T) {
		d.MustCtl("tokens", "create", "alice", "--name", "from the admin")
		Eval[bool](alice, `(() => { document.querySelector("#composer").value = ""; return true; })()`)
		bxClick(alice, "#me-avatar")
		bxClick(alice, "#menu-settings")
		alice.WaitJS("the tokens section", bxVisible("#token-create"), 10*time.Second)
		alice.WaitJS("the token made before is listed", `[...document.querySelectorAll('#settings-tokens .token-item .token-name')].some((e) => e.textContent === 'from the admin')`, 10*time.Second)
		bxFill(alice, "#token-name", "my script")
		bxClick(alice, "#token-create")
		alice.WaitJS("the new token shown once", `(document.querySelector('.token-secret') || {}).textContent?.startsWith('mmt_')`, 10*time.Second)
		tok := Eval[string](alice, `document.querySelector('.token-secret').textContent`)
		if r := bearer(t, d, tok, "GET", "/api/me", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"username":"alice"`) {
			t.Fatalf("the token from Settings: %d %s", r.Status, r.Body)
		}
		alice.WaitJS("the token listed", `[...document.querySelectorAll('#settings-tokens .token-item .token-name')].some((e) => e.textContent === 'my script')`, 10*time.Second)
		bxClick(alice, `#settings-tokens .token-item:has(.token-name) .token-revoke[aria-label="Revoke token my script"]`)
		alice.WaitJS("the confirmation", bxVisible("#confirm-ok"), 10*time.Second)
		bxClick(alice, "#confirm-ok")
		alice.WaitJS("the token gone", `![...document.querySelectorAll('#settings-tokens .token-item .token-name')].some((e) => e.textContent === 'my script')`, 10*time.Second)
		if r := bearer(t, d, tok, "GET", "/api/me", nil); r.Status != 401 {
			t.Errorf("the revoked token: %d", r.Status)
		}
	})
}
