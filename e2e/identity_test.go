package e2e_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Accounts are identities, not names: the guide lets a deleted account's name be registered
// again, and the new holder of the name must never receive or see anything that was
// addressed to, or shared with, the old account.

// replayed opens a WebSocket of c asking for every event since 0 of boot, and returns the
// frames replayed before the answer to a ping (which comes after the replay).
func replayed(t *testing.T, c *Client, boot string) []map[string]any {
	t.Helper()
	ws, _, err := c.DialWS("boot=" + boot + "&since=0")
	if err != nil {
		t.Fatalf("dial websocket: %v", err)
	}
	ws.Send(map[string]string{"type": "ping"})
	var out []map[string]any
	for {
		f := ws.Next(10 * time.Second)
		if f == nil {
			t.Fatal("no pong after the replay")
		}
		if f["type"] == "pong" {
			return out
		}
		out = append(out, f)
	}
}

func framesMention(frames []map[string]any, words ...string) string {
	for _, f := range frames {
		b, _ := json.Marshal(f)
		for _, w := range words {
			if strings.Contains(string(b), w) {
				return string(b)
			}
		}
	}
	return ""
}

func TestIdentity_ReusedNameAfterSoftDeletion(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	alice, bob, carol := d.NewClient(), d.NewClient(), d.NewClient()
	alice.Register("alice", "alice-password")
	bob.Register("bob", "bob-password")
	carol.Register("carol", "carol-password")

	// alice makes a group DM with bob and carol, a DM with carol and a private channel.
	var dm struct {
		Conversation struct {
			ID string `json:"id"`
		} `json:"conversation"`
	}
	alice.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"bob", "carol"}}).Decode(t, &dm)
	group := dm.Conversation.ID
	if group != "d:alice,bob,carol" {
		t.Fatalf("group DM id = %q", group)
	}
	alice.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"carol"}}).Decode(t, &dm)
	pair := dm.Conversation.ID
	var pc struct {
		Conversation struct {
			ID string `json:"id"`
		} `json:"conversation"`
	}
	alice.Must(201, "POST", "/api/private-channels", map[string]any{"name": "launch-plans", "members": []string{"carol"}}).Decode(t, &pc)
	priv := pc.Conversation.ID
	m := alice.Post(group, "group secret before")
	alice.Post(pair, "pair secret before")
	alice.Post(priv, "private secret before")
	carol.Must(204, "POST", ConvPath(group, "/read"), map[string]string{"message_id": m.ID})
	carol.Must(204, "POST", ConvPath(group, "/messages/"+m.ID+"/reactions"), map[string]string{"emoji": "👍"})
	carolWS := carol.MustWS()
	boot := carolWS.Boot
	_, token := issueReset(t, d, "carol")

	// carol deletes her account (soft); someone registers the name again.
	carol.Must(204, "POST", "/api/me/delete", map[string]string{"password": "carol-password", "mode": "soft"})
	carol2 := d.NewClient()
	carol2.Register("carol", "another-password")

	// alice writes in the group DM: bob receives it, the new carol does not.
	after := alice.Post(group, "group secret after")
	if h := bob.History(group); len(h) == 0 || h[len(h)-1].ID != after.ID {
		t.Errorf("bob did not receive alice's message in the group DM")
	}
	for _, path := range []string{ConvPath(group, "/messages"), ConvPath(pair, "/messages"), ConvPath(priv, "/messages"),
		ConvPath(group, "/receipts"), ConvPath(pair, "/members"), ConvPath(priv, "")} {
		if got := carol2.Do("GET", path, nil).Status; got != 404 {
			t.Errorf("new carol GET %s = %d, want 404", path, got)
		}
	}
	if got := carol2.Do("POST", ConvPath(group, "/messages"), map[string]string{"body": "hi"}).Status; got != 404 {
		t.Errorf("new carol posting in the old group DM = %d, want 404", got)
	}
	ids := conversationIDs(t, carol2)
	for _, id := range []string{group, pair, priv} {
		if slices.Contains(ids, id) {
			t.Errorf("new carol's sidebar lists %s", id)
		}
	}
	if n := d.SQLite("users/carol.db", "SELECT COUNT(*) FROM messages WHERE body LIKE '%secret%';"); n != "0" {
		t.Errorf("users/carol.db holds %s of the old account's messages, want 0", n)
	}
	if got := framesMention(replayed(t, carol2, boot), "secret", group, pair, priv); got != "" {
		t.Errorf("the new carol's replay holds the old account's event %s", got)
	}
	// The old account's reset link is dead.
	if got := useResetToken(d.NewClient(), token, "taken-over-password").Status; got != 400 {
		t.Errorf("the old account's reset link = %d, want 400", got)
	}

	// alice sees who has left: the group DM shows a deleted member, the DM is read-only.
	var conv struct {
		Conversation struct {
			Name     string   `json:"name"`
			Members  []string `json:"members"`
			Departed int      `json:"departed"`
			ReadOnly bool     `json:"read_only"`
		} `json:"conversation"`
	}
	alice.Must(200, "GET", ConvPath(group, ""), nil).Decode(t, &conv)
	if conv.Conversation.Departed != 1 || conv.Conversation.ReadOnly || !strings.Contains(conv.Conversation.Name, "Deleted User") {
		t.Errorf("alice's group DM = %+v, want one departed member shown as Deleted User, writable", conv.Conversation)
	}
	alice.Must(200, "GET", ConvPath(pair, ""), nil).Decode(t, &conv)
	if !conv.Conversation.ReadOnly || conv.Conversation.Name != "Deleted User" {
		t.Errorf("alice's DM with the deleted carol = %+v, want read-only, named Deleted User", conv.Conversation)
	}
	if got := alice.Do("POST", ConvPath(pair, "/messages"), map[string]string{"body": "anyone?"}).Status; got != 403 {
		t.Errorf("posting in a DM whose other member is gone = %d, want 403", got)
	}

	// A new DM with the new carol is another conversation, and reaches her.
	alice.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"carol"}}).Decode(t, &dm)
	if dm.Conversation.ID == pair {
		t.Fatalf("a DM with the new carol reuses the old DM's id %q", pair)
	}
	hello := alice.Post(dm.Conversation.ID, "hello new carol")
	if h := carol2.History(dm.Conversation.ID); len(h) != 1 || h[0].ID != hello.ID {
		t.Errorf("new carol's history of the new DM = %v, want alice's message", h)
	}
}

func TestIdentity_ReusedNameAfterManualDeletion(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d := StartDaemon(t)
	alice, carol := d.NewClient(), d.NewClient()
	alice.Register("alice", "alice-password")
	carol.Register("carol", "carol-password")
	var dm struct {
		Conversation struct {
			ID string `json:"id"`
		} `json:"conversation"`
	}
	alice.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"carol"}}).Decode(t, &dm)
	pair := dm.Conversation.ID
	ws := carol.MustWS()
	alice.Post(pair, "pair secret for the first carol")
	ws.WaitFor("message.new", 10*time.Second, nil)

	// The guide's manual deletion, run by hand while the daemon serves. It leaves the
	// sessions rows behind. Run verbatim, without the busy timeout the docs advise on a busy
	// server, so once the daemon's writes are done (quiesce).
	quiesce(t, d)
	d.Shell(`
sqlite3 auth.db "DELETE FROM users WHERE username = 'carol';"
sqlite3 auth.db "DELETE FROM user_settings WHERE username = 'carol';"
sqlite3 auth.db "DELETE FROM password_reset_tokens WHERE username = 'carol';"
for db in users/*.db; do
    sqlite3 "$db" "DELETE FROM messages WHERE sender = 'carol';"
done
rm -f users/carol.db
sqlite3 presence.db "DELETE FROM presence WHERE user = 'carol';"
sqlite3 presence.db "DELETE FROM typing WHERE user = 'carol';"
sqlite3 presence.db "DELETE FROM read_receipts WHERE reader = 'carol';"
sqlite3 presence.db "DELETE FROM message_reactions WHERE reactor = 'carol';"
sqlite3 presence.db "DELETE FROM private_channel_members WHERE username = 'carol';"
sqlite3 presence.db "DELETE FROM call_participants WHERE username = 'carol';"
`)
	if n := d.SQLite("auth.db", "SELECT COUNT(*) FROM sessions WHERE username = 'carol';"); n == "0" {
		t.Fatal("the manual deletion removed the sessions rows; this test needs them left behind")
	}
	// Her open WebSocket is closed without her sending anything: the account is gone.
	if err := ws.ReadErr(30 * time.Second); websocket.CloseStatus(err) != 4001 {
		t.Errorf("the deleted carol's idle WebSocket: %v, want closed with 4001", err)
	}
	carol2 := d.NewClient()
	carol2.Register("carol", "another-password")

	// The old cookie is not a session of the new account, over HTTP or WebSocket.
	if got := carol.Do("GET", "/api/me", nil).Status; got != 401 {
		t.Errorf("the old carol's cookie: GET /api/me = %d, want 401", got)
	}
	if _, resp, err := carol.DialWS(""); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("the old carol's cookie opened a WebSocket (err %v)", err)
	}
	// The replay never hands the new account the old one's events.
	if got := framesMention(replayed(t, carol2, ws.Boot), "secret", pair); got != "" {
		t.Errorf("the new carol's replay holds the old account's event %s", got)
	}
	if got := carol2.Do("GET", ConvPath(pair, "/messages"), nil).Status; got != 404 {
		t.Errorf("new carol reads the old DM: %d, want 404", got)
	}
	if got := alice.Do("POST", ConvPath(pair, "/messages"), map[string]string{"body": "still there?"}).Status; got != 403 {
		t.Errorf("alice posting to the deleted carol = %d, want 403", got)
	}
	if n := d.SQLite("users/carol.db", "SELECT COUNT(*) FROM messages WHERE conversation = '"+pair+"';"); n != "0" {
		t.Errorf("users/carol.db holds %s messages of the old DM, want 0", n)
	}
	// The guide's SQL on names keeps working for the new account.
	if got := d.SQLite("auth.db", "SELECT username FROM users WHERE username = 'carol';"); got != "carol" {
		t.Errorf("SELECT username FROM users = %q", got)
	}
}
