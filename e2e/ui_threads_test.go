package e2e_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// bxThreadHas is a JavaScript expression: a reply in the open thread panel contains text.
func bxThreadHas(text string) string {
	return `[...document.querySelectorAll('#thread-replies .message-body')].some((e) => e.textContent.includes(` + jsq(text) + `))`
}

// TestUI_Threads: replying in a thread from the message toolbar, the summary under the root,
// the panel live on both sides, replies kept out of the channel's list, and the panel on a
// phone.
func TestUI_Threads(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	for _, u := range []string{"alice", "bob"} {
		d.CreateUser(u, u+"-password")
	}
	aliceAPI := d.NewClient()
	aliceAPI.Login("alice", "alice-password")
	root := aliceAPI.Post("c:general", "Shall we ship on Friday?")
	rootSel := `#message-list .message[data-id=` + jsq(root.ID) + `]`

	a := d.NewBrowser(1280, 800)
	a.Login("alice", "alice-password")
	bxOpenConv(a, "c:general")
	b := d.NewBrowser(390, 844)
	b.Run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.Login("bob", "bob-password")
	bxOpenConv(b, "c:general")
	b.WaitJS("the root", `document.querySelector(`+jsq(rootSel)+`)`, 10*time.Second)

	// A reply posted and deleted while nobody has the thread open: the summary under the root
	// counts it, then goes.
	draft := aliceAPI.Must(201, "POST", ConvPath("c:general", "/messages"), map[string]string{"body": "A draft reply", "thread_root": root.ID}).JSON()["message"].(map[string]any)["id"].(string)
	summary := `((m) => !!m && /1 reply/.test((m.querySelector('.thread-summary') || {}).textContent || ''))(document.querySelector(` + jsq(rootSel) + `))`
	a.WaitJS("1 reply under the root", summary, 10*time.Second)
	b.WaitJS("1 reply under bob's root", summary, 10*time.Second)
	aliceAPI.Must(204, "DELETE", ConvPath("c:general", "/messages/"+draft), nil)
	noSummary := `((m) => !!m && !m.querySelector('.thread-summary'))(document.querySelector(` + jsq(rootSel) + `))`
	a.WaitJS("no summary once it is deleted", noSummary, 10*time.Second)
	b.WaitJS("none for bob either", noSummary, 10*time.Second)

	bxClick(b, rootSel+" .message-thread-btn")
	b.WaitJS("the panel with the root", bxVisible("#thread-panel")+` && document.querySelector('#thread-root').textContent.includes('ship on Friday')`, 10*time.Second)
	if !Eval[bool](b, `((r) => r.left <= 0 && r.right >= innerWidth - 1 && r.top <= 0)(document.querySelector('#thread-panel').getBoundingClientRect())`) {
		t.Errorf("the thread panel does not fill the phone's screen")
	}
	b.Run("reply", chromedp.SendKeys(chromedp.CSS("#thread-composer"), "Yes, Friday works\n"))
	b.WaitJS("the reply in bob's panel", bxThreadHas("Friday works"), 10*time.Second)

	a.WaitJS("the summary under the root", `((m) => !!m && /1 reply/.test((m.querySelector('.thread-summary') || {}).textContent || ''))(document.querySelector(`+jsq(rootSel)+`))`, 10*time.Second)
	if Eval[bool](a, bxHasMessage("Friday works")) {
		t.Errorf("the reply shows in the channel's list")
	}
	bxClick(a, rootSel+" .thread-summary")
	a.WaitJS("alice's panel with bob's reply", bxVisible("#thread-panel")+` && `+bxThreadHas("Friday works"), 10*time.Second)
	if Eval[bool](a, `((p, m) => p.left < m.right)(document.querySelector('#thread-panel').getBoundingClientRect(), document.querySelector('.main').getBoundingClientRect())`) {
		t.Errorf("on a wide screen the panel covers the conversation instead of sitting beside it")
	}
	bxAxe(a, "thread panel")
	b.Run("another reply", chromedp.SendKeys(chromedp.CSS("#thread-composer"), "I'll tell the team\n"))
	a.WaitJS("live in alice's panel", bxThreadHas("tell the team"), 10*time.Second)
	a.WaitJS("the summary counts 2", `/2 replies/.test(document.querySelector(`+jsq(rootSel+" .thread-summary")+`).textContent)`, 10*time.Second)
	a.Run("alice replies", chromedp.SendKeys(chromedp.CSS("#thread-composer"), "Great, thanks\n"))
	b.WaitJS("live in bob's panel", bxThreadHas("Great, thanks"), 10*time.Second)

	// Replies in the panel have the message toolbar: react, edit and delete, live on both sides.
	replyID := func(br *Browser, text string) string {
		return Eval[string](br, `([...document.querySelectorAll('#thread-replies .message')].find((m) => m.textContent.includes(`+jsq(text)+`)) || {dataset: {}}).dataset.id || ''`)
	}
	mine, bobs := replyID(a, "Great, thanks"), replyID(a, "tell the team")
	if mine == "" || bobs == "" {
		t.Fatalf("replies not found in alice's panel: %q %q", mine, bobs)
	}
	mineSel, bobsSel := `#thread-replies .message[data-id=`+jsq(mine)+`]`, `#thread-replies .message[data-id=`+jsq(bobs)+`]`
	if Eval[bool](a, `!!document.querySelector(`+jsq(bobsSel+" .message-edit-btn")+`)`) {
		t.Errorf("alice may edit bob's reply")
	}
	bxClick(a, mineSel+" .message-edit-btn")
	a.Run("edit a reply", chromedp.WaitVisible(chromedp.CSS(mineSel+" .edit-input")),
		chromedp.SetValue(chromedp.CSS(mineSel+" .edit-input"), "Great, thanks a lot"),
		chromedp.SendKeys(chromedp.CSS(mineSel+" .edit-input"), "\n"))
	b.WaitJS("the edit live in bob's panel", `((m) => !!m && !!m.querySelector('.edited') && m.textContent.includes('thanks a lot'))(document.querySelector(`+jsq(mineSel)+`))`, 10*time.Second)
	a.WaitJS("alice's editor closed", `((m) => !!m && !m.querySelector('.edit-input') && m.textContent.includes('thanks a lot'))(document.querySelector(`+jsq(mineSel)+`))`, 10*time.Second)
	bxClick(a, bobsSel+" .message-react-btn")
	a.WaitJS("the emoji picker", `document.querySelectorAll('.emoji-picker .emoji-btn').length > 100`, 10*time.Second)
	a.Run("pick a rocket", chromedp.SendKeys(chromedp.CSS(".emoji-search"), "rocket"))
	a.WaitJS("rocket first", `document.querySelector('.emoji-picker .emoji-btn').dataset.emoji === '🚀'`, 5*time.Second)
	bxClick(a, ".emoji-picker .emoji-btn")
	hasRocket := `[...document.querySelectorAll(` + jsq(bobsSel+" .reaction") + `)].some((r) => r.dataset.emoji === '🚀' && r.textContent.includes('1'))`
	a.WaitJS("the reaction in alice's panel", hasRocket, 10*time.Second)
	b.WaitJS("the reaction live in bob's panel", hasRocket, 10*time.Second)
	bxClick(b, bobsSel+` .reaction[data-emoji="🚀"]`)
	b.WaitJS("bob's own rocket too", `((r) => !!r && r.textContent.includes('2'))(document.querySelector(`+jsq(bobsSel+` .reaction[data-emoji="🚀"]`)+`))`, 10*time.Second)
	a.WaitJS("two rockets for alice", `((r) => !!r && r.textContent.includes('2'))(document.querySelector(`+jsq(bobsSel+` .reaction[data-emoji="🚀"]`)+`))`, 10*time.Second)
	a.Run("a reply to delete", chromedp.SendKeys(chromedp.CSS("#thread-composer"), "Oops, wrong thread\n"))
	b.WaitJS("bob sees it", bxThreadHas("wrong thread"), 10*time.Second)
	oops := replyID(a, "wrong thread")
	bxClick(a, `#thread-replies .message[data-id=`+jsq(oops)+`] .message-delete-btn`)
	a.Run("confirm delete", chromedp.WaitVisible(chromedp.CSS("#confirm-ok")), chromedp.Click(chromedp.CSS("#confirm-ok")))
	a.WaitJS("gone from alice's panel", `!`+bxThreadHas("wrong thread"), 10*time.Second)
	b.WaitJS("gone from bob's panel", `!`+bxThreadHas("wrong thread"), 10*time.Second)
	a.WaitJS("the summary counts 3 again", `/3 replies/.test(document.querySelector(`+jsq(rootSel+" .thread-summary")+`).textContent)`, 10*time.Second)
	// The root edited in the panel: both panels and lists show it, the summary stays.
	bxClick(a, "#thread-root .message-edit-btn")
	a.Run("edit the root", chromedp.WaitVisible(chromedp.CSS("#thread-root .edit-input")),
		chromedp.SetValue(chromedp.CSS("#thread-root .edit-input"), "Shall we ship on Friday? Yes or no"),
		chromedp.SendKeys(chromedp.CSS("#thread-root .edit-input"), "\n"))
	rootEdited := `document.querySelector('#thread-root').textContent.includes('Yes or no') && ((m) => !!m && m.textContent.includes('Yes or no') && /3 replies/.test(m.querySelector('.thread-summary').textContent))(document.querySelector(` + jsq(rootSel) + `))`
	a.WaitJS("the edited root in alice's panel and list, with its summary", rootEdited, 10*time.Second)
	b.WaitJS("and in bob's", rootEdited, 10*time.Second)
	// Found by search like any message.
	var sr struct {
		Messages []struct {
			ThreadRoot string `json:"thread_root"`
		} `json:"messages"`
	}
	aliceAPI.Must(200, "GET", "/api/search?q=tell+the+team", nil).Decode(t, &sr)
	if len(sr.Messages) != 1 || sr.Messages[0].ThreadRoot != root.ID {
		t.Errorf("search for a reply found %+v", sr.Messages)
	}
	// Threads: alice's lists the thread; bob's new reply is unread there until she opens it.
	a.Run("close alice's panel for the list", chromedp.Click(chromedp.CSS("#thread-close")))
	b.Run("a reply alice has not seen", chromedp.SendKeys(chromedp.CSS("#thread-composer"), "One more thing\n"))
	a.WaitJS("an unread reply in Threads", `document.querySelector('#threads-unread').textContent === '1' && !document.querySelector('#threads-unread').hidden`, 10*time.Second)
	bxClick(a, "#threads-btn")
	a.WaitJS("the thread listed, unread", `((e) => !!e && e.classList.contains('unread'))(document.querySelector('#threads-list .thread-item[data-root=`+jsq(root.ID)+`]'))`, 10*time.Second)
	bxAxe(a, "threads list")
	bxClick(a, `#threads-list .thread-item[data-root=`+jsq(root.ID)+`]`)
	a.WaitJS("opened from the list", bxVisible("#thread-panel")+` && `+bxThreadHas("One more thing"), 10*time.Second)
	a.WaitJS("read", `document.querySelector('#threads-unread').hidden`, 10*time.Second)

	// A reply found by search opens in its thread.
	a.Run("close alice's panel", chromedp.Click(chromedp.CSS("#thread-close")))
	a.WaitJS("closed", `!(`+bxVisible("#thread-panel")+`)`, 5*time.Second)
	a.Run("search a reply", chromedp.SendKeys(chromedp.CSS("#search-input"), "tell the team"))
	a.WaitJS("the reply found", `document.querySelector('#search-results .search-result')`, 10*time.Second)
	bxClick(a, "#search-results .search-result")
	a.WaitJS("its thread open", bxVisible("#thread-panel")+` && `+bxThreadHas("tell the team"), 10*time.Second)
	b.Run("close the panel", chromedp.Click(chromedp.CSS("#thread-close")))
	b.WaitJS("closed", `!(`+bxVisible("#thread-panel")+`)`, 5*time.Second)

	// "Also send to #general": the reply is in the thread and in the channel's list, saying
	// which thread it answers; its context line opens the thread.
	bxClick(b, rootSel+" .thread-summary")
	b.WaitJS("bob's panel", bxVisible("#thread-panel")+` && `+bxThreadHas("tell the team"), 10*time.Second)
	if got := b.Text("#thread-also-text"); got != "Also send to #general" {
		t.Errorf("the checkbox says %q", got)
	}
	bxClick(b, "#thread-also")
	b.Run("a reply for everyone", chromedp.SendKeys(chromedp.CSS("#thread-composer"), "Shipping Friday, everyone\n"))
	b.WaitJS("in bob's panel, the box unchecked", bxThreadHas("Shipping Friday")+` && !document.querySelector('#thread-also').checked`, 10*time.Second)
	inList := `((m) => !!m && m.querySelector('.thread-context').textContent.includes('replied to a thread: Shall we ship on Friday?'))([...document.querySelectorAll('#message-list .message')].find((m) => m.textContent.includes('Shipping Friday')))`
	a.WaitJS("in alice's channel list, with its thread", inList, 10*time.Second)
	a.WaitJS("and in alice's panel", bxThreadHas("Shipping Friday"), 10*time.Second)
	b.Run("close bob's panel", chromedp.Click(chromedp.CSS("#thread-close")))
	b.WaitJS("in bob's channel list", inList, 10*time.Second)
	if Eval[bool](b, bxHasMessage("tell the team")) {
		t.Errorf("a reply not sent to the channel shows in its list")
	}
	a.Run("close alice's panel again", chromedp.Click(chromedp.CSS("#thread-close")))
	a.WaitJS("closed", `!(`+bxVisible("#thread-panel")+`)`, 5*time.Second)
	bxClick(a, `#message-list .message:last-child .thread-context`)
	a.WaitJS("the context opens the thread", bxVisible("#thread-panel")+` && document.querySelector('#thread-root').textContent.includes('ship on Friday') && `+bxThreadHas("Shipping Friday"), 10*time.Second)
	// After a reload it is still in the list (history), once.
	a.Run("reload", chromedp.Reload())
	a.WaitJS("still in the list after a reload", inList+` && [...document.querySelectorAll('#message-list .message')].filter((m) => m.textContent.includes('Shipping Friday')).length === 1`, 15*time.Second)
}

// threadsHook records, on every page of a browser, the URLs the app fetches
// (window.__fetched) and wraps window.WebSocket: window.__ws lists the sockets, while
// window.__wsBlock is true new sockets go to a closed port, and while window.__wsStaleBoot is
// true a reconnect names another boot (so the server cannot replay and answers resync).
const threadsHook = `(() => {
  window.__fetched = [];
  const f = window.fetch;
  window.fetch = function (input, init) {
    window.__fetched.push(String((input && input.url) || input));
    return f.call(this, input, init);
  };
  const W = window.WebSocket;
  window.__ws = [];
  window.__wsBlock = false;
  window.__wsStaleBoot = false;
  class Hooked extends W {
    constructor(u, p) {
      let url = String(u);
      if (window.__wsStaleBoot) url = url.replace(/boot=[^&]*/, 'boot=stale');
      super(window.__wsBlock ? 'wss://127.0.0.1:9/blocked' : url, p);
      window.__ws.push(this);
    }
  }
  window.WebSocket = Hooked;
})();`

// bxThreadFetches is a JavaScript expression: how many times the app read /api/threads.
const bxThreadFetches = `window.__fetched.filter((u) => /\/api\/threads(\?|$)/.test(u)).length`

// TestUI_ThreadsLive: thread replies reach a participant who never opened their channel —
// desktop notification and Threads badge, from the event alone, without reading
// /api/threads again — and the open thread and Threads list are read again after a resync.
func TestUI_ThreadsLive(t *testing.T) {
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
	var pc struct{ Conversation struct{ ID string } }
	api["alice"].Must(201, "POST", "/api/private-channels", map[string]any{"name": "lunch", "members": []string{"bob", "carol"}}).Decode(t, &pc)
	plans := pc.Conversation.ID
	reply := func(who, root, body string) {
		t.Helper()
		api[who].Must(201, "POST", ConvPath(plans, "/messages"), map[string]string{"body": body, "thread_root": root})
	}
	bobsThread := api["alice"].Post(plans, "Lunch on Friday?")
	reply("bob", bobsThread.ID, "Count me in")
	otherThread := api["alice"].Post(plans, "Who has the projector?")

	b := d.NewBrowser(1280, 800)
	bxFocusedWith(t, b, notifyHook+threadsHook)
	bxGrantNotifications(t, b, d)
	b.Login("bob", "bob-password")
	bxOpenConv(b, "c:general")
	// Read once and finished (a reply arriving while the answer is on its way makes the list
	// read again, by design).
	b.WaitJS("the Threads list read once", bxThreadFetches+` === 1 && !document.querySelector('#threads-list').hasAttribute('aria-busy') && Notification.permission === 'granted'`, 10*time.Second)

	// carol answers in a thread bob is not in, then in bob's: only bob's notifies, though
	// bob's browser never loaded the channel or the thread's root.
	reply("carol", otherThread.ID, "Not me")
	reply("carol", bobsThread.ID, "Pizza place at noon")
	b.WaitJS("bob notified of the reply in his thread", bxNoted("Pizza place at noon"), 10*time.Second)
	b.WaitJS("an unread reply in Threads", `document.querySelector('#threads-unread').textContent === '1' && !document.querySelector('#threads-unread').hidden`, 10*time.Second)
	if Eval[bool](b, bxNoted("Not me")) {
		t.Errorf("a reply in a thread bob is not in notified him")
	}
	if Eval[bool](b, `window.__fetched.some((u) => u.includes(`+jsq(url.PathEscape(plans))+`))`) {
		t.Errorf("bob's browser read the channel: the test would not show the event is enough")
	}
	if n := Eval[int](b, bxThreadFetches); n != 1 {
		t.Errorf("/api/threads read %d times, want once: replies are applied from their events", n)
	}

	// With the list open, a reply to a listed thread updates it in place.
	bxClick(b, "#threads-btn")
	item := `#threads-list .thread-item[data-root=` + jsq(bobsThread.ID) + `]`
	b.WaitJS("the thread listed with 2 replies, as read again", `((e) => !!e && e.classList.contains('unread') && /2 replies/.test(e.textContent))(document.querySelector(`+jsq(item)+`)) && `+bxThreadFetches+` === 2 && !document.querySelector('#threads-list').hasAttribute('aria-busy')`, 10*time.Second)
	fetches := Eval[int](b, bxThreadFetches)
	reply("alice", bobsThread.ID, "Noon it is")
	b.WaitJS("3 replies, 2 unread, in place", `((e) => !!e && /3 replies/.test(e.textContent) && e.querySelector('.badge').textContent === '2')(document.querySelector(`+jsq(item)+`)) && document.querySelector('#threads-unread').textContent === '2'`, 10*time.Second)
	if n := Eval[int](b, bxThreadFetches); n != fetches {
		t.Errorf("/api/threads read again (%d → %d) for a reply it could apply", fetches, n)
	}
	bxClick(b, item)
	b.WaitJS("the thread open", bxVisible("#thread-panel")+` && `+bxThreadHas("Noon it is"), 10*time.Second)
	b.WaitJS("read", `document.querySelector('#threads-unread').hidden`, 10*time.Second)

	// Events lost (the socket cut, and the server cannot replay): after the resync the open
	// thread and the Threads list are read again.
	b.WaitJS("bob's socket is known", `window.__ws.some((w) => w.readyState === 1)`, 5*time.Second)
	fetches = Eval[int](b, bxThreadFetches)
	Eval[bool](b, `window.__wsBlock = true; window.__ws.filter((w) => w.readyState === 1).forEach((w) => w.close()); true`)
	b.WaitJS("reconnecting", `document.querySelector('#conn-banner').dataset.state === 'reconnecting'`, 10*time.Second)
	reply("carol", bobsThread.ID, "Sent while bob was away")
	Eval[bool](b, `window.__wsStaleBoot = true; window.__wsBlock = false; window.dispatchEvent(new Event('online')); true`)
	b.WaitJS("the missed reply in the open thread", bxThreadHas("Sent while bob was away"), 20*time.Second)
	b.WaitJS("the Threads list read again", bxThreadFetches+` > `+fmt.Sprint(fetches), 10*time.Second)
}
