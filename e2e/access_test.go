package e2e_test

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	accTags    = regexp.MustCompile(`<[^>]*>`)
	accHandler = regexp.MustCompile(`\son[a-z]+\s*=`)
)

// accHistory returns c's history of conv once ok accepts it (or after 3 s). Writes reach
// each member's copy asynchronously after the 201 (see the report on store.History), so a
// read right after a write polls.
func accHistory(c *Client, conv string, ok func([]Message) bool) []Message {
	c.t.Helper()
	var h []Message
	poll(3*time.Second, func() bool { h = c.History(conv); return ok(h) })
	return h
}

func accLen(n int) func([]Message) bool { return func(h []Message) bool { return len(h) >= n } }

// accUsers starts a daemon with alice, bob and carol logged in.
func accUsers(t *testing.T, args ...string) (d *Daemon, alice, bob, carol *Client) {
	t.Helper()
	d = StartDaemon(t, args...)
	var cs []*Client
	for _, n := range []string{"alice", "bob", "carol"} {
		d.CreateUser(n, n+"-password")
		c := d.NewClient()
		c.Login(n, n+"-password")
		cs = append(cs, c)
	}
	return d, cs[0], cs[1], cs[2]
}

// accPrivate makes a private channel of c and members and returns its id.
func accPrivate(t *testing.T, c *Client, name string, members ...string) string {
	t.Helper()
	var out struct{ Conversation struct{ ID string } }
	c.Must(201, "POST", "/api/private-channels", map[string]any{"name": name, "members": members}).Decode(t, &out)
	if !strings.HasPrefix(out.Conversation.ID, "p:") {
		t.Fatalf("private channel id = %q", out.Conversation.ID)
	}
	return out.Conversation.ID
}

// accDM opens the DM of c with members and returns its id.
func accDM(t *testing.T, c *Client, members ...string) string {
	t.Helper()
	var out struct{ Conversation struct{ ID string } }
	c.Must(200, "POST", "/api/dms", map[string]any{"members": members}).Decode(t, &out)
	return out.Conversation.ID
}

// accUploadMsg uploads a file to conv and returns the message.
func accUploadMsg(t *testing.T, c *Client, conv, name string, data []byte) Message {
	t.Helper()
	r := apiUpload(c, ConvPath(conv, "/files"), "file", name, data, map[string]string{"body": "file " + name})
	if r.Status != 201 {
		t.Fatalf("upload %s to %s: %d %s", name, conv, r.Status, r.Body)
	}
	var out struct{ Message Message }
	r.Decode(t, &out)
	if out.Message.Attachment == nil || out.Message.Attachment.URL == "" {
		t.Fatalf("upload %s: no attachment url in %s", name, r.Body)
	}
	return out.Message
}

func TestAccess_OutsiderGets404(t *testing.T) {
	t.Parallel()
	d, alice, bob, carol := accUsers(t)
	priv := accPrivate(t, alice, "secret", "bob")
	dm := accDM(t, alice, "bob")
	if dm != "d:alice,bob" {
		t.Fatalf("dm id = %q, want d:alice,bob", dm)
	}
	// The body of a 404 for a conversation that does not exist at all.
	ghost := carol.Do("GET", ConvPath("p:doesnotexist0000", ""), nil)
	apiErr(t, "made-up private channel", ghost, 404, "not_found")
	ghostDM := carol.Do("GET", ConvPath("d:alice,zed", ""), nil)
	apiErr(t, "made-up DM", ghostDM, 404, "not_found")
	if string(ghost.Body) != string(ghostDM.Body) {
		t.Errorf("made-up ids answer differently: %s vs %s", ghost.Body, ghostDM.Body)
	}

	for _, conv := range []string{priv, dm} {
		t.Run(conv[:1], func(t *testing.T) {
			m := alice.Post(conv, "secret text in "+conv)
			bob.Must(204, "POST", ConvPath(conv, "/messages/"+m.ID+"/reactions"), map[string]string{"emoji": "👍"})
			f := accUploadMsg(t, alice, conv, "secret.txt", []byte("top secret"))
			ct, mp := apiMultipart(t, "file", "x.txt", []byte("carol was here"), nil)
			mpath := ConvPath(conv, "/messages/"+m.ID)
			uploadsBefore := len(apiDirFiles(t, d, "uploads"))
			reactionsBefore := d.SQLite("presence.db", "SELECT COUNT(*) FROM message_reactions")
			cases := []struct {
				name, method, path, ctype string
				body                      any
			}{
				{"conversation", "GET", ConvPath(conv, ""), "", nil},
				{"members", "GET", ConvPath(conv, "/members"), "", nil},
				{"history", "GET", ConvPath(conv, "/messages"), "", nil},
				{"history page", "GET", ConvPath(conv, "/messages?before="+m.ID+"&limit=10"), "", nil},
				{"post", "POST", ConvPath(conv, "/messages"), "json", map[string]string{"body": "hi"}},
				{"upload", "POST", ConvPath(conv, "/files"), ct, mp},
				{"edit", "PATCH", mpath, "json", map[string]string{"body": "edited"}},
				{"delete", "DELETE", mpath, "", nil},
				{"react", "POST", mpath + "/reactions", "json", map[string]string{"emoji": "👎"}},
				{"unreact", "DELETE", mpath + "/reactions/" + url.PathEscape("👍"), "", nil},
				{"read", "POST", ConvPath(conv, "/read"), "json", map[string]string{"message_id": m.ID}},
				{"mark unread", "POST", ConvPath(conv, "/unread"), "json", map[string]string{"message_id": m.ID}},
				{"thread", "GET", ConvPath(conv, "/threads/"+m.ID), "", nil},
				{"reply in thread", "POST", ConvPath(conv, "/messages"), "json", map[string]string{"body": "hi", "thread_root": m.ID}},
				{"notification level", "PUT", ConvPath(conv, "/notifications"), "json", map[string]any{"level": "all", "muted": true}},
				{"receipts", "GET", ConvPath(conv, "/receipts"), "", nil},
				{"typing", "POST", ConvPath(conv, "/typing"), "", nil},
				{"add member", "POST", ConvPath(conv, "/members"), "json", map[string]string{"username": "carol"}},
				{"leave", "POST", ConvPath(conv, "/leave"), "", nil},
				{"file", "GET", f.Attachment.URL, "", nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					var r Response
					switch tc.ctype {
					case "":
						r = carol.Raw(tc.method, tc.path, "", nil)
					case "json":
						r = carol.Do(tc.method, tc.path, tc.body)
					default:
						r = carol.Raw(tc.method, tc.path, tc.ctype, tc.body.([]byte))
					}
					apiErr(t, tc.method+" "+tc.path, r, 404, "not_found")
					if tc.name == "conversation" && string(r.Body) != string(ghost.Body) {
						t.Errorf("body %s differs from a made-up id's %s", r.Body, ghost.Body)
					}
				})
			}
			// Nothing carol did reached the conversation.
			hist := accHistory(alice, conv, accLen(2))
			if got, want := len(hist), 2; got != want {
				t.Errorf("alice's history has %d messages, want %d", got, want)
			}
			for _, h := range hist {
				if h.Sender != "alice" || h.Deleted || h.EditedTS != 0 {
					t.Errorf("message changed by carol: %+v", h)
				}
			}
			var ms struct{ Members []string }
			alice.Must(200, "GET", ConvPath(conv, "/members"), nil).Decode(t, &ms)
			if slices.Contains(ms.Members, "carol") {
				t.Errorf("members = %v: carol added herself", ms.Members)
			}
			if got := len(apiDirFiles(t, d, "uploads")); got != uploadsBefore {
				t.Errorf("uploads/ has %d files, want %d: carol's upload was stored", got, uploadsBefore)
			}
			var rc struct {
				Receipts []struct{ Reader string }
			}
			alice.Must(200, "GET", ConvPath(conv, "/receipts"), nil).Decode(t, &rc)
			for _, x := range rc.Receipts {
				if x.Reader == "carol" {
					t.Errorf("carol's read receipt was stored")
				}
			}
			if got := d.SQLite("presence.db", "SELECT COUNT(*) FROM message_reactions"); got != reactionsBefore {
				t.Errorf("reactions = %s, want %s: carol changed them", got, reactionsBefore)
			}
		})
	}
	// Not in carol's sidebar either.
	var cl struct{ Conversations []struct{ ID string } }
	carol.Must(200, "GET", "/api/conversations", nil).Decode(t, &cl)
	for _, c := range cl.Conversations {
		if c.ID == priv || c.ID == dm {
			t.Errorf("carol's conversations list %s", c.ID)
		}
	}
	if _, err := os.Stat(d.Path("users", "carol.db")); err != nil {
		t.Fatal(err)
	}
	if got := d.SQLite("users/carol.db", "SELECT COUNT(*) FROM messages WHERE body LIKE '%secret%'"); got != "0" {
		t.Errorf("carol's database holds %s secret messages, want 0", got)
	}
}

func TestAccess_OthersMessages(t *testing.T) {
	t.Parallel()
	_, alice, bob, _ := accUsers(t)
	m := alice.Post("c:general", "alice's words")
	apiErr(t, "bob edits alice's message", bob.Do("PATCH", ConvPath("c:general", "/messages/"+m.ID), map[string]string{"body": "bob's words"}), 404, "not_found")
	apiErr(t, "bob deletes alice's message", bob.Do("DELETE", ConvPath("c:general", "/messages/"+m.ID), nil), 404, "not_found")
	apiErr(t, "edit a made-up message", bob.Do("PATCH", ConvPath("c:general", "/messages/01KAZ4AAAAAAAAAAAAAAAAAAAA"), map[string]string{"body": "x"}), 404, "not_found")
	apiErr(t, "edit a malformed message id", bob.Do("PATCH", ConvPath("c:general", "/messages/..%2F..%2Fx"), map[string]string{"body": "x"}), 404, "not_found")
	for _, c := range []*Client{alice, bob} {
		h := accHistory(c, "c:general", accLen(1))
		if len(h) != 1 || h[0].Body != "alice's words" || h[0].Deleted || h[0].EditedTS != 0 {
			t.Errorf("%s's history = %+v, want alice's message unchanged", c.User, h)
		}
	}
	// alice can.
	alice.Must(200, "PATCH", ConvPath("c:general", "/messages/"+m.ID), map[string]string{"body": "alice's edit"})
	alice.Must(204, "DELETE", ConvPath("c:general", "/messages/"+m.ID), nil)
	if h := accHistory(bob, "c:general", func(h []Message) bool { return len(h) == 1 && h[0].Deleted }); len(h) != 1 || !h[0].Deleted || h[0].Body != "" {
		t.Errorf("bob's history after delete = %+v, want a deleted message", h)
	}
}

func TestAccess_PrivateChannelMembership(t *testing.T) {
	t.Parallel()
	_, alice, bob, carol := accUsers(t)
	priv := accPrivate(t, alice, "team", "bob")
	alice.Post(priv, "before carol")
	alice.Must(204, "POST", ConvPath(priv, "/members"), map[string]string{"username": "carol"})
	alice.Post(priv, "after carol")
	bodies := func(ms []Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Body)
		}
		return out
	}
	// carol receives the channel's recent history when she is added, and everyone reads that
	// she was.
	if got, want := bodies(accHistory(carol, priv, accLen(3))), []string{"before carol", "alice added carol", "after carol"}; !slices.Equal(got, want) {
		t.Errorf("carol's history = %q, want %q", got, want)
	}
	if got, want := bodies(accHistory(bob, priv, accLen(3))), []string{"before carol", "alice added carol", "after carol"}; !slices.Equal(got, want) {
		t.Errorf("bob's history = %q, want %q", got, want)
	}

	ws := carol.MustWS()
	carol.Must(204, "POST", ConvPath(priv, "/leave"), nil)
	ws.WaitFor("conversation.removed", 5*time.Second, func(m map[string]any) bool { return m["id"] == priv })
	alice.Post(priv, "after carol left")
	marker := alice.Post("c:general", "marker")
	for {
		f := ws.Next(5 * time.Second)
		if f == nil {
			t.Fatalf("carol never got the marker message")
		}
		if f["type"] == "message.new" {
			msg := f["message"].(map[string]any)
			if msg["id"] == marker.ID {
				break
			}
			t.Errorf("carol got a message after leaving: %v", msg)
		}
	}
	apiErr(t, "history after leaving", carol.Do("GET", ConvPath(priv, "/messages"), nil), 404, "not_found")
	apiErr(t, "post after leaving", carol.Do("POST", ConvPath(priv, "/messages"), map[string]string{"body": "x"}), 404, "not_found")
	if got, want := bodies(accHistory(bob, priv, accLen(5))), []string{"before carol", "alice added carol", "after carol", "carol left", "after carol left"}; !slices.Equal(got, want) {
		t.Errorf("bob's history = %q, want %q", got, want)
	}
	var sr struct{ Messages []Message }
	carol.Must(200, "GET", "/api/search?q=carol", nil).Decode(t, &sr)
	if len(sr.Messages) != 0 {
		t.Errorf("carol's search finds %d messages of a channel she left", len(sr.Messages))
	}
	// Adding to a public channel or a DM is refused.
	apiErr(t, "add member to a public channel", alice.Do("POST", ConvPath("c:general", "/members"), map[string]string{"username": "carol"}), 400, "invalid")
	apiErr(t, "add a missing user", alice.Do("POST", ConvPath(priv, "/members"), map[string]string{"username": "nobody"}), 400, "invalid")
}

func TestAccess_SearchPrivacy(t *testing.T) {
	t.Parallel()
	_, alice, bob, carol := accUsers(t)
	dm := accDM(t, alice, "bob")
	alice.Post(dm, "the zebra password is hunter2")
	search := func(c *Client, q string) []Message {
		var out struct{ Messages []Message }
		c.Must(200, "GET", "/api/search?q="+url.QueryEscape(q), nil).Decode(t, &out)
		return out.Messages
	}
	if got := search(carol, "zebra"); len(got) != 0 {
		t.Errorf("carol's search finds %+v, want nothing", got)
	}
	if got := search(carol, "hunter2"); len(got) != 0 {
		t.Errorf("carol's search finds %+v, want nothing", got)
	}
	if got := search(bob, "zebra"); len(got) != 1 || got[0].Conversation != dm {
		t.Errorf("bob's search = %+v, want the DM message", got)
	}
}

func TestAccess_PathTricks(t *testing.T) {
	t.Parallel()
	d, alice, bob, _ := accUsers(t)
	for _, p := range []string{
		"/api/files/c%3Ageneral/..%2Fauth.db",
		"/api/files/c%3Ageneral/..%2F..%2Fsecret.key",
		"/api/files/c%3Ageneral/%2E%2E%2Fauth.db",
		"/api/files/c%3Ageneral/secret.key",
		"/api/files/c%3Ageneral/..",
		"/api/files/..%2Fauth.db/x",
		"/api/avatars/..%2Fsecret.key",
		"/api/avatars/..%2Fauth.db",
		"/api/avatars/secret.key",
		"/api/avatars/.png",
	} {
		r := alice.Raw("GET", p, "", nil)
		if r.Status != 404 && r.Status != 400 {
			t.Errorf("GET %s: status %d, want 404 or 400", p, r.Status)
		}
		if strings.Contains(string(r.Body), "argon2") || len(r.Body) > 2000 {
			t.Errorf("GET %s: leaked %d bytes", p, len(r.Body))
		}
	}

	before := map[string]bool{}
	filepath.WalkDir(filepath.Dir(d.Dir), func(p string, e fs.DirEntry, err error) error {
		before[p] = true
		return nil
	})
	m := accUploadMsg(t, alice, "c:general", "../../evil.sh", []byte("#!/bin/sh\nrm -rf /\n"))
	a := m.Attachment
	if a.Name != "evil.sh" {
		t.Errorf("attachment name = %q, want evil.sh", a.Name)
	}
	if strings.Contains(a.StoredName, "evil") || strings.ContainsAny(a.StoredName, "/\\") || strings.HasPrefix(a.StoredName, ".") {
		t.Errorf("stored name = %q, want a random plain name", a.StoredName)
	}
	if _, err := os.Stat(d.Path("uploads", a.StoredName)); err != nil {
		t.Errorf("uploaded file not in uploads/: %v", err)
	}
	filepath.WalkDir(filepath.Dir(d.Dir), func(p string, e fs.DirEntry, err error) error {
		if !before[p] && filepath.Dir(p) != d.Path("uploads") && filepath.Dir(p) != d.Path("users") &&
			!strings.HasSuffix(p, "-wal") && !strings.HasSuffix(p, "-shm") && !strings.HasSuffix(p, "-journal") {
			t.Errorf("upload created %s outside uploads/", p)
		}
		return nil
	})
	r := bob.Do("GET", a.URL, nil)
	if r.Status != 200 || string(r.Body) != "#!/bin/sh\nrm -rf /\n" {
		t.Errorf("bob downloads evil.sh: %d %q", r.Status, r.Body)
	}
	if got := r.Header.Get("Content-Disposition"); !strings.HasPrefix(got, "attachment") {
		t.Errorf("Content-Disposition = %q, want attachment", got)
	}
	if got, want := r.Header.Get("Content-Type"), "application/octet-stream"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if got, want := r.Header.Get("X-Content-Type-Options"), "nosniff"; got != want {
		t.Errorf("X-Content-Type-Options = %q, want %q", got, want)
	}

	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>`)
	html := []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")
	pic := apiPNG(t, 8, 8, false)
	for _, tc := range []struct {
		name   string
		data   []byte
		inline bool
		ctype  string
	}{
		{"x.svg", svg, false, "application/octet-stream"},
		{"x.SVG", svg, false, "application/octet-stream"},
		{"x.html", html, false, "application/octet-stream"},
		{"x.htm", html, false, "application/octet-stream"},
		{"html.png", html, false, "application/octet-stream"},
		{"svg.png", svg, false, "application/octet-stream"},
		{"png.html", pic, false, "application/octet-stream"},
		{"cat.png", pic, true, "image/png"},
		{"CAT.PNG", pic, true, "image/png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := accUploadMsg(t, alice, "c:general", tc.name, tc.data)
			if m.Attachment.Image != tc.inline {
				t.Errorf("attachment image = %v, want %v", m.Attachment.Image, tc.inline)
			}
			r := bob.Do("GET", m.Attachment.URL, nil)
			if r.Status != 200 {
				t.Fatalf("download: %d %s", r.Status, r.Body)
			}
			disp := r.Header.Get("Content-Disposition")
			if got := strings.HasPrefix(disp, "inline"); got != tc.inline {
				t.Errorf("Content-Disposition = %q, want inline %v", disp, tc.inline)
			}
			if !tc.inline && !strings.HasPrefix(disp, "attachment") {
				t.Errorf("Content-Disposition = %q, want attachment", disp)
			}
			if got := r.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if got, want := r.Header.Get("X-Content-Type-Options"), "nosniff"; got != want {
				t.Errorf("X-Content-Type-Options = %q, want %q", got, want)
			}
		})
	}
	// A stored name of another conversation is not served through this one.
	dm := accDM(t, alice, "bob")
	f := accUploadMsg(t, alice, dm, "dm.txt", []byte("dm file"))
	wrong := "/api/files/" + url.PathEscape("c:general") + "/" + url.PathEscape(f.Attachment.StoredName)
	apiErr(t, "DM file through c:general", bob.Do("GET", wrong, nil), 404, "not_found")
}

func TestAccess_MalformedIDs(t *testing.T) {
	t.Parallel()
	_, alice, _, _ := accUsers(t)
	for _, id := range []string{"x:1", "d:alice", "d:bob,alice", "d:alice,alice", "c:../x", "c:nosuchchannel",
		"c:General", "p:../../x", "p:", "general", "c:", "d:alice,bob,", "d:Alice,bob", "p:zzzzzzzzzzzz"} {
		t.Run(url.PathEscape(id), func(t *testing.T) {
			apiErr(t, "GET conversation", alice.Do("GET", ConvPath(id, ""), nil), 404, "not_found")
			apiErr(t, "GET messages", alice.Do("GET", ConvPath(id, "/messages"), nil), 404, "not_found")
			apiErr(t, "POST message", alice.Do("POST", ConvPath(id, "/messages"), map[string]string{"body": "hi"}), 404, "not_found")
		})
	}
}

func TestAccess_MessageBodies(t *testing.T) {
	t.Parallel()
	d, alice, _, _ := accUsers(t)
	path := ConvPath("c:general", "/messages")
	for _, tc := range []struct {
		name   string
		raw    string
		status int
		code   string
	}{
		{"empty", `{"body":""}`, 400, "invalid"},
		{"blank", `{"body":"  \n\t "}`, 400, "invalid"},
		{"missing", `{}`, 400, "invalid"},
		{"over 16000 bytes", `{"body":"` + strings.Repeat("a", 16001) + `"}`, 413, "too_large"},
		{"invalid UTF-8", "{\"body\":\"bad \xff\xfe bytes\"}", 400, "invalid"},
		{"NUL", `{"body":"a\u0000b"}`, 400, "invalid"},
		{"unknown field", `{"body":"hi","sender":"bob"}`, 400, "invalid"},
		{"malformed thread root", `{"body":"hi","thread_root":"../x"}`, 400, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiErr(t, "post", alice.Raw("POST", path, "application/json", []byte(tc.raw)), tc.status, tc.code)
		})
	}
	if got := d.SQLite("users/alice.db", "SELECT COUNT(*) FROM messages"); got != "0" {
		t.Errorf("alice's messages after refused posts = %s, want 0", got)
	}
	alice.Post("c:general", strings.Repeat("b", 16000))

	for _, payload := range []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(1)>`,
		`[x](javascript:alert(1))`,
		`[x](JaVaScRiPt:alert(1))`,
		`[x](  javascript:alert(1))`,
		`<a href="javascript:alert(1)">x</a>`,
		"![x](javascript:alert(1))",
		`<javascript:alert(1)>`,
		"`<script>` and ```\n<script>alert(1)</script>\n```",
		`<iframe src="https://evil.example"></iframe>`,
		`[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
		`<svg onload=alert(1)>`,
		"@alice\"><script>alert(1)</script>",
	} {
		t.Run(payload, func(t *testing.T) {
			m := alice.Post("c:general", payload)
			hist := accHistory(alice, "c:general", func(h []Message) bool { return len(h) > 0 && h[len(h)-1].ID == m.ID })
			for _, h := range []string{m.HTML, hist[len(hist)-1].HTML} {
				// Escaped text (&lt;img onerror=…&gt;) is inert; only real tags matter.
				for _, tag := range accTags.FindAllString(strings.ToLower(h), -1) {
					for _, bad := range []string{"<script", "<img", "<iframe", "<svg", "<object", "<embed", "javascript:", "data:", "vbscript:"} {
						if strings.Contains(tag, bad) {
							t.Errorf("html %q has the tag %q (%s)", h, tag, bad)
						}
					}
					if accHandler.MatchString(tag) {
						t.Errorf("html %q has an event handler in %q", h, tag)
					}
				}
				if strings.Contains(strings.ToLower(h), "<script") {
					t.Errorf("html %q contains <script", h)
				}
			}
			if m.Body != payload {
				t.Errorf("body = %q, want %q kept as typed", m.Body, payload)
			}
		})
	}
}

func TestAccess_RemovedChannel(t *testing.T) {
	t.Parallel()
	d, alice, bob, _ := accUsers(t)
	d.MustCtl("channels", "add", "random")
	waitFor(t, "c:random among bob's conversations", func() bool { return slices.Contains(conversationIDs(t, bob), "c:random") })
	ws := bob.MustWS()
	alice.Post("c:random", "in random")
	f := accUploadMsg(t, alice, "c:random", "r.txt", []byte("random file"))
	if h := accHistory(bob, "c:random", accLen(2)); len(h) != 2 {
		t.Fatalf("bob's history of random = %+v", h)
	}
	d.MustCtl("channels", "remove", "random")
	ch := ws.WaitFor("channels", 5*time.Second, func(m map[string]any) bool { return fmt.Sprint(m["channels"]) == "[general]" })
	if ch == nil {
		t.Errorf("no channels event after channels remove")
	}
	apiErr(t, "history of a removed channel", bob.Do("GET", ConvPath("c:random", "/messages"), nil), 404, "not_found")
	apiErr(t, "post to a removed channel", alice.Do("POST", ConvPath("c:random", "/messages"), map[string]string{"body": "x"}), 404, "not_found")
	apiErr(t, "file of a removed channel", bob.Do("GET", f.Attachment.URL, nil), 404, "not_found")
	var cl struct{ Conversations []struct{ ID string } }
	bob.Must(200, "GET", "/api/conversations", nil).Decode(t, &cl)
	for _, c := range cl.Conversations {
		if c.ID == "c:random" {
			t.Errorf("removed channel still listed")
		}
	}
	var sr struct{ Messages []Message }
	bob.Must(200, "GET", "/api/search?q=random", nil).Decode(t, &sr)
	if len(sr.Messages) != 0 {
		t.Errorf("search finds %d messages of a removed channel", len(sr.Messages))
	}
	// The messages stay in the databases.
	copiesWritten(t, d)
	if got := d.SQLite("users/bob.db", "SELECT COUNT(*) FROM messages WHERE body='in random'"); got != "1" {
		t.Errorf("bob's database keeps %s copies of the message, want 1", got)
	}
}
