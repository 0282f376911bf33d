package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// The sidebar's counts, added to what unread_counts kept, equal a count from scratch
// after every kind of change: posts (thread replies, mentions), edits, deletions, a message
// written out of order, history copied to a member, cleanup of old messages, the user
// reading, and a change made by another process (the sqlite3 shell).
func TestUnreadCounts_EqualsRecount(t *testing.T) {
	ctx := context.Background()
	seeds := uint64(6)
	if RaceEnabled {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			s := openJournalStore(t, t.TempDir(), Options{FanoutLinger: time.Hour})
			users := []string{"ann", "ben", "cat"}
			makeUserDBs(t, s, users...)
			convs := []string{"c:general", "c:late", "d:ann:ben"}
			members := map[string][]string{"c:general": users, "c:late": {"ann", "ben"}, "d:ann:ben": {"ann", "ben"}}
			lastRead := map[string]map[string]string{"ann": {}, "ben": {}, "cat": {}}
			var ids []chat.Message
			words := []string{"hi", "hello @ann", "@here look", "plain"}
			post := func(m *chat.Message) {
				if err := s.PostMessage(ctx, m, members[m.Conversation]); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, *m)
			}
			some := func() chat.Message { return ids[rng.IntN(len(ids))] }
			// past is the id of a message sent at (the store's generator never goes back).
			past := func(at time.Time) string { var g IDGen; return g.New(at) }
			op := func() string {
				switch r := rng.IntN(20); {
				case r < 9 || len(ids) == 0:
					c := convs[rng.IntN(len(convs))]
					ms := members[c]
					body := words[rng.IntN(len(words))]
					m := &chat.Message{Conversation: c, Sender: ms[rng.IntN(len(ms))], Body: body, HTML: body}
					if rng.IntN(3) == 0 {
						m.Mentions = []string{"ann"}
					}
					if len(ids) > 0 && rng.IntN(4) == 0 {
						if root := some(); root.ThreadRoot == "" {
							m.Conversation, m.ThreadRoot = root.Conversation, root.ID
							if rng.IntN(2) == 0 {
								m.Props = &chat.MessageProps{AlsoChannel: true}
							}
						}
					}
					post(m)
					return "post"
				case r < 11:
					m := some()
					m.Body, m.HTML, m.Mentions = "edited @ben", "edited", []string{"ben"}
					if err := s.EditMessage(ctx, m, members[m.Conversation]); err != nil {
						t.Fatal(err)
					}
					return "edit"
				case r < 12:
					m := some()
					if err := s.DeleteMessage(ctx, m.Conversation, m.ID, members[m.Conversation]); err != nil {
						t.Fatal(err)
					}
					return "delete"
				case r < 13:
					// Written out of order: older than messages already written.
					at := s.Now().Add(-time.Duration(1+rng.IntN(60)) * time.Minute)
					m := chat.Message{ID: past(at), Conversation: "c:general", Sender: "ben", Body: "late @ann",
						HTML: "late", SentTS: at.Unix(), SentMS: at.UnixMilli(), Mentions: []string{"ann"}}
					for _, u := range users {
						if err := s.fanout.applyNow(u, []*entry{{op: opPut, msg: m}}); err != nil {
							t.Fatal(err)
						}
					}
					return "out of order"
				case r < 14:
					if err := s.Flush(ctx); err != nil {
						t.Fatal(err)
					}
					if _, err := s.CopyHistory(ctx, "ann", "cat", "c:late", 50); err != nil {
						t.Fatal(err)
					}
					members["c:late"] = users
					return "history copied"
				case r < 15:
					if _, err := s.DeleteMessagesOlderThan(ctx, s.Now().Add(-30*time.Minute), false); err != nil {
						t.Fatal(err)
					}
					return "cleanup"
				case r < 16:
					// Another process changes a message in a user's file.
					u, m := users[rng.IntN(len(users))], some()
					if err := s.Flush(ctx); err != nil {
						t.Fatal(err)
					}
					db, err := sql.Open("sqlite", dsn(s.userDBPath(u), false, "NORMAL"))
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					if rng.IntN(2) == 0 {
						if _, err := db.Exec("UPDATE messages SET deleted = 1 - deleted WHERE id = ?", m.ID); err != nil {
							t.Fatal(err)
						}
						return "changed by another process"
					}
					// An older message added by hand, among those already counted: just after
					// one of them.
					at := time.UnixMilli(m.SentMS)
					if _, err := db.Exec(`INSERT INTO messages(id, conversation, sender, body, html, sent_ts, sent_ms, mentions)
						VALUES (?, ?, 'system', 'by hand', 'by hand', ?, ?, ' ann ')`, past(at), m.Conversation, at.Unix(), at.UnixMilli()); err != nil {
						t.Fatal(err)
					}
					return "added by another process"
				case r < 18:
					u, c := users[rng.IntN(len(users))], convs[rng.IntN(len(convs))]
					lastRead[u][c] = ""
					if rng.IntN(4) > 0 {
						lastRead[u][c] = some().ID
					}
					return "read"
				default:
					if err := s.Flush(ctx); err != nil {
						t.Fatal(err)
					}
					return "flush"
				}
			}
			stats := func(u string) map[string]ConversationStat {
				got, err := s.ConversationStats(ctx, u, convs, lastRead[u])
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			kept := 0
			for step := range 80 {
				what := op()
				for _, u := range users {
					got := stats(u)
					h, err := s.users.acquire(ctx, u, false)
					if err != nil {
						t.Fatal(err)
					}
					var n int
					if err := h.db.QueryRow("SELECT COUNT(*) FROM unread_counts").Scan(&n); err != nil {
						t.Fatal(err)
					}
					kept += n
					if _, err := h.db.Exec("DELETE FROM unread_counts"); err != nil {
						t.Fatal(err)
					}
					s.users.release(h)
					if want := stats(u); !reflect.DeepEqual(got, want) {
						t.Fatalf("step %d, after %s: %s's counts %v, counted from scratch %v", step, what, u, got, want)
					}
				}
			}
			if kept == 0 {
				t.Fatal("no count was ever kept: the cache was not used")
			}
		})
	}
}

// Keeping the counts is a saving, not part of the answer: when the counts cannot be written
// (here a trigger refuses them, as a full disk would), the sidebar still gets them.
func TestUnreadCounts_AnsweredWhenNotKept(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{})
	makeUserDBs(t, s, "ann", "ben")
	for i := range 3 {
		m := &chat.Message{Conversation: "c:general", Sender: "ben", Body: fmt.Sprint(i), HTML: fmt.Sprint(i)}
		if err := s.PostMessage(ctx, m, []string{"ann", "ben"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(s.userDBPath("ann"), false, "NORMAL"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON unread_counts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConversationStats(ctx, "ann", []string{"c:general"}, map[string]string{})
	if err != nil {
		t.Fatalf("counts not kept failed the read: %v", err)
	}
	if st := got["c:general"]; st.Unread != 3 {
		t.Fatalf("c:general: %+v, want 3 unread", st)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM unread_counts").Scan(&n); err != nil || n != 0 {
		t.Fatalf("unread_counts holds %d rows (%v), want none", n, err)
	}
}
