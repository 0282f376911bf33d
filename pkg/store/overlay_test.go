package store_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
)

// reads is everything the merged reads answer for one user, to compare before and after the
// queue is written.
type reads struct {
	Pages  [][]chat.Message
	More   []bool
	Stats  map[string]store.ConversationStat
	Search [][]chat.Message
	Get    []chat.Message
	Before []string
	Convs  []string
	Sums   map[string]chat.ThreadSummary
	Thread [][]chat.Message
	Files  []string
	// Threads is read last: with a reply, an edit or a deletion queued it writes the queue.
	Threads []chat.ThreadItem
}

func readAll(t *testing.T, s *store.Store, user string, convs []string, ids []string, lastRead map[string]string) reads {
	t.Helper()
	ctx := context.Background()
	var r reads
	for _, c := range convs {
		// Every page, newest first, three messages at a time.
		before := ""
		for {
			page, more, err := s.History(ctx, user, c, before, 3)
			if err != nil {
				t.Fatal(err)
			}
			r.Pages, r.More = append(r.Pages, page), append(r.More, more)
			if !more || len(page) == 0 {
				break
			}
			before = page[0].ID
		}
	}
	var err error
	if r.Stats, err = s.ConversationStats(ctx, user, convs, lastRead); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"apple", "PEAR", "apple pear", "nothing"} {
		found, err := s.Search(ctx, user, q, 4)
		if err != nil {
			t.Fatal(err)
		}
		r.Search = append(r.Search, found)
	}
	for i, id := range ids {
		c := convs[i%len(convs)]
		m, err := s.GetMessage(ctx, user, c, id)
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			t.Fatal(err)
		}
		r.Get = append(r.Get, m)
		prev, err := s.MessageBefore(ctx, user, c, id)
		if err != nil {
			t.Fatal(err)
		}
		r.Before = append(r.Before, prev)
	}
	if r.Convs, err = s.UserConversations(ctx, user); err != nil {
		t.Fatal(err)
	}
	// Compared as a set: a queued conversation is listed after those in the database,
	// and once written it sorts by the second it was added in.
	slices.Sort(r.Convs)
	r.Sums = map[string]chat.ThreadSummary{}
	for _, c := range convs {
		sums, err := s.ThreadSummaries(ctx, user, c, ids)
		if err != nil {
			t.Fatal(err)
		}
		maps.Copy(r.Sums, sums)
	}
	for i, id := range ids {
		c := convs[i%len(convs)]
		replies, err := s.Thread(ctx, user, c, id)
		if err != nil {
			t.Fatal(err)
		}
		r.Thread = append(r.Thread, replies)
		a, err := s.HasAttachment(ctx, user, c, "f"+id[len(id)-1:]+".png")
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			t.Fatal(err)
		}
		r.Files = append(r.Files, a.StoredName)
	}
	if r.Threads, err = s.UserThreads(ctx, user, 50); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(r.Threads, func(a, b chat.ThreadItem) int { return strings.Compare(a.Root.ID, b.Root.ID) })
	return r
}

// Reads merge the operations still queued for the user (puts, edits, deletions, thread
// replies, mentions) with the user's database: before the queue is written they answer what
// they answer after it is written. Some operations are written before the reads (a flush),
// the rest stay queued.
func TestStore_MergedReadsEqualWrittenReads(t *testing.T) {
	ctx := context.Background()
	seeds := uint64(12)
	if store.RaceEnabled {
		seeds = 3
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			s := mustOpenLinger(t, t.TempDir(), time.Hour)
			users := []string{"ann", "ben", "cat"}
			MustCreateUsers(t, s, users...)
			convs := []string{"c:general", "c:random", "d:ann:ben:cat"}
			words := []string{"apple", "Pear", "plum", "@ann", "@here"}
			var ids []string
			var roots []chat.Message
			op := func() {
				c := convs[rng.IntN(len(convs))]
				switch r := rng.IntN(10); {
				case r < 6 || len(ids) == 0:
					body := words[rng.IntN(len(words))] + " " + words[rng.IntN(len(words))]
					m := &chat.Message{Conversation: c, Sender: users[rng.IntN(len(users))], Body: body, HTML: "<p>" + body + "</p>"}
					if rng.IntN(3) == 0 {
						m.Mentions = []string{"ann"}
					}
					if rng.IntN(4) == 0 {
						name := fmt.Sprintf("f%c.png", "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[rng.IntN(32)])
						m.Attachment = &chat.Attachment{StoredName: name, Name: "photo.png", Size: 42, Type: "image/png"}
					}
					if len(roots) > 0 && rng.IntN(4) == 0 {
						root := roots[rng.IntN(len(roots))]
						m.Conversation, m.ThreadRoot = root.Conversation, root.ID
						if rng.IntN(2) == 0 {
							m.Props = &chat.MessageProps{AlsoChannel: true}
						}
					}
					if err := s.PostMessage(ctx, m, users); err != nil {
						t.Fatal(err)
					}
					ids = append(ids, m.ID)
					if m.ThreadRoot == "" {
						roots = append(roots, *m)
					}
				case r < 8:
					root := roots[rng.IntN(len(roots))]
					body := "edited " + words[rng.IntN(len(words))]
					m := chat.Message{ID: root.ID, Conversation: root.Conversation, Body: body, HTML: "<p>" + body + "</p>"}
					if err := s.EditMessage(ctx, m, users); err != nil {
						t.Fatal(err)
					}
				default:
					root := roots[rng.IntN(len(roots))]
					if err := s.DeleteMessage(ctx, root.Conversation, root.ID, users); err != nil {
						t.Fatal(err)
					}
				}
			}
			for range 15 {
				op()
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for range 25 {
				op()
			}
			if s.FanoutStats().Queued == 0 {
				t.Fatal("nothing queued: the reads would merge nothing")
			}
			lastRead := map[string]string{"c:general": ids[rng.IntN(len(ids))], "c:random": "", "d:ann:ben:cat": ids[rng.IntN(len(ids))]}
			probe := append(append([]string{}, ids...), "00000000000000000000000000", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ")
			for _, u := range users {
				merged := readAll(t, s, u, convs, probe, lastRead)
				if err := s.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				written := readAll(t, s, u, convs, probe, lastRead)
				if d := firstDiff(merged, written); d != "" {
					t.Errorf("%s: merged reads differ from the written ones: %s", u, d)
				}
				// The next user's reads merge again.
				for range 5 {
					op()
				}
			}
		})
	}
}

// firstDiff describes where a (merged) and b (written) first differ, "" when they do not.
func firstDiff(a, b reads) string {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range av.NumField() {
		name := av.Type().Field(i).Name
		x, y := av.Field(i), bv.Field(i)
		if x.Kind() == reflect.Slice {
			if x.Len() != y.Len() {
				return fmt.Sprintf("%s: %d entries merged, %d written", name, x.Len(), y.Len())
			}
			for j := range x.Len() {
				if !reflect.DeepEqual(x.Index(j).Interface(), y.Index(j).Interface()) {
					return fmt.Sprintf("%s[%d]:\nmerged:  %+v\nwritten: %+v", name, j, x.Index(j).Interface(), y.Index(j).Interface())
				}
			}
			continue
		}
		if !reflect.DeepEqual(x.Interface(), y.Interface()) {
			return fmt.Sprintf("%s:\nmerged:  %+v\nwritten: %+v", name, x.Interface(), y.Interface())
		}
	}
	return ""
}

// While the workers write the user's queue, a merged read still sees every message
// acknowledged before it exactly once: never both in the database and in the queue, never
// in neither.
func TestStore_MergedReadsDuringWrites(t *testing.T) {
	ctx := context.Background()
	s := mustOpenLinger(t, t.TempDir(), time.Millisecond)
	users := []string{"ann", "ben"}
	MustCreateUsers(t, s, users...)
	const n = 300
	acked := make(chan string, n)
	go func() {
		defer close(acked)
		for i := range n {
			m := &chat.Message{Conversation: "c:general", Sender: "ann", Body: fmt.Sprint(i), HTML: fmt.Sprint(i)}
			if err := s.PostMessage(ctx, m, users); err != nil {
				t.Error(err)
				return
			}
			acked <- m.ID
		}
	}()
	var want []string
	for id := range acked {
		want = append(want, id)
		if len(want)%10 != 0 {
			continue
		}
		page, _, err := s.History(ctx, "ben", "c:general", "", n)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for i, m := range page {
			seen[m.ID]++
			if i > 0 && page[i-1].ID >= m.ID {
				t.Fatalf("page out of order at %d: %s then %s", i, page[i-1].ID, m.ID)
			}
		}
		for _, id := range want {
			if seen[id] != 1 {
				t.Fatalf("after %d acknowledged posts, message %s is in the page %d times", len(want), id, seen[id])
			}
		}
	}
}

// The Threads view does not wait for the fan-out while only messages outside threads are
// queued for the user (a busy channel): they cannot change it. It answers what it answers
// once they are written, and leaves them queued.
func TestStore_ThreadsViewWithPlainPostsQueued(t *testing.T) {
	ctx := context.Background()
	s := mustOpenLinger(t, t.TempDir(), time.Hour)
	MustCreateUsers(t, s, "ann", "ben")
	users := []string{"ann", "ben"}
	root := &chat.Message{Conversation: "c:general", Sender: "ann", Body: "root", HTML: "root"}
	if err := s.PostMessage(ctx, root, users); err != nil {
		t.Fatal(err)
	}
	reply := &chat.Message{Conversation: "c:general", Sender: "ben", Body: "reply", HTML: "reply", ThreadRoot: root.ID}
	if err := s.PostMessage(ctx, reply, users); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		m := &chat.Message{Conversation: "c:general", Sender: "ben", Body: fmt.Sprint("busy ", i), HTML: "busy"}
		if err := s.PostMessage(ctx, m, users); err != nil {
			t.Fatal(err)
		}
	}
	queued := s.FanoutStats().Queued
	got, err := s.UserThreads(ctx, "ann", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Root.ID != root.ID || got[0].Unread != 1 {
		t.Fatalf("ann's threads: %+v, want the one thread with one unread reply", got)
	}
	if s.FanoutStats().Queued != queued {
		t.Errorf("the Threads view wrote the queue (%d queued before, %d after): it should not wait for it", queued, s.FanoutStats().Queued)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if written, err := s.UserThreads(ctx, "ann", 10); err != nil || !reflect.DeepEqual(got, written) {
		t.Fatalf("once written: %+v, %v; before: %+v", written, err, got)
	}
}
