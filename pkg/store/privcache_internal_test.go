package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// Private channels are read through a cache: the store's own changes show at once, a
// change made by hand in presence.db within privCacheTTL.
func TestPrivateChannelCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openJournalStore(t, dir, Options{})
	makeUserDBs(t, s, "ann", "ben", "cat")
	ann, ben, cat := chat.Account{Name: "ann", ID: "1"}, chat.Account{Name: "ben", ID: "2"}, chat.Account{Name: "cat", ID: "3"}
	pc, err := s.CreatePrivateChannel(ctx, "ops", ann, []chat.Account{ben})
	if err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		t.Helper()
		ms, err := s.PrivateMembers(ctx, pc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	if got := names(); len(got) != 2 || got[0] != "ann" || got[1] != "ben" {
		t.Fatalf("members %v, want [ann ben]", got)
	}
	if _, err := s.GetPrivateChannel(ctx, cat, pc.ID); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("cat sees the channel: %v", err)
	}
	// Another account of a member's name is not a member.
	if _, err := s.GetPrivateChannel(ctx, chat.Account{Name: "ben", ID: "9"}, pc.ID); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("a new account named ben sees the channel: %v", err)
	}
	if err := s.AddPrivateMember(ctx, ann, pc.ID, cat); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetPrivateChannel(ctx, cat, pc.ID); err != nil || got.Name != "ops" {
		t.Fatalf("cat right after being added: %+v, %v", got, err)
	}
	if err := s.LeavePrivateChannel(ctx, ben, pc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPrivateChannel(ctx, ben, pc.ID); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("ben right after leaving: %v", err)
	}

	// By hand, as the guide's manual account deletion does.
	db, err := sql.Open("sqlite", filepath.Join(dir, "presence.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM private_channel_members WHERE username = 'cat'"); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * privCacheTTL)
	for {
		_, err := s.GetPrivateChannel(ctx, cat, pc.ID)
		if chat.ErrorCode(err) == chat.ENotFound {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("cat still a member long after the manual deletion: %v", err)
		}
		<-tick.C
	}
	if got := names(); len(got) != 1 || got[0] != "ann" {
		t.Fatalf("members %v after the manual deletion, want [ann]", got)
	}
}
