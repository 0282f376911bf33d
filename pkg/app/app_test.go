package app_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
)

// The tests of this file run the use-cases on the real store in a temporary directory, with
// small fakes for everything else: no binary, network or browser.

// fakeHasher "hashes" without cost: the rules are under test, not argon2id.
type fakeHasher struct{}

func (fakeHasher) Hash(_ context.Context, pw string) (string, error) { return "h:" + pw, nil }
func (fakeHasher) Verify(_ context.Context, enc, pw string) (bool, error) {
	return enc != "" && enc == "h:"+pw, nil
}

// settingsVar is a settings.json held in memory.
type settingsVar struct {
	mu sync.Mutex
	s  chat.Settings
}

func (v *settingsVar) Get() chat.Settings {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.s
}

func (v *settingsVar) set(fn func(*chat.Settings)) chat.Settings {
	v.mu.Lock()
	defer v.mu.Unlock()
	fn(&v.s)
	return v.s
}

// published is one event and the account ids it went to (with conn, to that connection of
// the one account only).
type published struct {
	to   []string
	conn string
	ev   chat.Event
}

// recorder is the Publisher, Connections and Closer of the tests.
type recorder struct {
	mu      sync.Mutex
	events  []published
	closed  []string // "user:<id>/<keep>", "session:<hash>", "forget:<id>"
	conns   map[string]int
	failing bool
}

func (r *recorder) Publish(ids []string, ev chat.Event) error {
	if _, err := chat.MarshalEvent(ev); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, published{to: slices.Clone(ids), ev: ev})
	return nil
}

func (r *recorder) PublishConn(id, conn string, ev chat.Event) (bool, error) {
	if _, err := chat.MarshalEvent(ev); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, published{to: []string{id}, conn: conn, ev: ev})
	return true, nil
}

func (r *recorder) Connections(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[id]
}

func (r *recorder) CloseUser(id, keep string) { r.note("user:" + id + "/" + keep) }
func (r *recorder) CloseSession(h string)     { r.note("session:" + h) }
func (r *recorder) Forget(id string)          { r.note("forget:" + id) }

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = append(r.closed, s)
}

// take returns and clears the events published so far.
func (r *recorder) take() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func (r *recorder) closes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.closed)
}

// recipientsOf returns the recipients of the first published event of type typ.
func recipientsOf(evs []published, typ string) ([]string, bool) {
	for _, p := range evs {
		if p.ev.EventType() == typ {
			ids := slices.Clone(p.to)
			slices.Sort(ids)
			return ids, true
		}
	}
	return nil, false
}

type env struct {
	app      *app.App
	store    *store.Store
	rec      *recorder
	settings *settingsVar
	ctx      context.Context
	clock    *fakeClock
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	dir := tb.TempDir()
	ctx := context.Background()
	clock := &fakeClock{t: time.Now()}
	st, err := store.Open(ctx, dir, store.Options{Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	sv := &settingsVar{s: chat.DefaultSettings()}
	rec := &recorder{conns: map[string]int{}}
	a := app.New(st, fakeHasher{}, sv, rec, rec, rec, dir)
	a.Now = clock.Now
	return &env{app: a, store: st, rec: rec, settings: sv, ctx: ctx, clock: clock}
}

// fakeClock is the time of the tests' App and store; advance moves it on.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mustAccount creates an account and returns it.
func (e *env) mustAccount(tb testing.TB, name string) chat.Account {
	tb.Helper()
	u, err := e.app.CreateAccount(e.ctx, name, name+"-password")
	if err != nil {
		tb.Fatalf("create %s: %v", name, err)
	}
	return u.Account()
}

// session starts a session of acct and returns the hash of its id.
func (e *env) session(tb testing.TB, acct chat.Account) string {
	tb.Helper()
	id, _, err := e.app.StartSession(e.ctx, acct, "test")
	if err != nil {
		tb.Fatal(err)
	}
	return auth.HashToken(id)
}

// must returns v, and panics (failing the test) on an error: for set-up steps that cannot fail.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func codeOf(err error) string {
	if err == nil {
		return "ok"
	}
	return chat.ErrorCode(err)
}

// world is the fixture of the access matrix: alice and bob in every conversation; dave in
// none but the public channel; erin was in the private channel and the group DM, then deleted
// her account, and a new account took the name erin.
type world struct {
	*env
	alice, bob, dave, erinOld, erinNew chat.Account
	convs                              map[string]string // kind -> conversation id
	own                                map[string]string // conversation id -> a message alice sent there
}

func newWorld(t *testing.T) *world {
	t.Helper()
	e := newEnv(t)
	w := &world{env: e, convs: map[string]string{}, own: map[string]string{}}
	w.alice, w.bob, w.dave, w.erinOld = e.mustAccount(t, "alice"), e.mustAccount(t, "bob"), e.mustAccount(t, "dave"), e.mustAccount(t, "erin")
	w.convs["channel"] = "c:general"
	w.convs["private"] = must(e.app.CreatePrivateChannel(e.ctx, w.alice, "launch-plans", []string{"bob", "erin"})).ID
	w.convs["dm"] = must(e.app.OpenDM(e.ctx, w.alice, []string{"bob"})).ID
	w.convs["group"] = must(e.app.OpenDM(e.ctx, w.alice, []string{"bob", "erin"})).ID
	for _, id := range w.convs {
		// Several messages of alice's: each mutating use-case takes its own.
		for range 4 {
			m := must(e.app.Post(e.ctx, w.alice, id, "hello from alice", "", nil))
			w.own[id] = m.ID
		}
	}
	if err := e.app.DeleteAccount(e.ctx, "erin", "soft"); err != nil {
		t.Fatal(err)
	}
	w.erinNew = e.mustAccount(t, "erin")
	if w.erinNew.ID == w.erinOld.ID {
		t.Fatalf("a reused name got the old account's id %q", w.erinNew.ID)
	}
	e.rec.take()
	return w
}

// latest returns the newest message of conversation id in alice's copy.
func (w *world) latest(t *testing.T, id string) string {
	t.Helper()
	msgs, _, err := w.app.History(w.ctx, w.alice, id, "", 1)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("history of %s: %v", id, err)
	}
	return msgs[len(msgs)-1].ID
}

// useCase is one operation on a conversation by a caller.
type useCase struct {
	name string
	// run does it as me on conversation id; mid is a message alice sent there.
	run func(w *world, me chat.Account, id, mid string) error
	// kinds limits it to some conversation kinds (nil: all).
	kinds []string
}

var useCases = []useCase{
	{name: "resolve", run: func(w *world, me chat.Account, id, _ string) error {
		_, err := w.app.Resolve(w.ctx, me, id)
		return err
	}},
	{name: "conversation", run: func(w *world, me chat.Account, id, _ string) error {
		_, err := w.app.Conversation(w.ctx, me, id)
		return err
	}},
	{name: "members", run: func(w *world, me chat.Account, id, _ string) error {
		_, err := w.app.Members(w.ctx, me, id)
		return err
	}},
	{name: "history", run: func(w *world, me chat.Account, id, _ string) error {
		_, _, err := w.app.History(w.ctx, me, id, "", 50)
		return err
	}},
	{name: "post", run: func(w *world, me chat.Account, id, _ string) error {
		_, err := w.app.Post(w.ctx, me, id, "a post", "", nil)
		return err
	}},
	{name: "reply in thread", run: func(w *world, me chat.Account, id, mid string) error {
		_, err := w.app.Post(w.ctx, me, id, "a reply", mid, nil)
		return err
	}},
	{name: "post file", run: func(w *world, me chat.Account, id, _ string) error {
		f, err := w.app.UploadTemp()
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		f.WriteString("some notes")
		f.Close()
		_, err = w.app.PostFile(w.ctx, me, id, "notes.txt", f.Name(), "")
		return err
	}},
	{name: "edit", run: func(w *world, me chat.Account, id, mid string) error {
		_, err := w.app.Edit(w.ctx, me, id, mid, "edited")
		return err
	}},
	{name: "react", run: func(w *world, me chat.Account, id, mid string) error {
		return w.app.React(w.ctx, me, id, mid, "👍", true)
	}},
	{name: "unreact", run: func(w *world, me chat.Account, id, mid string) error {
		return w.app.React(w.ctx, me, id, mid, "👍", false)
	}},
	{name: "mark unread", run: func(w *world, me chat.Account, id, mid string) error {
		_, err := w.app.MarkUnread(w.ctx, me, id, mid)
		return err
	}},
	{name: "thread", run: func(w *world, me chat.Account, id, mid string) error {
		_, _, err := w.app.Thread(w.ctx, me, id, mid)
		return err
	}},
	{name: "notification prefs", run: func(w *world, me chat.Account, id, _ string) error {
		_, err := w.app.SetConversationPrefs(w.ctx, me, id, chat.ConversationPrefs{Muted: true})
		return err
	}},
	{name: "mark read", run: func(w *world, me chat.Account, id, mid string) error { return w.app.MarkRead(w.ctx, me, id, mid) }},
	{name: "receipts", run: func(w *world, me chat.Account, id, _ string) error {
		_, err := w.app.Receipts(w.ctx, me, id)
		return err
	}},
	{name: "typing", run: func(w *world, me chat.Account, id, _ string) error { return w.app.Typing(w.ctx, me, id) }},
	{name: "call join", run: func(w *world, me chat.Account, id, _ string) error {
		return w.app.CallSignal(w.ctx, me, "conn-1", id, "join", nil, "", "")
	}},
	{name: "call leave", run: func(w *world, me chat.Account, id, _ string) error {
		return w.app.CallSignal(w.ctx, me, "conn-1", id, "leave", nil, "", "")
	}},
	{name: "delete", run: func(w *world, me chat.Account, id, mid string) error { return w.app.Delete(w.ctx, me, id, mid) }},
	{name: "invite", kinds: []string{"private"}, run: func(w *world, me chat.Account, id, _ string) error {
		return w.app.Invite(w.ctx, me, id, "dave")
	}},
	{name: "leave", kinds: []string{"private"}, run: func(w *world, me chat.Account, id, _ string) error {
		return w.app.Leave(w.ctx, me, id)
	}},
}

// TestAccess_Matrix runs every use-case on every conversation kind as a member, a
// non-member, the deleted account, the new account that reused its name, and an anonymous
// caller. Anything a caller may not see is ENotFound, exactly as if it did not exist.
func TestAccess_Matrix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	callers := []struct {
		name string
		acct chat.Account
		// want per conversation kind
		want map[string]string
	}{
		{"non-member", w.dave, map[string]string{"channel": "ok", "private": chat.ENotFound, "dm": chat.ENotFound, "group": chat.ENotFound}},
		{"deleted account", w.erinOld, map[string]string{"channel": chat.ENotFound, "private": chat.ENotFound, "dm": chat.ENotFound, "group": chat.ENotFound}},
		{"reused name", w.erinNew, map[string]string{"channel": "ok", "private": chat.ENotFound, "dm": chat.ENotFound, "group": chat.ENotFound}},
		{"anonymous", chat.Account{}, map[string]string{"channel": chat.EUnauthorized, "private": chat.EUnauthorized, "dm": chat.EUnauthorized, "group": chat.EUnauthorized}},
	}
	kinds := []string{"channel", "private", "dm", "group"}
	for _, uc := range useCases {
		for _, kind := range kinds {
			if uc.kinds != nil && !slices.Contains(uc.kinds, kind) {
				continue
			}
			id := w.convs[kind]
			for _, c := range callers {
				want := c.want[kind]
				if want == "ok" && (uc.name == "edit" || uc.name == "delete") {
					// alice's message is not theirs: as if it did not exist.
					want = chat.ENotFound
				}
				if want == "ok" && uc.name == "leave" {
					want = chat.EInvalid // only private channels can be left
				}
				w.rec.take()
				err := uc.run(w, c.acct, id, w.own[id])
				if got := codeOf(err); got != want {
					t.Errorf("%s %s by %s: %s (%v), want %s", uc.name, kind, c.name, got, err, want)
				}
				if want != "ok" {
					if evs := w.rec.take(); len(evs) > 0 {
						t.Errorf("%s %s by %s failed but published %s", uc.name, kind, c.name, evs[0].ev.EventType())
					}
				}
			}
		}
	}
	// The member: everything works (leave last, it takes alice out).
	for _, uc := range useCases {
		for _, kind := range kinds {
			if uc.kinds != nil && !slices.Contains(uc.kinds, kind) {
				continue
			}
			id := w.convs[kind]
			mid := w.latest(t, id)
			if uc.name == "edit" || uc.name == "delete" || uc.name == "react" || uc.name == "reply in thread" {
				mid = w.own[id]
			}
			if uc.name == "delete" {
				// Delete one of alice's own messages that nothing else uses.
				mid = must(w.app.Post(w.ctx, w.alice, id, "to delete", "", nil)).ID
			}
			if err := uc.run(w, w.alice, id, mid); err != nil {
				t.Errorf("%s %s by a member: %v", uc.name, kind, err)
			}
		}
	}
}

func TestAccess_RemovedChannelAndMalformedIDs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.settings.set(func(s *chat.Settings) { s.Channels = []string{"random"} })
	for _, id := range []string{"c:general", "c:nope", "p:notachannel0000", "d:bob,zed", "d:bob,alice", "x:1", "", "d:alice,alice"} {
		for _, uc := range useCases {
			if err := uc.run(w, w.alice, id, w.own[id]); codeOf(err) != chat.ENotFound && codeOf(err) != chat.EInvalid {
				t.Errorf("%s on %q: %v, want not found", uc.name, id, err)
			}
		}
	}
}

func TestResolve_MadeUpDirectConversation(t *testing.T) {
	t.Parallel()
	// A DM id naming an account that never existed is the caller's own, and harmless: nobody
	// else receives anything, and nothing can be sent there.
	w := newWorld(t)
	c, err := w.app.Resolve(w.ctx, w.alice, "d:alice,zed")
	if err != nil || len(c.Recipients) != 1 || c.Recipients[0] != w.alice || !c.ReadOnly {
		t.Errorf("Resolve(d:alice,zed) = %+v, %v; want alice alone, read-only", c, err)
	}
	if _, err := w.app.Post(w.ctx, w.alice, "d:alice,zed", "hello?", "", nil); codeOf(err) != chat.EForbidden {
		t.Errorf("post to a made-up DM: %v, want forbidden", err)
	}
}

func TestResolve_Recipients(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	names := func(accts []chat.Account) string {
		var out []string
		for _, a := range accts {
			out = append(out, a.ID)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	tests := []struct {
		kind, recipients string
		departed         int
	}{
		{"channel", "alice,bob,dave,erin~2", 0},
		{"private", "alice,bob", 0}, // the deletion removed erin's membership
		{"dm", "alice,bob", 0},
		{"group", "alice,bob", 1},
	}
	for _, tt := range tests {
		c, err := w.app.Resolve(w.ctx, w.alice, w.convs[tt.kind])
		if err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		if got := names(c.Recipients); got != tt.recipients || c.Departed != tt.departed {
			t.Errorf("%s: recipients %s, departed %d; want %s, %d", tt.kind, got, c.Departed, tt.recipients, tt.departed)
		}
		// A post reaches exactly the recipients, live.
		w.rec.take()
		must(w.app.Post(w.ctx, w.alice, c.ID, "to everyone here", "", nil))
		got, _ := recipientsOf(w.rec.take(), "message.new")
		if strings.Join(got, ",") != tt.recipients {
			t.Errorf("%s: message.new went to %v, want %s", tt.kind, got, tt.recipients)
		}
		// Typing goes to the others only.
		if err := w.app.Typing(w.ctx, w.alice, c.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = recipientsOf(w.rec.take(), "typing")
		if slices.Contains(got, w.alice.ID) {
			t.Errorf("%s: alice was told she is typing", tt.kind)
		}
	}
	// The group DM shows who has left.
	c := must(w.app.Conversation(w.ctx, w.bob, w.convs["group"]))
	if c.Name != "alice, Deleted User" || c.Departed != 1 || c.ReadOnly {
		t.Errorf("bob's group DM = %+v, want named alice, Deleted User, one departed, writable", c)
	}
}

func TestResolve_ReadOnlyDirectConversations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.mustAccount(t, "alice"), e.mustAccount(t, "bob")
	dm := must(e.app.OpenDM(e.ctx, alice, []string{"bob"}))
	if err := e.app.DeleteAccount(e.ctx, "bob", "hard"); err != nil {
		t.Fatal(err)
	}
	c := must(e.app.Conversation(e.ctx, alice, dm.ID))
	if !c.ReadOnly || c.Name != "Deleted User" {
		t.Errorf("DM with a deleted account = %+v, want read-only, named Deleted User", c)
	}
	if _, err := e.app.Post(e.ctx, alice, dm.ID, "anyone?", "", nil); codeOf(err) != chat.EForbidden {
		t.Errorf("post to a DM whose other member is gone: %v, want forbidden", err)
	}
	// The system's notices cannot be answered either.
	if _, _, err := e.app.IssueResetLink(e.ctx, "alice", 60e9, ""); err != nil {
		t.Fatal(err)
	}
	sys, _ := chat.DMID([]string{chat.SystemUser, alice.ID})
	if _, err := e.app.Post(e.ctx, alice, sys, "thanks", "", nil); codeOf(err) != chat.EForbidden {
		t.Errorf("reply to the system DM: %v, want forbidden", err)
	}
	_ = bob
}

func TestAccounts_Lifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, user, pw, want string
	}{
		{"valid", "alice", "alice-password", "ok"},
		{"taken", "alice", "other-password", chat.EConflict},
		{"bad name", "Alice!", "alice-password", chat.EInvalid},
		{"reserved", "system", "system-password", chat.EInvalid},
		{"short password", "bob", "short", chat.EInvalid},
		{"long password", "bob", strings.Repeat("x", chat.MaxPasswordBytes+1), chat.EInvalid},
	}
	for _, tt := range tests {
		_, err := e.app.CreateAccount(e.ctx, tt.user, tt.pw)
		if got := codeOf(err); got != tt.want {
			t.Errorf("%s: CreateAccount(%q) = %s (%v), want %s", tt.name, tt.user, got, err, tt.want)
		}
	}
	e.settings.set(func(s *chat.Settings) { s.Registration = "closed" })
	if _, err := e.app.Register(e.ctx, "bob", "bob-password"); codeOf(err) != chat.EForbidden {
		t.Errorf("Register while closed: %v, want forbidden", err)
	}
	bob := must(e.app.CreateAccount(e.ctx, "bob", "bob-password")) // the admin can
	e.settings.set(func(s *chat.Settings) { s.Registration = "open" })

	for _, c := range []struct{ user, pw, want string }{
		{"bob", "bob-password", "ok"}, {"bob", "wrong-password", chat.EUnauthorized}, {"nobody", "bob-password", chat.EUnauthorized},
	} {
		if _, err := e.app.Login(e.ctx, c.user, c.pw); codeOf(err) != c.want {
			t.Errorf("Login(%s, %s) = %v, want %s", c.user, c.pw, err, c.want)
		}
	}

	// Sessions belong to the account.
	hash := e.session(t, bob.Account())
	if got := must(e.app.Authenticate(e.ctx, hash)); got != bob.Account() {
		t.Errorf("Authenticate = %+v, want bob", got)
	}
	if err := e.app.ChangePassword(e.ctx, bob.Account(), hash, "wrong-password", "new-password"); codeOf(err) != chat.EForbidden {
		t.Errorf("ChangePassword with a wrong current password: %v, want forbidden", err)
	}
	if err := e.app.ChangePassword(e.ctx, bob.Account(), hash, "bob-password", "new-password"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.rec.closes(), "user:bob/"+hash) {
		t.Errorf("a password change did not close bob's other connections: %v", e.rec.closes())
	}

	// A reset link works once, and only for its account.
	link, _, err := e.app.IssueResetLink(e.ctx, "bob", 60e9, "https://chat.example.com/")
	if err != nil || !strings.HasPrefix(link, "https://chat.example.com/reset?token=") {
		t.Fatalf("IssueResetLink = %q, %v", link, err)
	}
	token := link[strings.Index(link, "token=")+6:]
	if err := e.app.ResetPassword(e.ctx, token, "reset-password"); err != nil {
		t.Fatal(err)
	}
	if err := e.app.ResetPassword(e.ctx, token, "again-password"); codeOf(err) != chat.EInvalid {
		t.Errorf("a used reset link: %v, want invalid", err)
	}
	if _, err := e.app.Authenticate(e.ctx, hash); codeOf(err) != chat.EUnauthorized {
		t.Errorf("bob's session after a reset: %v, want unauthorized", err)
	}

	// Deletion, then the name again: a new account, with none of the old one's sessions or links.
	hash = e.session(t, bob.Account())
	link, _, _ = e.app.IssueResetLink(e.ctx, "bob", 60e9, "")
	if !strings.HasPrefix(link, "https://127.0.0.1:5000/reset?token=") {
		t.Errorf("reset link on the default base = %q", link)
	}
	e.rec.take()
	if err := e.app.DeleteOwnAccount(e.ctx, bob.Account(), "wrong-password", "soft"); codeOf(err) != chat.EForbidden {
		t.Errorf("DeleteOwnAccount with a wrong password: %v, want forbidden", err)
	}
	if err := e.app.DeleteOwnAccount(e.ctx, bob.Account(), "reset-password", "soft"); err != nil {
		t.Fatal(err)
	}
	if to, ok := recipientsOf(e.rec.take(), "user.deleted"); !ok || !slices.Contains(to, "alice") {
		t.Errorf("user.deleted went to %v, want everyone", to)
	}
	if cl := e.rec.closes(); !slices.Contains(cl, "user:bob/") || !slices.Contains(cl, "forget:bob") {
		t.Errorf("deletion closed %v, want bob's connections and events", cl)
	}
	bob2 := must(e.app.CreateAccount(e.ctx, "bob", "bob2-password"))
	if bob2.ID != "bob~2" {
		t.Errorf("the second bob's id = %q, want bob~2", bob2.ID)
	}
	if _, err := e.app.Authenticate(e.ctx, hash); codeOf(err) != chat.EUnauthorized {
		t.Errorf("the first bob's session is a session of the second: %v", err)
	}
	if err := e.app.ResetPassword(e.ctx, link[strings.Index(link, "token=")+6:], "hijack-password"); codeOf(err) != chat.EInvalid {
		t.Errorf("the first bob's reset link works for the second: %v", err)
	}
	if _, err := e.app.Me(e.ctx, bob.Account()); codeOf(err) != chat.ENotFound {
		t.Errorf("Me of the deleted bob: %v, want not found", err)
	}
}

func TestChannels_SettingsChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	e.mustAccount(t, "bob")
	e.rec.take()
	s := e.settings.set(func(s *chat.Settings) { s.Channels = []string{"random"} })
	e.app.SettingsChanged(s)
	evs := e.rec.take()
	var types []string
	for _, p := range evs {
		types = append(types, p.ev.EventType())
		if len(p.to) != 2 {
			t.Errorf("%s went to %v, want both accounts", p.ev.EventType(), p.to)
		}
	}
	if strings.Join(types, " ") != "conversation.removed conversation channels" {
		t.Errorf("events = %v", types)
	}
	if _, _, err := e.app.History(e.ctx, alice, "c:general", "", 10); codeOf(err) != chat.ENotFound {
		t.Errorf("history of a removed channel: %v, want not found", err)
	}
	if _, err := e.app.Post(e.ctx, alice, "c:random", "first", "", nil); err != nil {
		t.Errorf("post to an added channel: %v", err)
	}
}

func TestPrivateChannels_Membership(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob, carol := e.mustAccount(t, "alice"), e.mustAccount(t, "bob"), e.mustAccount(t, "carol")
	if _, err := e.app.CreatePrivateChannel(e.ctx, alice, "Launch Plans", nil); codeOf(err) != chat.EInvalid {
		t.Errorf("a private channel named with capitals and a space: %v, want invalid", err)
	}
	if _, err := e.app.CreatePrivateChannel(e.ctx, alice, "launch", []string{"zed"}); codeOf(err) != chat.EInvalid {
		t.Errorf("a private channel with an unknown member: %v, want invalid", err)
	}
	pc := must(e.app.CreatePrivateChannel(e.ctx, alice, "launch", []string{"bob"}))
	if err := e.app.Invite(e.ctx, bob, pc.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Invite(e.ctx, bob, pc.ID, "carol"); codeOf(err) != chat.EConflict {
		t.Errorf("inviting a member again: %v, want conflict", err)
	}
	e.rec.take()
	if err := e.app.Leave(e.ctx, carol, pc.ID); err != nil {
		t.Fatal(err)
	}
	evs := e.rec.take()
	if to, _ := recipientsOf(evs, "conversation.removed"); fmt.Sprint(to) != "[carol]" {
		t.Errorf("conversation.removed went to %v, want carol", to)
	}
	if to, _ := recipientsOf(evs, "conversation"); fmt.Sprint(to) != "[alice bob]" {
		t.Errorf("the changed channel went to %v, want alice and bob", to)
	}
	if _, err := e.app.Resolve(e.ctx, carol, pc.ID); codeOf(err) != chat.ENotFound {
		t.Errorf("carol after leaving: %v, want not found", err)
	}
}
