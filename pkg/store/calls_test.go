package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

// A presence.db from before calls were per connection (user_version 2) is migrated: a call's
// participants are connections, and the guide's query by username still lists who is in it.
func TestStore_CallParticipantsByConnection(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old, err := sql.Open("sqlite", rawDSN(filepath.Join(dir, "presence.db")))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"0001_init.sql", "0002_member_ids.sql"} {
		script, err := os.ReadFile("migrations/presence/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(string(script)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if _, err := old.Exec(`PRAGMA user_version = 2;
		INSERT INTO call_participants(conversation, username, joined_ts) VALUES ('d:alice,bob', 'alice', 1)`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s := MustOpen(t, dir)
	if got := must(s.CallParticipants(ctx, "d:alice,bob")); len(got) != 0 {
		t.Errorf("participants after the upgrade = %v, want none (calls end with a restart)", got)
	}
	for _, p := range []chat.CallParticipant{{User: "alice", Conn: "a1"}, {User: "bob", Conn: "b1"}, {User: "alice", Conn: "a2"}} {
		if err := s.JoinCall(ctx, "d:alice,bob", p.User, p.Conn); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.JoinCall(ctx, "c:general", "alice", "a2"); err != nil {
		t.Fatal(err)
	}
	want := []chat.CallParticipant{{User: "alice", Conn: "a1"}, {User: "bob", Conn: "b1"}, {User: "alice", Conn: "a2"}}
	if got := must(s.CallParticipants(ctx, "d:alice,bob")); !slices.Equal(got, want) {
		t.Errorf("participants = %v, want %v", got, want)
	}
	// One connection leaves every call it is in; the account's other connection stays.
	convs := must(s.LeaveCalls(ctx, "a2"))
	slices.Sort(convs)
	if !slices.Equal(convs, []string{"c:general", "d:alice,bob"}) {
		t.Errorf("a2 left %v, want both calls", convs)
	}
	if err := s.LeaveCall(ctx, "d:alice,bob", "b1"); err != nil {
		t.Fatal(err)
	}
	if got := must(s.CallParticipants(ctx, "d:alice,bob")); !slices.Equal(got, want[:1]) {
		t.Errorf("participants = %v, want %v", got, want[:1])
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
