package progress_test

import (
	"context"
	"testing"

	"github.com/minimost/minimost/pkg/progress"
)

func TestCounter(t *testing.T) {
	var got []progress.Report
	ctx := progress.With(context.Background(), func(r progress.Report) { got = append(got, r) })
	if !progress.Enabled(ctx) || progress.Enabled(context.Background()) {
		t.Fatalf("Enabled: want true with a Func, false without")
	}
	c := progress.Start(ctx, "databases", 2)
	c.Add("auth.db", 10)
	c.Add("users/a.db", 5)
	want := []progress.Report{
		{Phase: "databases", Total: 2},
		{Phase: "databases", Done: 1, Total: 2, Bytes: 10, Current: "auth.db"},
		{Phase: "databases", Done: 2, Total: 2, Bytes: 15, Current: "users/a.db"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d reports %v, want %v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("report %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Without a Func nothing happens.
	progress.Start(context.Background(), "x", 1).Add("y", 1)
}

func TestPrefixed(t *testing.T) {
	var got []string
	ctx := progress.With(context.Background(), func(r progress.Report) { got = append(got, r.Phase) })
	progress.Start(progress.Prefixed(ctx, "verify "), "files", 1)
	if len(got) != 1 || got[0] != "verify files" {
		t.Errorf("phases %v, want [verify files]", got)
	}
	if c := progress.Prefixed(context.Background(), "x"); progress.Enabled(c) {
		t.Errorf("Prefixed without a Func enabled reporting")
	}
}
