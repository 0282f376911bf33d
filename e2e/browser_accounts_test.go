package e2e_test

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// jsq quotes s as a JavaScript string literal.
func jsq(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// bxVisible is a JavaScript expression: the first element matching sel is rendered.
func bxVisible(sel string) string {
	return `((e) => !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden')(document.querySelector(` + jsq(sel) + `))`
}

// bxClick clicks the element matching sel with el.click() (works for hover-only actions,
// radio buttons and checkboxes that are styled away).
func bxClick(b *Browser, sel string) {
	b.t.Helper()
	if !Eval[bool](b, `((e) => { if (!e) return false; e.click(); return true; })(document.querySelector(`+jsq(sel)+`))`) {
		b.t.Fatalf("click %s: no such element (screenshot: %s)", sel, b.failShot())
	}
}

// bxFill replaces the value of an input or textarea.
func bxFill(b *Browser, sel, value string) {
	b.t.Helper()
	b.Run("fill "+sel, chromedp.WaitReady(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

// bxOpenMenuItem opens the account menu (#me-avatar) and clicks an item of it.
func bxOpenMenuItem(b *Browser, item string) {
	b.t.Helper()
	b.Run("menu "+item,
		chromedp.Click(chromedp.CSS("#me-avatar")),
		chromedp.WaitVisible(chromedp.CSS(item)),
		chromedp.Click(chromedp.CSS(item)),
	)
}

// bxWritePNG writes a real w×h PNG to a temp file and returns its path.
func bxWritePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(40 + x*3), uint8(90 + y*2), 200, 255})
		}
	}
	p := filepath.Join(t.TempDir(), "avatar.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrowser_Accounts walks one account through the UI: registration, logout, a wrong
// password, login, profile, avatar, theme and a password change that logs out the user's
// other browser live.
func TestBrowser_Accounts(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	b := d.NewBrowser(1280, 800)

	// Register through the UI.
	b.Open("/")
	b.Run("register",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.Click(chromedp.CSS("#show-register")),
		chromedp.WaitVisible(chromedp.CSS("#register-form")),
		chromedp.SendKeys(chromedp.CSS("#register-username"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#register-password"), "carol-password-1"),
		chromedp.Click(chromedp.CSS("#register-submit")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	)
	if got := b.Text("#me-name"); got != "carol" {
		t.Errorf("#me-name after registration = %q, want carol", got)
	}
	// #general announces her as a quiet system line, not as a message from an account.
	b.WaitJS("carol joined, as a system line", `[...document.querySelectorAll('#message-list .message.system-line')].some((m) => m.textContent.includes('carol joined'))`, 10*time.Second)
	if Eval[bool](b, `!!document.querySelector('#message-list .message:not(.system-line)')`) {
		t.Errorf("the joined line is drawn as a message")
	}

	// Log out through the account menu.
	bxOpenMenuItem(b, "#menu-logout")
	b.Run("login form after logout", chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if Eval[bool](b, bxVisible("#app")) {
		t.Errorf("#app still visible after logout")
	}

	// A wrong password shows #auth-error and keeps the login form.
	bxFill(b, "#login-username", "carol")
	bxFill(b, "#login-password", "not-the-password")
	b.Run("submit wrong password", chromedp.Click(chromedp.CSS("#login-submit")))
	b.WaitJS("#auth-error shown", bxVisible("#auth-error")+` && document.querySelector('#auth-error').textContent.trim() !== ''`, 10*time.Second)
	if Eval[bool](b, bxVisible("#app")) {
		t.Errorf("#app visible after a wrong password")
	}

	// The right password logs in.
	bxFill(b, "#login-password", "carol-password-1")
	b.Run("log in", chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#app")))

	// Settings: display name.
	bxOpenMenuItem(b, "#menu-settings")
	b.Run("settings dialog", chromedp.WaitVisible(chromedp.CSS("#settings-dialog")))
	bxFill(b, "#settings-display-name", "Carol Example")
	b.Run("save profile", chromedp.Click(chromedp.CSS("#settings-save-profile")))
	b.WaitJS("#me-name shows the display name", `document.querySelector('#me-name').textContent.trim() === 'Carol Example'`, 10*time.Second)

	// Avatar upload: a real PNG.
	pngPath := bxWritePNG(t, 64, 64)
	b.Run("upload avatar", chromedp.SetUploadFiles(chromedp.CSS("#settings-avatar-input"), []string{pngPath}))
	b.WaitJS("header avatar is the uploaded image",
		`((i) => !!i && (i.getAttribute('src') || '').startsWith('/api/avatars/') && i.complete && i.naturalWidth > 0)(document.querySelector('#me-avatar img'))`, 10*time.Second)
	if !Eval[bool](b, bxVisible("#settings-avatar-remove")) {
		t.Errorf("#settings-avatar-remove hidden after an avatar upload")
	}

	// Theme.
	bxClick(b, "#settings-theme-dark")
	b.WaitJS(`data-theme="dark" on <html>`, `document.documentElement.getAttribute('data-theme') === 'dark'`, 5*time.Second)
	api := d.NewClient()
	api.Login("carol", "carol-password-1")
	var me struct{ User struct{ Theme string } }
	if !poll(5*time.Second, func() bool {
		api.Must(200, "GET", "/api/me", nil).Decode(t, &me)
		return me.User.Theme == "dark"
	}) {
		t.Errorf("theme saved on the server = %q, want dark", me.User.Theme)
	}
	bxClick(b, "#settings-theme-light")
	b.WaitJS(`data-theme="light" on <html>`, `document.documentElement.getAttribute('data-theme') === 'light'`, 5*time.Second)

	// A second browser of the same user.
	b2 := d.NewBrowser(1024, 700)
	b2.Login("carol", "carol-password-1")
	b2.WaitJS("the socket is up", `document.querySelector('#conn-banner') && document.querySelector('#conn-banner').dataset.state !== 'reconnecting'`, 10*time.Second)

	// Change the password in the first browser.
	bxFill(b, "#settings-current-password", "carol-password-1")
	bxFill(b, "#settings-new-password", "carol-password-2")
	bxFill(b, "#settings-confirm-password", "carol-password-2")
	b.Run("change password", chromedp.Click(chromedp.CSS("#settings-change-password")))
	b.WaitJS("password changed status", `document.querySelector('#status-password').classList.contains('ok') && /password changed/i.test(document.querySelector('#status-password').textContent)`, 10*time.Second)

	// The other browser lands on the login page by itself (no reload).
	b2.WaitJS("second browser on the login form", bxVisible("#login-form")+` && !(`+bxVisible("#app")+`)`, 8*time.Second)
	if notice := Eval[string](b2, `(document.querySelector('#auth-notice') || {}).textContent || ''`); !strings.Contains(strings.ToLower(notice), "session") {
		t.Logf("note: #auth-notice on the logged-out browser = %q", notice)
	}
	// The browser that changed it stays logged in. The daemon ended the other sessions
	// before it answered the change (b2 is out already); b's own session still answers it.
	if got := EvalAwait[int](b, `fetch('/api/me').then((r) => r.status)`); got != 200 {
		t.Errorf("the browser that changed the password: its /api/me = %d, want 200", got)
	}
	b.Settle()
	if !Eval[bool](b, bxVisible("#app")) {
		t.Errorf("the browser that changed the password was logged out")
	}

	// The new password works through the API; the old one does not.
	c := d.NewClient()
	c.Login("carol", "carol-password-2")
	if got := d.NewClient().Do("POST", "/api/login", map[string]string{"username": "carol", "password": "carol-password-1"}).Status; got != 401 {
		t.Errorf("login with the old password: %d, want 401", got)
	}
	// The API session made before the change ended.
	if got := api.Do("GET", "/api/me", nil).Status; got != 401 {
		t.Errorf("older API session after the password change: /api/me = %d, want 401", got)
	}
}
