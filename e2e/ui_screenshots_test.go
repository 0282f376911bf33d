package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUI_Screenshots regenerates the screenshots of threads, notifications, unread cues, the
// emoji picker and an incoming call in docs/screenshots/. Like TestBrowser_Screenshots it
// runs only with MINIMOST_SCREENSHOTS=1.
func TestUI_Screenshots(t *testing.T) {
	if os.Getenv("MINIMOST_SCREENSHOTS") != "1" {
		t.Skip("set MINIMOST_SCREENSHOTS=1 to regenerate docs/screenshots/")
	}
	dir := filepath.Join("..", "docs", "screenshots")
	d := StartProcess(t, "-auth-burst", "200")
	names := map[string]string{"alice": "Alice Martin", "bob": "Bob Okafor", "carol": "Carol Diaz"}
	cl := map[string]*Client{}
	for u, n := range names {
		d.CreateUser(u, u+"-password")
		cl[u] = d.NewClient()
		cl[u].Login(u, u+"-password")
		cl[u].Must(200, "PATCH", "/api/me", map[string]string{"display_name": n, "theme": "light"})
	}
	cl["alice"].Must(201, "POST", "/api/private-channels", map[string]any{"name": "release-planning", "members": []string{"bob", "carol"}})
	script := []struct{ who, text string }{
		{"bob", "Morning all! The new build is on the staging server."},
		{"carol", "Thanks @bob, I'll run through the **release checklist** after lunch."},
		{"alice", "Great. Ping me if anything looks off, I'm around all afternoon."},
	}
	for _, m := range script {
		cl[m.who].Post("c:general", m.text)
	}
	root := cl["bob"].Post("c:general", "Shall we ship 2.4 on Friday? 🚀")
	last := root
	for _, m := range script {
		last = cl[m.who].Post("c:general", m.text+" (earlier)")
	}
	_ = last
	cl["alice"].Must(204, "POST", ConvPath("c:general", "/read"), map[string]string{"message_id": root.ID})
	replies := []struct{ who, text string }{
		{"carol", "Friday works for QA, the checklist is green so far."},
		{"alice", "Yes — let's freeze on Thursday evening."},
		{"bob", "Perfect, I'll write the release notes 🎉"},
	}
	for _, r := range replies {
		cl[r.who].Must(201, "POST", ConvPath("c:general", "/messages"), map[string]string{"body": r.text, "thread_root": root.ID})
	}
	for i := 0; i < 14; i++ {
		who := []string{"bob", "carol"}[i%2]
		cl[who].Post("c:general", fmt.Sprintf("Status %d: %s", i+1, []string{"migrations ran cleanly", "smoke tests pass", "docs updated", "staging looks good"}[i%4]))
	}
	rootSel := `#message-list .message[data-id=` + jsq(root.ID) + `]`
	shot := func(b *Browser, name string) {
		t.Helper()
		b.WaitJS("fonts loaded and animations done", `document.fonts.status === 'loaded' && document.getAnimations().every((a) => a.playState !== 'running' || a.effect.getTiming().iterations === Infinity)`, 10*time.Second)
		b.Settle()
		b.Screenshot(filepath.Join(dir, name))
	}

	b := d.NewBrowser(1280, 800)
	bxFocusedWith(t, b, "")
	bxGrantNotifications(t, b, d)
	b.Open("/")
	Eval[bool](b, `localStorage.setItem('mm_theme', 'light'); true`)
	b.Login("alice", "alice-password")
	bxOpenConv(b, "c:general")
	b.WaitJS("the unread line", `document.querySelector('#message-list .new-divider')`, 10*time.Second)
	Eval[bool](b, `document.activeElement && document.activeElement.blur(); true`)
	shot(b, "unread-divider.png")

	bxClick(b, rootSel+" .thread-summary")
	b.WaitJS("the thread", bxThreadHas("release notes"), 10*time.Second)
	Eval[bool](b, `document.activeElement && document.activeElement.blur(); true`)
	shot(b, "thread-panel.png")
	b.Run("close the thread", chromedp.Click(chromedp.CSS("#thread-close")))

	b.Run("type", chromedp.SendKeys(chromedp.CSS("#composer"), "Nice work @ca"))
	b.WaitJS("suggestions", `document.querySelector('#autocomplete .ac-item')`, 5*time.Second)
	shot(b, "mention-autocomplete.png")
	Eval[bool](b, `document.querySelector("#composer").value = ""; document.querySelector("#composer").dispatchEvent(new Event("input")); true`)
	bxClick(b, rootSel+" .message-react-btn")
	b.WaitJS("the picker", `document.querySelectorAll('.emoji-picker .emoji-btn').length > 1000`, 10*time.Second)
	b.Run("search", chromedp.SendKeys(chromedp.CSS(".emoji-search"), "party"))
	b.WaitJS("results", `document.querySelector('.emoji-picker .emoji-btn')`, 5*time.Second)
	shot(b, "emoji-picker.png")
	b.Run("close the picker", chromedp.KeyEvent("\u001b"))
	Eval[bool](b, `document.querySelector('#message-list').dispatchEvent(new MouseEvent('mousemove')); true`)

	bxOpenMenuItem(b, "#menu-settings")
	b.WaitJS("settings", `document.querySelector('#settings-dialog').open`, 5*time.Second)
	Eval[bool](b, `document.querySelector('#s-notify').scrollIntoView({ block: 'start' }); document.activeElement.blur(); true`)
	shot(b, "notification-settings.png")
	b.Run("close settings", chromedp.Click(chromedp.CSS("#settings-dialog .dialog-close")))

	dm := cl["bob"].Must(200, "POST", "/api/dms", map[string]any{"members": []string{"alice"}}).JSON()["conversation"].(map[string]any)["id"].(string)
	w := cl["bob"].MustWS()
	defer w.C.CloseNow()
	w.Send(map[string]any{"type": "call", "conversation": dm, "signal": "join", "data": map[string]bool{"video": true}})
	b.WaitJS("ringing", bxVisible("#call-ring"), 10*time.Second)
	shot(b, "incoming-call.png")

	p := d.NewBrowser(390, 844)
	p.Run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	p.Open("/")
	Eval[bool](p, `localStorage.setItem('mm_theme', 'light'); true`)
	p.Login("carol", "carol-password")
	bxOpenConv(p, "c:general")
	p.WaitJS("the root", `document.querySelector(`+jsq(rootSel)+`)`, 10*time.Second)
	bxClick(p, rootSel+" .thread-summary")
	p.WaitJS("the thread", bxThreadHas("release notes"), 10*time.Second)
	Eval[bool](p, `document.activeElement && document.activeElement.blur(); true`)
	shot(p, "phone-thread.png")
}
