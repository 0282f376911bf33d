package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is one person's browser: a window of the tests' shared headless Chromium in a
// browser context of its own (its own cookies, storage and cache, like a separate profile).
type Browser struct {
	t   testing.TB
	d   *Daemon
	Ctx context.Context
}

// chromium is the one headless Chromium the tests share: starting a browser takes seconds,
// a new browser context in a running one a fraction of that. Contexts of one browser are
// safe to use from parallel tests.
var chromium struct {
	mu   sync.Mutex
	ctx  context.Context // the browser's first tab; every Browser is a child of it
	stop func()
}

// sharedChromium starts the shared Chromium (bin) on first use.
func sharedChromium(bin string) (context.Context, error) {
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	if chromium.ctx != nil {
		return chromium.ctx, nil
	}
	profile, err := os.MkdirTemp("", "minimost-e2e-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Windows of parallel tests are never in front; they must not be throttled.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		// The daemon's certificate is self-signed for 127.0.0.1.
		chromedp.Flag("ignore-certificate-errors", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	stop := func() { cancelC(); cancelA(); os.RemoveAll(profile) }
	// The first Run starts the browser, for as long as ctx lives (so no timeout here).
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, err
	}
	chromium.ctx, chromium.stop = ctx, stop
	return ctx, nil
}

// stopChromium stops the shared Chromium, if it was started (TestMain, after the tests).
func stopChromium() {
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	if chromium.stop != nil {
		chromium.stop()
		chromium.ctx, chromium.stop = nil, nil
	}
}

// NewBrowser opens a new browser for d: a width×height window of headless Chromium
// (Debian's chromium) in a fresh browser context. It skips loudly when chromium is
// missing, or fails under MINIMOST_E2E=required. The browser tests run the real minimostd
// binary (StartProcess): they test what a user of the shipped daemon sees.
func (d *Daemon) NewBrowser(width, height int) *Browser {
	t := d.t
	t.Helper()
	bin := RequireTool(t, "chromium", "chromium-browser", "google-chrome")
	root, err := sharedChromium(bin)
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	// The first Run opens the window, for as long as ctx lives (so no timeout here).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		cancel()
		t.Fatalf("open a browser window: %v", err)
	}
	t.Cleanup(cancel)
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

// EvalAwait evaluates JavaScript that returns a promise and returns what it resolves to.
func EvalAwait[T any](b *Browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %s: %v (screenshot: %s)", js, err, b.failShot())
	}
	return v
}

// True reports whether the JavaScript expression becomes true within timeout.
func (b *Browser) True(expr string, timeout time.Duration) bool {
	return poll(timeout, func() bool {
		ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		return err == nil && ok
	})
}

// WaitJS waits until the JavaScript expression is true.
func (b *Browser) WaitJS(what, expr string, timeout time.Duration) {
	b.t.Helper()
	if !b.True(expr, timeout) {
		b.t.Fatalf("waiting for %s (%s): timed out after %v (screenshot: %s)", what, expr, timeout, b.failShot())
	}
}

// Settle waits until the page has nothing left to load or fire: every image has loaded or
// failed (so its load or error handler has been queued), then two animation frames and a
// task have passed (so the handlers queued before have run).
func (b *Browser) Settle() {
	b.t.Helper()
	b.WaitJS("the page to finish loading", `document.readyState === 'complete' && [...document.images].every((i) => i.complete)`, 10*time.Second)
	EvalAwait[bool](b, `new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done(true)))))`)
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
	os.Chmod(path, 0o644) // a documentation file; the test binary's umask is 0077 (TestMain)
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
