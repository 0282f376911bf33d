package store_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
)

// SetPresences writes many rows in one go; a bad status fails the whole batch and writes
// nothing; every row is offline again after a restart.
func TestStore_SetPresences(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := MustOpen(t, dir)
	if err := s.SetPresences(ctx, nil); err != nil {
		t.Fatalf("no changes: %v", err)
	}
	changes := []chat.PresenceChange{{User: "ann", Presence: "online"}, {User: "ben", Presence: "away"},
		{User: "cat", Presence: "online"}, {User: "ann", Presence: "away"}}
	if err := s.SetPresences(ctx, changes); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ann": "away", "ben": "away", "cat": "online"}
	if got := must(s.Presences(ctx)); !maps.Equal(got, want) {
		t.Errorf("presences = %v, want %v", got, want)
	}
	for _, bad := range [][]chat.PresenceChange{
		{{User: "dan", Presence: "online"}, {User: "ann", Presence: "busy"}},
		{{User: "dan", Presence: "online"}, {User: "", Presence: "online"}},
	} {
		if err := s.SetPresences(ctx, bad); chat.ErrorCode(err) != chat.EInvalid {
			t.Errorf("SetPresences(%v) = %v, want invalid", bad, err)
		}
	}
	if got := must(s.Presences(ctx)); !maps.Equal(got, want) {
		t.Errorf("presences after bad batches = %v, want unchanged %v", got, want)
	}
	s.Close()
	s2, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	want = map[string]string{"ann": "offline", "ben": "offline", "cat": "offline"}
	if got := must(s2.Presences(ctx)); !maps.Equal(got, want) {
		t.Errorf("presences after a restart = %v, want %v", got, want)
	}
}

// One presence row per transaction (as every connect and disconnect used to be) against
// the rows of one batch in one transaction; per row.
func BenchmarkSetPresence(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			s := MustOpen(b, b.TempDir())
			changes := make([]chat.PresenceChange, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				for k := range changes {
					changes[k] = chat.PresenceChange{User: fmt.Sprintf("u%05d", (i+k)%10000), Presence: "online"}
				}
				if err := s.SetPresences(ctx, changes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ClearTyping of a user who was not typing, as after most posts.
func BenchmarkClearTypingNotTyping(b *testing.B) {
	ctx := context.Background()
	s := MustOpen(b, b.TempDir())
	for b.Loop() {
		if err := s.ClearTyping(ctx, "ann"); err != nil {
			b.Fatal(err)
		}
	}
}
