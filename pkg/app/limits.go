package app

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/chat"
)

// rates holds one token-bucket limiter per kind of action, keyed by account id. A limiter is
// rebuilt when its setting changes in settings.json.
type rates struct {
	mu sync.Mutex
	by map[string]*rate
}

type rate struct {
	perWindow int
	lim       *auth.Limiter
}

// allow takes one action of kind for account acct, allowed perWindow times per window (0: no
// limit). Over the limit it is ETooMany with the seconds until the next one is allowed.
func (a *App) allow(kind string, perWindow int, window time.Duration, acct chat.Account) error {
	if perWindow <= 0 {
		return nil
	}
	a.rates.mu.Lock()
	if a.rates.by == nil {
		a.rates.by = map[string]*rate{}
	}
	r := a.rates.by[kind]
	if r == nil || r.perWindow != perWindow {
		r = &rate{perWindow: perWindow, lim: auth.NewLimiter(perWindow, window/time.Duration(perWindow))}
		r.lim.Now = a.Now
		a.rates.by[kind] = r
	}
	a.rates.mu.Unlock()
	ok, wait := r.lim.Allow(acct.ID)
	if ok {
		return nil
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &chat.Error{Code: chat.ETooMany, RetryAfter: secs,
		Message: "too many " + kind + ": at most " + strconv.Itoa(perWindow) + " per " + windowName(window) + "; try again in " + strconv.Itoa(secs) + " s"}
}

func windowName(d time.Duration) string {
	if d == time.Hour {
		return "hour"
	}
	return "minute"
}

// slots counts what each account has in progress (uploads), up to a limit.
type slots struct {
	mu sync.Mutex
	n  map[string]int
}

// acquireUpload takes one of acct's upload slots; the caller must call the returned release.
func (a *App) acquireUpload(acct chat.Account) (release func(), err error) {
	limit := a.Settings.Get().UploadsAtOnce
	a.uploads.mu.Lock()
	defer a.uploads.mu.Unlock()
	if a.uploads.n == nil {
		a.uploads.n = map[string]int{}
	}
	if limit > 0 && a.uploads.n[acct.ID] >= limit {
		return nil, &chat.Error{Code: chat.ETooMany, RetryAfter: 5,
			Message: "at most " + strconv.Itoa(limit) + " uploads at once; wait for one to finish"}
	}
	a.uploads.n[acct.ID]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.uploads.mu.Lock()
			defer a.uploads.mu.Unlock()
			if a.uploads.n[acct.ID]--; a.uploads.n[acct.ID] <= 0 {
				delete(a.uploads.n, acct.ID)
			}
		})
	}, nil
}
