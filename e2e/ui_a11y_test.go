package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeSource is axe-core's browser build (e2e/testdata/axe.min.js, from the axe-core npm
// package), injected into pages by the tests only: the app never serves it.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile("testdata/axe.min.js")
	return string(b), err
})

// axeViolation is one rule axe-core found broken, with the elements that break it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// bxAxe runs axe-core on what the page shows now and fails the test for every serious or
// critical violation.
func bxAxe(b *Browser, what string) {
	b.t.Helper()
	src, err := axeSource()
	if err != nil {
		b.t.Fatalf("read axe-core: %v", err)
	}
	if !Eval[bool](b, `typeof window.axe === 'object'`) {
		Eval[bool](b, src+"\n;true")
	}
	// axe-core takes seconds on a full page, longer when the tests share the CPU.
	ctx, cancel := context.WithTimeout(b.Ctx, time.Minute)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, { resultTypes: ['violations'] }).then((r) => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe-core (%s): %v (screenshot: %s)", what, err, b.failShot())
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		b.t.Fatalf("axe result: %v", err)
	}
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var nodes []string
		for i, n := range v.Nodes {
			if i == 5 {
				nodes = append(nodes, "…")
				break
			}
			nodes = append(nodes, n.HTML)
		}
		b.t.Errorf("axe (%s): %s %s: %s\n  %s", what, v.Impact, v.ID, v.Help, strings.Join(nodes, "\n  "))
	}
}

// TestUI_Defects: each defect found by trying the app as a new user, in one daemon with a
// desktop and a phone-width browser, and axe-core over the login page, the chat in both
// themes, the dialogs, the search results and the phone.
func TestUI_Defects(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	bobAPI := d.NewClient()
	bobAPI.Login("bob", "bob-password")
	aliceAPI := d.NewClient()
	aliceAPI.Login("alice", "alice-password")
	bobAPI.Post("c:general", "find the **strongword** and `codeword` here")

	b := d.NewBrowser(1280, 800)

	t.Run("login page", func(t *testing.T) {
		b.Open("/")
		b.WaitJS("login page", bxVisible("#login-form"), 10*time.Second)
		bxAxe(b, "login page")
		if got := Eval[string](b, `document.querySelector('#forgot-password').textContent`); !bxVisibleNow(b, "#forgot-password") || !strings.Contains(strings.ToLower(got), "administrator") {
			t.Errorf("forgotten-password hint: visible %v, text %q", bxVisibleNow(b, "#forgot-password"), got)
		}
		// The page was loaded while registration was open; it closes before the form is sent.
		bxClick(b, "#show-register")
		b.WaitJS("register form", bxVisible("#register-form"), 5*time.Second)
		d.WriteSettings(func(m map[string]any) { m["registration"] = "closed" })
		anon := d.NewClient()
		waitFor(t, "registration closed", func() bool { return anon.Do("GET", "/api/config", nil).JSON()["registration"] == "closed" })
		bxFill(b, "#register-username", "newcomer")
		bxFill(b, "#register-password", "newcomer-password")
		bxClick(b, "#register-submit")
		b.WaitJS("the refusal", bxVisible("#auth-error")+` && /registration is closed/i.test(document.querySelector('#auth-error').textContent)`, 10*time.Second)
		if !bxVisibleNow(b, "#login-form") || !bxVisibleNow(b, "#registration-closed") || bxVisibleNow(b, "#register-switch") {
			t.Errorf("after the refusal the page still offers registration")
		}
		d.WriteSettings(func(m map[string]any) { m["registration"] = "open" })
	})

	b.Login("alice", "alice-password")
	bxOpenConv(b, "c:general")
	b.WaitJS("bob's message", bxHasMessage("strongword"), 10*time.Second)
	bxAxe(b, "chat, light theme")
	Eval[bool](b, `document.documentElement.dataset.theme = 'dark'; true`)
	bxAxe(b, "chat, dark theme")
	Eval[bool](b, `document.documentElement.dataset.theme = 'light'; true`)

	t.Run("close buttons", func(t *testing.T) {
		open := map[string]func(){
			"#settings-dialog":    func() { bxOpenMenuItem(b, "#menu-settings") },
			"#new-dm-dialog":      func() { bxClick(b, "#new-dm") },
			"#new-private-dialog": func() { bxClick(b, "#new-private") },
			"#members-dialog":     func() { bxClick(b, "#members-btn") },
		}
		for _, dlg := range []string{"#settings-dialog", "#new-dm-dialog", "#new-private-dialog", "#members-dialog"} {
			open[dlg]()
			b.WaitJS(dlg+" open", `document.querySelector(`+jsq(dlg)+`).open`, 5*time.Second)
			close := dlg + " .dialog-close"
			size := Eval[[]float64](b, `((r) => [r.width, r.height])(document.querySelector(`+jsq(close)+`).getBoundingClientRect())`)
			if size[0] < 24 || size[1] < 24 || !Eval[bool](b, `!!document.querySelector(`+jsq(close+" svg")+`)`) {
				t.Errorf("%s: close button is %vx%v px with icon %v", dlg, size[0], size[1], Eval[bool](b, `!!document.querySelector(`+jsq(close+" svg")+`)`))
			}
			b.Run("click "+close, chromedp.Click(chromedp.CSS(close)))
			b.WaitJS(dlg+" closed by its close button", `!document.querySelector(`+jsq(dlg)+`).open`, 5*time.Second)
		}
	})

	t.Run("danger zone error next to the control", func(t *testing.T) {
		bxOpenMenuItem(b, "#menu-settings")
		b.WaitJS("settings", `document.querySelector('#settings-dialog').open`, 5*time.Second)
		bxClick(b, "#danger-delete")
		b.WaitJS("the error", bxVisible("#status-danger")+` && document.querySelector('#status-danger').textContent.trim() !== ''`, 5*time.Second)
		if !Eval[bool](b, `document.querySelector('#danger-form').contains(document.querySelector('#status-danger'))`) {
			t.Errorf("the Danger Zone error is not inside the Danger Zone form")
		}
		b.WaitJS("the error in view", `((e, d) => { const r = e.getBoundingClientRect(), v = d.getBoundingClientRect(); return r.top >= v.top && r.bottom <= v.bottom; })(document.querySelector('#status-danger'), document.querySelector('#settings-dialog'))`, 5*time.Second)
		bxAxe(b, "settings dialog")
		b.Run("close settings", chromedp.Click(chromedp.CSS("#settings-dialog .dialog-close")))
	})

	t.Run("rendered search snippets", func(t *testing.T) {
		b.Run("search", chromedp.SendKeys(chromedp.CSS("#search-input"), "strongword"))
		b.WaitJS("a result", `document.querySelector('#search-results .search-result .snippet strong')`, 10*time.Second)
		snip := Eval[string](b, `document.querySelector('#search-results .search-result .snippet').textContent`)
		if strings.Contains(snip, "**") || strings.Contains(snip, "`") {
			t.Errorf("snippet shows markdown: %q", snip)
		}
		if !Eval[bool](b, `!!document.querySelector('#search-results .search-result .snippet code')`) {
			t.Errorf("snippet has no <code>")
		}
		bxAxe(b, "search results")
		b.Run("close search", chromedp.SendKeys(chromedp.CSS("#search-input"), kb.Escape))
	})

	t.Run("group DM size is no badge", func(t *testing.T) {
		// bob starts it: alice's browser learns of it live.
		res := bobAPI.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"alice", "carol"}})
		id := res.JSON()["conversation"].(map[string]any)["id"].(string)
		sel := `#list-dms a.conv-item[data-conv-id=` + jsq(id) + `]`
		b.WaitJS("group DM in the sidebar", `document.querySelector(`+jsq(sel)+`)`, 10*time.Second)
		if Eval[bool](b, `!!document.querySelector(`+jsq(sel+" .badge")+`)`) {
			t.Errorf("a group DM with nothing unread shows a badge: %s", Eval[string](b, `document.querySelector(`+jsq(sel)+`).outerHTML`))
		}
	})

	t.Run("edited inline and seen by in view", func(t *testing.T) {
		res := bobAPI.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"alice"}})
		id := res.JSON()["conversation"].(map[string]any)["id"].(string)
		bxOpenConv(b, id)
		var m Message
		for i := 0; i < 25; i++ {
			m = aliceAPI.Post(id, fmt.Sprintf("line %d of a long chat", i))
		}
		aliceAPI.Must(200, "PATCH", ConvPath(id, "/messages/"+m.ID), map[string]string{"body": "the last line, edited"})
		msel := `#message-list .message[data-id=` + jsq(m.ID) + `]`
		b.WaitJS("the edit", `((e) => e && e.querySelector('.edited'))(document.querySelector(`+jsq(msel)+`))`, 10*time.Second)
		if !Eval[bool](b, `((e) => { const ed = e.querySelector('.edited'), p = e.querySelector('.message-body p'); return !!p && p.contains(ed) && ed.getBoundingClientRect().top < p.getBoundingClientRect().bottom; })(document.querySelector(`+jsq(msel)+`))`) {
			t.Errorf("(edited) is not on the text's line: %s", Eval[string](b, `document.querySelector(`+jsq(msel)+`).outerHTML`))
		}
		bobAPI.Must(204, "POST", ConvPath(id, "/read"), map[string]string{"message_id": m.ID})
		b.WaitJS("seen by bob", bxVisible("#seen-by"), 10*time.Second)
		b.Settle()
		b.WaitJS("seen by fully in view", `((e, s) => e.getBoundingClientRect().bottom <= s.getBoundingClientRect().bottom + 1)(document.querySelector('#seen-by'), document.querySelector('#messages'))`, 5*time.Second)
	})

	t.Run("system DM read-only", func(t *testing.T) {
		d.MustCtl("reset-password", "alice", "--base-url", d.URL)
		sys := `#list-dms a.conv-item[data-conv-id="d:alice,system"]`
		b.WaitJS("the system DM", `document.querySelector(`+jsq(sys)+`)`, 10*time.Second)
		id := Eval[string](b, `document.querySelector(`+jsq(sys)+`).dataset.convId`)
		bxOpenConv(b, id)
		b.WaitJS("read-only note, no composer", bxVisible("#readonly-note")+` && !(`+bxVisible("#composer-form")+`)`, 10*time.Second)
		if r := aliceAPI.Do("POST", ConvPath(id, "/messages"), map[string]string{"body": "hello system"}); r.Status != 403 {
			t.Errorf("a reply to the system DM: %d %s, want 403", r.Status, r.Body)
		}
	})

	t.Run("keyboard", func(t *testing.T) {
		bxOpenConv(b, "c:general")
		// Every icon-only button has a name; focus shows.
		if bad := Eval[[]string](b, `[...document.querySelectorAll('button, [role=button]')].filter((e) => e.getClientRects().length && !(e.getAttribute('aria-label') || e.textContent.trim() || e.title)).map((e) => e.outerHTML.slice(0, 120))`); len(bad) > 0 {
			t.Errorf("buttons without a name: %v", bad)
		}
		Eval[bool](b, `document.querySelector('#new-dm').focus(); true`)
		b.Run("tab", chromedp.KeyEvent(kb.Tab))
		if Eval[string](b, `getComputedStyle(document.activeElement).boxShadow`) == "none" && Eval[string](b, `getComputedStyle(document.activeElement).outlineStyle`) == "none" {
			t.Errorf("the focused %s shows no focus ring", Eval[string](b, `document.activeElement.outerHTML.slice(0, 120)`))
		}
	})

	t.Run("phone", func(t *testing.T) {
		p := d.NewBrowser(390, 844)
		p.Run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		p.Login("bob", "bob-password")
		bxOpenConv(p, "c:general")
		p.WaitJS("messages", bxHasMessage("strongword"), 10*time.Second)
		w := Eval[float64](p, `document.querySelector('#search-input').getBoundingClientRect().width`)
		if w < 36 || !Eval[bool](p, `((i, s) => { const a = i.getBoundingClientRect(), b = s.getBoundingClientRect(); return b.width > 0 && b.left >= a.left && b.right <= a.right; })(document.querySelector('#search-input'), document.querySelector('.search-icon svg'))`) {
			t.Errorf("phone search box is %v px wide, icon inside: %v", w, Eval[bool](p, `!!document.querySelector('.search-icon svg')`))
		}
		p.Run("search on the phone", chromedp.Click(chromedp.CSS("#search-input")), chromedp.SendKeys(chromedp.CSS("#search-input"), "codeword"))
		p.WaitJS("a result on the phone", `document.querySelector('#search-results .search-result')`, 10*time.Second)
		if w := Eval[float64](p, `document.querySelector('#search-input').getBoundingClientRect().width`); w < 250 {
			t.Errorf("the focused phone search box is %v px wide, want most of the screen", w)
		}
		if !Eval[bool](p, `((r) => r.left >= 0 && r.right <= innerWidth)(document.querySelector('#search-results').getBoundingClientRect())`) {
			t.Errorf("phone search results overflow the screen")
		}
		p.Run("close search", chromedp.SendKeys(chromedp.CSS("#search-input"), kb.Escape))
		bxOpenMenuItem(p, "#menu-settings")
		p.WaitJS("settings", `document.querySelector('#settings-dialog').open`, 5*time.Second)
		p.Run("close settings on the phone", chromedp.Click(chromedp.CSS("#settings-dialog .dialog-close")))
		p.WaitJS("settings closed on the phone", `!document.querySelector('#settings-dialog').open`, 5*time.Second)
		bxAxe(p, "phone")
	})
}

// bxVisibleNow reports whether the element matching sel is rendered now.
func bxVisibleNow(b *Browser, sel string) bool { return Eval[bool](b, bxVisible(sel)) }
