package e2e_test

// The original administration guide's sqlite3 and shell procedures, run verbatim with the
// real sqlite3 shell against a LIVE daemon's files (which must not break it), each
// followed by a check that the daemon still serves.

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// guideSetup starts a daemon with alice, bob and carol, some channel and DM traffic and one
// deleted message. It returns the clients and the visible message count per user.
func guideSetup(t *testing.T) (*Daemon, map[string]*Client, map[string]int) {
	// The guide's procedures run against the real minimostd binary, as an admin would.
	d := StartProcess(t)
	cl := map[string]*Client{}
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
		cl[u] = d.NewClient()
		cl[u].Login(u, u+"-password")
	}
	dm := cl["alice"].Must(200, "POST", "/api/dms", map[string]any{"members": []string{"bob"}}).JSON()["conversation"].(map[string]any)["id"].(string)
	var gone Message
	for i := range 3 {
		gone = cl["alice"].Post("c:general", fmt.Sprintf("alice says %d", i))
	}
	cl["bob"].Post("c:general", "bob says hi")
	cl["bob"].Post("c:general", "bob says bye")
	cl["alice"].Post(dm, "psst bob")
	last := cl["bob"].Post(dm, "psst alice")
	cl["alice"].Must(204, "DELETE", ConvPath("c:general", "/messages/"+gone.ID), nil)
	waitFor(t, "the fan-out", func() bool { return slices.Contains(historyIDs(cl["alice"], dm), last.ID) })
	// general: 5 posted, 1 deleted; the DM: 2 for alice and bob only.
	return d, cl, map[string]int{"alice": 6, "bob": 6, "carol": 4}
}

func TestGuide_SQLiteProcedures(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d, cl, want := guideSetup(t)
	alice := cl["alice"]
	// serves checks that a message posts and every user's history reads; it is visible to all.
	serves := func(t *testing.T, label string) {
		t.Helper()
		stillServes(t, alice.in(t), label, cl["bob"].in(t), cl["carol"].in(t))
		for u := range want {
			want[u]++
		}
	}

	t.Run("count messages per user", func(t *testing.T) {
		d := d.in(t)
		script := `for db in users/*.db; do
    user=$(basename "$db" .db)
    count=$(sqlite3 "$db" "SELECT COUNT(*) FROM messages WHERE deleted=0;")
    echo "$user: $count messages"
done`
		var got string
		wantOut := fmt.Sprintf("alice: %d messages\nbob: %d messages\ncarol: %d messages", want["alice"], want["bob"], want["carol"])
		waitFor(t, "the counts", func() bool { got = d.Shell(script); return got == wantOut })
		if got != wantOut {
			t.Errorf("count loop = %q, want %q", got, wantOut)
		}
		serves(t, "counting")
	})

	t.Run("list users", func(t *testing.T) {
		got := strings.Fields(d.in(t).SQLite("auth.db", "SELECT username FROM users;"))
		slices.Sort(got)
		if want := []string{"alice", "bob", "carol"}; !slices.Equal(got, want) {
			t.Errorf("users = %v, want %v", got, want)
		}
		serves(t, "listing users")
	})

	t.Run("integrity check loop", func(t *testing.T) {
		out := d.in(t).Shell(`sqlite3 auth.db "PRAGMA integrity_check;"
sqlite3 presence.db "PRAGMA integrity_check;"
for db in users/*.db; do
    echo "Checking $db..."
    sqlite3 "$db" "PRAGMA integrity_check;"
done`)
		wantOut := "ok\nok\nChecking users/alice.db...\nok\nChecking users/bob.db...\nok\nChecking users/carol.db...\nok"
		if out != wantOut {
			t.Errorf("integrity loop = %q, want %q", out, wantOut)
		}
		serves(t, "integrity_check")
	})

	t.Run("wal checkpoint", func(t *testing.T) {
		quiesce(t, d.in(t))
		out := d.in(t).SQLite("users/alice.db", "PRAGMA wal_checkpoint(FULL);")
		if f := strings.Split(out, "|"); len(f) != 3 || f[0] != "0" {
			t.Errorf("wal_checkpoint(FULL) = %q, want 0|n|n (not busy)", out)
		}
		serves(t, "wal_checkpoint(FULL)")
	})

	t.Run("vacuum", func(t *testing.T) {
		quiesce(t, d.in(t))
		if out := d.in(t).SQLite("users/alice.db", "VACUUM;"); out != "" {
			t.Errorf("VACUUM said %q", out)
		}
		if got, want := d.in(t).SQLite("users/alice.db", "PRAGMA journal_mode;"), "wal"; got != want {
			t.Errorf("journal_mode after VACUUM = %q, want %q", got, want)
		}
		serves(t, "VACUUM")
	})

	t.Run("hot backup loop", func(t *testing.T) {
		bk := t.TempDir()
		// Copies still queued would be in presence.db's journal (a restore replays it); the
		// count below reads carol's own file.
		copiesWritten(t, d.in(t))
		d.in(t).Shell(fmt.Sprintf(`mkdir -p %[1]s/users
sqlite3 auth.db ".backup %[1]s/auth.db"
sqlite3 presence.db ".backup %[1]s/presence.db"
for db in users/*.db; do
    name=$(basename "$db")
    sqlite3 "$db" ".backup %[1]s/users/$name"
done`, bk))
		for _, db := range []string{"auth.db", "presence.db", "users/alice.db", "users/bob.db", "users/carol.db"} {
			if got, want := sqliteIn(t, bk, db, "PRAGMA integrity_check;"), "ok"; got != want {
				t.Errorf("backup %s integrity_check = %q, want %q", db, got, want)
			}
		}
		if got, want := sqliteIn(t, bk, "users/carol.db", "SELECT COUNT(*) FROM messages WHERE deleted=0;"), fmt.Sprint(want["carol"]); got != want {
			t.Errorf("backup users/carol.db count = %s, want %s", got, want)
		}
		serves(t, ".backup")
	})

	t.Run("disk usage", func(t *testing.T) {
		out := d.in(t).Shell("du -sh users/ uploads/ auth.db presence.db")
		lines := strings.Split(out, "\n")
		if len(lines) != 4 || !strings.HasSuffix(lines[0], "users/") || !strings.HasSuffix(lines[3], "presence.db") {
			t.Errorf("du = %q, want four lines", out)
		}
		serves(t, "du")
	})

	t.Run("purge reset tokens", func(t *testing.T) {
		d := d.in(t)
		d.MustCtl("reset-password", "bob", "--expires", "30")
		want["bob"]++ // the system DM telling bob a reset was requested
		now := time.Now().Unix()
		d.SQLite("auth.db", fmt.Sprintf(`INSERT INTO password_reset_tokens(token_hash, username, created_ts, expires_ts, used)
			VALUES ('x1', 'alice', %d, %d, 0), ('x2', 'carol', %d, %d, 1);`, now-100, now-50, now, now+3600))
		quiesce(t, d)
		d.SQLite("auth.db", "DELETE FROM password_reset_tokens WHERE used = 1 OR expires_ts < unixepoch();")
		if got, want := d.SQLite("auth.db", "SELECT username FROM password_reset_tokens;"), "bob"; got != want {
			t.Errorf("tokens left = %q, want %q", got, want)
		}
		serves(t, "purging tokens")
	})

	t.Run("counts after all", func(t *testing.T) {
		d := d.in(t)
		for u, n := range want {
			waitFor(t, u+"'s count", func() bool { return countVisible(t, d, u) == n })
		}
		if r := d.Ctl("integrity-check"); r.Code != 0 {
			t.Errorf("integrity-check after the procedures: exit %d\n%s", r.Code, r.Stdout)
		}
	})
}

// TestGuide_ManualDeletion runs the guide's "Manual deletion (admin override)" against the
// live daemon: the account must be gone and the daemon keep working.
func TestGuide_ManualDeletion(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d, cl, _ := guideSetup(t)
	carol := cl["carol"]
	carol.Post("c:general", "carol was here")
	carol.Do("POST", "/api/conversations/c%3Ageneral/typing", nil)
	uploadAvatar(t, carol)
	avatar := d.SQLite("auth.db", "SELECT avatar_file FROM user_settings WHERE username = 'carol';")
	if avatar == "" || strings.ContainsAny(avatar, "/ ") {
		t.Fatalf("carol's avatar_file = %q, want a file name", avatar)
	}
	if _, err := os.Stat(d.Path("avatars", avatar)); err != nil {
		t.Fatalf("avatars/%s: %v", avatar, err)
	}
	script := `# 1. Remove credentials and settings
sqlite3 auth.db "DELETE FROM users WHERE username = 'carol';"
sqlite3 auth.db "DELETE FROM user_settings WHERE username = 'carol';"
sqlite3 auth.db "DELETE FROM password_reset_tokens WHERE username = 'carol';"

# 2. Remove messages from every user database
for db in users/*.db; do
    sqlite3 "$db" "DELETE FROM messages WHERE sender = 'carol';"
done

# 3. Delete the user's own database file and avatar
rm -f users/carol.db
rm -f avatars/` + avatar + `

# 4. Remove presence records
sqlite3 presence.db "DELETE FROM presence WHERE user = 'carol';"
sqlite3 presence.db "DELETE FROM typing WHERE user = 'carol';"
sqlite3 presence.db "DELETE FROM read_receipts WHERE reader = 'carol';"
sqlite3 presence.db "DELETE FROM message_reactions WHERE reactor = 'carol';"
sqlite3 presence.db "DELETE FROM private_channel_members WHERE username = 'carol';"
sqlite3 presence.db "DELETE FROM call_participants WHERE username = 'carol';"`
	// The fan-out must have written carol's message before the DELETE, or it would come back.
	waitFor(t, "carol's message in alice's copy", func() bool {
		return d.SQLite("users/alice.db", "SELECT COUNT(*) FROM messages WHERE sender = 'carol';") == "1"
	})
	quiesce(t, d)
	d.Shell(script)

	if got := d.MustCtl("users", "list"); got != "alice\nbob\n" {
		t.Errorf("users list = %q, want alice and bob", got)
	}
	if got, want := carol.Do("POST", "/api/login", map[string]string{"username": "carol", "password": "carol-password"}).Status, 401; got != want {
		t.Errorf("carol's login after manual deletion: %d, want %d", got, want)
	}
	if got := meStatus(carol); got != 401 {
		t.Errorf("carol's old session after manual deletion: %d, want 401", got)
	}
	if _, err := os.Stat(d.Path("users", "carol.db")); err == nil {
		t.Errorf("users/carol.db came back")
	}
	if _, err := os.Stat(d.Path("avatars", avatar)); err == nil {
		t.Errorf("avatars/%s came back", avatar)
	}
	stillServes(t, cl["alice"], "manual deletion", cl["bob"])
	for _, m := range cl["bob"].History("c:general") {
		if m.Sender == "carol" {
			t.Errorf("bob still sees carol's message %s", m.ID)
		}
	}
	if r := d.Ctl("integrity-check"); r.Code != 0 {
		t.Errorf("integrity-check after manual deletion: exit %d\n%s", r.Code, r.Stdout)
	}
	// The name can be taken again.
	d.CreateUser("carol", "new-carol-password")
	c2 := d.NewClient()
	c2.Login("carol", "new-carol-password")
	stillServes(t, c2, "re-creating carol", cl["alice"])
}

// TestGuide_TarBackupRestore runs the guide's tar backup of a stopped daemon, restores it into
// a new directory (the migration), and checks that sessions survive when secret.key is kept
// and all end when it is not.
func TestGuide_TarBackupRestore(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d, cl, want := guideSetup(t)
	session := cl["alice"].Cookie("mm_session")
	d.Stop()
	archive := filepath.Join(t.TempDir(), "minimost-backup.tar.gz")
	d.Shell(`tar -czf ` + archive + ` \
    auth.db \
    presence.db \
    secret.key \
    cert.pem \
    key.pem \
    settings.json \
    users/ \
    uploads/ \
    avatars/`)

	t.Run("restore with secret.key", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "srv", "minimost")
		os.MkdirAll(dir, 0o755)
		d.in(t).Shell("tar -xzf " + archive + " -C " + dir + "/")
		n := StartProcessIn(t, dir)
		if got := n.MustCtl("users", "list"); got != "alice\nbob\ncarol\n" {
			t.Errorf("users after restore = %q", got)
		}
		c := clientWithSession(t, n, session)
		if got, want := meStatus(c), 200; got != want {
			t.Errorf("session after restore with secret.key: %d, want %d", got, want)
		}
		for u, w := range want {
			if got := countVisible(t, n, u); got != w {
				t.Errorf("restored %s count = %d, want %d", u, got, w)
			}
		}
		c.User = "alice"
		stillServes(t, c, "restore")
	})

	t.Run("restore without secret.key", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		d.in(t).Shell("tar -xzf " + archive + " -C " + dir + "/ --exclude secret.key")
		n := StartProcessIn(t, dir)
		if got, want := perm(t, n.Path("secret.key")), os.FileMode(0o600); got != want {
			t.Errorf("new secret.key mode = %v, want %v", got, want)
		}
		if got, want := meStatus(clientWithSession(t, n, session)), 401; got != want {
			t.Errorf("old session with a new secret.key: %d, want %d", got, want)
		}
		c := n.NewClient()
		c.Login("alice", "alice-password")
		stillServes(t, c, "restore without the key")
	})
}

// quiesce waits until the daemon has no write pending: the fan-out journal in presence.db is
// empty (its removals, committed in batches up to 50 ms later, are done), and no database
// is in a write transaction (a probe takes the write lock and gives it back at once). The
// sqlite3 shell has no busy timeout, so a hand-run write that meets one of the daemon's short
// write transactions fails with "database is locked" (docs/administration.md says to add
// -cmd ".timeout 5000" on a busy server); the guide's lines are run verbatim here.
func quiesce(t *testing.T, d *Daemon) {
	t.Helper()
	bin := RequireTool(t, "sqlite3")
	unlocked := func(db string) bool {
		cmd := exec.Command(bin, db, "BEGIN IMMEDIATE; ROLLBACK;")
		cmd.Dir = d.Dir
		return cmd.Run() == nil
	}
	waitFor(t, "an empty journal and no database locked", func() bool {
		if d.SQLite("presence.db", "SELECT COUNT(*) FROM journal;") != "0" {
			return false
		}
		users, _ := filepath.Glob(d.Path("users", "*.db"))
		for _, db := range append([]string{d.Path("auth.db"), d.Path("presence.db")}, users...) {
			if !unlocked(db) {
				return false
			}
		}
		return true
	})
}

// uploadAvatar gives c's user a small PNG avatar.
func uploadAvatar(t *testing.T, c *Client) {
	t.Helper()
	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("avatar", "me.png")
	fw.Write(img.Bytes())
	w.Close()
	if r := c.Raw("POST", "/api/me/avatar", w.FormDataContentType(), body.Bytes()); r.Status != 200 {
		t.Fatalf("avatar upload: %d %s", r.Status, r.Body)
	}
}
