package e2e_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// bxHasMessage is a JavaScript expression: a message body in the list contains text.
func bxHasMessage(text string) string {
	return `[...document.querySelectorAll('#message-list .message .message-body')].some((e) => e.textContent.includes(` + jsq(text) + `))`
}

// bxOpenConv opens a conversation by clicking its sidebar item (once it is there).
func bxOpenConv(b *Browser, id string) {
	b.t.Helper()
	sel := `a.conv-item[data-conv-id=` + jsq(id) + `]`
	b.WaitJS("sidebar item "+id, `document.querySelector(`+jsq(sel)+`)`, 10*time.Second)
	bxClick(b, sel)
	b.WaitJS("conversation "+id+" open", `decodeURIComponent(location.hash.slice(1)) === `+jsq(id)+` && document.querySelector(`+jsq(sel)+`).getAttribute('aria-current') === 'page'`, 10*time.Second)
}

// bxSend types text into the composer and presses Enter.
func bxSend(b *Browser, text string) {
	b.t.Helper()
	b.Run("send "+text, chromedp.SendKeys(chromedp.CSS("#composer"), text+"\n"))
	b.WaitJS("own message acknowledged", `[...document.querySelectorAll('#message-list .message.mine:not(.pending) .message-body')].some((e) => e.textContent.includes(`+jsq(text)+`))`, 10*time.Second)
}

// bxCurrentConv returns the id of the open conversation (from location.hash).
func bxCurrentConv(b *Browser) string {
	return Eval[string](b, `decodeURIComponent(location.hash.slice(1))`)
}

// wsHook wraps window.WebSocket on every page of the browser: window.__ws lists the sockets
// the app opened, and while window.__wsBlock is true new sockets go to a closed port (it
// starts true on a page loaded while sessionStorage's wsBlock is set). On a page loaded while
// wsSlow is set, the app hears every frame half a second late. window.__helloAt is when the
// app heard the first hello, window.__historyAt when the first history read began.
const wsHook = `(() => {
  const W = window.WebSocket;
  window.__ws = [];
  window.__wsBlock = sessionStorage.getItem('wsBlock') === '1';
  const slow = sessionStorage.getItem('wsSlow') === '1';
  window.__helloAt = 0;
  window.__historyAt = 0;
  class Hooked extends W {
    constructor(u, p) {
      super(window.__wsBlock ? 'wss://127.0.0.1:9/blocked' : u, p);
      window.__ws.push(this);
      this.addEventListener('message', (e) => {
        if (!window.__helloAt && String(e.data).includes('"type":"hello"')) window.__helloAt = performance.now();
      });
    }
    addEventListener(type, fn, o) {
      if (type === 'message' && slow) {
        const heard = fn;
        fn = (e) => setTimeout(() => heard(e), 500);
      }
      super.addEventListener(type, fn, o);
    }
  }
  window.WebSocket = Hooked;
  const f = window.fetch;
  window.fetch = function (u, o) {
    if (!window.__historyAt && /\/api\/conversations\/[^/]+\/messages/.test(String(u))) window.__historyAt = performance.now();
    return f.call(this, u, o);
  };
})();`

// TestBrowser_Chat: two people in two browsers; everything arrives live.
func TestBrowser_Chat(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	alice := d.NewBrowser(1280, 800)
	bob := d.NewBrowser(1280, 800)
	{
		ctx, cancel := context.WithTimeout(bob.Ctx, 10*time.Second)
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: wsHook})
		cancel()
		if err != nil {
			t.Fatalf("install the WebSocket hook: %v", err)
		}
	}
	alice.Login("alice", "alice-password")
	bob.Login("bob", "bob-password")
	aliceAPI := d.NewClient()
	aliceAPI.Login("alice", "alice-password")
	bobAPI := d.NewClient()
	bobAPI.Login("bob", "bob-password")

	t.Run("general live", func(t *testing.T) {
		bxOpenConv(alice, "c:general")
		bxOpenConv(bob, "c:general")
		bxSend(alice, "hello bob, live in general")
		bob.WaitJS("bob sees alice's message", bxHasMessage("hello bob, live in general"), 10*time.Second)
		if got := Eval[string](bob, `[...document.querySelectorAll('#message-list .message')].pop().dataset.sender`); got != "alice" {
			t.Errorf("newest message on bob's side has data-sender %q, want alice", got)
		}
		bxSend(bob, "hi alice")
		alice.WaitJS("alice sees bob's answer", bxHasMessage("hi alice"), 10*time.Second)
	})

	t.Run("private channel via dialog", func(t *testing.T) {
		alice.Run("open the new private channel dialog",
			chromedp.Click(chromedp.CSS("#new-private")),
			chromedp.WaitVisible(chromedp.CSS("#new-private-dialog")),
		)
		bxFill(alice, "#new-private-name", "secret-plans")
		alice.WaitJS("bob in the picker", `document.querySelector('#new-private-users input[data-username="bob"]')`, 10*time.Second)
		bxClick(alice, `#new-private-users input[data-username="bob"]`)
		alice.Run("create", chromedp.Click(chromedp.CSS("#new-private-submit")), chromedp.WaitNotVisible(chromedp.CSS("#new-private-dialog")))
		alice.WaitJS("the new channel is open", `decodeURIComponent(location.hash.slice(1)) !== 'c:general'`, 10*time.Second)
		id := bxCurrentConv(alice)
		if Eval[bool](alice, `!document.querySelector('#list-private a.conv-item[data-conv-id=`+jsq(id)+`]')`) {
			t.Errorf("%s is not in alice's #list-private", id)
		}
		// bob is told about the channel without reloading.
		bob.WaitJS("the channel in bob's sidebar", `document.querySelector('#list-private a.conv-item[data-conv-id=`+jsq(id)+`]')`, 10*time.Second)
		bxOpenConv(bob, id)
		bxSend(alice, "top secret from alice")
		bob.WaitJS("bob sees the private message", bxHasMessage("top secret from alice"), 10*time.Second)
		bxSend(bob, "roger, private")
		alice.WaitJS("alice sees bob's private answer", bxHasMessage("roger, private"), 10*time.Second)
	})

	t.Run("direct message via dialog", func(t *testing.T) {
		alice.Run("open the new DM dialog",
			chromedp.Click(chromedp.CSS("#new-dm")),
			chromedp.WaitVisible(chromedp.CSS("#new-dm-dialog")),
		)
		alice.WaitJS("bob in the picker", `document.querySelector('#new-dm-users input[data-username="bob"]')`, 10*time.Second)
		bxClick(alice, `#new-dm-users input[data-username="bob"]`)
		before := bxCurrentConv(alice)
		alice.Run("create", chromedp.Click(chromedp.CSS("#new-dm-submit")), chromedp.WaitNotVisible(chromedp.CSS("#new-dm-dialog")))
		alice.WaitJS("the DM is open", `decodeURIComponent(location.hash.slice(1)) !== `+jsq(before), 10*time.Second)
		id := bxCurrentConv(alice)
		bxSend(alice, "psst, just you and me")
		bob.WaitJS("the DM in bob's sidebar", `document.querySelector('#list-dms a.conv-item[data-conv-id=`+jsq(id)+`]')`, 10*time.Second)
		bxOpenConv(bob, id)
		bob.WaitJS("bob sees the DM", bxHasMessage("psst, just you and me"), 10*time.Second)
		bxSend(bob, "dm answer from bob")
		alice.WaitJS("alice sees bob's DM answer", bxHasMessage("dm answer from bob"), 10*time.Second)
	})

	t.Run("edit and delete live", func(t *testing.T) {
		bxOpenConv(alice, "c:general")
		bxOpenConv(bob, "c:general")
		bxSend(alice, "this will be edited")
		bob.WaitJS("bob sees the original", bxHasMessage("this will be edited"), 10*time.Second)
		mid := Eval[string](alice, `[...document.querySelectorAll('#message-list .message.mine')].find((m) => m.querySelector('.message-body').textContent.includes('this will be edited')).dataset.id`)
		msel := `#message-list .message[data-id=` + jsq(mid) + `]`
		bxClick(alice, msel+` .message-edit-btn`)
		alice.Run("edit", chromedp.WaitVisible(chromedp.CSS(msel+" .edit-input")),
			chromedp.SetValue(chromedp.CSS(msel+" .edit-input"), "this was edited by alice"),
			chromedp.SendKeys(chromedp.CSS(msel+" .edit-input"), "\n"),
		)
		bob.WaitJS("bob sees the edit", `((m) => !!m && m.querySelector('.edited') && m.querySelector('.message-body').textContent.includes('this was edited by alice'))(document.querySelector(`+jsq(msel)+`))`, 10*time.Second)
		if Eval[bool](bob, bxHasMessage("this will be edited")) {
			t.Errorf("bob still sees the pre-edit text")
		}
		alice.WaitJS("alice sees her edit", `((m) => !!m && !m.querySelector('.edit-input') && m.querySelector('.edited') && m.querySelector('.message-body').textContent.includes('this was edited by alice'))(document.querySelector(`+jsq(msel)+`))`, 10*time.Second)

		bxClick(alice, msel+` .message-delete-btn`)
		alice.Run("confirm delete", chromedp.WaitVisible(chromedp.CSS("#confirm-ok")), chromedp.Click(chromedp.CSS("#confirm-ok")))
		bob.WaitJS("the message is gone on bob's side", `!document.querySelector(`+jsq(msel)+`)`, 10*time.Second)
		alice.WaitJS("the message is gone on alice's side", `!document.querySelector(`+jsq(msel)+`)`, 10*time.Second)
	})

	t.Run("reconnect catches up", func(t *testing.T) {
		bob.WaitJS("bob's socket is known", `window.__ws && window.__ws.some((w) => w.readyState === 1)`, 5*time.Second)
		// Cut bob's socket and keep new ones from reaching the server for a moment.
		Eval[bool](bob, `window.__wsBlock = true; window.__ws.filter((w) => w.readyState === 1).forEach((w) => w.close()); true`)
		bob.WaitJS("the reconnect banner", bxVisible("#conn-banner")+` && document.querySelector('#conn-banner').dataset.state === 'reconnecting'`, 10*time.Second)
		// alice's own socket getting the message shows that the daemon has sent it to
		// every socket it knows; bob's cut one, had it stayed, among them.
		aw := aliceAPI.MustWS()
		off := aliceAPI.Post("c:general", "sent while bob was offline")
		aw.WaitFor("message.new", 10*time.Second, wsMsgID(off.ID))
		aw.C.CloseNow()
		bob.Settle()
		if Eval[bool](bob, bxHasMessage("sent while bob was offline")) {
			t.Fatalf("bob got the message while his socket was cut: the test's cut did not work")
		}
		Eval[bool](bob, `window.__wsBlock = false; window.dispatchEvent(new Event('online')); true`)
		bob.WaitJS("bob catches up after the reconnect", bxHasMessage("sent while bob was offline"), 20*time.Second)
		bob.WaitJS("the banner says connected", `document.querySelector('#conn-banner').dataset.state === 'connected' && !(`+bxVisible("#conn-banner")+`)`, 10*time.Second)
		// And live delivery works again.
		aliceAPI.Post("c:general", "live again after the reconnect")
		bob.WaitJS("live after the reconnect", bxHasMessage("live again after the reconnect"), 10*time.Second)
	})

	t.Run("a page reads once its socket is subscribed", func(t *testing.T) {
		// A fresh page reads its conversations and history only after its socket's hello:
		// a message posted between a read and the subscription would otherwise show only
		// after a reload. Its socket is slow, so the hello comes well after the page starts.
		Eval[bool](bob, `sessionStorage.setItem('wsSlow', '1'); true`)
		bob.Open("/?page=1#" + url.PathEscape("c:general"))
		bob.WaitJS("bob's page shows general", bxHasMessage("live again after the reconnect"), 10*time.Second)
		if !Eval[bool](bob, `window.__helloAt > 0 && window.__historyAt > window.__helloAt`) {
			t.Errorf("the history was read before the socket's hello: hello at %v ms, history at %v ms",
				Eval[float64](bob, `window.__helloAt`), Eval[float64](bob, `window.__historyAt`))
		}
		// A socket that cannot connect does not hold the page: it reads without it, and reads
		// again at the hello, so that what was posted in between shows.
		Eval[bool](bob, `sessionStorage.removeItem('wsSlow'); sessionStorage.setItem('wsBlock', '1'); true`)
		bob.Open("/?page=2#" + url.PathEscape("c:general"))
		bob.WaitJS("bob's page shows general without a socket", `window.__historyAt > 0 && `+bxHasMessage("live again after the reconnect"), 15*time.Second)
		if Eval[bool](bob, `window.__helloAt > 0 || window.__ws.some((w) => w.readyState === 1)`) {
			t.Fatalf("bob's socket connected although it was blocked: the test's block did not work")
		}
		aliceAPI.Post("c:general", "posted after bob's read, before his socket")
		Eval[bool](bob, `sessionStorage.removeItem('wsBlock'); window.__wsBlock = false; window.dispatchEvent(new Event('online')); true`)
		bob.WaitJS("bob's socket says hello", `window.__helloAt > 0`, 20*time.Second)
		bob.WaitJS("bob sees what was posted before his socket", bxHasMessage("posted after bob's read, before his socket"), 10*time.Second)
	})

	t.Run("xss corpus", func(t *testing.T) {
		// alice's display name is markup too.
		evil := `<img src=x onerror=window.__xss=1>`
		aliceAPI.Must(200, "PATCH", "/api/me", map[string]string{"display_name": evil})
		corpus := []string{
			`<script>window.__xss=1</script>`,
			`<img src=x onerror="window.__xss=1">`,
			`[click](javascript:window.__xss=1)`,
			`<svg onload=window.__xss=1>`,
			"`<b>code</b>`",
			`[x](JaVaScRiPt:window.__xss=1)`,
			`<a href="javascript:window.__xss=1">a</a>`,
			`![i](x" onerror="window.__xss=1)`,
			`hey @bob look`,
			`**bold** end of corpus`,
		}
		for _, m := range corpus {
			aliceAPI.Post("c:general", m)
		}
		// Reload so that the display name comes from the server for sure (the messages
		// come from history then; the live path was covered above).
		bob.Run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app")))
		bob.WaitJS("#general open after the reload", `decodeURIComponent(location.hash.slice(1)) === 'c:general'`, 10*time.Second)
		bob.WaitJS("the whole corpus shown", bxHasMessage("end of corpus")+` && `+bxHasMessage("hey"), 15*time.Second)
		bob.Settle() // let any onerror/onload fire

		check := func(what, js string) {
			t.Helper()
			if !Eval[bool](bob, js) {
				t.Errorf("%s: %s is false", what, js)
			}
		}
		check("window.__xss untouched", `typeof window.__xss === 'undefined'`)
		check("no script in bodies", `document.querySelectorAll('.message-body script').length === 0`)
		check("no img with onerror", `document.querySelectorAll('.message-body img[onerror], img[onerror]').length === 0`)
		check("no svg in bodies", `document.querySelectorAll('.message-body svg').length === 0`)
		check("no element has an inline handler", `![...document.querySelectorAll('#message-list *')].some((e) => [...e.attributes].some((a) => a.name.startsWith('on')))`)
		check("no javascript: link anywhere", `![...document.querySelectorAll('a[href]')].some((a) => /^\s*javascript:/i.test(a.getAttribute('href')))`)
		check("the mention", `[...document.querySelectorAll('.message-body .mention')].some((e) => e.textContent.trim() === '@bob')`)
		check("bold", `[...document.querySelectorAll('.message-body strong')].some((e) => e.textContent === 'bold')`)
		check("code shown as text", `[...document.querySelectorAll('.message-body code')].some((e) => e.textContent === '<b>code</b>' && !e.querySelector('b'))`)
		check("script shown as text", bxHasMessage(`<script>window.__xss=1</script>`))
		check("display name as text", `[...document.querySelectorAll('#message-list .message[data-sender="alice"] .message-sender')].some((e) => e.textContent.includes(`+jsq(evil)+`))`)
		check("no img in sender names", `document.querySelectorAll('.message-sender img:not(.avatar img)').length === 0`)

		// Click every link in message bodies; keep ordinary links from navigating away.
		n := Eval[int](bob, `(() => {
		  document.addEventListener('click', (e) => {
		    const a = e.target.closest && e.target.closest('a');
		    if (a && !/^\s*javascript:/i.test(a.getAttribute('href') || '')) e.preventDefault();
		  });
		  const links = [...document.querySelectorAll('#message-list .message-body a')];
		  links.forEach((a) => a.click());
		  return links.length;
		})()`)
		bob.Settle()
		check("window.__xss untouched after clicking "+fmt.Sprint(n)+" links", `typeof window.__xss === 'undefined'`)
		if !strings.HasPrefix(Eval[string](bob, `location.href`), d.URL) {
			t.Errorf("clicking links navigated away")
		}
	})
}

// TestBrowser_Screenshots regenerates the documentation screenshots in docs/screenshots/.
// It runs only with MINIMOST_SCREENSHOTS=1, so ordinary runs never rewrite them.
func TestBrowser_Screenshots(t *testing.T) {
	if os.Getenv("MINIMOST_SCREENSHOTS") != "1" {
		t.Skip("set MINIMOST_SCREENSHOTS=1 to regenerate docs/screenshots/")
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d := StartProcess(t, "-auth-burst", "200")
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	names := map[string]string{"alice": "Alice Martin", "bob": "Bob Okafor", "carol": "Carol Diaz"}
	cl := map[string]*Client{}
	for u, n := range names {
		cl[u] = d.NewClient()
		cl[u].Login(u, u+"-password")
		cl[u].Must(200, "PATCH", "/api/me", map[string]string{"display_name": n})
	}
	cl["alice"].Must(201, "POST", "/api/private-channels", map[string]any{"name": "release-planning", "members": []string{"bob"}})
	cl["alice"].Must(200, "POST", "/api/dms", map[string]any{"members": []string{"carol"}})
	cl["bob"].Post("c:general", "Morning all! The new build is on the staging server.")
	cl["carol"].Post("c:general", "Thanks @bob, I'll run through the **release checklist** after lunch.")
	cl["carol"].Post("c:general", "Notes are in `docs/release.md` as usual.")
	cl["alice"].Post("c:general", "Great. Ping me if anything looks off, I'm around all afternoon.")
	cl["bob"].Post("c:general", "Will do. Coffee first ☕")

	shot := func(b *Browser, name string) {
		t.Helper()
		// Let transitions and fonts settle.
		b.WaitJS("fonts loaded and animations done", `document.fonts.status === 'loaded' && document.getAnimations().every((a) => a.playState !== 'running')`, 10*time.Second)
		b.Settle()
		b.Screenshot(filepath.Join(dir, name))
	}
	setTheme := func(b *Browser, theme string) {
		t.Helper()
		// The app applies the account's saved theme after login; the login page uses the
		// browser's remembered one.
		for _, c := range cl {
			c.Must(200, "PATCH", "/api/me", map[string]string{"theme": theme})
		}
		Eval[bool](b, `localStorage.setItem('mm_theme', `+jsq(theme)+`); true`)
		b.Run("reload", chromedp.Reload())
	}

	b := d.NewBrowser(1280, 800)
	b.Run("viewport", chromedp.EmulateViewport(1280, 800))
	b.Open("/")
	b.Run("login page", chromedp.WaitVisible(chromedp.CSS("#login-form")))
	setTheme(b, "light")
	b.Run("login page", chromedp.WaitVisible(chromedp.CSS("#login-form")))
	shot(b, "login-light.png")
	setTheme(b, "dark")
	b.Run("login page", chromedp.WaitVisible(chromedp.CSS("#login-form")))
	shot(b, "login-dark.png")

	b.Login("alice", "alice-password")
	bxOpenConv(b, "c:general")
	b.WaitJS("messages", bxHasMessage("Coffee first"), 10*time.Second)
	Eval[bool](b, `document.activeElement && document.activeElement.blur(); true`)
	setTheme(b, "light")
	b.Run("app", chromedp.WaitVisible(chromedp.CSS("#app")))
	b.WaitJS("messages", bxHasMessage("Coffee first"), 10*time.Second)
	shot(b, "app-light.png")
	setTheme(b, "dark")
	b.Run("app", chromedp.WaitVisible(chromedp.CSS("#app")))
	b.WaitJS("messages", bxHasMessage("Coffee first"), 10*time.Second)
	shot(b, "app-dark.png")

	p := d.NewBrowser(390, 844)
	p.Run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	p.Login("bob", "bob-password")
	bxOpenConv(p, "c:general")
	p.WaitJS("messages", bxHasMessage("Coffee first"), 10*time.Second)
	setTheme(p, "light")
	p.Run("app", chromedp.WaitVisible(chromedp.CSS("#app")))
	p.WaitJS("messages", bxHasMessage("Coffee first"), 10*time.Second)
	shot(p, "phone-light.png")
}
