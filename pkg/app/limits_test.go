package app_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/chat"
)

// tooMany checks that err is ETooMany with a Retry-After.
func tooMany(t *testing.T, what string, err error) {
	t.Helper()
	var ce *chat.Error
	if chat.ErrorCode(err) != chat.ETooMany || !asError(err, &ce) || ce.RetryAfter < 1 {
		t.Errorf("%s: %v, want too_many with a retry-after", what, err)
	}
}

func asError(err error, target **chat.Error) bool {
	e, ok := err.(*chat.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestLimits_Posts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.mustAccount(t, "alice"), e.mustAccount(t, "bob")
	e.settings.set(func(s *chat.Settings) { s.PostsPerMinute = 3 })
	for i := range 3 {
		if _, err := e.app.Post(e.ctx, alice, "c:general", "hello", "", nil); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	_, err := e.app.Post(e.ctx, alice, "c:general", "one too many", "", nil)
	tooMany(t, "the 4th post in a minute", err)
	if _, err := e.app.Post(e.ctx, bob, "c:general", "bob has his own budget", "", nil); err != nil {
		t.Errorf("bob's post: %v", err)
	}
	e.clock.advance(20 * time.Second) // one post back every 20 s
	if _, err := e.app.Post(e.ctx, alice, "c:general", "later", "", nil); err != nil {
		t.Errorf("a post after the wait: %v", err)
	}
	e.settings.set(func(s *chat.Settings) { s.PostsPerMinute = 0 }) // off
	for range 10 {
		if _, err := e.app.Post(e.ctx, alice, "c:general", "unlimited", "", nil); err != nil {
			t.Fatalf("posting with the limit off: %v", err)
		}
	}
}

func TestLimits_Reactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.mustAccount(t, "alice"), e.mustAccount(t, "bob")
	m, err := e.app.Post(e.ctx, alice, "c:general", "react to me", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.settings.set(func(s *chat.Settings) { s.MaxReactionsPerMessage = 2; s.ReactionsPerMinute = 3 })
	for _, emoji := range []string{"👍", "🎉"} {
		if err := e.app.React(e.ctx, alice, "c:general", m.ID, emoji, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.app.React(e.ctx, alice, "c:general", m.ID, "🚀", true); chat.ErrorCode(err) != chat.EConflict {
		t.Errorf("a 3rd distinct emoji: %v, want conflict", err)
	}
	e.rec.take()
	if err := e.app.React(e.ctx, bob, "c:general", m.ID, "👍", true); err != nil {
		t.Errorf("an emoji already there: %v", err)
	}
	// The event carries the change, not the list.
	evs := e.rec.take()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	if ev, ok := evs[0].ev.(chat.ReactionChanged); !ok || ev.Emoji != "👍" || ev.User != "bob" || !ev.Added || ev.ID != m.ID {
		t.Errorf("reaction event = %#v", evs[0].ev)
	}
	// Adding it again changes nothing and tells no one.
	if err := e.app.React(e.ctx, bob, "c:general", m.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	if evs := e.rec.take(); len(evs) != 0 {
		t.Errorf("a reaction that changed nothing published %d events", len(evs))
	}
	tooMany(t, "alice's 4th reaction in a minute (the refused one counts)", e.app.React(e.ctx, alice, "c:general", m.ID, "👍", false))
}

func TestLimits_PrivateChannelsAndInvitations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	for _, n := range []string{"bob", "carol", "dave", "erin"} {
		e.mustAccount(t, n)
	}
	e.settings.set(func(s *chat.Settings) { s.PrivateChannelsPerHour = 2; s.InvitationsPerHour = 3 })
	pc, err := e.app.CreatePrivateChannel(e.ctx, alice, "one", []string{"bob", "carol"}) // 2 invitations
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.Invite(e.ctx, alice, pc.ID, "dave"); err != nil { // the 3rd
		t.Fatal(err)
	}
	tooMany(t, "a 4th invitation in an hour", e.app.Invite(e.ctx, alice, pc.ID, "erin"))
	_, err = e.app.CreatePrivateChannel(e.ctx, alice, "two", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.app.CreatePrivateChannel(e.ctx, alice, "three", nil)
	tooMany(t, "a 3rd private channel in an hour", err)
	e.clock.advance(time.Hour)
	if err := e.app.Invite(e.ctx, alice, pc.ID, "erin"); err != nil {
		t.Errorf("an invitation an hour later: %v", err)
	}
}

func TestLimits_UploadsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	e.settings.set(func(s *chat.Settings) { s.UploadsAtOnce = 1 })
	release, err := e.app.BeginUpload(e.ctx, alice, "c:general")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.app.BeginUpload(e.ctx, alice, "c:general")
	tooMany(t, "a 2nd upload at once", err)
	release()
	release() // twice is harmless
	r2, err := e.app.BeginUpload(e.ctx, alice, "c:general")
	if err != nil {
		t.Fatalf("an upload after the first ended: %v", err)
	}
	r2()
	if _, err := e.app.BeginUpload(e.ctx, chat.Account{}, "c:general"); chat.ErrorCode(err) != chat.EUnauthorized {
		t.Errorf("an anonymous upload: %v", err)
	}
	// Refused before anything is received: a conversation alice is not in, and the system's
	// notices, which nobody reads replies in.
	if _, err := e.app.BeginUpload(e.ctx, alice, "d:bob,carol"); chat.ErrorCode(err) != chat.ENotFound {
		t.Errorf("an upload into someone else's DM: %v", err)
	}
	sysDM, _ := chat.DMID([]string{chat.SystemUser, alice.ID})
	if _, err := e.app.BeginUpload(e.ctx, alice, sysDM); chat.ErrorCode(err) != chat.EForbidden {
		t.Errorf("an upload into the system's DM: %v", err)
	}
}

func TestSessions_IdleTimeoutAndLogoutEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	e.settings.set(func(s *chat.Settings) { s.SessionIdleDays = 2 })
	h := e.session(t, alice)
	e.clock.advance(36 * time.Hour)
	if _, err := e.app.Authenticate(e.ctx, h); err != nil {
		t.Fatalf("a session used 36 h ago: %v", err)
	}
	e.clock.advance(36 * time.Hour) // used above, so still within two days
	if _, err := e.app.Authenticate(e.ctx, h); err != nil {
		t.Fatalf("a session used 36 h ago again: %v", err)
	}
	e.clock.advance(49 * time.Hour)
	if _, err := e.app.Authenticate(e.ctx, h); chat.ErrorCode(err) != chat.EUnauthorized {
		t.Errorf("a session unused for 49 h with a 2-day idle limit: %v", err)
	}
	h1, h2 := e.session(t, alice), e.session(t, alice)
	if err := e.app.LogoutEverywhere(e.ctx, alice); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{h1, h2} {
		if _, err := e.app.Authenticate(e.ctx, h); chat.ErrorCode(err) != chat.EUnauthorized {
			t.Errorf("a session after log out everywhere: %v", err)
		}
	}
}

func TestResetLinks_InvalidatedByResetAndPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	token := func() string {
		link, _, err := e.app.IssueResetLink(e.ctx, "alice", time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		return link[strings.Index(link, "token=")+6:]
	}
	t1, t2 := token(), token()
	if err := e.app.ResetPassword(e.ctx, t1, "first-reset"); err != nil {
		t.Fatal(err)
	}
	if err := e.app.ResetPassword(e.ctx, t2, "second-reset"); chat.ErrorCode(err) != chat.EInvalid {
		t.Errorf("an older link after a reset: %v, want invalid", err)
	}
	t3 := token()
	if err := e.app.ChangePassword(e.ctx, alice, "", "first-reset", "changed-password"); err != nil {
		t.Fatal(err)
	}
	if err := e.app.ResetPassword(e.ctx, t3, "third-reset"); chat.ErrorCode(err) != chat.EInvalid {
		t.Errorf("a link after a password change: %v, want invalid", err)
	}
}

func TestCleanFileName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\\Users\\x\\cat.png`, "cat.png"},
		{"invoice\u202Egnp.exe", "invoicegnp.exe"}, // right-to-left override
		{"a\u200Bb\u2066c\u2069.txt", "abc.txt"},   // zero-width space, isolates
		{"tab\there\n.txt", "tabhere.txt"},
		{"", "file"}, {"..", "file"}, {"\u202E", "file"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100)},
	}
	for _, tt := range tests {
		if got := app.CleanFileName(tt.in); got != tt.want {
			t.Errorf("CleanFileName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// pngHeader returns the start of a PNG whose header claims w×h pixels: enough for a size
// check, which must refuse it before decoding anything.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	b.WriteString(strings.Repeat("\x00", 64))
	return b.Bytes()
}

func TestAvatars_CheckedAndReencoded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	var big bytes.Buffer
	png.Encode(&big, image.NewRGBA(image.Rect(0, 0, 1000, 500)))
	u, err := e.app.SetAvatar(e.ctx, alice, big.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	path, ctype, err := e.app.Avatar(e.ctx, alice, strings.TrimPrefix(u.AvatarURL, "/api/avatars/"))
	if err != nil || ctype != "image/png" {
		t.Fatalf("Avatar = %q, %q, %v", path, ctype, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != app.AvatarSide || cfg.Height != app.AvatarSide/2 {
		t.Errorf("stored avatar = %dx%d (%v), want %dx%d", cfg.Width, cfg.Height, err, app.AvatarSide, app.AvatarSide/2)
	}
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("avatar file mode = %v, want 0600", fi.Mode().Perm())
	}
	for _, bad := range [][]byte{pngHeader(8192, 8192), pngHeader(5000, 4000), []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), []byte("GIF89a")} {
		if _, err := e.app.SetAvatar(e.ctx, alice, bad); chat.ErrorCode(err) != chat.EInvalid {
			t.Errorf("avatar %q…: %v, want invalid", bad[:6], err)
		}
	}
}

func TestAttachments_HugeImagesAreDownloadsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	post := func(name string, data []byte) chat.Message {
		t.Helper()
		f, err := e.app.UploadTemp()
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(f.Name())
		f.Write(data)
		f.Close()
		m, err := e.app.PostFile(e.ctx, alice, "c:general", name, f.Name(), "")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	var small bytes.Buffer
	png.Encode(&small, image.NewRGBA(image.Rect(0, 0, 40, 30)))
	if m := post("small.png", small.Bytes()); !m.Attachment.Image || m.Attachment.Type != "image/png" {
		t.Errorf("a small PNG = %+v, want an inline image", m.Attachment)
	}
	if m := post("huge.png", pngHeader(10000, 8000)); m.Attachment.Image || m.Attachment.Type != "application/octet-stream" {
		t.Errorf("an 80-megapixel PNG = %+v, want a download only", m.Attachment)
	}
	if m := post("broken.png", []byte("\x89PNG\r\n\x1a\nnot really")); m.Attachment.Image {
		t.Errorf("a PNG whose header does not decode = %+v, want a download only", m.Attachment)
	}
}

func FuzzCleanFileName(f *testing.F) {
	for _, s := range []string{"report.pdf", "../../x", "a\u202Eb.exe", "", strings.Repeat("é", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := app.CleanFileName(name)
		if got == "" || len(got) > 200 || !utf8.ValidString(got) || strings.ContainsAny(got, "/\"") || got == "." || got == ".." {
			t.Fatalf("CleanFileName(%q) = %q", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("CleanFileName(%q) = %q keeps %U", name, got, r)
			}
		}
	})
}
