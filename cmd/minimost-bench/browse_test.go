package main

import (
	"math"
	"testing"
	"time"
)

func TestActionMixSumsToOneAndPicksEachShare(t *testing.T) {
	var sum float64
	for _, w := range actionMix {
		sum += w
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Fatalf("action shares sum to %v, want 1", sum)
	}
	// Walk r over [0, 1) in even steps: each action gets its share of the steps.
	const steps = 100000
	var got [numActions]int
	for k := range steps {
		got[pickAction(float64(k)/steps)]++
	}
	for a := range numActions {
		share := float64(got[a]) / steps
		if math.Abs(share-actionMix[a]) > 0.001 {
			t.Errorf("%s picked %.4f of the time, want %.4f", actionNames[a], share, actionMix[a])
		}
	}
	if a := pickAction(0.9999999999); a != numActions-1 {
		t.Errorf("pickAction(~1) = %s, want the last action", actionNames[a])
	}
}

func TestThinkTimeSpansHalfToOneAndAHalf(t *testing.T) {
	think := 20 * time.Second
	if got := thinkTime(think, 0); got != 10*time.Second {
		t.Errorf("thinkTime(r=0) = %v, want 10s", got)
	}
	if got := thinkTime(think, 0.5); got != think {
		t.Errorf("thinkTime(r=0.5) = %v, want %v", got, think)
	}
	if got := thinkTime(think, 0.999); got >= 30*time.Second || got < 29*time.Second {
		t.Errorf("thinkTime(r≈1) = %v, want just under 30s", got)
	}
}

func TestActionStatsPerTypeAndAll(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	var lat [numActions][]time.Duration
	var count, errs [numActions]int
	lat[actPost] = ms(30, 10, 20)
	count[actPost], errs[actPost] = 4, 1
	lat[actSearch] = ms(100)
	count[actSearch] = 1
	st := actionStats(lat, count, errs)
	if len(st) != int(numActions)+1 || st[len(st)-1].Action != "all" {
		t.Fatalf("got %d rows ending %q, want one per action and then all", len(st), st[len(st)-1].Action)
	}
	post := st[actPost]
	if post.Action != "post" || post.Count != 4 || post.Errors != 1 || post.AvgMs != 20 || post.P50Ms != 20 || post.MaxMs != 30 {
		t.Errorf("post = %+v", post)
	}
	if s := st[actSwitch]; s.Count != 0 || s.AvgMs != 0 || s.P99Ms != 0 {
		t.Errorf("switch with no actions = %+v, want zeros", s)
	}
	all := st[len(st)-1]
	if all.Count != 5 || all.Errors != 1 || all.AvgMs != 40 || all.MaxMs != 100 || all.P50Ms != 20 {
		t.Errorf("all = %+v", all)
	}
}

func TestTrackerCountsExpectedCopiesPerMessage(t *testing.T) {
	tr := newTracker()
	tr.expect(0, 0, 3)
	tr.expect(0, 1, 2)
	tr.expect(1, 0, 100)
	tr.forget(1, 0) // its send failed
	for range 3 {
		tr.onCopy(0, 0)
	}
	tr.onCopy(0, 1)
	if got := tr.wanted.Load(); got != 5 {
		t.Errorf("wanted = %d, want 5", got)
	}
	if got := tr.total.Load(); got != 4 {
		t.Errorf("received = %d, want 4", got)
	}
	if got := tr.delivered(); got != 1 {
		t.Errorf("delivered = %d, want 1 (the second message lacks a copy)", got)
	}
}

func TestParseBodyKeepsTrailingWords(t *testing.T) {
	at := time.Unix(0, 1764000000123456789)
	s, seq, got, ok := parseBody("abc", makeBody("abc", 7, 42, at)+" deploy")
	if !ok || s != 7 || seq != 42 || !got.Equal(at) {
		t.Errorf("parseBody = %d %d %v %v", s, seq, got, ok)
	}
	if _, _, _, ok := parseBody("abc", makeBody("other", 7, 42, at)); ok {
		t.Error("a body of another run was taken")
	}
}
