package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

// A deletion takes the name out of the journal rows still kept, and a hard deletion drops the
// rows of the user's own messages: a replay after a crash brings nothing back, and delivers
// nothing to a later account of the same name.
func TestDeleteUser_NeutralisesKeptJournalRows(t *testing.T) {
	for _, mode := range []string{"soft", "hard"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			s := openJournalStore(t, t.TempDir(), Options{})
			for _, n := range []string{"alice", "carol"} {
				if _, err := s.CreateUser(ctx, n, "x", nil); err != nil {
					t.Fatal(err)
				}
			}
			// A backup in progress keeps finished journal rows.
			release := s.fanout.holdRemovals()
			defer release()
			post(t, s, "from alice", "alice", "carol")
			m := &chat.Message{Conversation: "d:alice,carol", Sender: "carol", Body: "from carol"}
			if err := s.PostMessage(ctx, m, []string{"alice", "carol"}); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteUser(ctx, "carol", mode); err != nil {
				t.Fatal(err)
			}
			rows, err := s.presence.R.Query("SELECT json_extract(payload, '$.sender'), recipients FROM journal")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var senders []string
			for rows.Next() {
				var sender, rcpt string
				if err := rows.Scan(&sender, &rcpt); err != nil {
					t.Fatal(err)
				}
				var rs []string
				json.Unmarshal([]byte(rcpt), &rs)
				if slices.Contains(rs, "carol") {
					t.Errorf("a kept journal row of %s is still addressed to carol: %s", sender, rcpt)
				}
				senders = append(senders, sender)
			}
			if want := mode == "soft"; slices.Contains(senders, "carol") != want {
				t.Errorf("%s deletion: journal rows of carol's messages kept = %v, want %v", mode, !want, want)
			}
		})
	}
}
