//go:build linux

package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minimost/minimost/e2e/lazyfs"
)

// plDefaultCycles is how many power cuts TestDurability_PowerLoss makes by default (the
// issue's full run: about 35 s on a 2-core machine); MINIMOST_POWERLOSS_CYCLES=N asks for N.
const plDefaultCycles = 20

// plCycleAcks is how many operations a cycle has acknowledged before the kill point arms.
const plCycleAcks = 150

// TestDurability_PowerLoss runs the minimostd binary on a lazyfs mount (e2e/lazyfs, served by
// a lazyfsd process: what is not fsynced lives in memory only) and, cycle after cycle, puts it
// under write load, SIGKILLs it right after an acknowledgement, cuts the power (every write not
// fsynced is dropped, and the creations, removals and renames not followed by a directory
// fsync are undone), mounts the file system again and restarts the daemon on what survived.
// After each restart it checks, with the real sqlite3, every operation acknowledged so far:
//
//   - every acknowledged message is in the users/<name>.db of every member it was sent to
//     (the temporary accounts too, while they exist);
//
//   - a message whose deletion was acknowledged is deleted (deleted=1, no text) in every copy,
//     and a copy seen deleted once stays deleted;
//
//   - an acknowledged edit is in every copy that is not deleted, and nothing else changed;
//
//   - an account whose hard deletion was acknowledged is gone, with its users/<name>.db and
//     every message it sent, from every database, for good; an account that exists has its
//     users/<name>.db;
//
//   - the API still serves the newest acknowledged message, and minimostctl integrity-check
//     passes.
//
//   - a new account whose registration was acknowledged has the recent c:general history that
//     was copied to it at registration (the copy is synced before the answer).
//
// The load: alice and dave post to c:general, bob to d:alice,bob, carol to d:carol,dave, each
// deleting (DELETE …/messages/{id}) and editing some of their own messages. Each cycle an
// account tmpN registers during the load, posts to c:general and d:alice,tmpN, and deletes
// itself (hard); an account whose deletion a kill interrupted is deleted in the next cycle.
// The kill comes right after, in turn: a post, a message deletion, the account deletion (made
// on an idle daemon: the posters wait and the journal is empty), an edit, the registration.
// MINIMOST_POWERLOSS_CYCLES sets the number of cycles (default plDefaultCycles).
func TestDurability_PowerLoss(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	cycles := plDefaultCycles
	if v := os.Getenv("MINIMOST_POWERLOSS_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MINIMOST_POWERLOSS_CYCLES=%q: want a positive number", v)
		}
		cycles = n
	}
	backing, mnt := t.TempDir(), t.TempDir()
	// Written before the first mount: the backing directory is what the "disk" holds.
	if err := os.WriteFile(filepath.Join(backing, "settings.json"), []byte(`{"channels": ["general"], "posts_per_minute": 0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &plWorld{t: t, backing: backing, mnt: mnt, msgs: map[string]*plMsg{}, gone: map[string]bool{}, live: map[string]bool{}, registered: map[string]bool{}, backfill: map[string]*plMsg{}, noted: map[string]bool{}}
	w.mount()
	start := time.Now()
	w.d = StartProcessIn(t, mnt, "-auth-burst", "100000")
	for _, u := range plUsers {
		w.d.CreateUser(u, u+"-password")
	}
	var pending []string // tmp accounts whose deletion was not acknowledged yet
	for cycle := 1; cycle <= cycles; cycle++ {
		kill := plKillPoints[(cycle-1)%len(plKillPoints)]
		cs := w.runCycle(cycle, kill, &pending)
		cut, err := w.fs.PowerCut()
		if err != nil {
			t.Fatalf("cycle %d: power cut: %v", cycle, err)
		}
		w.mount()
		w.d.Start()
		checked := w.check(cycle)
		t.Logf("cycle %d: killed right after %s (%d acknowledged this cycle: %s); the cut dropped %d KiB of %d files and undid %d metadata operations; %d messages checked in every copy",
			cycle, kill, cs.acks, cs.summary(), cut.PendingBytes/1024, cut.PendingFiles, cut.PendingMeta, checked)
		if testing.Verbose() && len(cut.DroppedFiles) > 0 {
			t.Logf("cycle %d: unsynced data dropped in %s; metadata undone: %v", cycle, strings.Join(cut.DroppedFiles, " "), cut.UndoneMetaOps)
		}
		if t.Failed() {
			t.Fatalf("stopping after cycle %d: the daemon's log since the restart:\n%s", cycle, w.d.Log.String())
		}
	}
	var posts, deletes, edits int
	for _, m := range w.msgs {
		posts++
		if m.deleteAcked {
			deletes++
		}
		if m.editAcked {
			edits++
		}
	}
	t.Logf("%d power cuts in %v: %d acknowledged messages, %d deletions, %d edits and %d hard account deletions held",
		cycles, time.Since(start).Round(time.Millisecond), posts, deletes, edits, len(w.gone))
	if posts < cycles*plCycleAcks/2 {
		t.Fatalf("only %d messages acknowledged in %d cycles: the test did not load the daemon", posts, cycles)
	}
}

// plUsers are the accounts that live through the whole test.
var plUsers = []string{"alice", "bob", "carol", "dave"}

// plKillPoints are the acknowledgements a cycle's kill comes right after, in turn.
var plKillPoints = []string{"post", "delete", "account deletion", "edit", "registration"}

// plMsg is an acknowledged message and what was done to it since.
type plMsg struct {
	id, conv, sender, body string
	recipients             []string // the accounts it was sent to (temporary ones while they last)
	editBody               string
	editSent, editAcked    bool
	deleteSent             bool
	deleteAcked            bool
	seenDeleted            bool // a check found it deleted: it must stay so
	cycle                  int
}

type plWorld struct {
	t            *testing.T
	backing, mnt string
	fs           *lazyfs.Process
	d            *Daemon

	mu   sync.Mutex
	msgs map[string]*plMsg // by id
	gone map[string]bool   // accounts whose hard deletion was acknowledged
	// live are the temporary accounts whose registration was acknowledged and whose deletion
	// has not been asked for: members of c:general.
	live       map[string]bool
	registered map[string]bool // temporary accounts whose registration was acknowledged
	// backfill is, per temporary account, a message of c:general its registration copied to
	// its database (the channel's recent history).
	backfill map[string]*plMsg
	noted    map[string]bool // backfill losses already noted

	// quiet is held shared by every poster's step, and exclusively while an account is
	// deleted on an idle daemon.
	quiet sync.RWMutex
}

// plServerOnce builds the lazyfsd command once per test binary, next to minimostd.
var plServerOnce = sync.OnceValues(func() (string, error) { return lazyfs.BuildServer(binDir) })

// mount mounts the lazy file system of the backing directory (again), served by a lazyfsd
// process (this process forks children into the mount: it must not serve it itself). It
// skips the test loudly when FUSE cannot be mounted here, or fails under MINIMOST_E2E=required.
func (w *plWorld) mount() {
	w.t.Helper()
	bin, err := plServerOnce()
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := lazyfs.Start(bin, w.backing, w.mnt, lazyfs.Options{DropUnsyncedMetadata: true})
	if err != nil {
		msg := fmt.Sprintf("*** cannot mount the lazyfs FUSE file system (needs /dev/fuse and CAP_SYS_ADMIN or fusermount): %v ***", err)
		if os.Getenv("MINIMOST_E2E") == "required" {
			w.t.Fatal(msg + " and MINIMOST_E2E=required")
		}
		fmt.Fprintln(os.Stderr, "SKIP:", w.t.Name(), msg)
		w.t.Skip(msg)
	}
	w.fs = p
	// Cleanups run last first: this one runs before the Stop that StartProcessIn registers, so
	// it stops the daemon itself, then unmounts.
	w.t.Cleanup(func() {
		if w.d != nil {
			w.d.Stop()
		}
		if err := p.Unmount(); err != nil {
			w.t.Errorf("unmount the lazyfs: %v", err)
		}
	})
}

// plCycle counts what a cycle got acknowledged.
type plCycle struct {
	mu                             sync.Mutex
	acks, posts, deletes, edits    int
	accountCreated, accountDeleted bool
}

func (c *plCycle) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf("%d posts, %d deletions, %d edits", c.posts, c.deletes, c.edits)
	if c.accountCreated {
		s += ", 1 registration"
	}
	if c.accountDeleted {
		s += ", 1 hard account deletion"
	}
	return s
}

// plKiller SIGKILLs the daemon once, right after the first acknowledgement of its kind that
// comes once the cycle has plCycleAcks acknowledgements.
type plKiller struct {
	w      *plWorld
	kind   string
	cs     *plCycle
	once   sync.Once
	killed chan struct{}
}

// ack records an acknowledgement of kind and kills the daemon if it is the one.
func (k *plKiller) ack(kind string) {
	k.cs.mu.Lock()
	k.cs.acks++
	switch kind {
	case "post":
		k.cs.posts++
	case "delete":
		k.cs.deletes++
	case "edit":
		k.cs.edits++
	case "account deletion", "account deletion under load":
		k.cs.accountDeleted = true
	case "registration":
		k.cs.accountCreated = true
	}
	// An account is registered and deleted once a cycle: the kill comes right after that.
	fire := kind == k.kind && (k.cs.acks >= plCycleAcks || kind == "account deletion" || kind == "registration")
	k.cs.mu.Unlock()
	if fire {
		k.kill()
	}
}

func (k *plKiller) kill() {
	k.once.Do(func() {
		defer close(k.killed)
		k.w.d.Kill()
	})
}

func (k *plKiller) dead() bool {
	select {
	case <-k.killed:
		return true
	default:
		return false
	}
}

// runCycle loads the daemon until the kill, and returns what was acknowledged.
func (w *plWorld) runCycle(cycle int, kind string, pending *[]string) *plCycle {
	t := w.t
	cs := &plCycle{}
	k := &plKiller{w: w, kind: kind, cs: cs, killed: make(chan struct{})}
	clients := map[string]*Client{}
	for _, u := range plUsers {
		c := w.d.NewClient()
		c.Login(u, u+"-password")
		clients[u] = c
	}
	// This cycle's account, registered during the load, and the earlier ones whose deletion
	// a kill interrupted or prevented: still there, they are deleted again now.
	tmp := w.d.NewClient()
	tmp.User = fmt.Sprintf("tmp%d", cycle)
	tmp.Raw("GET", "/api/csrf", "", nil) // the CSRF cookie, for rawNoFail
	var tmps []*Client
	for _, name := range *pending {
		if w.accountExists(name) {
			c := w.d.NewClient()
			c.Login(name, name+"-password")
			tmps = append(tmps, c)
		}
	}
	*pending = nil

	var wg sync.WaitGroup
	// The permanent posters.
	for _, p := range []struct{ user, conv string }{
		{"alice", "c:general"}, {"dave", "c:general"}, {"bob", "d:alice,bob"}, {"carol", "d:carol,dave"},
	} {
		wg.Go(func() { w.poster(cycle, k, clients[p.user], p.conv) })
	}
	// The temporary accounts: a few messages, then a hard deletion, once the load is on.
	for _, c := range tmps {
		wg.Go(func() { w.tmpAccount(cycle, k, c, false, false) })
	}
	wg.Go(func() { w.tmpAccount(cycle, k, tmp, true, kind == "account deletion") })
	// Whatever the kind, the cycle ends: a kind that does not come (say, every edit failed)
	// must not leave the load running for ever.
	deadline := time.AfterFunc(waitTimeout, func() {
		cs.mu.Lock()
		acks := cs.acks
		cs.mu.Unlock()
		t.Errorf("cycle %d: no %q acknowledgement after %d acknowledgements within %v; killing anyway", cycle, kind, acks, waitTimeout)
		k.kill()
	})
	<-k.killed
	deadline.Stop()
	wg.Wait()
	for _, c := range append(tmps, tmp) {
		if !w.gone[c.User] {
			*pending = append(*pending, c.User)
		}
	}
	return cs
}

// plRecipients returns the permanent accounts a message to conv reaches.
func plRecipients(conv string) []string {
	if conv == "c:general" {
		return slices.Clone(plUsers)
	}
	var out []string
	for _, u := range strings.Split(strings.TrimPrefix(conv, "d:"), ",") {
		if slices.Contains(plUsers, u) {
			out = append(out, u)
		}
	}
	return out
}

// poster posts to conv until the kill; every 5th message it deletes one of its earlier
// messages, every 7th it edits one.
func (w *plWorld) poster(cycle int, k *plKiller, c *Client, conv string) {
	var mine []*plMsg // this cycle's, acknowledged
	step := func(n int) bool {
		w.quiet.RLock()
		defer w.quiet.RUnlock()
		m, ok := w.post(cycle, c, conv, fmt.Sprintf("c%d %s %d", cycle, c.User, n))
		if !ok {
			return false
		}
		mine = append(mine, m)
		k.ack("post")
		if n%5 == 4 && !w.deleteOne(k, c, mine, n) {
			return false
		}
		if n%7 == 6 && !w.editOne(k, c, mine, n) {
			return false
		}
		return true
	}
	for n := 0; !k.dead() && step(n); n++ {
	}
}

// liveNow returns the temporary accounts that are members of c:general now.
func (w *plWorld) liveNow() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]bool{}
	for u := range w.live {
		out[u] = true
	}
	return out
}

// post sends a message and records it once acknowledged. A message to c:general is sent to
// the temporary accounts registered before it was sent and not asked to be deleted before
// it was acknowledged.
func (w *plWorld) post(cycle int, c *Client, conv, body string) (*plMsg, bool) {
	before := w.liveNow()
	r := c.rawNoFail("POST", ConvPath(conv, "/messages"), map[string]string{"body": body})
	if r.Status != 201 {
		return nil, false
	}
	var out struct{ Message Message }
	if err := json.Unmarshal(r.Body, &out); err != nil || out.Message.ID == "" {
		return nil, false
	}
	m := &plMsg{id: out.Message.ID, conv: conv, sender: c.User, body: body, recipients: plRecipients(conv), cycle: cycle}
	w.mu.Lock()
	if conv == "c:general" {
		for u := range before {
			if w.live[u] {
				m.recipients = append(m.recipients, u)
			}
		}
	}
	w.msgs[m.id] = m
	w.mu.Unlock()
	return m, true
}

// deleteOne deletes a message of mine that is neither deleted nor being deleted (picked by
// n); false once the daemon is gone.
func (w *plWorld) deleteOne(k *plKiller, c *Client, mine []*plMsg, n int) bool {
	var m *plMsg
	w.mu.Lock()
	for i := range mine {
		cand := mine[(n*31+i)%len(mine)]
		if !cand.deleteSent {
			m = cand
			m.deleteSent = true
			break
		}
	}
	w.mu.Unlock()
	if m == nil {
		return true
	}
	r := c.rawNoFail("DELETE", ConvPath(m.conv, "/messages/"+m.id), nil)
	if r.Status != 204 {
		return false
	}
	w.mu.Lock()
	m.deleteAcked = true
	w.mu.Unlock()
	k.ack("delete")
	return true
}

// editOne edits a message of mine that is not deleted, not being deleted and not edited yet.
func (w *plWorld) editOne(k *plKiller, c *Client, mine []*plMsg, n int) bool {
	var m *plMsg
	w.mu.Lock()
	for i := range mine {
		cand := mine[(n*17+i)%len(mine)]
		if !cand.deleteSent && !cand.editSent {
			m = cand
			m.editSent = true
			m.editBody = m.body + " (edited)"
			break
		}
	}
	w.mu.Unlock()
	if m == nil {
		return true
	}
	r := c.rawNoFail("PATCH", ConvPath(m.conv, "/messages/"+m.id), map[string]string{"body": m.editBody})
	if r.Status != 200 {
		return false
	}
	w.mu.Lock()
	m.editAcked = true
	w.mu.Unlock()
	k.ack("edit")
	return true
}

// tmpAccount registers a temporary account (register) once the load is on, posts a few
// messages as it, then deletes it (hard). With quiet, the deletion is made on an idle daemon
// (the posters wait, the journal is empty): the kill of an "account deletion" cycle comes
// right after it; otherwise it is made under load.
func (w *plWorld) tmpAccount(cycle int, k *plKiller, c *Client, register, quiet bool) {
	ok := poll(waitTimeout, func() bool {
		k.cs.mu.Lock()
		defer k.cs.mu.Unlock()
		return k.dead() || k.cs.acks >= plCycleAcks/3
	})
	if !ok || k.dead() {
		return
	}
	if register {
		// The newest message of c:general acknowledged before the registration, not being
		// deleted: the history copied to the new account has it.
		var anchor *plMsg
		w.mu.Lock()
		for _, m := range w.msgs {
			if m.conv == "c:general" && slices.Contains(plUsers, m.sender) && !m.deleteSent && (anchor == nil || m.id > anchor.id) {
				anchor = m
			}
		}
		w.mu.Unlock()
		r := c.rawNoFail("POST", "/api/register", map[string]string{"username": c.User, "password": c.User + "-password"})
		if r.Status != 201 {
			return
		}
		w.mu.Lock()
		w.live[c.User] = true
		w.registered[c.User] = true
		if anchor != nil {
			w.backfill[c.User] = anchor
		}
		w.mu.Unlock()
		k.ack("registration")
	}
	dm := "d:alice," + c.User
	for i := range 6 {
		if k.dead() {
			return
		}
		conv := "c:general"
		if i%2 == 1 {
			conv = dm
		}
		if _, ok := w.post(cycle, c, conv, fmt.Sprintf("c%d %s %d", cycle, c.User, i)); !ok {
			return
		}
		k.ack("post")
	}
	kind := "account deletion under load"
	if quiet {
		kind = "account deletion"
		w.quiet.Lock()
		defer w.quiet.Unlock()
		if !poll(waitTimeout, func() bool { return k.dead() || w.journalRows() == 0 }) {
			w.t.Errorf("cycle %d: the journal did not empty within %v of the load stopping", cycle, waitTimeout)
		}
		if k.dead() {
			return
		}
	}
	w.mu.Lock()
	delete(w.live, c.User)
	w.mu.Unlock()
	r := c.rawNoFail("POST", "/api/me/delete", map[string]string{"password": c.User + "-password", "mode": "hard"})
	if r.Status != 204 {
		return
	}
	w.mu.Lock()
	w.gone[c.User] = true
	w.mu.Unlock()
	k.ack(kind)
}

// journalRows counts presence.db's journal rows (-1 when sqlite3 fails, say as the daemon
// dies).
func (w *plWorld) journalRows() int {
	out, err := exec.Command("sqlite3", w.d.Path("presence.db"), "SELECT COUNT(*) FROM journal;").CombinedOutput()
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return -1
	}
	return n
}

// accountExists reports whether auth.db has the account.
func (w *plWorld) accountExists(name string) bool {
	return w.d.SQLite("auth.db", fmt.Sprintf("SELECT COUNT(*) FROM users WHERE username = '%s';", name)) == "1"
}

// plCopy is a row of a users/<name>.db.
type plCopy struct {
	deleted bool
	body    string
	sender  string
}

// copies reads every message of users/<name>.db with the real sqlite3. A database without
// a messages table (its schema was never synced; the daemon creates it when it opens the
// file) has no messages; ok is then false.
func (w *plWorld) copies(user string) (rows map[string]plCopy, ok bool) {
	rows = map[string]plCopy{}
	// The daemon may be opening the file meanwhile (after a restart it opens the recently
	// active accounts' databases, and recovers a WAL the cut left): wait for its lock, as the
	// administration guide advises for sqlite3 on a running server.
	out, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", w.d.Path("users", user+".db"), "SELECT id, deleted, sender, body FROM messages;").CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "no such table: messages") {
			return rows, false
		}
		w.t.Fatalf("sqlite3 users/%s.db: %v\n%s", user, err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "|", 4)
		if len(f) != 4 {
			w.t.Fatalf("users/%s.db: unexpected row %q", user, line)
		}
		rows[f[0]] = plCopy{deleted: f[1] == "1", sender: f[2], body: f[3]}
	}
	return rows, true
}

// check verifies everything acknowledged so far against what the restarted daemon has, and
// returns how many messages it checked.
func (w *plWorld) check(cycle int) int {
	t := w.t
	w.mu.Lock()
	defer w.mu.Unlock()
	existing := map[string]bool{}
	for _, u := range strings.Fields(w.d.SQLite("auth.db", "SELECT username FROM users;")) {
		existing[u] = true
	}
	for u := range w.gone {
		if existing[u] {
			t.Errorf("cycle %d: account %s is back after the power cut: its hard deletion was acknowledged", cycle, u)
		}
		if _, err := os.Lstat(w.d.Path("users", u+".db")); err == nil {
			t.Errorf("cycle %d: users/%s.db is back after the power cut, although the hard deletion of %s was acknowledged (a removal is durable once its directory is fsynced)", cycle, u, u)
		}
	}
	for u := range existing {
		if _, err := os.Lstat(w.d.Path("users", u+".db")); err != nil {
			t.Errorf("cycle %d: account %s exists (registration acknowledged: %v) but users/%s.db does not: %v", cycle, u, slices.Contains(plUsers, u) || w.registered[u], u, err)
		}
	}
	dbs, err := filepath.Glob(w.d.Path("users", "*.db"))
	if err != nil {
		t.Fatal(err)
	}
	rep := &plReport{t: t, n: map[string]int{}}
	defer rep.flush()
	copies := map[string]map[string]plCopy{}
	for _, p := range dbs {
		u := strings.TrimSuffix(filepath.Base(p), ".db")
		var ok bool
		if copies[u], ok = w.copies(u); !ok {
			t.Logf("cycle %d: users/%s.db has no schema (account exists: %v, registration acknowledged: %v, deletion acknowledged: %v)", cycle, u, existing[u], w.registered[u], w.gone[u])
		}
	}
	// Messages of accounts deleted hard (acknowledged, or finished by the restart): nowhere.
	for u, rows := range copies {
		for id, c := range rows {
			if !existing[c.sender] && strings.HasPrefix(c.sender, "tmp") {
				rep.errorf(u+" resurrected", "cycle %d: users/%s.db has message %s of %s, whose account was deleted hard (deletion acknowledged: %v)", cycle, u, id, c.sender, w.gone[c.sender])
			}
		}
	}
	checked := 0
	for _, m := range w.msgs {
		if !existing[m.sender] {
			continue // a hard-deleted sender: checked above
		}
		checked++
		for _, u := range m.recipients {
			if !existing[u] {
				continue // a temporary account, deleted since
			}
			c, ok := copies[u][m.id]
			where := fmt.Sprintf("cycle %d: users/%s.db, message %s (%q by %s in %s, acknowledged in cycle %d)", cycle, u, m.id, m.body, m.sender, m.conv, m.cycle)
			switch {
			case !ok:
				rep.errorf(u+" missing", "%s: missing after the power cut", where)
				continue
			case m.deleteAcked && (!c.deleted || c.body != ""):
				rep.errorf(u+" deleted", "%s: deleted=%v body=%q, but its deletion was acknowledged", where, c.deleted, c.body)
			case m.seenDeleted && !c.deleted:
				rep.errorf(u+" undeleted", "%s: not deleted any more after the power cut (an earlier check saw it deleted)", where)
			case !m.deleteSent && c.deleted:
				rep.errorf(u+" spurious", "%s: deleted, but nobody deleted it", where)
			case !c.deleted && m.editAcked && c.body != m.editBody:
				rep.errorf(u+" edit", "%s: body %q, but the edit to %q was acknowledged", where, c.body, m.editBody)
			case !c.deleted && !m.editAcked && c.body != m.body && (!m.editSent || c.body != m.editBody):
				rep.errorf(u+" body", "%s: body %q, want %q", where, c.body, m.body)
			}
		}
	}
	// The history a registration copied to the new account survives the cut too.
	for u, m := range w.backfill { // (a message deleted since may have been deleted before the copy)
		if _, ok := copies[u][m.id]; existing[u] && !ok && !m.deleteSent && !w.noted[u] {
			w.noted[u] = true
			t.Errorf("cycle %d: %s's registration was acknowledged, but after the power cut its users/%s.db lacks the c:general history copied to it at registration (message %s %q is missing)", cycle, u, u, m.id, m.body)
		}
	}
	// Once deleted in a copy, deleted for good (an unacknowledged deletion may have been
	// done before the kill; it must not come undone by a later cut).
	for _, m := range w.msgs {
		for _, u := range m.recipients {
			if c, ok := copies[u][m.id]; ok && c.deleted && existing[u] {
				m.seenDeleted = true
			}
		}
	}
	// The read path: alice's newest page of c:general has the newest acknowledged general
	// message (messages sent but not acknowledged before the kill may follow it).
	var newest *plMsg
	for _, m := range w.msgs {
		if m.conv == "c:general" && existing[m.sender] && (newest == nil || m.id > newest.id) {
			newest = m
		}
	}
	if newest != nil {
		a := w.d.NewClient()
		a.Login("alice", "alice-password")
		if !slices.ContainsFunc(a.History("c:general"), func(m Message) bool { return m.ID == newest.id }) {
			t.Errorf("cycle %d: alice's history of c:general does not have the newest acknowledged message %s", cycle, newest.id)
		}
	}
	r := w.d.Ctl("--json", "integrity-check")
	var ic struct {
		Results []struct {
			Path   string `json:"path"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"results"`
		Failed int `json:"failed"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &ic); err != nil || r.Code != 0 || ic.Failed != 0 || len(ic.Results) < 2+len(plUsers) {
		t.Errorf("cycle %d: minimostctl integrity-check: exit %d\n%s%s", cycle, r.Code, r.Stdout, r.Stderr)
	}
	return checked
}

// plReport reports check failures, at most 5 of each kind, then how many more there were.
type plReport struct {
	t *testing.T
	n map[string]int
}

func (r *plReport) errorf(kind, format string, args ...any) {
	r.t.Helper()
	if r.n[kind]++; r.n[kind] <= 5 {
		r.t.Errorf(format, args...)
	}
}

func (r *plReport) flush() {
	r.t.Helper()
	for kind, n := range r.n {
		if n > 5 {
			r.t.Errorf("… and %d more of %q", n-5, kind)
		}
	}
}
