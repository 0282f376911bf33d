package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// bxComposer is a JavaScript expression: the composer's text.
const bxComposer = `document.querySelector('#composer').value`

// bxSuggestions is a JavaScript expression: the keys of the suggestions shown, in order.
const bxSuggestions = `[...document.querySelectorAll('#autocomplete:not([hidden]) .ac-item')].map((e) => e.dataset.key).join(',')`

// TestUI_Composer: @mention and :shortcode: suggestions, shortcode conversion, the emoji
// picker with search and recently used, drafts across reloads, slugged channel names.
func TestUI_Composer(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	for _, u := range []string{"alice", "bob", "bobby", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	aliceAPI := d.NewClient()
	aliceAPI.Login("alice", "alice-password")
	bobAPI := d.NewClient()
	bobAPI.Login("bob", "bob-password")
	bobAPI.Must(200, "PATCH", "/api/me", map[string]string{"display_name": "Bob Okafor"})
	pc := aliceAPI.Must(201, "POST", "/api/private-channels", map[string]any{"name": "team", "members": []string{"bob", "carol"}}).JSON()["conversation"].(map[string]any)["id"].(string)
	target := bobAPI.Post(pc, "react to this one")

	b := d.NewBrowser(1280, 800)
	b.Login("alice", "alice-password")
	bxOpenConv(b, pc)
	b.WaitJS("bob's message", bxHasMessage("react to this one"), 10*time.Second)
	typeIn := func(text string) {
		b.t.Helper()
		b.Run("type "+text, chromedp.SendKeys(chromedp.CSS("#composer"), text))
	}
	key := func(k string) { b.t.Helper(); b.Run("key", chromedp.KeyEvent(k)) }

	t.Run("mentions", func(t *testing.T) {
		typeIn("@bo")
		b.WaitJS("people suggested, members first", bxSuggestions+` === 'bob,bobby'`, 5*time.Second)
		key(kb.ArrowDown)
		b.WaitJS("bobby selected", `document.querySelector('#autocomplete .ac-item[aria-selected=true]').dataset.key === 'bobby'`, 5*time.Second)
		key(kb.ArrowUp)
		key(kb.Enter)
		b.WaitJS("@bob inserted, nothing sent", bxComposer+` === '@bob ' && document.querySelector('#autocomplete').hidden`, 5*time.Second)
		typeIn("@oka") // bob's display name
		b.WaitJS("found by display name", bxSuggestions+` === 'bob'`, 5*time.Second)
		key(kb.Tab)
		typeIn("@cha")
		b.WaitJS("@channel offered", bxSuggestions+` === 'channel'`, 5*time.Second)
		key(kb.Enter)
		b.WaitJS("all three", bxComposer+` === '@bob @bob @channel '`, 5*time.Second)
		typeIn("look\n")
		b.WaitJS("sent with mentions", `[...document.querySelectorAll('#message-list .message.mine:not(.pending) .message-body .mention')].filter((m) => m.dataset.user === 'bob').length >= 2`, 10*time.Second)
	})

	t.Run("shortcodes", func(t *testing.T) {
		typeIn("hi :wave:")
		b.WaitJS(":wave: converted", bxComposer+` === 'hi 👋'`, 5*time.Second)
		typeIn(" :tad")
		b.WaitJS("tada suggested", bxSuggestions+`.split(',')[0] === 'tada'`, 5*time.Second)
		key(kb.Enter)
		b.WaitJS("🎉 inserted", bxComposer+` === 'hi 👋 🎉'`, 5*time.Second)
		typeIn(" `:wave:` stays in code\n")
		b.WaitJS("sent", bxHasMessage("hi 👋 🎉")+` && `+bxHasMessage(":wave: stays in code"), 10*time.Second)
	})

	t.Run("emoji picker and refusal", func(t *testing.T) {
		msel := `#message-list .message[data-id=` + jsq(target.ID) + `]`
		bxClick(b, msel+" .message-react-btn")
		b.WaitJS("the picker with every group", `document.querySelectorAll('.emoji-picker .emoji-btn').length > 1500 && document.activeElement.classList.contains('emoji-search')`, 10*time.Second)
		b.Run("search", chromedp.SendKeys(chromedp.CSS(".emoji-search"), "rocket"))
		b.WaitJS("rocket first", `document.querySelector('.emoji-picker .emoji-btn').dataset.emoji === '🚀'`, 5*time.Second)
		key(kb.Enter)
		b.WaitJS("the reaction", `[...document.querySelectorAll(`+jsq(msel+" .reaction")+`)].some((r) => r.dataset.emoji === '🚀')`, 10*time.Second)
		bxAxe(b, "composer")
		bxClick(b, msel+" .message-react-btn")
		b.WaitJS("recently used", `((g) => !!g && g.querySelector('.emoji-btn').dataset.emoji === '🚀')(document.querySelector('.emoji-picker .emoji-group[aria-label="Recently used"]'))`, 10*time.Second)
		bxAxe(b, "emoji picker")
		key(kb.Escape)
		b.WaitJS("picker closed", `!document.querySelector('.emoji-picker')`, 5*time.Second)
		r := aliceAPI.Do("POST", ConvPath(pc, "/messages/"+target.ID+"/reactions"), map[string]string{"emoji": ":partyparrot:"})
		if r.Status != 400 || r.ErrorCode() != "invalid" {
			t.Errorf("a reaction outside the set: %d %s, want 400 invalid", r.Status, r.Body)
		}
	})

	t.Run("drafts across reloads", func(t *testing.T) {
		typeIn("an unfinished thought")
		bxOpenConv(b, "c:general")
		typeIn("general draft")
		b.Run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app")))
		b.WaitJS("general's draft back", bxComposer+` === 'general draft'`, 10*time.Second)
		bxOpenConv(b, pc)
		b.WaitJS("team's draft back", bxComposer+` === 'an unfinished thought'`, 10*time.Second)
		bxOpenMenuItem(b, "#menu-logout")
		b.WaitJS("logged out", bxVisible("#login-form"), 10*time.Second)
		if n := Eval[int](b, `Object.keys(localStorage).filter((k) => k.startsWith('mm_draft:')).length`); n != 0 {
			t.Errorf("%d drafts left in the browser after logout", n)
		}
		b.Login("alice", "alice-password")
	})

	t.Run("channel name slugged as typed", func(t *testing.T) {
		bxClick(b, "#new-private")
		b.WaitJS("dialog", `document.querySelector('#new-private-dialog').open`, 5*time.Second)
		b.Run("type a name", chromedp.SendKeys(chromedp.CSS("#new-private-name"), "Launch Plans!"))
		if got := Eval[string](b, `document.querySelector('#new-private-name').value`); got != "launch-plans-" && got != "launch-plans" {
			t.Errorf("name field shows %q, want launch-plans", got)
		}
		bxClick(b, "#new-private-submit")
		b.WaitJS("created", `!document.querySelector('#new-private-dialog').open && [...document.querySelectorAll('#list-private .conv-item')].some((a) => a.title === 'launch-plans')`, 10*time.Second)
	})
}
