package e2e_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pngBytes returns a small real PNG image.
func lcPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			img.Set(x, y, color.RGBA{uint8(60 * x), uint8(60 * y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts a multipart body with one file field (and optional text fields).
func (c *Client) lcUpload(path, field, filename string, data []byte, fields map[string]string) Response {
	c.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, err := w.CreateFormFile(field, filename)
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(data)
	w.Close()
	return c.Raw("POST", path, w.FormDataContentType(), b.Bytes())
}

// userDBs lists users/*.db of the data directory as user names.
func lcUserDBs(t *testing.T, d *Daemon) []string {
	t.Helper()
	m, _ := filepath.Glob(d.Path("users", "*.db"))
	var out []string
	for _, p := range m {
		out = append(out, strings.TrimSuffix(filepath.Base(p), ".db"))
	}
	sort.Strings(out)
	return out
}

// world is the scene of a deletion test: alice, bob and carol, with every kind of data
// alice can leave behind.
type delWorld struct {
	d         *Daemon
	a, b, c   *Client
	aws       *WS
	dm, priv  string
	avatar    string
	aliceMsgs map[string]int // messages sent by alice, per users/<name>.db
	bobMsgs   map[string]int
}

func newDelWorld(t *testing.T, args ...string) *delWorld {
	t.Helper()
	d := StartDaemon(t, append([]string{"-auth-burst", "200"}, args...)...)
	return setupDelWorld(t, d)
}

func setupDelWorld(t *testing.T, d *Daemon) *delWorld {
	t.Helper()
	w := &delWorld{d: d}
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	d.CreateUser("carol", "carol-password")
	w.a, w.b, w.c = d.NewClient(), d.NewClient(), d.NewClient()
	w.a.Login("alice", "alice-password")
	w.b.Login("bob", "bob-password")
	w.c.Login("carol", "carol-password")
	w.aws = w.a.MustWS()

	a1 := w.a.Post("c:general", "alice says hello")
	w.a.Post("c:general", "alice says hello again")
	b1 := w.b.Post("c:general", "bob says hi")

	var conv struct{ Conversation struct{ ID string } }
	w.a.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"bob"}}).Decode(t, &conv)
	w.dm = conv.Conversation.ID
	if w.dm != "d:alice,bob" {
		t.Fatalf("dm id = %q, want d:alice,bob", w.dm)
	}
	w.a.Post(w.dm, "alice to bob, privately")
	w.b.Post(w.dm, "bob to alice, privately")

	w.a.Must(201, "POST", "/api/private-channels", map[string]any{"name": "plans", "members": []string{"bob"}}).Decode(t, &conv)
	w.priv = conv.Conversation.ID
	w.a.Post(w.priv, "alice in the private channel")
	w.b.Post(w.priv, "bob in the private channel")

	w.a.Must(204, "POST", ConvPath("c:general", "/messages/"+b1.ID+"/reactions"), map[string]string{"emoji": "👍"})
	w.b.Must(204, "POST", ConvPath("c:general", "/messages/"+a1.ID+"/reactions"), map[string]string{"emoji": "🎉"})
	w.a.Must(204, "POST", ConvPath("c:general", "/read"), map[string]string{"message_id": b1.ID})

	r := w.a.lcUpload("/api/me/avatar", "avatar", "me.png", lcPNG(t), nil)
	if r.Status != 200 {
		t.Fatalf("avatar upload: %d %s", r.Status, r.Body)
	}
	w.avatar = w.d.SQLite("auth.db", "SELECT avatar_file FROM user_settings WHERE username='alice'")
	if w.avatar == "" {
		t.Fatalf("no avatar_file recorded for alice")
	}
	if _, err := os.Stat(d.Path("avatars", w.avatar)); err != nil {
		t.Fatalf("avatar file: %v", err)
	}
	d.MustCtl("reset-password", "alice")
	w.aws.Send(map[string]any{"type": "typing", "conversation": "c:general"})
	w.aws.Send(map[string]any{"type": "call", "conversation": w.dm, "signal": "join"})

	w.aliceMsgs = map[string]int{"alice": 4, "bob": 4, "carol": 2}
	w.bobMsgs = map[string]int{"alice": 3, "bob": 3, "carol": 1}
	// Everything has landed before the deletion starts.
	for u, n := range w.aliceMsgs {
		lcWaitSQL(t, d, "users/"+u+".db", "SELECT COUNT(*) FROM messages WHERE sender='alice'", n)
	}
	for u, n := range w.bobMsgs {
		lcWaitSQL(t, d, "users/"+u+".db", "SELECT COUNT(*) FROM messages WHERE sender='bob'", n)
	}
	for _, q := range delAliceRows {
		lcWaitSQL(t, d, q.db, "SELECT COUNT(*) > 0 FROM "+q.table+" WHERE "+q.col+"='alice'", 1)
	}
	return w
}

// delAliceRows are the tables that hold rows of a user (the guide's list plus sessions).
var delAliceRows = []struct{ db, table, col string }{
	{"auth.db", "users", "username"},
	{"auth.db", "user_settings", "username"},
	{"auth.db", "password_reset_tokens", "username"},
	{"auth.db", "sessions", "username"},
	{"presence.db", "presence", "user"},
	{"presence.db", "typing", "user"},
	{"presence.db", "read_receipts", "reader"},
	{"presence.db", "message_reactions", "reactor"},
	{"presence.db", "private_channel_members", "username"},
	{"presence.db", "call_participants", "username"},
}

// checkGone checks with the sqlite3 shell and the file system that nothing of alice is left.
func (w *delWorld) checkGone(t *testing.T, mode string) {
	t.Helper()
	d := w.d
	for _, q := range delAliceRows {
		if got := lcSQLInt(t, d, q.db, "SELECT COUNT(*) FROM "+q.table+" WHERE "+q.col+"='alice'"); got != 0 {
			t.Errorf("%s %s has %d rows of alice, want 0", q.db, q.table, got)
		}
	}
	for _, f := range []string{"alice.db", "alice.db-wal", "alice.db-shm"} {
		if _, err := os.Stat(d.Path("users", f)); !os.IsNotExist(err) {
			t.Errorf("users/%s still exists (stat: %v)", f, err)
		}
	}
	if _, err := os.Stat(d.Path("avatars", w.avatar)); !os.IsNotExist(err) {
		t.Errorf("avatar avatars/%s still exists (stat: %v)", w.avatar, err)
	}
	if got, want := lcUserDBs(t, d), []string{"bob", "carol"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("users/*.db = %v, want %v", got, want)
	}
	for _, u := range []string{"bob", "carol"} {
		db := "users/" + u + ".db"
		if got := lcSQLInt(t, d, db, "SELECT COUNT(*) FROM messages WHERE sender='alice'"); got != 0 {
			t.Errorf("%s: %d messages from alice, want 0", db, got)
		}
		wantDU := w.aliceMsgs[u]
		if mode == "hard" {
			wantDU = 0
		}
		if got := lcSQLInt(t, d, db, "SELECT COUNT(*) FROM messages WHERE sender='Deleted User'"); got != wantDU {
			t.Errorf("%s: %d messages from 'Deleted User', want %d", db, got, wantDU)
		}
		if got, want := lcSQLInt(t, d, db, "SELECT COUNT(*) FROM messages WHERE sender='bob'"), w.bobMsgs[u]; got != want {
			t.Errorf("%s: %d messages from bob, want %d", db, got, want)
		}
	}
	// Reactions on messages that no longer exist are gone too (hard); bob's reaction on a
	// re-attributed message stays (soft).
	wantBobReactions := 1
	if mode == "hard" {
		wantBobReactions = 0
	}
	if got := lcSQLInt(t, d, "presence.db", "SELECT COUNT(*) FROM message_reactions WHERE reactor='bob'"); got != wantBobReactions {
		t.Errorf("bob's reactions = %d, want %d", got, wantBobReactions)
	}
	if got := lcSQLInt(t, d, "auth.db", "SELECT COUNT(*) FROM pending_deletions"); got != 0 {
		t.Errorf("pending_deletions has %d rows after the deletion, want 0", got)
	}
	for _, r := range strings.Split(d.MustCtl("integrity-check"), "\n") {
		if strings.Contains(r, "alice") {
			t.Errorf("integrity-check mentions alice: %q", r)
		}
	}
	// alice's session is over.
	if got := w.a.Do("GET", "/api/me", nil).Status; got != 401 {
		t.Errorf("alice's cookie: /api/me = %d, want 401", got)
	}
	if got := lcLoginStatus(d, "alice", "alice-password"); got != 401 {
		t.Errorf("alice login after deletion = %d, want 401", got)
	}
}

// checkBobView checks what bob sees through the API after alice's deletion.
func (w *delWorld) checkBobView(t *testing.T, mode string) {
	t.Helper()
	senders := func(conv string) map[string]int {
		out := map[string]int{}
		for _, m := range w.b.History(conv) {
			out[m.Sender]++
		}
		return out
	}
	wantDU := map[string]int{"c:general": 2, w.dm: 1, w.priv: 1}
	for conv, n := range wantDU {
		s := senders(conv)
		if mode == "hard" {
			n = 0
		}
		if s["Deleted User"] != n || s["alice"] != 0 || s["bob"] != 1 {
			t.Errorf("bob's %s senders = %v, want %d 'Deleted User', 1 bob, no alice", conv, s, n)
		}
	}
	// The private channel alice created still works for bob.
	if r := w.b.Do("GET", ConvPath(w.priv, ""), nil); r.Status != 200 {
		t.Errorf("bob GET private channel: %d %s, want 200", r.Status, r.Body)
	}
	m := w.b.Post(w.priv, "bob is still here")
	h := w.b.History(w.priv)
	if len(h) == 0 || h[len(h)-1].ID != m.ID {
		t.Errorf("bob's private channel history does not end with his new message: %+v", h)
	}
	var members struct{ Members []string }
	w.b.Must(200, "GET", ConvPath(w.priv, "/members"), nil).Decode(t, &members)
	if strings.Join(members.Members, ",") != "bob" {
		t.Errorf("private channel members = %v, want [bob]", members.Members)
	}
	// carol does not see it.
	if got := w.c.Do("GET", ConvPath(w.priv, "/messages"), nil).Status; got != 404 {
		t.Errorf("carol reading the private channel: %d, want 404", got)
	}
	// The public channel goes on.
	w.b.Post("c:general", "life goes on")
	// (fan-out to the other members' databases follows the acknowledgement)
	got, want := 0, 3+1-map[string]int{"soft": 0, "hard": 2}[mode]
	if !lcEventually(5*time.Second, func() bool { got = len(w.c.History("c:general")); return got == want }) {
		t.Errorf("carol's general has %d messages, want %d", got, want)
	}
}

// followRestart points the clients at the daemon's new address (a restart takes a new port).
func (w *delWorld) followRestart() {
	for _, c := range []*Client{w.a, w.b, w.c} {
		c.Origin = w.d.URL
	}
}

func lcCheckWSClosed(t *testing.T, ws *WS) {
	t.Helper()
	err := ws.ReadErr(5 * time.Second)
	if got := websocket.CloseStatus(err); got != 4001 {
		t.Errorf("alice's websocket closed with %v (status %d), want 4001", err, got)
	}
}

func TestDelete_Modes(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"soft", "hard"} {
		for _, via := range []string{"self-service", "minimostctl"} {
			t.Run(mode+" "+via, func(t *testing.T) {
				t.Parallel()
				w := newDelWorld(t)
				if via == "self-service" {
					r := w.a.Do("POST", "/api/me/delete", map[string]string{"password": "alice-password", "mode": mode})
					if r.Status != 204 {
						t.Fatalf("POST /api/me/delete: %d %s, want 204", r.Status, r.Body)
					}
				} else {
					out := w.d.MustCtl("users", "delete", "alice", "--mode", mode, "--yes")
					if !strings.Contains(out, "deleted alice") {
						t.Errorf("users delete printed %q", out)
					}
				}
				lcCheckWSClosed(t, w.aws)
				w.d.WaitClients(0) // the daemon has run the socket's own clean-up
				w.checkGone(t, mode)
				w.checkBobView(t, mode)
				if got := w.d.MustCtl("users", "list"); strings.Contains(got, "alice") {
					t.Errorf("users list still shows alice: %q", got)
				}
			})
		}
	}
}

func TestDelete_Refused(t *testing.T) {
	t.Parallel()
	w := newDelWorld(t)
	d := w.d
	unchanged := func(t *testing.T) {
		t.Helper()
		for _, q := range delAliceRows {
			if got := lcSQLInt(t, d, q.db, "SELECT COUNT(*) > 0 FROM "+q.table+" WHERE "+q.col+"='alice'"); got != 1 {
				t.Errorf("%s %s lost alice's rows", q.db, q.table)
			}
		}
		for u, n := range w.aliceMsgs {
			if got := lcSQLInt(t, d, "users/"+u+".db", "SELECT COUNT(*) FROM messages WHERE sender='alice'"); got != n {
				t.Errorf("users/%s.db: %d alice messages, want %d", u, got, n)
			}
		}
		if _, err := os.Stat(d.Path("avatars", w.avatar)); err != nil {
			t.Errorf("avatar: %v", err)
		}
		if got := w.a.Do("GET", "/api/me", nil).Status; got != 200 {
			t.Errorf("alice /api/me = %d, want 200", got)
		}
	}
	t.Run("wrong password", func(t *testing.T) {
		r := w.a.Do("POST", "/api/me/delete", map[string]string{"password": "not-her-password", "mode": "hard"})
		if r.Status != 403 {
			t.Errorf("status %d %s, want 403", r.Status, r.Body)
		}
		unchanged(t)
	})
	t.Run("bad mode", func(t *testing.T) {
		for _, m := range []string{"", "medium", "HARD"} {
			r := w.a.Do("POST", "/api/me/delete", map[string]string{"password": "alice-password", "mode": m})
			if r.Status != 400 {
				t.Errorf("mode %q: status %d %s, want 400", m, r.Status, r.Body)
			}
		}
		unchanged(t)
	})
	t.Run("ctl without --yes", func(t *testing.T) {
		r := d.CtlStdin("alice\n", "users", "delete", "alice", "--mode", "hard")
		if r.Code == 0 {
			t.Errorf("exit 0, want non-zero; stdout %q", r.Stdout)
		}
		if !strings.Contains(r.Stderr, "--yes") {
			t.Errorf("stderr = %q, want it to mention --yes", r.Stderr)
		}
		unchanged(t)
	})
	t.Run("ctl bad mode", func(t *testing.T) {
		r := d.Ctl("users", "delete", "alice", "--mode", "medium", "--yes")
		if r.Code != 2 {
			t.Errorf("exit %d, want 2 (usage)", r.Code)
		}
		unchanged(t)
	})
	t.Run("ctl unknown user", func(t *testing.T) {
		r := d.Ctl("users", "delete", "nosuchuser", "--mode", "soft", "--yes")
		if r.Code != 1 || !strings.Contains(r.Stderr, "nosuchuser") {
			t.Errorf("exit %d stderr %q, want 1 and a message naming the user", r.Code, r.Stderr)
		}
		unchanged(t)
	})
}

func TestDelete_Reregister(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"soft", "hard"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := newDelWorld(t)
			w.a.Must(204, "POST", "/api/me/delete", map[string]string{"password": "alice-password", "mode": mode})
			n := w.d.NewClient()
			n.Register("alice", "new-alice-password")
			var convs struct {
				Conversations []struct{ ID, Kind string }
			}
			n.Must(200, "GET", "/api/conversations", nil).Decode(t, &convs)
			for _, c := range convs.Conversations {
				if c.Kind != "channel" {
					t.Errorf("new alice sees conversation %s (%s), want only public channels", c.ID, c.Kind)
				}
			}
			if r := n.Do("GET", ConvPath(w.dm, "/messages"), nil); r.Status == 200 {
				var h struct{ Messages []Message }
				r.Decode(t, &h)
				if len(h.Messages) != 0 {
					t.Errorf("new alice sees %d old DM messages", len(h.Messages))
				}
			}
			if got := n.Do("GET", ConvPath(w.priv, "/messages"), nil).Status; got != 404 {
				t.Errorf("new alice reading the old private channel: %d, want 404", got)
			}
			var me struct {
				User struct {
					AvatarURL string `json:"avatar_url"`
				}
			}
			n.Must(200, "GET", "/api/me", nil).Decode(t, &me)
			if me.User.AvatarURL != "" {
				t.Errorf("new alice has avatar %q, want none", me.User.AvatarURL)
			}
			d := w.d
			lcWaitSQL(t, d, "users/alice.db", "SELECT COUNT(*) FROM messages WHERE conversation != 'c:general'", 0)
			if got := lcSQLInt(t, d, "users/alice.db", "SELECT COUNT(*) FROM messages WHERE sender='alice'"); got != 0 {
				t.Errorf("new users/alice.db has %d messages from alice, want 0", got)
			}
			if got := lcSQLInt(t, d, "users/alice.db", "SELECT COUNT(*) FROM conversations WHERE id != 'c:general'"); got != 0 {
				t.Errorf("new users/alice.db lists %d old conversations, want 0", got)
			}
			for _, tb := range []string{"password_reset_tokens", "user_settings"} {
				q := "SELECT COUNT(*) FROM " + tb + " WHERE username='alice'"
				if tb == "user_settings" {
					q += " AND avatar_file IS NOT NULL AND avatar_file != ''"
				}
				if got := lcSQLInt(t, d, "auth.db", q); got != 0 {
					t.Errorf("auth.db %s: %d old rows of alice", tb, got)
				}
			}
			for _, tb := range []struct{ t, c string }{{"read_receipts", "reader"}, {"message_reactions", "reactor"}, {"private_channel_members", "username"}} {
				if got := lcSQLInt(t, d, "presence.db", "SELECT COUNT(*) FROM "+tb.t+" WHERE "+tb.c+"='alice'"); got != 0 {
					t.Errorf("presence.db %s: %d rows of alice", tb.t, got)
				}
			}
			// She can chat again, and bob sees her new message under her name.
			m := n.Post("c:general", "I'm back")
			var last Message
			if !lcEventually(5*time.Second, func() bool { h := w.b.History("c:general"); last = h[len(h)-1]; return last.ID == m.ID }) || last.Sender != "alice" {
				t.Errorf("bob's last general message = %+v, want alice's new one", last)
			}
		})
	}
}

func TestDelete_CrashHalfWay(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"files", "user:bob"} {
		for _, mode := range []string{"soft", "hard"} {
			t.Run(step+" "+mode, func(t *testing.T) {
				t.Parallel()
				// A real process: the deletion hook of the minimost_testhooks build kills it
				// (SIGKILL) half way, chosen with Env.
				w := setupDelWorld(t, StartProcess(t, "-auth-burst", "200"))
				d := w.d
				d.Stop()
				d.Env = []string{"MINIMOST_TEST_CRASH_DELETION_AT=" + step}
				d.Start()
				w.followRestart()
				// The restart ended every WebSocket; sessions survive.
				w.aws = w.a.MustWS()
				r := d.Ctl("users", "delete", "alice", "--mode", mode, "--yes")
				if r.Code == 0 {
					t.Fatalf("users delete succeeded, want a failure: the daemon should have died at %s", step)
				}
				if _, exited := d.ExitErr(10 * time.Second); !exited {
					t.Fatalf("the daemon did not die at step %s", step)
				}
				// Half done: pending, and (for user:bob) carol not yet rewritten.
				if got := lcSQLInt(t, d, "auth.db", "SELECT COUNT(*) FROM pending_deletions WHERE username='alice'"); got != 1 {
					t.Errorf("pending_deletions after the crash = %d, want 1", got)
				}
				if got := lcSQLInt(t, d, "users/carol.db", "SELECT COUNT(*) FROM messages WHERE sender='alice'"); got != w.aliceMsgs["carol"] {
					t.Errorf("carol.db after the crash: %d alice messages, want %d (not yet rewritten)", got, w.aliceMsgs["carol"])
				}
				d.Env = nil
				d.Start()
				w.followRestart()
				w.checkGone(t, mode)
				w.checkBobView(t, mode)
				if !strings.Contains(d.Log.String(), "finishing interrupted account deletion") {
					t.Errorf("the restart did not log that it finished the deletion")
				}
			})
		}
	}
}

func TestDelete_GuideManualDeletion(t *testing.T) {
	t.Parallel()
	w := newDelWorld(t)
	d := w.d
	// "avatar filename is stored in user_settings.avatar_file — check before deleting"
	avatar := d.SQLite("auth.db", "SELECT avatar_file FROM user_settings WHERE username = 'alice';")
	if avatar != w.avatar {
		t.Fatalf("avatar_file = %q, want %q", avatar, w.avatar)
	}
	script := `
# 1. Remove credentials and settings
sqlite3 auth.db "DELETE FROM users WHERE username = 'alice';"
sqlite3 auth.db "DELETE FROM user_settings WHERE username = 'alice';"
sqlite3 auth.db "DELETE FROM password_reset_tokens WHERE username = 'alice';"

# 2. Remove messages from every user database
for db in users/*.db; do
    sqlite3 "$db" "DELETE FROM messages WHERE sender = 'alice';"
done

# 3. Delete the user's own database file and avatar
rm -f users/alice.db
# avatar filename is stored in user_settings.avatar_file — check before deleting
rm -f avatars/<avatar_filename>

# 4. Remove presence records
sqlite3 presence.db "DELETE FROM presence WHERE user = 'alice';"
sqlite3 presence.db "DELETE FROM typing WHERE user = 'alice';"
sqlite3 presence.db "DELETE FROM read_receipts WHERE reader = 'alice';"
sqlite3 presence.db "DELETE FROM message_reactions WHERE reactor = 'alice';"
sqlite3 presence.db "DELETE FROM private_channel_members WHERE username = 'alice';"
sqlite3 presence.db "DELETE FROM call_participants WHERE username = 'alice';"
`
	script = strings.Replace(script, "<avatar_filename>", avatar, 1)
	quiesce(t, d) // the guide's lines verbatim: no busy timeout
	d.Shell(script)

	// The daemon serves on: alice is out, bob chats.
	if got := w.a.Do("GET", "/api/me", nil).Status; got != 401 {
		t.Errorf("alice's cookie after manual deletion: /api/me = %d, want 401", got)
	}
	if got := w.a.Do("POST", ConvPath("c:general", "/messages"), map[string]string{"body": "still here?"}).Status; got != 401 {
		t.Errorf("alice posting after manual deletion: %d, want 401", got)
	}
	if got := lcLoginStatus(d, "alice", "alice-password"); got != 401 {
		t.Errorf("alice login after manual deletion = %d, want 401", got)
	}
	m := w.b.Post("c:general", "bob after the manual deletion")
	h := w.b.History("c:general")
	if len(h) == 0 || h[len(h)-1].ID != m.ID {
		t.Errorf("bob's general does not end with his new message")
	}
	for _, msg := range h {
		if msg.Sender == "alice" {
			t.Errorf("bob still sees alice's message %q", msg.Body)
		}
	}
	pm := w.b.Post(w.priv, "bob in private after the manual deletion")
	if hp := w.b.History(w.priv); len(hp) == 0 || hp[len(hp)-1].ID != pm.ID {
		t.Errorf("bob's private channel does not end with his new message")
	}
	cm := w.c.Post("c:general", "carol too")
	if !lcEventually(5*time.Second, func() bool { hc := w.b.History("c:general"); return hc[len(hc)-1].ID == cm.ID }) {
		t.Errorf("bob does not see carol's new message")
	}
	// users/alice.db stays gone: nothing wrote it back (once every write is done).
	quiesce(t, d)
	if _, err := os.Stat(d.Path("users", "alice.db")); !os.IsNotExist(err) {
		t.Errorf("users/alice.db came back after the manual deletion (stat: %v)", err)
	}
	out := d.MustCtl("integrity-check")
	if strings.Contains(out, "alice") {
		t.Errorf("integrity-check lists alice.db: %s", out)
	}
	for _, db := range append([]string{"auth.db", "presence.db"}, "users/bob.db", "users/carol.db") {
		if got := d.SQLite(db, "PRAGMA integrity_check;"); got != "ok" {
			t.Errorf("sqlite3 %s integrity_check = %q", db, got)
		}
	}
	if got := d.MustCtl("users", "list"); strings.Contains(got, "alice") {
		t.Errorf("users list shows alice after manual deletion: %q", got)
	}
	// Her open WebSocket can do nothing any more either: the account is gone, and a socket
	// is closed when its session ends.
	t.Run("old websocket", func(t *testing.T) {
		func() {
			defer func() { recover() }()
			ctx := w.aws
			b := []byte(`{"type":"send","conversation":"c:general","body":"ghost of alice","client_id":"g1"}`)
			wctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := ctx.C.Write(wctx, websocket.MessageText, b); err != nil {
				return
			}
			for {
				f := ctx.Next(2 * time.Second)
				if f == nil || f["type"] == "error" {
					return
				}
				if f["type"] == "ack" {
					t.Errorf("alice's WebSocket still sends messages after the manual deletion: %v", f)
					return
				}
			}
		}()
		quiesce(t, d.in(t)) // a message that got through is in every copy by now
		for _, db := range []string{"users/bob.db", "users/carol.db"} {
			if got := lcSQLInt(t, d, db, "SELECT COUNT(*) FROM messages WHERE body LIKE 'ghost%'"); got != 0 {
				t.Errorf("%s has %d messages alice sent over her old WebSocket after the deletion", db, got)
			}
		}
	})
	// alice can register again.
	n := d.NewClient()
	n.Register("alice", "new-alice-password")
	n.Post("c:general", "alice is back")
}
