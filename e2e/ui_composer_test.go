package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
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

// TestUI_FileTray: files picked, pasted and dropped wait in a tray with previews, go with the
// next send (the text as the first one's caption), and an upload can be cancelled.
func TestUI_FileTray(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	d.CreateUser("alice", "alice-password")
	b := d.NewBrowser(1280, 800)
	b.Login("alice", "alice-password")
	bxOpenConv(b, "c:general")
	png := bxWritePNG(t, 40, 30)

	b.Run("pick a file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{png}))
	b.WaitJS("an image preview in the tray", `!!document.querySelector('#upload-tray .tray-item[data-name="avatar.png"] img.tray-thumb')`, 5*time.Second)
	Eval[bool](b, `(() => {
	  const dt = new DataTransfer();
	  dt.items.add(new File(['pasted text'], 'pasted.txt', { type: 'text/plain' }));
	  document.querySelector('#composer').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
	  const dd = new DataTransfer();
	  dd.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' }));
	  document.querySelector('#conversation').dispatchEvent(new DragEvent('drop', { dataTransfer: dd, bubbles: true, cancelable: true }));
	  return true;
	})()`)
	b.WaitJS("three in the tray", `[...document.querySelectorAll('#upload-tray .tray-item')].map((e) => e.dataset.name).join() === 'avatar.png,pasted.txt,dropped.txt'`, 5*time.Second)
	if bxVisibleNow(b, "#message-list .message") {
		t.Errorf("something was sent before Enter")
	}
	bxAxe(b, "file tray")
	bxClick(b, `#upload-tray .tray-item[data-name="pasted.txt"] .tray-remove`)
	b.WaitJS("removed", `document.querySelectorAll('#upload-tray .tray-item').length === 2`, 5*time.Second)
	b.Run("caption and send", chromedp.SendKeys(chromedp.CSS("#composer"), "two files\n"))
	b.WaitJS("both sent, the caption with the first", `((ms) => ms.length === 2 && ms[0].querySelector('.attachment-image img') && ms[0].textContent.includes('two files') && ms[1].querySelector('.attachment-file'))([...document.querySelectorAll('#message-list .message.mine:not(.pending)')])`, 10*time.Second)
	b.WaitJS("tray empty", `document.querySelector('#upload-tray').hidden && `+bxComposer+` === ''`, 5*time.Second)

	// A slow upload, cancelled: nothing is sent and the file stays in the tray.
	big := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	bxThrottle(b, 64*1024)
	b.Run("pick a big file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{big}))
	b.WaitJS("in the tray", `document.querySelectorAll('#upload-tray .tray-item').length === 1`, 5*time.Second)
	b.Run("send", chromedp.SendKeys(chromedp.CSS("#composer"), "\n"))
	b.WaitJS("progress shown", bxVisible("#upload")+` && `+bxVisible("#upload-cancel"), 10*time.Second)
	bxClick(b, "#upload-cancel")
	b.WaitJS("cancelled, still in the tray", `!(`+bxVisible("#upload")+`) && document.querySelectorAll('#upload-tray .tray-item').length === 1`, 5*time.Second)
	bxThrottle(b, -1)
	if n := Eval[int](b, `document.querySelectorAll('#message-list .message.mine').length`); n != 2 {
		t.Errorf("%d messages after the cancelled upload, want 2", n)
	}
}

// bxThrottle limits what b uploads to bytesPerSecond (-1: no limit).
func bxThrottle(b *Browser, bytesPerSecond float64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		b.t.Fatalf("enable network domain: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{DownloadThroughput: -1, UploadThroughput: bytesPerSecond}},
	}); err != nil {
		b.t.Fatalf("throttle: %v", err)
	}
}
