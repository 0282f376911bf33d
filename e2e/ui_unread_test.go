package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// bxUnreadOf is a JavaScript expression: the unread count the sidebar shows for conversation id.
func bxUnreadOf(id string) string {
	return `Number((document.querySelector('a.conv-item[data-conv-id=` + jsq(id) + `]') || { dataset: {} }).dataset.unread || -1)`
}

// convUnread returns the unread count of conversation id as the server has it for c.
func convUnread(t *testing.T, c *Client, id string) int {
	t.Helper()
	var res struct {
		Conversation struct {
			Unread int `json:"unread"`
		} `json:"conversation"`
	}
	c.Must(200, "GET", ConvPath(id, ""), nil).Decode(t, &res)
	return res.Conversation.Unread
}

// quietHook makes a page's pending work observable: short timers (up to 300 ms: the read
// receipt's debounce among them) and fetches in flight are counted from the moment it is
// installed, so a test can wait until a decision the app defers has been taken and sent.
const quietHook = `(() => {
  if (window.__quiet) return true;
  const st = window.setTimeout, ct = window.clearTimeout, f = window.fetch;
  const timers = new Set();
  window.__quiet = { timers, fetches: 0 };
  window.setTimeout = function (fn, ms, ...a) {
    if (typeof fn !== 'function' || !(ms > 0 && ms <= 300)) return st(fn, ms, ...a);
    const id = st(() => { timers.delete(id); fn(...a); }, ms);
    timers.add(id);
    return id;
  };
  window.clearTimeout = function (id) { timers.delete(id); return ct(id); };
  window.fetch = function (...a) {
    window.__quiet.fetches++;
    return f.apply(this, a).finally(() => { window.__quiet.fetches--; });
  };
  return true;
})()`

// bxQuiet waits until the page has no short timer pending and no fetch in flight (see
// quietHook, which must be installed before the action waited for).
func bxQuiet(b *Browser) {
	b.t.Helper()
	b.WaitJS("deferred work done", `window.__quiet.timers.size === 0 && window.__quiet.fetches === 0`, 10*time.Second)
}

// TestUI_Unread: the "New messages" line, opening at the first unread message, the pill when
// scrolled up, and mark-as-unread kept in step across two of alice's browsers.
func TestUI_Unread(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	aliceAPI := d.NewClient()
	aliceAPI.Login("alice", "alice-password")
	bobAPI := d.NewClient()
	bobAPI.Login("bob", "bob-password")

	var read Message
	for i := 0; i < 10; i++ {
		read = bobAPI.Post("c:general", fmt.Sprintf("already read %d", i))
	}
	aliceAPI.Must(204, "POST", ConvPath("c:general", "/read"), map[string]string{"message_id": read.ID})
	var unread []Message
	for i := 0; i < 70; i++ {
		unread = append(unread, bobAPI.Post("c:general", fmt.Sprintf("unread number %d", i)))
	}

	b := d.NewBrowser(1280, 800)
	b.Login("alice", "alice-password")
	Eval[bool](b, quietHook)
	// #general opens at once, at its first unread message, with the newest out of view: nothing
	// is read, and the sidebar shows the server's count.
	b.WaitJS("the sidebar counts 70 unread", bxUnreadOf("c:general")+` === 70`, 10*time.Second)
	bxOpenConv(b, "c:general")
	first := `#message-list .message[data-id=` + jsq(unread[0].ID) + `]`

	t.Run("opens at the first unread", func(t *testing.T) {
		b.WaitJS("the New messages line before the first unread", `((l) => !!l && l.nextElementSibling === document.querySelector(`+jsq(first)+`))(document.querySelector('#message-list .new-divider'))`, 10*time.Second)
		b.Settle()
		// The line is near the top of the list's window, and the bottom is out of view.
		if !Eval[bool](b, `((l, s) => { const r = l.getBoundingClientRect(), v = s.getBoundingClientRect(); return r.top >= v.top - 1 && r.top < v.top + 80; })(document.querySelector('.new-divider'), document.querySelector('#messages'))`) {
			t.Errorf("the New messages line is not at the top of the view: line %v, view %v",
				Eval[float64](b, `document.querySelector('.new-divider').getBoundingClientRect().top`), Eval[float64](b, `document.querySelector('#messages').getBoundingClientRect().top`))
		}
		if !bxVisibleNow(b, "#jump-latest") {
			t.Errorf("no Jump to latest pill while the newest messages are out of view")
		}
		bxQuiet(b)
		if n := convUnread(t, aliceAPI, "c:general"); n != 70 {
			t.Errorf("opened at the first unread, the newest out of view: server unread %d, want 70 (nothing read)", n)
		}
	})

	t.Run("line kept while reading", func(t *testing.T) {
		bxClick(b, "#jump-latest")
		b.WaitJS("at the bottom", `((s) => s.scrollHeight - s.scrollTop - s.clientHeight < 60)(document.querySelector('#messages'))`, 5*time.Second)
		b.WaitJS("the pill gone", `!(`+bxVisible("#jump-latest")+`)`, 5*time.Second)
		waitFor(t, "general read on the server", func() bool { return convUnread(t, aliceAPI, "c:general") == 0 })
		if !Eval[bool](b, `!!document.querySelector('#message-list .new-divider')`) {
			t.Errorf("the New messages line went away once read")
		}
	})

	t.Run("pill counts new messages while scrolled up", func(t *testing.T) {
		Eval[bool](b, `document.querySelector('#messages').scrollTop = 0; true`)
		b.WaitJS("scrolled up", `document.querySelector('#messages').scrollTop < 300`, 5*time.Second)
		bobAPI.Post("c:general", "new while scrolled up 1")
		bobAPI.Post("c:general", "new while scrolled up 2")
		b.WaitJS("2 new messages", bxVisible("#jump-latest")+` && /2 new messages/.test(document.querySelector('#jump-latest').textContent)`, 10*time.Second)
		bxQuiet(b)
		if n := convUnread(t, aliceAPI, "c:general"); n != 2 {
			t.Errorf("messages that arrived above the fold were marked read: server unread %d, want 2", n)
		}
		b.Run("click the pill", chromedp.Click(chromedp.CSS("#jump-latest")))
		b.WaitJS("the newest in view", bxHasMessage("new while scrolled up 2")+` && ((s) => s.scrollHeight - s.scrollTop - s.clientHeight < 60)(document.querySelector('#messages'))`, 5*time.Second)
		waitFor(t, "read after jumping", func() bool { return convUnread(t, aliceAPI, "c:general") == 0 })
	})

	t.Run("mark unread, on every device", func(t *testing.T) {
		phone := d.NewBrowser(390, 844)
		phone.Login("alice", "alice-password")
		dm := aliceAPI.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"bob"}}).JSON()["conversation"].(map[string]any)["id"].(string)
		phone.WaitJS("the DM listed", `document.querySelector('a.conv-item[data-conv-id=`+jsq(dm)+`]')`, 10*time.Second)
		bxOpenConv(phone, dm)
		phone.WaitJS("general read on the phone", bxUnreadOf("c:general")+` === 0`, 10*time.Second)

		mark := unread[60]
		msel := `#message-list .message[data-id=` + jsq(mark.ID) + `]`
		b.Run("scroll to the message", chromedp.ScrollIntoView(chromedp.CSS(msel)))
		bxClick(b, msel+" .message-unread-btn")
		want := 70 - 60 + 2
		waitFor(t, "unread on the server", func() bool { return convUnread(t, aliceAPI, "c:general") == want })
		b.WaitJS("the line moved to the marked message", `((l) => !!l && l.nextElementSibling === document.querySelector(`+jsq(msel)+`))(document.querySelector('#message-list .new-divider'))`, 5*time.Second)
		b.WaitJS("the sidebar count", bxUnreadOf("c:general")+` === `+fmt.Sprint(want), 5*time.Second)
		phone.WaitJS("the phone's count follows", bxUnreadOf("c:general")+` === `+fmt.Sprint(want), 10*time.Second)
		// The tab that shows it does not read it again at once, though all of it is in view:
		// scrolled to the bottom, and once the read receipt's debounce has run.
		Eval[bool](b, `((s) => { s.scrollTop = s.scrollHeight; s.dispatchEvent(new Event('scroll')); return true; })(document.querySelector('#messages'))`)
		b.WaitJS("at the bottom", `((s) => s.scrollHeight - s.scrollTop - s.clientHeight < 60)(document.querySelector('#messages'))`, 5*time.Second)
		bxQuiet(b)
		if n := convUnread(t, aliceAPI, "c:general"); n != want {
			t.Errorf("marked unread, then read again by the tab showing it: unread %d, want %d", n, want)
		}
		// Leaving and coming back reads it.
		bxOpenConv(b, dm)
		bxOpenConv(b, "c:general")
		waitFor(t, "read after coming back", func() bool { return convUnread(t, aliceAPI, "c:general") == 0 })
		phone.WaitJS("the phone's count cleared", bxUnreadOf("c:general")+` === 0`, 10*time.Second)
	})
	bxAxe(b, "unread line and pill")
}
