package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with its own profile: its own cookies, like a separate
// person's browser.
type Browser struct {
	t   testing.TB
	d   *Daemon
	Ctx context.Context
}

// NewBrowser starts headless Chromium (Debian's chromium) for d. It skips loudly when
// chromium is missing, or fails under MINIMOST_E2E=required.
func (d *Daemon) NewBrowser(width, height int) *Browser {
	t := d.t
	t.Helper()
	bin := RequireTool(t, "chromium", "chromium-browser", "google-chrome")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The daemon's certificate is self-signed for 127.0.0.1.
		chromedp.Flag("ignore-certificate-errors", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	if err := chromedp.Do(ctx); err != nil {
		cancelC()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelC(); cancelA() })
	return &Browser{t: t, d: d, Ctx: ctx}
}

// Run runs actions with a timeout and fails the test (with a screenshot path) on error.
func (b *Browser) Run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		shot := b.failShot()
		b.t.Fatalf("%s: %v (screenshot: %s)", what, err, shot)
	}
}

func (b *Browser) failShot() string {
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return "none"
	}
	p := filepath.Join(os.TempDir(), strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name())+fmt.Sprintf("-%d.png", time.Now().UnixNano()))
	os.WriteFile(p, png, 0o644)
	return p
}

// Open navigates to a path of the daemon.
func (b *Browser) Open(path string) {
	b.t.Helper()
	b.Run("open "+path, chromedp.Navigate(b.d.URL+path))
}

// Text returns the text content of the first element matching the CSS selector sel, once
// visible.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	b.Run("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Eval evaluates JavaScript and returns its result.
func Eval[T any](b *Browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("eval %s: %v (screenshot: %s)", js, err, b.failShot())
	}
	return v
}

// WaitJS waits until the JavaScript expression is true.
func (b *Browser) WaitJS(what, expr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s (%s): timed out (screenshot: %s)", what, expr, b.failShot())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Screenshot saves a PNG of the page to path.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// Login logs in through the login form and waits for the app.
func (b *Browser) Login(user, password string) {
	b.t.Helper()
	b.Open("/")
	b.Run("log in as "+user,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-username"), user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	)
}
