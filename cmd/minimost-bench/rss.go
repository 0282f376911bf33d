package main

import (
	"context"
	"time"
)

// rssSample is one reading of the daemon's resident memory.
type rssSample struct {
	at  time.Time
	rss int64
}

// rssWatch tells when a series of RSS readings has settled: every reading over the last
// span within tolerance of each other.
type rssWatch struct {
	span    time.Duration
	samples []rssSample
}

// rssTolerance is how far readings may differ and still count as stable: 0.5 % of the
// larger, at least 512 KiB (the kernel counts pages as they are touched and returned).
func rssTolerance(v int64) int64 { return max(v/200, 512<<10) }

// add records a reading and reports whether the readings now cover span and are stable.
func (w *rssWatch) add(at time.Time, rss int64) bool {
	w.samples = append(w.samples, rssSample{at, rss})
	// Keep the newest reading at least span old and every one after it.
	for len(w.samples) >= 2 && at.Sub(w.samples[1].at) >= w.span {
		w.samples = w.samples[1:]
	}
	if at.Sub(w.samples[0].at) < w.span {
		return false
	}
	lo, hi := w.samples[0].rss, w.samples[0].rss
	for _, s := range w.samples[1:] {
		lo, hi = min(lo, s.rss), max(hi, s.rss)
	}
	return hi-lo <= rssTolerance(hi)
}

// rssSettleLimit bounds the wait for the daemon's RSS to settle.
const rssSettleLimit = 30 * time.Second

// waitStableRSS reads the daemon's RSS every 100 ms until it has been stable for a second,
// at most limit; it returns the last reading and whether it had settled.
func waitStableRSS(ctx context.Context, pid int, limit time.Duration) (int64, bool, error) {
	w := &rssWatch{span: time.Second}
	deadline := time.Now().Add(limit)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		p, err := readProc(pid)
		if err != nil {
			return 0, false, err
		}
		now := time.Now()
		if w.add(now, p.RSS) {
			return p.RSS, true, nil
		}
		if now.After(deadline) {
			return p.RSS, false, nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return p.RSS, false, ctx.Err()
		}
	}
}
