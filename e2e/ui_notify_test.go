package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// notifyHook records, on every page of a browser, each desktop notification the app creates
// (window.__notes), each permission request (window.__permAsked) and each sound played
// (window.__sounds).
const notifyHook = `(() => {
  window.__notes = [];
  window.__permAsked = 0;
  window.__sounds = 0;
  const N = window.Notification;
  if (N) {
    class Hooked extends N {
      constructor(title, opts) {
        super(title, opts);
        window.__notes.push({ title, body: (opts && opts.body) || '', tag: (opts && opts.tag) || '' });
      }
    }
    Hooked.requestPermission = (...a) => { window.__permAsked++; return N.requestPermission(...a); };
    window.Notification = Hooked;
  }
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...a) { window.__sounds++; return play.apply(this, a).catch(() => {}); };
})();`

// bxNoted is a JavaScript expression: a notification whose body contains text was created.
func bxNoted(text string) string {
	return `window.__notes.some((n) => n.body.includes(` + jsq(text) + `))`
}

// bxFocusedWith makes b's headless window behave as the window in front (headless windows
// are never focused) and runs hooks (JavaScript, may be "") in every page before its own
// scripts.
func bxFocusedWith(t *testing.T, b *Browser, hooks string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	var err error
	if hooks != "" {
		_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: hooks})
	}
	if err == nil {
		_, err = chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
	}
	if err != nil {
		t.Fatalf("prepare the browser: %v", err)
	}
}

// bxGrantNotifications grants b's browser context the notification permission for d's origin.
func bxGrantNotifications(t *testing.T, b *Browser, d *Daemon) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted,
		Origin: d.URL, BrowserContextID: chromedp.FromContext(b.Ctx).BrowserContextID,
	})
	if err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
}

// TestUI_Notifications: bob's desktop notifications as alice writes — mentions and DMs notify,
// chatter does not; mute (and @channel under it), levels, do-not-disturb and the conversation
// he is looking at; permission asked only from the Settings control.
func TestUI_Notifications(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	aliceAPI := d.NewClient()
	aliceAPI.Login("alice", "alice-password")
	bobAPI := d.NewClient()
	bobAPI.Login("bob", "bob-password")
	carolAPI := d.NewClient()
	carolAPI.Login("carol", "carol-password")
	dmCarol := carolAPI.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"bob"}}).JSON()["conversation"].(map[string]any)["id"].(string)

	b := d.NewBrowser(1280, 800)
	bxFocusedWith(t, b, notifyHook)
	b.Login("bob", "bob-password")
	bxOpenConv(b, dmCarol)

	t.Run("permission from a visible control only", func(t *testing.T) {
		if n := Eval[int](b, `window.__permAsked`); n != 0 {
			t.Errorf("permission asked %d times on load", n)
		}
		bxOpenMenuItem(b, "#menu-settings")
		b.WaitJS("the control", bxVisible("#notify-permission"), 5*time.Second)
		bxClick(b, "#notify-permission")
		b.WaitJS("asked once", `window.__permAsked === 1`, 5*time.Second)
		bxGrantNotifications(t, b, d)
		b.WaitJS("granted", `Notification.permission === 'granted'`, 5*time.Second)
		b.Run("close settings", chromedp.Click(chromedp.CSS("#settings-dialog .dialog-close")))
	})

	t.Run("mentions and DMs notify, chatter does not", func(t *testing.T) {
		aliceAPI.Post("c:general", "plain chatter nobody is told about")
		aliceAPI.Post("c:general", "hey @bob, mentioned in general")
		b.WaitJS("the mention", bxNoted("mentioned in general"), 10*time.Second)
		dm := aliceAPI.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"bob"}}).JSON()["conversation"].(map[string]any)["id"].(string)
		aliceAPI.Post(dm, "a direct message from alice")
		b.WaitJS("the DM", bxNoted("a direct message from alice"), 10*time.Second)
		if Eval[bool](b, bxNoted("plain chatter")) {
			t.Errorf("a message without a mention notified under the default level")
		}
		if Eval[int](b, `window.__sounds`) < 2 {
			t.Errorf("no sound played: %d", Eval[int](b, `window.__sounds`))
		}
		title := Eval[string](b, `window.__notes.find((n) => n.body.includes('mentioned in general')).title`)
		if title != "alice in #general" {
			t.Errorf("notification title %q, want %q", title, "alice in #general")
		}
	})

	t.Run("nothing for the conversation in view", func(t *testing.T) {
		carolAPI.Post(dmCarol, "carol writes where bob is looking")
		carolAPI.Post("c:general", "@bob sentinel after the focused one")
		b.WaitJS("the sentinel", bxNoted("sentinel after the focused one"), 10*time.Second)
		if Eval[bool](b, bxNoted("where bob is looking")) {
			t.Errorf("a message in the focused conversation notified")
		}
	})

	t.Run("mute silences @here and @channel; level all", func(t *testing.T) {
		bxOpenConv(b, "c:general")
		bxClick(b, "#notify-btn")
		b.WaitJS("the bell menu", bxVisible("#notify-mute"), 5*time.Second)
		bxClick(b, "#notify-mute")
		b.WaitJS("muted in the sidebar", `document.querySelector('a.conv-item[data-conv-id="c:general"]').classList.contains('muted')`, 10*time.Second)
		bxOpenConv(b, dmCarol)
		aliceAPI.Post("c:general", "@bob muted mention")
		aliceAPI.Post("c:general", "@channel muted broadcast")
		carolAPI.Post("c:general", "@here muted here")
		aliceAPI.Post(Eval[string](b, `[...document.querySelectorAll('#list-dms a.conv-item')].map((a) => a.dataset.convId).find((id) => id.includes('alice'))`), "dm sentinel after mute")
		b.WaitJS("the sentinel", bxNoted("dm sentinel after mute"), 10*time.Second)
		for _, s := range []string{"muted mention", "muted broadcast", "muted here"} {
			if Eval[bool](b, bxNoted(s)) {
				t.Errorf("%q notified in a muted channel", s)
			}
		}
		// Unmuted with level "all": every message notifies.
		bxOpenConv(b, "c:general")
		bxClick(b, "#notify-btn")
		b.WaitJS("the bell menu", bxVisible("#notify-mute"), 5*time.Second)
		bxClick(b, "#notify-mute")
		b.WaitJS("unmuted", `!document.querySelector('a.conv-item[data-conv-id="c:general"]').classList.contains('muted')`, 10*time.Second)
		bxClick(b, "#notify-btn")
		b.WaitJS("the bell menu", bxVisible(`#notify-menu [data-level="all"]`), 5*time.Second)
		bxClick(b, `#notify-menu [data-level="all"]`)
		waitFor(t, "level all stored on the server", func() bool {
			var res struct {
				Prefs struct {
					Conversations map[string]struct{ Level string } `json:"conversations"`
				} `json:"prefs"`
			}
			bobAPI.Must(200, "GET", "/api/me/notifications", nil).Decode(t, &res)
			return res.Prefs.Conversations["c:general"].Level == "all"
		})
		bxOpenConv(b, dmCarol)
		aliceAPI.Post("c:general", "ordinary chatter under level all")
		b.WaitJS("notified", bxNoted("ordinary chatter under level all"), 10*time.Second)
	})

	t.Run("incoming call", func(t *testing.T) {
		// carol calls bob in their DM (bob looks at #general, in front).
		bxOpenConv(b, "c:general")
		cw := carolAPI.MustWS()
		defer cw.C.CloseNow()
		cw.Send(map[string]any{"type": "call", "conversation": dmCarol, "signal": "join", "data": map[string]bool{"video": true}})
		b.WaitJS("the call notification", `window.__notes.some((n) => n.title === 'carol is calling' && n.body.includes('Video call'))`, 10*time.Second)
		// It rings: a banner with Join and Decline, the chime, and the DM marked in the sidebar.
		b.WaitJS("the ringing banner", bxVisible("#call-ring")+` && /carol is calling/.test(document.querySelector('#call-ring').textContent) && `+bxVisible("#call-ring .call-join")+` && `+bxVisible("#call-ring .call-decline"), 10*time.Second)
		b.WaitJS("the call in the sidebar", `document.querySelector('a.conv-item[data-conv-id=`+jsq(dmCarol)+`]').classList.contains('in-call')`, 5*time.Second)
		sounds := Eval[int](b, `window.__sounds`)
		b.WaitJS("it keeps ringing", `window.__sounds > `+fmt.Sprint(sounds), 10*time.Second)
		bxAxe(b, "incoming call")
		// carol hangs up: the banner and the indicator go.
		cw.Send(map[string]any{"type": "call", "conversation": dmCarol, "signal": "leave"})
		b.WaitJS("the banner gone", `!(`+bxVisible("#call-ring")+`) && !document.querySelector('a.conv-item.in-call')`, 10*time.Second)
		// Declined: the banner goes, the call goes on without bob.
		cw.Send(map[string]any{"type": "call", "conversation": dmCarol, "signal": "join", "data": map[string]bool{"video": false}})
		b.WaitJS("ringing again", bxVisible("#call-ring .call-decline"), 10*time.Second)
		bxClick(b, "#call-ring .call-decline")
		b.WaitJS("declined", `!(`+bxVisible("#call-ring")+`) && document.querySelector('a.conv-item.in-call')`, 5*time.Second)
		cw.Send(map[string]any{"type": "call", "conversation": dmCarol, "signal": "leave"})
		b.WaitJS("the call over", `!document.querySelector('a.conv-item.in-call')`, 10*time.Second)
		bxOpenConv(b, dmCarol)
	})

	t.Run("do not disturb", func(t *testing.T) {
		bxOpenMenuItem(b, "#menu-settings")
		b.WaitJS("settings", `document.querySelector('#settings-dialog').open`, 5*time.Second)
		bxClick(b, "#notify-dnd")
		b.WaitJS("dnd saved", `/do not disturb is on/i.test(document.querySelector('#status-notify').textContent)`, 5*time.Second)
		aliceAPI.Post("c:general", "@bob during do not disturb")
		bxClick(b, "#notify-dnd")
		b.WaitJS("dnd off", `/do not disturb is off/i.test(document.querySelector('#status-notify').textContent)`, 5*time.Second)
		aliceAPI.Post("c:general", "@bob after do not disturb")
		b.WaitJS("notified again", bxNoted("after do not disturb"), 10*time.Second)
		if Eval[bool](b, bxNoted("during do not disturb")) {
			t.Errorf("a mention notified during do not disturb")
		}
		bxAxe(b, "notification settings")
		b.Run("close settings", chromedp.Click(chromedp.CSS("#settings-dialog .dialog-close")))
	})

	t.Run("two tabs are two participants", func(t *testing.T) {
		// alice has two tabs open (one browser context: shared cookies) when bob calls; both
		// ring, and she answers in both.
		a1 := d.NewBrowser(1024, 700)
		a1.Login("alice", "alice-password")
		ctx2, close2 := chromedp.NewContext(a1.Ctx)
		defer close2()
		if err := chromedp.Do(ctx2, chromedp.EmulateViewport(1024, 700)); err != nil {
			t.Fatalf("open alice's second tab: %v", err)
		}
		a2 := &Browser{t: t, d: d, Ctx: ctx2}
		a2.Open("/")
		for _, x := range []*Browser{a1, a2, b} {
			x.WaitJS("the app", bxVisible("#app"), 10*time.Second)
			Eval[bool](x, fakeMicrophone)
		}
		dm := aliceAPI.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"bob"}}).JSON()["conversation"].(map[string]any)["id"].(string)
		bxOpenConv(b, dm)
		bxClick(b, "#call-audio")
		b.WaitJS("bob in the call", bxVisible("#call-panel"), 10*time.Second)
		for _, x := range []*Browser{a1, a2} {
			x.WaitJS("bob's call ringing", bxVisible("#call-ring .call-join"), 10*time.Second)
		}
		// Answered in one tab, it stops ringing in the other; she joins there too, from the
		// conversation's call button.
		bxClick(a1, "#call-ring .call-join")
		a1.WaitJS("in the call", bxVisible("#call-panel"), 10*time.Second)
		a2.WaitJS("answered elsewhere", `!(`+bxVisible("#call-ring")+`)`, 10*time.Second)
		bxOpenConv(a2, dm)
		bxClick(a2, "#call-audio")
		a2.WaitJS("in the call", bxVisible("#call-panel"), 10*time.Second)
		// bob sees three participants, two of them alice (a peer per tab), and each of
		// alice's tabs sees bob and her other tab.
		people := func(user string) string {
			return `document.querySelectorAll('#call-panel .call-person[data-username=` + jsq(user) + `]').length`
		}
		b.WaitJS("two alice peers", people("alice")+` === 2 && `+people("bob")+` === 1`, 10*time.Second)
		for _, x := range []*Browser{a1, a2} {
			x.WaitJS("bob and the other tab", people("alice")+` === 2 && `+people("bob")+` === 1`, 10*time.Second)
		}
		// Each peer connection is up: every offer, answer and candidate reached the one tab it
		// was meant for (a tile shows "(connecting)" until then).
		b.WaitJS("bob connected to both tabs", `[...document.querySelectorAll('#call-panel .call-person')].every((e) => !e.textContent.includes('('))`, 15*time.Second)
		// alice closes one tab: bob is left with one alice, and the other tab is still in the call.
		close2()
		b.WaitJS("one alice peer left", people("alice")+` === 1 && `+people("bob")+` === 1`, 10*time.Second)
		a1.WaitJS("the other tab still in the call", bxVisible("#call-panel")+` && `+people("alice")+` === 1 && `+people("bob")+` === 1`, 10*time.Second)
		bxClick(a1, "#call-hangup")
		bxClick(b, "#call-hangup")
		b.WaitJS("the call over", `!(`+bxVisible("#call-panel")+`)`, 5*time.Second)
	})
}

// fakeMicrophone is JavaScript that makes getUserMedia answer with a generated tone, as the
// tests' headless Chromium has no microphone.
const fakeMicrophone = `navigator.mediaDevices.getUserMedia = async () => {
  const ac = new AudioContext();
  const dest = ac.createMediaStreamDestination();
  const osc = ac.createOscillator();
  osc.connect(dest);
  osc.start();
  return dest.stream;
}; true`
