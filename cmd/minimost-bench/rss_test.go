package main

import (
	"testing"
	"time"
)

func TestRSSWatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const mib = 1 << 20

	w := &rssWatch{span: time.Second}
	// Falling: not stable while it falls, whatever the span covered.
	for i, v := range []int64{400, 380, 360, 340, 320, 300, 280, 260, 240, 220, 200, 190} {
		if w.add(at(100*i), v*mib) {
			t.Fatalf("falling RSS counted stable at reading %d", i)
		}
	}
	// Flat from 1,200 ms: stable once a full second of flat readings is held.
	for ms := 1200; ms < 2200; ms += 100 {
		if w.add(at(ms), 180*mib) {
			t.Fatalf("stable at %d ms, before a second of flat readings", ms)
		}
	}
	if !w.add(at(2200), 180*mib+100<<10) {
		t.Error("a second of readings within the tolerance: not stable")
	}

	// One reading out of the tolerance inside the span: not stable until it leaves the span.
	w = &rssWatch{span: time.Second}
	for ms := 0; ms <= 1000; ms += 100 {
		v := int64(100 * mib)
		if ms == 500 {
			v = 110 * mib
		}
		if w.add(at(ms), v) {
			t.Fatalf("stable at %d ms with a 10 MiB jump in the span", ms)
		}
	}
	stable := false
	for ms := 1100; ms <= 1600 && !stable; ms += 100 {
		stable = w.add(at(ms), 100*mib)
	}
	if !stable {
		t.Error("still not stable a second after the jump")
	}
}

func TestRSSTolerance(t *testing.T) {
	if got := rssTolerance(10 << 20); got != 512<<10 {
		t.Errorf("small RSS: tolerance %d, want 512 KiB", got)
	}
	if got := rssTolerance(1 << 30); got != (1<<30)/200 {
		t.Errorf("1 GiB: tolerance %d, want 0.5 %%", got)
	}
}
