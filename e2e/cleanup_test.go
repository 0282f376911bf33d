package e2e_test

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oldFile is a file put into uploads/ with its mtime age days ago.
type oldFile struct {
	name string
	age  float64 // days
}

// cleanupFiles covers every image extension in several cases, other kinds, and ages on both
// sides of 30 days.
var cleanupFiles = []oldFile{
	{"old1.jpg", 40}, {"old2.JPG", 31}, {"old3.jpeg", 45}, {"old4.JPEG", 33}, {"old5.png", 60},
	{"old6.PNG", 31}, {"old7.gif", 100}, {"old8.GIF", 35}, {"old9.webp", 55}, {"old10.WebP", 95},
	{"new1.jpg", 10}, {"new2.png", 29}, {"new3.gif", 0.5}, {"new4.webp", 0}, {"new5.JPEG", 21},
	{"old1.pdf", 40}, {"old2.zip", 31}, {"old3.txt", 100}, {"old4", 45}, {"old5.tar.gz", 35},
	{"old6.jpg.txt", 60}, {"old7.svg", 40}, {"new1.pdf", 5}, {"new2.zip", 29}, {"new3.txt", 15},
}

func isImageName(n string) bool {
	i := strings.LastIndexByte(n, '.')
	if i < 0 {
		return false
	}
	switch strings.ToLower(n[i:]) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp":
		return true
	}
	return false
}

// putFiles (re)creates the files in uploads/ with back-dated mtimes.
func putFiles(t *testing.T, d *Daemon, files []oldFile) {
	t.Helper()
	now := time.Now()
	for _, f := range files {
		p := d.Path("uploads", f.name)
		if err := os.WriteFile(p, []byte("content of "+f.name), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-time.Duration(f.age * 24 * float64(time.Hour)))
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

// expectRemoved is the set of files a cleanup with these retentions removes.
func expectRemoved(files []oldFile, imageDays, fileDays int) []string {
	var out []string
	for _, f := range files {
		days := fileDays
		if isImageName(f.name) {
			days = imageDays
		}
		if days > 0 && f.age > float64(days) {
			out = append(out, f.name)
		}
	}
	slices.Sort(out)
	return out
}

// uploadsNow lists the file names in uploads/.
func uploadsNow(t *testing.T, d *Daemon) []string {
	t.Helper()
	es, err := os.ReadDir(d.Path("uploads"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func clearUploads(t *testing.T, d *Daemon) {
	t.Helper()
	for _, n := range uploadsNow(t, d) {
		os.Remove(d.Path("uploads", n))
	}
}

var fileLineRe = regexp.MustCompile(`^(removed|would remove) (\S+)\t\d+\t`)

// cleanupFilesCtl runs minimostctl cleanup files and returns the listed names.
func cleanupFilesCtl(t *testing.T, d *Daemon, args ...string) (names []string, out string) {
	t.Helper()
	out = d.MustCtl(append([]string{"cleanup", "files"}, args...)...)
	dry := slices.Contains(args, "--dry-run")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := fileLineRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if dry != (m[1] == "would remove") {
			t.Errorf("line %q: wrong verb for dry run %v", l, dry)
		}
		names = append(names, m[2])
	}
	slices.Sort(names)
	summary := fmt.Sprintf(" %d files,", len(names))
	if !strings.Contains(out, summary) {
		t.Errorf("cleanup files output has no summary %q:\n%s", summary, out)
	}
	return names, out
}

func minus(all, removed []string) []string {
	var out []string
	for _, n := range all {
		if !slices.Contains(removed, n) {
			out = append(out, n)
		}
	}
	return out
}

func fileNames(files []oldFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.name)
	}
	slices.Sort(out)
	return out
}

// editSettings rewrites keys of settings.json.
func editSettings(t *testing.T, d *Daemon, kv map[string]any) {
	t.Helper()
	d.WriteSettings(func(m map[string]any) { maps.Copy(m, kv) })
}

func TestCleanup_Files(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	all := fileNames(cleanupFiles)

	t.Run("dry run lists what a real run removes", func(t *testing.T) {
		clearUploads(t, d)
		putFiles(t, d, cleanupFiles)
		want := expectRemoved(cleanupFiles, 30, 30)
		dry, _ := cleanupFilesCtl(t, d, "--dry-run")
		if !slices.Equal(dry, want) {
			t.Errorf("dry run lists %v, want %v", dry, want)
		}
		if got := uploadsNow(t, d); !slices.Equal(got, all) {
			t.Errorf("after the dry run uploads/ = %v, want everything still there", got)
		}
		real, _ := cleanupFilesCtl(t, d)
		if !slices.Equal(real, dry) {
			t.Errorf("real run removed %v, dry run listed %v", real, dry)
		}
		if got := uploadsNow(t, d); !slices.Equal(got, minus(all, want)) {
			t.Errorf("after the real run uploads/ = %v, want %v", got, minus(all, want))
		}
		again, _ := cleanupFilesCtl(t, d)
		if len(again) != 0 {
			t.Errorf("a second run removed %v, want nothing", again)
		}
	})

	for _, c := range []struct{ img, file int }{{50, 0}, {0, 20}, {90, 3}, {0, 0}, {1, 1}} {
		t.Run(fmt.Sprintf("image-days %d file-days %d", c.img, c.file), func(t *testing.T) {
			clearUploads(t, d)
			putFiles(t, d, cleanupFiles)
			args := []string{"--image-days", strconv.Itoa(c.img), "--file-days", strconv.Itoa(c.file)}
			want := expectRemoved(cleanupFiles, c.img, c.file)
			dry, _ := cleanupFilesCtl(t, d, append(args, "--dry-run")...)
			real, out := cleanupFilesCtl(t, d, args...)
			if !slices.Equal(dry, want) || !slices.Equal(real, want) {
				t.Errorf("dry run %v, real run %v, want %v", dry, real, want)
			}
			if got := uploadsNow(t, d); !slices.Equal(got, minus(all, want)) {
				t.Errorf("uploads/ = %v, want %v", got, minus(all, want))
			}
			if !strings.Contains(out, fmt.Sprintf("older than %d days, other files older than %d days", c.img, c.file)) {
				t.Errorf("summary does not state the retentions used:\n%s", out)
			}
		})
	}

	t.Run("negative days refused", func(t *testing.T) {
		clearUploads(t, d)
		putFiles(t, d, cleanupFiles)
		for _, args := range [][]string{{"cleanup", "files", "--image-days", "-1"}, {"cleanup", "files", "--file-days", "-5", "--image-days", "30"}, {"cleanup", "messages", "--days", "-1"}} {
			r := d.Ctl(args...)
			if r.Code == 0 || !strings.Contains(r.Stderr, "days") {
				t.Errorf("%v: exit %d stderr %q, want a failure explaining the days", args, r.Code, r.Stderr)
			}
		}
		if got := uploadsNow(t, d); !slices.Equal(got, all) {
			t.Errorf("uploads/ = %v, want nothing deleted", got)
		}
	})

	t.Run("one flag, the other from settings", func(t *testing.T) {
		clearUploads(t, d)
		putFiles(t, d, cleanupFiles)
		want := expectRemoved(cleanupFiles, 30, 0)
		got, _ := cleanupFilesCtl(t, d, "--file-days", "0")
		if !slices.Equal(got, want) {
			t.Errorf("removed %v, want %v", got, want)
		}
	})

	t.Run("defaults from settings.json", func(t *testing.T) {
		for _, c := range []struct{ img, file int }{{90, 3}, {0, 32}, {34, 0}} {
			clearUploads(t, d)
			putFiles(t, d, cleanupFiles)
			editSettings(t, d, map[string]any{"image_retention_days": c.img, "file_retention_days": c.file})
			want := expectRemoved(cleanupFiles, c.img, c.file)
			dry, _ := cleanupFilesCtl(t, d, "--dry-run")
			real, _ := cleanupFilesCtl(t, d)
			if !slices.Equal(dry, want) || !slices.Equal(real, want) {
				t.Errorf("settings image %d file %d: dry run %v, real %v, want %v", c.img, c.file, dry, real, want)
			}
		}
		editSettings(t, d, map[string]any{"image_retention_days": 30, "file_retention_days": 30})
	})

	t.Run("invalid settings.json", func(t *testing.T) {
		clearUploads(t, d)
		putFiles(t, d, cleanupFiles)
		for _, bad := range []map[string]any{
			{"file_retention_days": -3},
			{"file_retention_days": 30, "image_retention_days": "thirty"},
			{"image_retention_days": 2.5},
		} {
			editSettings(t, d, map[string]any{"file_retention_days": 30, "image_retention_days": 30})
			editSettings(t, d, bad)
			for _, args := range [][]string{{"cleanup", "files"}, {"cleanup", "files", "--dry-run"}, {"cleanup", "messages"}} {
				r := d.Ctl(args...)
				if r.Code != 1 {
					t.Errorf("%v with settings %v: exit %d, want 1", args, bad, r.Code)
				}
				if !strings.Contains(r.Stderr, "settings.json") || !strings.Contains(r.Stderr, "retention_days") {
					t.Errorf("%v with settings %v: stderr %q, want a clear message naming settings.json and the key", args, bad, r.Stderr)
				}
				if strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
					t.Errorf("stderr is not one line: %q", r.Stderr)
				}
			}
			if got := uploadsNow(t, d); !slices.Equal(got, all) {
				t.Errorf("settings %v: uploads/ = %v, want nothing deleted", bad, got)
			}
		}
		editSettings(t, d, map[string]any{"file_retention_days": 30, "image_retention_days": 30})
		if got, _ := cleanupFilesCtl(t, d, "--dry-run"); !slices.Equal(got, expectRemoved(cleanupFiles, 30, 30)) {
			t.Errorf("after fixing settings.json the dry run lists %v", got)
		}
	})
}

func TestCleanup_AttachmentDeleted(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	a, b := d.NewClient(), d.NewClient()
	a.Login("alice", "alice-password")
	b.Login("bob", "bob-password")
	post := func(name string, data []byte) Message {
		r := a.lcUpload("/api/conversations/c%3Ageneral/files", "file", name, data, map[string]string{"body": "see " + name})
		if r.Status != 201 {
			t.Fatalf("upload %s: %d %s", name, r.Status, r.Body)
		}
		var out struct{ Message Message }
		r.Decode(t, &out)
		return out.Message
	}
	img := post("cat.png", lcPNG(t))
	doc := post("report.pdf", []byte("%PDF-1.4 not really a pdf"))
	fresh := post("fresh.pdf", []byte("%PDF-1.4 fresh"))
	for _, m := range []Message{img, doc, fresh} {
		if m.Attachment == nil || m.Attachment.Deleted || m.Attachment.URL == "" {
			t.Fatalf("posted attachment = %+v, want one with a url", m.Attachment)
		}
	}
	old := time.Now().Add(-40 * 24 * time.Hour)
	for _, m := range []Message{img, doc} {
		if err := os.Chtimes(d.Path("uploads", m.Attachment.StoredName), old, old); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := cleanupFilesCtl(t, d)
	want := []string{img.Attachment.StoredName, doc.Attachment.StoredName}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("cleanup removed %v, want %v", got, want)
	}
	for _, c := range []*Client{a, b} {
		var h []Message
		lcEventually(5*time.Second, func() bool { h = c.History("c:general"); return len(h) == 3 })
		byID := map[string]Message{}
		for _, m := range h {
			byID[m.ID] = m
		}
		for _, m := range []Message{img, doc} {
			hm := byID[m.ID]
			if hm.Attachment == nil || !hm.Attachment.Deleted || hm.Attachment.URL != "" {
				t.Errorf("%s: history attachment of %s = %+v, want deleted=true and no url", c.User, m.Attachment.Name, hm.Attachment)
			}
			if hm.Body != "see "+m.Attachment.Name {
				t.Errorf("%s: message body = %q, the message itself must stay", c.User, hm.Body)
			}
			if r := c.Do("GET", m.Attachment.URL, nil); r.Status != 404 {
				t.Errorf("%s: GET removed file: %d, want 404", c.User, r.Status)
			}
		}
		if hm := byID[fresh.ID]; hm.Attachment == nil || hm.Attachment.Deleted || hm.Attachment.URL == "" {
			t.Errorf("%s: fresh attachment = %+v, want it still there", c.User, hm.Attachment)
		}
	}
}

var perUserRe = regexp.MustCompile(`^([a-z0-9][a-z0-9._-]*): (\d+)$`)

// cleanupMessagesCtl runs minimostctl cleanup messages and returns the per-user counts.
func cleanupMessagesCtl(t *testing.T, d *Daemon, args ...string) map[string]int {
	t.Helper()
	out := d.MustCtl(append([]string{"cleanup", "messages"}, args...)...)
	per := map[string]int{}
	total := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if m := perUserRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			per[m[1]] = n
			total += n
		}
	}
	if !strings.Contains(out, fmt.Sprintf(" %d messages older than", total)) {
		t.Errorf("cleanup messages summary does not give the total %d:\n%s", total, out)
	}
	return per
}

const backdate = "UPDATE messages SET sent_ts = sent_ts - 800*86400 WHERE "

func TestCleanup_Messages(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	a, b, c := d.NewClient(), d.NewClient(), d.NewClient()
	a.Login("alice", "alice-password")
	b.Login("bob", "bob-password")
	c.Login("carol", "carol-password")
	for i := range 5 {
		a.Post("c:general", fmt.Sprintf("alice general %d", i))
	}
	for i := range 2 {
		c.Post("c:general", fmt.Sprintf("carol general %d", i))
	}
	b.Must(200, "POST", "/api/dms", map[string]any{"members": []string{"alice"}})
	for i := range 3 {
		b.Post("d:alice,bob", fmt.Sprintf("bob dm %d", i))
	}
	lcWaitSQL(t, d, "users/alice.db", "SELECT COUNT(*) FROM messages", 10)
	lcWaitSQL(t, d, "users/bob.db", "SELECT COUNT(*) FROM messages", 10)
	lcWaitSQL(t, d, "users/carol.db", "SELECT COUNT(*) FROM messages", 7)
	// Back-date different rows in different databases.
	d.SQLite("users/alice.db", backdate+"sender = 'alice'")           // 5
	d.SQLite("users/bob.db", backdate+"conversation = 'd:alice,bob'") // 3
	d.SQLite("users/carol.db", backdate+"sender = 'carol'")           // 2
	want := map[string]int{"alice": 5, "bob": 3, "carol": 2}
	oldRows := func(u string) int {
		return lcSQLInt(t, d, "users/"+u+".db", "SELECT COUNT(*) FROM messages WHERE sent_ts < unixepoch() - 770*86400")
	}
	allRows := func(u string) int { return lcSQLInt(t, d, "users/"+u+".db", "SELECT COUNT(*) FROM messages") }

	t.Run("days 0 deletes nothing", func(t *testing.T) {
		got := cleanupMessagesCtl(t, d, "--days", "0")
		if len(got) != 0 {
			t.Errorf("--days 0 removed %v, want nothing", got)
		}
		for u, n := range want {
			if oldRows(u) != n {
				t.Errorf("%s: old rows = %d after --days 0, want %d", u, oldRows(u), n)
			}
		}
	})
	t.Run("more than the retention keeps them", func(t *testing.T) {
		if got := cleanupMessagesCtl(t, d, "--days", "801", "--dry-run"); len(got) != 0 {
			t.Errorf("--days 801 would remove %v, want nothing", got)
		}
	})
	t.Run("dry run then real run", func(t *testing.T) {
		dry := cleanupMessagesCtl(t, d, "--dry-run", "--days", "770")
		if !maps.Equal(dry, want) {
			t.Errorf("dry run per user = %v, want %v", dry, want)
		}
		for u, n := range want {
			if oldRows(u) != n {
				t.Errorf("%s: the dry run deleted rows", u)
			}
		}
		real := cleanupMessagesCtl(t, d, "--days", "770")
		if !maps.Equal(real, dry) {
			t.Errorf("real run per user = %v, dry run said %v", real, dry)
		}
		for u, n := range map[string]int{"alice": 5, "bob": 7, "carol": 5} {
			if got := oldRows(u); got != 0 {
				t.Errorf("%s: %d old rows left", u, got)
			}
			if got := allRows(u); got != n {
				t.Errorf("%s: %d rows left, want %d", u, got, n)
			}
		}
		if got := cleanupMessagesCtl(t, d, "--days", "770"); len(got) != 0 {
			t.Errorf("a second run removed %v", got)
		}
	})
	t.Run("defaults from settings.json", func(t *testing.T) {
		d.SQLite("users/carol.db", backdate+"sender = 'alice'") // 5 rows, 800 days old
		editSettings(t, d, map[string]any{"message_retention_days": 900})
		if got := cleanupMessagesCtl(t, d, "--dry-run"); len(got) != 0 {
			t.Errorf("retention 900: would remove %v, want nothing", got)
		}
		editSettings(t, d, map[string]any{"message_retention_days": 0})
		if got := cleanupMessagesCtl(t, d); len(got) != 0 {
			t.Errorf("retention 0: removed %v, want nothing", got)
		}
		editSettings(t, d, map[string]any{"message_retention_days": 700})
		if got := cleanupMessagesCtl(t, d); !maps.Equal(got, map[string]int{"carol": 5}) {
			t.Errorf("retention 700: removed %v, want carol: 5", got)
		}
		editSettings(t, d, map[string]any{"message_retention_days": 770})
	})
	t.Run("batches", func(t *testing.T) {
		const n = 1234
		d.SQLite("users/bob.db", fmt.Sprintf(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM k WHERE i < %d)
			INSERT INTO messages(id, conversation, sender, body, html, sent_ts, sent_ms)
			SELECT printf('00000OLD%%018d', i), 'c:general', 'bob', 'old ' || i, '<p>old</p>', unixepoch() - 900*86400, (unixepoch() - 900*86400)*1000 FROM k`, n))
		before := allRows("bob")
		dry := cleanupMessagesCtl(t, d, "--dry-run")
		real := cleanupMessagesCtl(t, d)
		if dry["bob"] != n || real["bob"] != n {
			t.Errorf("bob: dry run %d, real run %d, want %d", dry["bob"], real["bob"], n)
		}
		if got := allRows("bob"); got != before-n {
			t.Errorf("bob rows = %d, want %d", got, before-n)
		}
		// The chat goes on.
		m := b.Post("c:general", "after the cleanup")
		if h := b.History("c:general"); h[len(h)-1].ID != m.ID {
			t.Errorf("bob's last message is not the new one")
		}
		if out := d.MustCtl("integrity-check"); strings.Contains(out, "FAIL") {
			t.Errorf("integrity-check: %s", out)
		}
	})
}

func TestCleanup_Scheduled(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	a := d.NewClient()
	a.Login("alice", "alice-password")
	for i := range 4 {
		a.Post("c:general", fmt.Sprintf("message %d", i))
	}
	lcWaitSQL(t, d, "users/bob.db", "SELECT COUNT(*) FROM messages", 4)
	d.Stop()
	files := []oldFile{{"sched-old.png", 40}, {"sched-old.pdf", 40}, {"sched-new.png", 2}, {"sched-new.pdf", 2}}
	putFiles(t, d, files)
	d.SQLite("users/alice.db", backdate+"body IN ('message 0', 'message 1')")
	d.SQLite("users/bob.db", backdate+"body = 'message 0'")

	d.Args = []string{"-cleanup-first", "1s", "-cleanup-every", "2s"}
	d.Start()
	ok := lcEventually(10*time.Second, func() bool {
		return len(uploadsNow(t, d)) == 2 &&
			lcSQLInt(t, d, "users/alice.db", "SELECT COUNT(*) FROM messages") == 2 &&
			lcSQLInt(t, d, "users/bob.db", "SELECT COUNT(*) FROM messages") == 3
	})
	if !ok {
		t.Fatalf("the scheduled cleanup did not run: uploads %v\n%s", uploadsNow(t, d), d.Log.String())
	}
	if got, want := uploadsNow(t, d), []string{"sched-new.pdf", "sched-new.png"}; !slices.Equal(got, want) {
		t.Errorf("uploads/ = %v, want %v", got, want)
	}
	lcEventually(3*time.Second, func() bool { return strings.Contains(d.Log.String(), `msg="message cleanup"`) })
	log := d.Log.String()
	for _, re := range []string{
		`msg="file cleanup".* removed=2 `,
		`msg="message cleanup".* removed=3 `,
		`sched-old\.png`,
		`sched-old\.pdf`,
		`alice.*removed=2|removed=2.*alice`,
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("daemon log has no line matching %q:\n%s", re, log)
		}
	}

	t.Run("invalid settings.json skips the run", func(t *testing.T) {
		putFiles(t, d, []oldFile{{"later-old.jpg", 90}, {"later-old.zip", 90}})
		d.SQLite("users/bob.db", backdate+"body = 'message 1'")
		editSettings(t, d, map[string]any{"message_retention_days": -3})
		mark := len(d.Log.String())
		lcEventually(8*time.Second, func() bool {
			return strings.Count(d.Log.String()[mark:], "cleanup skipped") >= 2
		})
		tail := d.Log.String()[mark:]
		if !strings.Contains(tail, "cleanup skipped") || !strings.Contains(tail, "message_retention_days") {
			t.Errorf("no 'cleanup skipped' line naming the key after the settings broke:\n%s", tail)
		}
		if strings.Contains(tail, `msg="file cleanup"`) || strings.Contains(tail, `msg="message cleanup"`) {
			t.Errorf("a cleanup ran on invalid settings:\n%s", tail)
		}
		if got := uploadsNow(t, d); len(got) != 4 {
			t.Errorf("uploads/ = %v, want the two new old files kept", got)
		}
		if got := lcSQLInt(t, d, "users/bob.db", "SELECT COUNT(*) FROM messages"); got != 3 {
			t.Errorf("bob's messages = %d, want 3 (nothing deleted)", got)
		}
		// Fixed again: the next run cleans.
		editSettings(t, d, map[string]any{"message_retention_days": 770})
		if !lcEventually(8*time.Second, func() bool {
			return len(uploadsNow(t, d)) == 2 && lcSQLInt(t, d, "users/bob.db", "SELECT COUNT(*) FROM messages") == 2
		}) {
			t.Errorf("after fixing settings.json the scheduled cleanup did not run")
		}
	})
}
