package e2e_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// bxPoll reports whether the JavaScript expression becomes true within timeout.
func bxPoll(b *Browser, expr string, timeout time.Duration) bool { return b.True(expr, timeout) }

// bxDeleteAccount deletes the logged-in account of b through the Danger Zone.
func bxDeleteAccount(b *Browser, password, mode string) {
	b.t.Helper()
	bxOpenMenuItem(b, "#menu-settings")
	b.Run("settings dialog", chromedp.WaitVisible(chromedp.CSS("#settings-dialog")))
	bxClick(b, "#danger-mode-"+mode)
	bxFill(b, "#danger-password", password)
	b.Run("delete account "+mode,
		chromedp.Click(chromedp.CSS("#danger-delete")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")),
		chromedp.Click(chromedp.CSS("#confirm-ok")),
	)
	b.WaitJS("the login page after deletion", bxVisible("#login-form")+` && !(`+bxVisible("#app")+`)`, 10*time.Second)
}

// TestBrowser_DangerZone deletes one account softly and one hard through the settings
// dialog while bob watches #general in his browser.
func TestBrowser_DangerZone(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	api := map[string]*Client{}
	for _, u := range []string{"alice", "bob", "carol"} {
		api[u] = d.NewClient()
		api[u].Login(u, u+"-password")
	}
	soft := api["alice"].Post("c:general", "alice's message stays")
	hard := api["carol"].Post("c:general", "carol's message goes")

	bob := d.NewBrowser(1280, 800)
	bob.Login("bob", "bob-password")
	bxOpenConv(bob, "c:general")
	softSel := `#message-list .message[data-id=` + jsq(soft.ID) + `]`
	hardSel := `#message-list .message[data-id=` + jsq(hard.ID) + `]`
	bob.WaitJS("both messages on bob's side", `document.querySelector(`+jsq(softSel)+`) && document.querySelector(`+jsq(hardSel)+`)`, 10*time.Second)

	b := d.NewBrowser(1280, 800)

	// Soft: alice's message stays, as "Deleted User".
	b.Login("alice", "alice-password")
	bxDeleteAccount(b, "alice-password", "soft")
	if n := Eval[string](b, `(document.querySelector('#auth-notice') || {}).textContent || ''`); !strings.Contains(strings.ToLower(n), "deleted") {
		t.Errorf("#auth-notice after deletion = %q, want the account-deleted notice", n)
	}
	var msgs []Message
	for _, m := range api["bob"].History("c:general") {
		if m.ID == soft.ID {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 1 || msgs[0].Sender != "Deleted User" || msgs[0].Body != "alice's message stays" {
		t.Errorf("bob's history of the soft-deleted account's message = %+v, want one by \"Deleted User\" with its body", msgs)
	}
	softShown := `((m) => !!m && m.querySelector('.message-sender').textContent.includes('Deleted User') && m.querySelector('.message-body').textContent.includes("alice's message stays"))(document.querySelector(` + jsq(softSel) + `))`
	if !bxPoll(bob, softShown, 5*time.Second) {
		t.Errorf("LIVE: bob's open #general still shows the soft-deleted account's message as %q 5 s after the user.deleted event (the web app does not handle user.deleted; docs/api.md says to refetch open histories)",
			Eval[string](bob, `document.querySelector(`+jsq(softSel)+` + ' .message-sender').textContent`))
		bob.Run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app")))
		bob.WaitJS("after a reload bob's browser shows Deleted User", softShown, 10*time.Second)
	}
	if got := d.NewClient().Do("POST", "/api/login", map[string]string{"username": "alice", "password": "alice-password"}).Status; got != 401 {
		t.Errorf("login of the soft-deleted account: %d, want 401", got)
	}

	// Hard: carol's message is gone.
	b.Login("carol", "carol-password")
	bxDeleteAccount(b, "carol-password", "hard")
	for _, m := range api["bob"].History("c:general") {
		if m.ID == hard.ID && !m.Deleted {
			t.Errorf("bob's history still has the hard-deleted account's message: %+v", m)
		}
		if strings.Contains(m.Body, "carol's message goes") {
			t.Errorf("bob's history still has carol's text: %+v", m)
		}
	}
	if !bxPoll(bob, `!document.querySelector(`+jsq(hardSel)+`)`, 5*time.Second) {
		t.Errorf("LIVE: the hard-deleted account's message is still in bob's open #general 5 s after the user.deleted event")
		bob.Run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app")))
		bob.WaitJS("#general loaded again", `document.querySelector(`+jsq(softSel)+`)`, 10*time.Second)
		if !Eval[bool](bob, `!document.querySelector(`+jsq(hardSel)+`)`) {
			t.Errorf("the hard-deleted account's message is in bob's browser even after a reload")
		}
	}
	if !Eval[bool](bob, `!!document.querySelector(`+jsq(softSel)+`)`) {
		t.Errorf("the soft-deleted account's message vanished from bob's browser")
	}
}

// TestBrowser_ResetPage uses a reset link from minimostctl in the browser, then again.
func TestBrowser_ResetPage(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	d.CreateUser("alice", "alice-password")
	out := strings.TrimSpace(d.MustCtl("reset-password", "alice", "--base-url", d.URL))
	if !strings.HasPrefix(out, d.URL+"/reset?token=") {
		t.Fatalf("reset-password printed %q, want %s/reset?token=…", out, d.URL)
	}
	_, err := url.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	b := d.NewBrowser(1024, 768)

	use := func(pw string) string {
		t.Helper()
		b.Run("open the reset link", chromedp.Navigate(out), chromedp.WaitVisible(chromedp.CSS("#reset-form")))
		b.WaitJS("the token is hidden from the address bar", `location.search === '' && location.pathname === '/reset'`, 5*time.Second)
		bxFill(b, "#reset-password", pw)
		bxFill(b, "#reset-confirm", pw)
		b.Run("submit", chromedp.Click(chromedp.CSS("#reset-submit")))
		b.WaitJS("a result", `['ok', 'error'].includes(document.querySelector('#reset-status').dataset.result)`, 10*time.Second)
		return Eval[string](b, `document.querySelector('#reset-status').dataset.result`)
	}

	if got := use("brand-new-password"); got != "ok" {
		t.Fatalf("first use: #reset-status data-result = %q (%s), want ok", got, Eval[string](b, `document.querySelector('#reset-status').textContent`))
	}
	c := d.NewClient()
	c.Login("alice", "brand-new-password")
	if got := d.NewClient().Do("POST", "/api/login", map[string]string{"username": "alice", "password": "alice-password"}).Status; got != 401 {
		t.Errorf("old password after the reset: %d, want 401", got)
	}

	if got := use("another-password"); got != "error" {
		t.Errorf("second use of the link: data-result = %q, want error", got)
	}
	if txt := Eval[string](b, `document.querySelector('#reset-status').textContent`); txt == "" {
		t.Errorf("second use: #reset-status has no text")
	}
	if got := d.NewClient().Do("POST", "/api/login", map[string]string{"username": "alice", "password": "another-password"}).Status; got != 401 {
		t.Errorf("the refused reset changed the password anyway (login: %d)", got)
	}
	c2 := d.NewClient()
	c2.Login("alice", "brand-new-password")

	// The link's own login button leads to the app's login page.
	if !Eval[bool](b, `!!document.querySelector('#reset-login')`) {
		t.Errorf("#reset-login missing")
	}
}
