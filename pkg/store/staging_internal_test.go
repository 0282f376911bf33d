package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// scanUser runs query, of one row, on user's database and scans the row into dest.
func scanUser(t *testing.T, s *Store, user, query string, args []any, dest ...any) error {
	t.Helper()
	u, err := s.users.acquire(context.Background(), user, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.users.release(u)
	return u.db.QueryRow(query, args...).Scan(dest...)
}

// rawCopy is every column of users/<user>.db's copy of message id but the id, quoted by
// SQLite (so that a type shows: 5 and '5' differ).
func rawCopy(t *testing.T, s *Store, user, id string) string {
	t.Helper()
	var cols []string
	for _, c := range strings.Split(stagedColumns, ",") {
		if c = strings.TrimSpace(c); c != "id" {
			cols = append(cols, "quote("+c+")")
		}
	}
	var row string
	if err := scanUser(t, s, user, "SELECT "+strings.Join(cols, " || '|' || ")+" FROM messages WHERE id = ?", []any{id}, &row); err != nil {
		t.Fatalf("%s's copy of %s: %v", user, id, err)
	}
	return row
}

// hasCopy reports whether user's database holds a copy of message id.
func hasCopy(t *testing.T, s *Store, user, id string) bool {
	t.Helper()
	var n int
	if err := scanUser(t, s, user, "SELECT count(*) FROM messages WHERE id = ?", []any{id}, &n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func stagedCount(t *testing.T, s *Store) int {
	t.Helper()
	return countStaged(t, s.staging)
}

func countStaged(t *testing.T, st *fanoutStaging) (n int) {
	t.Helper()
	if err := st.db.QueryRow("SELECT count(*) FROM staged").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A message to many recipients is written once into the staging database and copied from
// there: every copy holds what the INSERT of its columns writes (a message to two, which
// is not staged), and the staged row goes once every copy is written.
func TestStaging_CopiesEveryColumnThenDropsTheRow(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s := openJournalStore(t, t.TempDir(), Options{Now: func() time.Time { return at }})
	many := []string{"ann", "ben", "cat", "dan", "eve"}
	makeUserDBs(t, s, append(many, "fay")...)
	full := func(conv string) *chat.Message {
		return &chat.Message{Conversation: conv, Sender: "ann", Body: "see @ben", HTML: "<p>see @ben</p>",
			Mentions: []string{"ben"}, ThreadRoot: "0000000000000-root",
			Attachment: &chat.Attachment{StoredName: "f1.png", Name: "plan.png", Size: 1234, Type: "image/png"},
			Props:      &chat.MessageProps{FromWebhook: true, Username: "ci"}}
	}
	plain := &chat.Message{Conversation: "c:general", Sender: "ben", Body: "plain", HTML: "<p>plain</p>"}
	staged, direct := full("c:general"), full("d:ann:fay")
	for _, p := range []struct {
		m  *chat.Message
		to []string
	}{{staged, many}, {plain, many}, {direct, []string{"ann", "fay"}}} {
		if err := s.PostMessage(ctx, p.m, p.to); err != nil {
			t.Fatal(err)
		}
	}
	// The copies linger in their queues: the two messages to five are staged meanwhile.
	s.fanout.waitStaged()
	if n := stagedCount(t, s); n != 2 {
		t.Fatalf("staged messages while their copies wait: %d, want 2", n)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(rawCopy(t, s, "fay", direct.ID), "'d:ann:fay'", "'c:general'", 1)
	if !strings.Contains(want, "'plan.png'|1234|'image/png'") || !strings.Contains(want, "from_webhook") {
		t.Fatalf("direct copy %s lacks the attachment or props", want)
	}
	for _, u := range many {
		if got := rawCopy(t, s, u, staged.ID); got != want {
			t.Errorf("%s's staged copy:\n got %s\nwant %s", u, got, want)
		}
		if got := rawCopy(t, s, u, plain.ID); !strings.HasPrefix(got, "'c:general'|'ben'|'plain'|'<p>plain</p>'|") || !strings.Contains(got, "|0|0|''|''|NULL|NULL|NULL|NULL|''") {
			t.Errorf("%s's copy of a plain message: %s", u, got)
		}
	}
	eventually(t, "staged rows dropped once every copy is written", func() bool { return stagedCount(t, s) == 0 })
}

// Operations queued behind a staged message in the same batch apply after it: the edit and
// the deletion find the copy.
func TestStaging_EditAndDeleteInTheSameBatch(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{FanoutLinger: time.Hour})
	many := []string{"ann", "ben", "cat", "dan"}
	makeUserDBs(t, s, many...)
	edited := post(t, s, "first", many...)
	gone := post(t, s, "second", many...)
	e := *edited
	e.Body, e.HTML = "first, edited", "<p>first, edited</p>"
	if err := s.EditMessage(ctx, e, many); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMessage(ctx, gone.Conversation, gone.ID, many); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.FanoutStats().Transactions; got != int64(len(many)) {
		t.Fatalf("%d transactions, want one per member (%d): the test needs the four operations in one batch", got, len(many))
	}
	for _, u := range many {
		if got := rawCopy(t, s, u, edited.ID); !strings.Contains(got, "'first, edited'") {
			t.Errorf("%s's edited copy: %s", u, got)
		}
		if got := rawCopy(t, s, u, gone.ID); !strings.HasPrefix(got, "'c:general'|'ann'|''|''|") || !strings.Contains(got, "|1|") {
			t.Errorf("%s's deleted copy: %s", u, got)
		}
	}
}

// A fan-out transaction that is open holds up neither the next post nor its staging: the
// transactions do not take the staging database's write lock (a BEGIN IMMEDIATE would, on
// every attached database, and so serialise every user database's transactions and the
// stager's).
func TestStaging_OpenFanoutTransactionDoesNotBlockStaging(t *testing.T) {
	ctx := context.Background()
	// Registered first, so it runs last: once the store is closed, no worker reads the hook.
	t.Cleanup(func() { duringWrite = nil })
	s := openJournalStore(t, t.TempDir(), Options{FanoutLinger: -1})
	many := []string{"ann", "ben", "cat", "dan"}
	makeUserDBs(t, s, many...)
	inTx, release := make(chan struct{}), make(chan struct{})
	var once bool
	duringWrite = func(user string) {
		if user == "ben" && !once {
			once = true
			close(inTx)
			<-release
		}
	}
	first := post(t, s, "first", many...)
	<-inTx // ben's transaction is open, and stays so until release
	posted := make(chan error, 1)
	go func() {
		m := &chat.Message{Conversation: "c:general", Sender: "cat", Body: "second", HTML: "<p>second</p>"}
		posted <- s.PostMessage(ctx, m, many)
	}()
	select {
	case err := <-posted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(pollTimeout):
		close(release)
		t.Fatalf("a post waited %v for an open fan-out transaction", pollTimeout)
	}
	staged := make(chan struct{})
	go func() { s.fanout.waitStaged(); close(staged) }()
	select {
	case <-staged:
	case <-time.After(pollTimeout):
		close(release)
		t.Fatalf("staging waited %v for an open fan-out transaction", pollTimeout)
	}
	if got := s.FanoutStats().Staged; got != 2 {
		close(release)
		t.Fatalf("%d messages staged while ben's transaction is open, want 2", got)
	}
	close(release)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range many {
		if got := rawCopy(t, s, u, first.ID); !strings.Contains(got, "'first'") {
			t.Errorf("%s: %s", u, got)
		}
	}
	eventually(t, "staging empty", func() bool { return stagedCount(t, s) == 0 })
}

// A post is acknowledged without waiting for the stager, whose statement can wait behind a
// worker's copy on the staging database. Its copies are written whether or not it has been
// staged by then; staged after them, the message leaves the staging database again.
func TestStaging_AckDoesNotWaitForTheStager(t *testing.T) {
	ctx := context.Background()
	// Registered first, so it runs last: once the store is closed, the stager is gone.
	t.Cleanup(func() { beforeStage = nil })
	s := openJournalStore(t, t.TempDir(), Options{FanoutLinger: -1})
	many := []string{"ann", "ben", "cat", "dan"}
	makeUserDBs(t, s, many...)
	entered, release := make(chan struct{}), make(chan struct{})
	var once bool
	beforeStage = func() {
		if !once {
			once = true
			close(entered)
			<-release
		}
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	m := &chat.Message{Conversation: "c:general", Sender: "ann", Body: "early", HTML: "<p>early</p>"}
	posted := make(chan error, 1)
	go func() { posted <- s.PostMessage(ctx, m, many) }()
	select {
	case err := <-posted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(pollTimeout):
		t.Fatalf("a post waited %v for the stager", pollTimeout)
	}
	<-entered // the stager holds the message, not staged yet
	eventually(t, "every copy written while the stager waits", func() bool {
		for _, u := range many {
			if !hasCopy(t, s, u, m.ID) {
				return false
			}
		}
		return true
	})
	for _, u := range many {
		if got := rawCopy(t, s, u, m.ID); !strings.Contains(got, "'early'") {
			t.Errorf("%s: %s", u, got)
		}
	}
	if n := stagedCount(t, s); n != 0 {
		t.Fatalf("%d messages staged while the stager waits", n)
	}
	released = true
	close(release)
	s.fanout.waitStaged()
	if got := s.FanoutStats().Staged; got != 1 {
		t.Fatalf("%d messages staged, want 1", got)
	}
	eventually(t, "the message staged after its copies dropped", func() bool { return stagedCount(t, s) == 0 })
}

// A message replayed from the journal after a crash is staged again (the staging database
// is in memory) and reaches every member; a replay stages in chunks.
func TestStaging_ReplayedMessagesAreStagedAgain(t *testing.T) {
	defer func(n int) { stageChunk = n }(stageChunk)
	stageChunk = 2 // three messages: two statements
	dir := t.TempDir()
	many := []string{"ann", "ben", "cat", "dan", "eve"}
	s := openJournalStore(t, dir, Options{FanoutLinger: time.Hour})
	makeUserDBs(t, s, many...)
	var ids []string
	for i := range 3 {
		ids = append(ids, post(t, s, fmt.Sprintf("m%d", i), many...).ID)
	}
	// What a crash leaves now: the three in the journal, no copy written (they linger).
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	s2 := openJournalStore(t, crashed, Options{})
	if got := s2.FanoutStats().Staged; got != int64(len(ids)) {
		t.Errorf("%d messages staged by the replay, want %d", got, len(ids))
	}
	for _, u := range many {
		for i, id := range ids {
			if got := rawCopy(t, s2, u, id); !strings.Contains(got, fmt.Sprintf("'m%d'", i)) {
				t.Errorf("%s's copy of m%d: %s", u, i, got)
			}
		}
	}
	eventually(t, "staging empty after the replay", func() bool { return stagedCount(t, s2) == 0 })
}

// A message whose text is not valid UTF-8 is not staged (the staging statement's JSON
// would change it): its copies hold its bytes as they are.
func TestStaging_InvalidUTF8IsCopiedAsIs(t *testing.T) {
	s := openJournalStore(t, t.TempDir(), Options{})
	many := []string{"ann", "ben", "cat", "dan"}
	makeUserDBs(t, s, many...)
	bad := post(t, s, "caf\xe9 <b>", many...)
	good := post(t, s, "café <b> \u2028 \"quoted\" \\ done", many...)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.FanoutStats().Staged; got != 1 {
		t.Errorf("%d messages staged, want 1 (the valid one)", got)
	}
	for _, u := range many {
		if got := rawCopy(t, s, u, bad.ID); !strings.Contains(got, "'caf\xe9 <b>'") {
			t.Errorf("%s's copy of the invalid text: %q", u, got)
		}
		if got := rawCopy(t, s, u, good.ID); !strings.Contains(got, "'café <b> \u2028 \"quoted\" \\ done'") {
			t.Errorf("%s's copy of the escaped text: %q", u, got)
		}
	}
}

// The staging database gives back the pages of the messages it no longer holds, so that a
// backlog's burst does not stay in memory.
func TestStaging_ShrinksWhenEmptied(t *testing.T) {
	ctx := context.Background()
	st, err := openStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	pages := func() (n int) {
		if err := st.db.QueryRow("PRAGMA page_count").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	empty := pages()
	body := strings.Repeat("x", 4000)
	var msgs []*chat.Message
	for i := range 200 {
		msgs = append(msgs, &chat.Message{ID: fmt.Sprint(i), Conversation: "c:general", Sender: "ann", Body: body, HTML: body})
	}
	keys, err := st.add(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if full := pages(); full < empty+200 {
		t.Fatalf("%d pages with 200 messages of 8 KB, %d empty", full, empty)
	}
	if err := st.remove(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if n := countStaged(t, st); n != 0 {
		t.Fatalf("%d messages left", n)
	}
	if got := pages(); got > empty+1 {
		t.Errorf("%d pages once emptied, %d before: freed pages were kept", got, empty)
	}
}
