package e2e_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsTryWait reads frames until one of type typ satisfies match; nil when none came in time.
func wsTryWait(w *WS, typ string, timeout time.Duration, match func(map[string]any) bool) map[string]any {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m := w.Next(time.Until(deadline))
		if m == nil {
			return nil
		}
		if m["type"] == typ && (match == nil || match(m)) {
			return m
		}
	}
	return nil
}

// wsUntil collects the frames before the first one of type typ that satisfies match; it fails
// the test if none comes.
func wsUntil(t *testing.T, w *WS, typ string, match func(map[string]any) bool) []map[string]any {
	t.Helper()
	var before []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m := w.Next(time.Until(deadline))
		if m == nil {
			break
		}
		if m["type"] == typ && (match == nil || match(m)) {
			return before
		}
		before = append(before, m)
	}
	t.Fatalf("no %q frame within 5 s (got %v)", typ, before)
	return nil
}

// wsMsgID matches a message.new/edited frame of message id.
func wsMsgID(id string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		msg, _ := m["message"].(map[string]any)
		return msg != nil && msg["id"] == id
	}
}

// wsCloseStatus reads until the socket closes and returns the close status (-1: not a close
// frame; 0: still open after the timeout).
func wsCloseStatus(w *WS, timeout time.Duration) (websocket.StatusCode, error) {
	err := w.ReadErr(timeout)
	if err == nil || err == context.DeadlineExceeded || strings.Contains(err.Error(), "deadline exceeded") {
		return 0, err
	}
	return websocket.CloseStatus(err), err
}

func TestWS_Handshake(t *testing.T) {
	t.Parallel()
	d, alice, _, _ := accUsers(t)
	anon := d.NewClient()
	_, resp, err := anon.DialWS("")
	if err == nil {
		t.Fatalf("anonymous WebSocket was accepted")
	}
	if resp == nil || resp.StatusCode != 401 {
		t.Errorf("anonymous handshake: %v, want status 401", resp)
	}

	bad := d.NewClient()
	apiSetSession(bad, alice.Cookie("mm_session")+"x")
	if _, resp, err := bad.DialWS(""); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("tampered-cookie handshake: err %v resp %v, want 401", err, resp)
	}

	for _, origin := range []string{"https://evil.example", "http://" + d.Addr, "https://127.0.0.1:1", "null"} {
		alice.Origin = origin
		_, resp, err := alice.DialWS("")
		if err == nil {
			t.Errorf("Origin %s: WebSocket accepted", origin)
		} else if resp == nil || resp.StatusCode != 403 {
			t.Errorf("Origin %s: %v, want status 403", origin, resp)
		}
	}
	alice.Origin = d.URL
	alice.MustWS()
}

func TestWS_SendAndReceive(t *testing.T) {
	t.Parallel()
	_, alice, bob, carol := accUsers(t)
	wa, wb, wc := alice.MustWS(), bob.MustWS(), carol.MustWS()
	dm := accDM(t, alice, "bob")
	wa.Send(map[string]any{"type": "send", "conversation": dm, "body": "hi *bob*", "client_id": "c-1"})
	ack := wa.WaitFor("ack", 5*time.Second, nil)
	if got, want := ack["client_id"], "c-1"; got != want {
		t.Errorf("ack client_id = %v, want %v", got, want)
	}
	msg, _ := ack["message"].(map[string]any)
	if msg == nil || msg["body"] != "hi *bob*" || msg["sender"] != "alice" || msg["conversation"] != dm {
		t.Fatalf("ack message = %v", msg)
	}
	id := msg["id"].(string)
	got := wb.WaitFor("message.new", 5*time.Second, wsMsgID(id))
	if m := got["message"].(map[string]any); m["html"] != "<p>hi <em>bob</em></p>\n" {
		t.Errorf("bob's message.new html = %q", m["html"])
	}
	// carol, not in the DM, gets nothing of it: a later public message arrives first.
	marker := alice.Post("c:general", "marker")
	for _, f := range wsUntil(t, wc, "message.new", wsMsgID(marker.ID)) {
		if f["type"] == "message.new" {
			t.Errorf("carol got %v", f)
		}
	}
	if h := accHistory(bob, dm, accLen(1)); len(h) != 1 || h[0].ID != id {
		t.Errorf("bob's DM history = %+v, want the message", h)
	}
}

func TestWS_BadFrames(t *testing.T) {
	t.Parallel()
	_, alice, _, carol := accUsers(t)
	dm := accDM(t, alice, "bob")

	t.Run("malformed JSON", func(t *testing.T) {
		w := alice.MustWS()
		for _, raw := range []string{`{"type":`, `not json`, `[1,2]`} {
			w.C.Write(context.Background(), websocket.MessageText, []byte(raw))
			e := w.WaitFor("error", 5*time.Second, nil)
			if e["code"] != "invalid" {
				t.Errorf("%s: error frame %v, want code invalid", raw, e)
			}
		}
		w.Send(map[string]string{"type": "nonsense"})
		if e := w.WaitFor("error", 5*time.Second, nil); e["code"] != "invalid" {
			t.Errorf("unknown type: %v, want code invalid", e)
		}
		w.Send(map[string]string{"type": "ping"})
		w.WaitFor("pong", 5*time.Second, nil)
	})
	t.Run("someone else's conversation", func(t *testing.T) {
		w := carol.MustWS()
		for _, f := range []map[string]any{
			{"type": "send", "conversation": dm, "body": "sneaky", "client_id": "s1"},
			{"type": "send", "conversation": "x:1", "body": "sneaky", "client_id": "s2"},
			{"type": "typing", "conversation": dm},
			{"type": "read", "conversation": dm, "message_id": "01KAZ4AAAAAAAAAAAAAAAAAAAA"},
			{"type": "call", "conversation": dm, "signal": "join"},
		} {
			w.Send(f)
			e := w.WaitFor("error", 5*time.Second, nil)
			if e["code"] != "not_found" {
				t.Errorf("%v: error %v, want code not_found", f, e)
			}
			if cid, ok := f["client_id"]; ok && e["client_id"] != cid {
				t.Errorf("%v: error client_id = %v, want %v", f, e["client_id"], cid)
			}
		}
		if h := alice.History(dm); len(h) != 0 {
			t.Errorf("DM history = %+v, want empty", h)
		}
		w.Send(map[string]any{"type": "send", "conversation": "c:general", "body": "", "client_id": "e1"})
		if e := w.WaitFor("error", 5*time.Second, nil); e["code"] != "invalid" || e["client_id"] != "e1" {
			t.Errorf("empty send: %v, want code invalid for e1", e)
		}
		w.Send(map[string]any{"type": "send", "conversation": "c:general", "body": strings.Repeat("x", 16001), "client_id": "e2"})
		if e := w.WaitFor("error", 5*time.Second, nil); e["code"] != "too_large" || e["client_id"] != "e2" {
			t.Errorf("long send: %v, want code too_large for e2", e)
		}
	})
	t.Run("frame over 64 KiB", func(t *testing.T) {
		w := alice.MustWS()
		big := fmt.Sprintf(`{"type":"send","conversation":"c:general","client_id":"big","body":"%s"}`, strings.Repeat("x", 65<<10))
		w.C.Write(context.Background(), websocket.MessageText, []byte(big))
		code, err := wsCloseStatus(w, 5*time.Second)
		if code == 0 {
			t.Fatalf("socket still open after a 65 KiB frame: %v", err)
		}
		if code != websocket.StatusMessageTooBig && code != -1 {
			t.Errorf("close status %d, want %d (message too big)", code, websocket.StatusMessageTooBig)
		}
		if h := alice.History("c:general"); len(h) != 0 {
			t.Errorf("oversize frame was posted: %+v", h)
		}
	})
	t.Run("frame flood", func(t *testing.T) {
		w := alice.MustWS()
		for range 100 {
			if err := w.C.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
				break
			}
		}
		code, err := wsCloseStatus(w, 5*time.Second)
		if got, want := code, websocket.StatusPolicyViolation; got != want {
			t.Errorf("close status after a flood: %d (%v), want %d", got, err, want)
		}
	})
	t.Run("binary frame", func(t *testing.T) {
		w := alice.MustWS()
		w.C.Write(context.Background(), websocket.MessageBinary, []byte(`{"type":"ping"}`))
		if code, err := wsCloseStatus(w, 5*time.Second); code == 0 {
			t.Errorf("socket still open after a binary frame: %v", err)
		}
	})
}

func TestWS_CatchUp(t *testing.T) {
	t.Parallel()
	d, alice, bob, _ := accUsers(t)
	w := bob.MustWS()
	alice.Post("c:general", "seen live")
	w.WaitFor("message.new", 5*time.Second, nil)
	boot, seq := w.Boot, w.Seq
	w.C.Close(websocket.StatusNormalClosure, "")
	d.WaitClients(0) // the daemon has seen the socket go

	var ids []string
	for i := range 3 {
		ids = append(ids, alice.Post("c:general", fmt.Sprintf("missed %d", i)).ID)
	}
	w2, _, err := bob.DialWS(fmt.Sprintf("boot=%s&since=%d", boot, seq))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var last float64
	for len(got) < 3 {
		f := w2.Next(5 * time.Second)
		if f == nil {
			break
		}
		if f["type"] == "resync" {
			t.Fatalf("got resync, want the missed events")
		}
		s, _ := f["seq"].(float64)
		if s <= last {
			t.Errorf("seq %v after %v: not increasing", s, last)
		}
		last = s
		if f["type"] == "message.new" {
			got = append(got, f["message"].(map[string]any)["id"].(string))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("replayed messages = %v, want %v", got, ids)
	}
	if last <= float64(seq) {
		t.Errorf("replayed seq %v, want > %d", last, seq)
	}
	// Nothing more of those messages arrives.
	marker := alice.Post("c:general", "after reconnect")
	for _, f := range wsUntil(t, w2, "message.new", wsMsgID(marker.ID)) {
		if f["type"] == "message.new" {
			t.Errorf("extra frame after catch-up: %v", f)
		}
	}

	// A wrong boot, or a seq from the future, gets resync.
	for _, q := range []string{"boot=wrongboot&since=1", fmt.Sprintf("boot=%s&since=999999", boot)} {
		w3, _, err := bob.DialWS(q)
		if err != nil {
			t.Fatal(err)
		}
		if f := w3.Next(5 * time.Second); f == nil || f["type"] != "resync" {
			t.Errorf("%s: first frame after hello = %v, want resync", q, f)
		}
	}
}

func TestWS_SessionEnd(t *testing.T) {
	t.Parallel()
	d, alice, _, _ := accUsers(t)
	other := d.NewClient()
	other.Login("alice", "alice-password")
	w := alice.MustWS()
	wOther := other.MustWS()
	alice.Must(204, "POST", "/api/logout", nil)
	code, err := wsCloseStatus(w, 5*time.Second)
	if got, want := code, websocket.StatusCode(4001); got != want {
		t.Errorf("close status after logout: %d (%v), want %d", got, err, want)
	}
	// The same user's other session keeps its socket.
	wOther.Send(map[string]string{"type": "ping"})
	wOther.WaitFor("pong", 5*time.Second, nil)
	other.Must(200, "GET", "/api/me", nil)
}

func TestWS_Typing(t *testing.T) {
	t.Parallel()
	_, alice, bob, carol := accUsers(t)
	wa, wb, wc := alice.MustWS(), bob.MustWS(), carol.MustWS()
	dm := accDM(t, alice, "bob")
	wa.Send(map[string]any{"type": "typing", "conversation": dm})
	ty := wb.WaitFor("typing", 5*time.Second, nil)
	if ty["conversation"] != dm || ty["user"] != "alice" {
		t.Errorf("bob's typing event = %v", ty)
	}
	// Over HTTP too.
	bob.Must(204, "POST", ConvPath(dm, "/typing"), nil)
	ty = wa.WaitFor("typing", 5*time.Second, nil)
	if ty["conversation"] != dm || ty["user"] != "bob" {
		t.Errorf("alice's typing event = %v", ty)
	}
	// The sender never sees her own typing, carol (not in the DM) sees none.
	marker := bob.Post("c:general", "marker")
	for name, w := range map[string]*WS{"alice": wa, "carol": wc} {
		for _, f := range wsUntil(t, w, "message.new", wsMsgID(marker.ID)) {
			if f["type"] == "typing" {
				t.Errorf("%s got %v", name, f)
			}
		}
	}
	for _, f := range wsUntil(t, wb, "message.new", wsMsgID(marker.ID)) {
		if f["type"] == "typing" {
			t.Errorf("bob got his own typing: %v", f)
		}
	}
}

func TestWS_Presence(t *testing.T) {
	t.Parallel()
	d, alice, bob, carol := accUsers(t)
	wa := alice.MustWS()
	// A presence event carries a list of changes, each account's latest.
	bobIn := func(m map[string]any) string {
		changes, _ := m["changes"].([]any)
		for _, c := range changes {
			if c, ok := c.(map[string]any); ok && c["user"] == "bob" {
				s, _ := c["presence"].(string)
				return s
			}
		}
		return ""
	}
	isBob := func(state string) func(map[string]any) bool {
		return func(m map[string]any) bool { return bobIn(m) == state }
	}
	b1 := bob.MustWS()
	wa.WaitFor("presence", 5*time.Second, isBob("online"))
	presence := func() string {
		var out struct {
			Users []struct{ Username, Presence string }
		}
		alice.Must(200, "GET", "/api/users", nil).Decode(t, &out)
		for _, u := range out.Users {
			if u.Username == "bob" {
				return u.Presence
			}
		}
		return ""
	}
	if got, want := presence(), "online"; got != want {
		t.Errorf("bob's presence = %q, want %q", got, want)
	}
	b2 := bob.MustWS()
	b1.C.Close(websocket.StatusNormalClosure, "")
	d.WaitClients(2) // the daemon has seen b1 go: alice's and bob's other socket are left
	// bob still has a connection: no offline.
	marker := bob.Post("c:general", "still here")
	for _, f := range wsUntil(t, wa, "message.new", wsMsgID(marker.ID)) {
		if f["type"] == "presence" && bobIn(f) != "" && bobIn(f) != "online" {
			t.Errorf("presence while bob still has a tab open: %v", f)
		}
	}
	// carol watches alice's presence only, from the handshake on (as the browser watches its
	// DM partners): bob's changes are not sent to her, alice's are.
	wc, _, err := carol.DialWS("watch=alice")
	if err != nil {
		t.Fatal(err)
	}
	b2.Send(map[string]string{"type": "presence", "presence": "away"})
	wa.WaitFor("presence", 5*time.Second, isBob("away"))
	wa.Send(map[string]string{"type": "presence", "presence": "away"})
	aliceAway := func(m map[string]any) bool {
		changes, _ := m["changes"].([]any)
		for _, c := range changes {
			if c, ok := c.(map[string]any); ok && c["user"] == "alice" && c["presence"] == "away" {
				return true
			}
		}
		return false
	}
	for _, f := range wsUntil(t, wc, "presence", aliceAway) {
		if f["type"] == "presence" && bobIn(f) != "" {
			t.Errorf("carol, who watches alice only, got bob's presence: %v", f)
		}
	}
	b2.Send(map[string]string{"type": "presence", "presence": "offline"})
	if e := b2.WaitFor("error", 5*time.Second, nil); e["code"] != "invalid" {
		t.Errorf("presence offline from a client: %v, want an invalid error", e)
	}
	b2.C.Close(websocket.StatusNormalClosure, "")
	wa.WaitFor("presence", 5*time.Second, isBob("offline"))
	if got, want := presence(), "offline"; got != want {
		t.Errorf("bob's presence after his last tab closed = %q, want %q", got, want)
	}
}

func TestWS_ReadReceipts(t *testing.T) {
	t.Parallel()
	_, alice, bob, carol := accUsers(t)
	wa, wb, wc := alice.MustWS(), bob.MustWS(), carol.MustWS()
	dm := accDM(t, alice, "bob")
	m := alice.Post(dm, "read me")
	wb.WaitFor("message.new", 5*time.Second, wsMsgID(m.ID))
	wb.Send(map[string]any{"type": "read", "conversation": dm, "message_id": m.ID})
	r := wa.WaitFor("read", 5*time.Second, nil)
	if r["conversation"] != dm || r["reader"] != "bob" || r["message_id"] != m.ID {
		t.Errorf("alice's read event = %v", r)
	}
	var rc struct {
		Receipts []struct {
			Reader    string
			MessageID string `json:"message_id"`
			ReadTS    int64  `json:"read_ts"`
		}
	}
	alice.Must(200, "GET", ConvPath(dm, "/receipts"), nil).Decode(t, &rc)
	found := false
	for _, x := range rc.Receipts {
		if x.Reader == "bob" && x.MessageID == m.ID && x.ReadTS > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("receipts = %+v, want bob's receipt of %s", rc.Receipts, m.ID)
	}
	// A made-up message id is refused.
	wb.Send(map[string]any{"type": "read", "conversation": dm, "message_id": "01KAZ4AAAAAAAAAAAAAAAAAAAA"})
	if e := wb.WaitFor("error", 5*time.Second, nil); e["code"] != "not_found" {
		t.Errorf("read of a made-up message: %v, want not_found", e)
	}
	// carol hears nothing of it.
	marker := alice.Post("c:general", "marker")
	for _, f := range wsUntil(t, wc, "message.new", wsMsgID(marker.ID)) {
		if f["type"] == "read" {
			t.Errorf("carol got %v", f)
		}
	}
}

func TestWS_EditDeleteReact(t *testing.T) {
	t.Parallel()
	_, alice, bob, carol := accUsers(t)
	clients := map[string]*Client{"alice": alice, "bob": bob, "carol": carol}
	ws := map[string]*WS{}
	for n, c := range clients {
		ws[n] = c.MustWS()
	}
	m := alice.Post("c:general", "first")
	alice.Must(200, "PATCH", ConvPath("c:general", "/messages/"+m.ID), map[string]string{"body": "second **draft**"})
	for n, w := range ws {
		f := w.WaitFor("message.edited", 5*time.Second, wsMsgID(m.ID))
		msg := f["message"].(map[string]any)
		if msg["body"] != "second **draft**" || msg["html"] != "<p>second <strong>draft</strong></p>\n" || msg["edited_ts"].(float64) == 0 {
			t.Errorf("%s's message.edited = %v", n, msg)
		}
	}
	react := func(c *Client, method, emoji string) {
		t.Helper()
		if method == "POST" {
			c.Must(204, "POST", ConvPath("c:general", "/messages/"+m.ID+"/reactions"), map[string]string{"emoji": emoji})
		} else {
			c.Must(204, "DELETE", ConvPath("c:general", "/messages/"+m.ID+"/reactions/"+emoji), nil)
		}
	}
	// A reaction event carries the change only (who, which emoji, added or removed); the
	// message's whole list is what history returns.
	expect := func(user, emoji string, added bool, want string) {
		t.Helper()
		for n, w := range ws {
			f := w.WaitFor("reaction", 5*time.Second, nil)
			if f["conversation"] != "c:general" || f["id"] != m.ID || f["user"] != user || f["emoji"] != emoji || f["added"] != added {
				t.Errorf("%s's reaction event = %v, want %s %s added=%v", n, f, user, emoji, added)
			}
			if _, ok := f["reactions"]; ok {
				t.Errorf("%s's reaction event carries the whole list: %v", n, f)
			}
		}
		var got []Message
		accHistory(alice, "c:general", func(h []Message) bool { got = h; return len(h) == 1 })
		rs := got[0].Reactions
		sort.Slice(rs, func(i, j int) bool { return rs[i].Emoji < rs[j].Emoji }) // order of the same second aside
		if r := fmt.Sprint(rs); r != want {
			t.Errorf("reactions in history = %s, want %s", r, want)
		}
	}
	react(bob, "POST", "👍")
	expect("bob", "👍", true, "[{👍 [bob]}]")
	react(carol, "POST", "👍")
	expect("carol", "👍", true, "[{👍 [bob carol]}]")
	react(alice, "POST", "🎉")
	expect("alice", "🎉", true, "[{🎉 [alice]} {👍 [bob carol]}]")
	react(bob, "DELETE", "%F0%9F%91%8D")
	expect("bob", "👍", false, "[{🎉 [alice]} {👍 [carol]}]")
	apiErr(t, "emoji with a space", bob.Do("POST", ConvPath("c:general", "/messages/"+m.ID+"/reactions"), map[string]string{"emoji": "a b"}), 400, "invalid")
	apiErr(t, "emoji too long", bob.Do("POST", ConvPath("c:general", "/messages/"+m.ID+"/reactions"), map[string]string{"emoji": strings.Repeat("x", 33)}), 400, "invalid")

	alice.Must(204, "DELETE", ConvPath("c:general", "/messages/"+m.ID), nil)
	for n, w := range ws {
		f := w.WaitFor("message.deleted", 5*time.Second, nil)
		if f["conversation"] != "c:general" || f["id"] != m.ID {
			t.Errorf("%s's message.deleted = %v", n, f)
		}
	}
	// A deleted message can no longer be edited or reacted to (once the delete reached the
	// copies: it is applied asynchronously after the 204).
	accHistory(alice, "c:general", func(h []Message) bool { return len(h) == 1 && h[0].Deleted })
	accHistory(bob, "c:general", func(h []Message) bool { return len(h) == 1 && h[0].Deleted })
	apiErr(t, "edit a deleted message", alice.Do("PATCH", ConvPath("c:general", "/messages/"+m.ID), map[string]string{"body": "x"}), 404, "not_found")
	apiErr(t, "react to a deleted message", bob.Do("POST", ConvPath("c:general", "/messages/"+m.ID+"/reactions"), map[string]string{"emoji": "👍"}), 404, "not_found")
}
