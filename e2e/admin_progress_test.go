package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Progress of long operations on the real minimostctl off a terminal: plain lines on stderr
// (databases done of how many, bytes), while --json keeps stdout one JSON document.
// Then an incremental backup: two backups with a change between, the second --since the
// first, share the unchanged files (one inode), verify, and a daemon started on a copy of the
// incremental backup serves every message.
func TestAdmin_ProgressAndIncrementalBackup(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	alice := d.NewClient()
	alice.Login("alice", "alice-password")
	for i := range 3 {
		alice.Post("c:general", fmt.Sprintf("general %d", i))
	}
	root := t.TempDir()
	bk1 := filepath.Join(root, "bk1")

	t.Run("progress lines on stderr, one JSON document on stdout", func(t *testing.T) {
		// VACUUM changes a database's bytes (its schema cookie): it runs before the first
		// backup, so that carol's database is the same in both.
		r := d.Ctl("vacuum")
		if r.Code != 0 || !strings.Contains(r.Stderr, "vacuum: databases 5/5 (100%)") {
			t.Errorf("vacuum: exit %d, stderr %q", r.Code, r.Stderr)
		}
		r = d.Ctl("backup", bk1, "--json")
		if r.Code != 0 {
			t.Fatalf("backup: exit %d, stderr %q", r.Code, r.Stderr)
		}
		var rep map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("backup --json stdout is not one JSON document: %v\n%s", err, r.Stdout)
		}
		// auth.db, presence.db and three users' databases.
		// Reports not sent yet are replaced by later ones of the same phase (a slow client
		// never slows the backup), so which counts appear before 100% varies.
		for _, want := range []string{"backup: databases ", "backup: databases 5/5 (100%), ", "backup: manifest "} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("backup stderr = %q, want a line with %q", r.Stderr, want)
			}
		}
		if strings.Contains(r.Stderr, "\r") || strings.Contains(r.Stderr, "\x1b[") {
			t.Errorf("progress off a terminal drew a bar: %q", r.Stderr)
		}
		r = d.Ctl("integrity-check", "--json")
		if r.Code != 0 || !strings.Contains(r.Stderr, "integrity-check: databases 5/5 (100%)") || !json.Valid([]byte(r.Stdout)) {
			t.Errorf("integrity-check --json: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
		r = d.Ctl("cleanup", "messages", "--days", "30", "--dry-run")
		if r.Code != 0 || !strings.Contains(r.Stderr, "cleanup messages: databases 3/3 (100%)") {
			t.Errorf("cleanup messages: exit %d, stderr %q", r.Code, r.Stderr)
		}
		if err := os.WriteFile(d.Path("uploads", "new.bin"), []byte("abc"), 0o600); err != nil {
			t.Fatal(err)
		}
		r = d.Ctl("cleanup", "files", "--image-days", "30", "--file-days", "30", "--dry-run", "--json")
		if r.Code != 0 || !strings.Contains(r.Stderr, "cleanup files: files 1, 3 B") || !json.Valid([]byte(r.Stdout)) {
			t.Errorf("cleanup files: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
		if r := d.Ctl("--no-progress", "integrity-check"); r.Stderr != "" {
			t.Errorf("--no-progress: stderr %q, want nothing", r.Stderr)
		}
	})
	if !fileExists(filepath.Join(bk1, "manifest.json")) {
		t.Fatal("no first backup")
	}

	// A DM changes alice's and bob's databases, not carol's.
	alice.Post("d:alice,bob", "after the first backup")
	bob := d.NewClient()
	bob.Login("bob", "bob-password")
	waitFor(t, "bob's copy of the DM", func() bool { return len(bob.History("d:alice,bob")) == 1 })

	bk2 := filepath.Join(root, "bk2")
	out := d.MustCtl("backup", bk2, "--since", bk1)
	if !strings.Contains(out, "incremental: ") {
		t.Errorf("backup --since: %q", out)
	}
	for _, tc := range []struct {
		rel    string
		shared bool
	}{
		{"users/carol.db", true}, {"secret.key", true}, {"settings.json", true},
		{"users/alice.db", false}, {"users/bob.db", false},
	} {
		a, errA := os.Stat(filepath.Join(bk1, tc.rel))
		b, errB := os.Stat(filepath.Join(bk2, tc.rel))
		if errA != nil || errB != nil {
			t.Errorf("%s: %v %v", tc.rel, errA, errB)
			continue
		}
		if got := os.SameFile(a, b); got != tc.shared {
			t.Errorf("%s is one file in both backups: %v, want %v", tc.rel, got, tc.shared)
		}
	}
	if out := d.MustCtl("backup", "--verify", bk2); !strings.Contains(out, "ok: every file matches") {
		t.Errorf("verify the incremental backup: %q", out)
	}

	// A daemon writes to its data directory: restore a copy, so the first backup's files,
	// shared with the second, stay as they are.
	restored := filepath.Join(root, "restored")
	shellIn(t, root, "cp -a bk2 restored")
	n := StartDaemonIn(t, restored)
	b := n.NewClient()
	b.Login("bob", "bob-password")
	if got := len(b.History("c:general")); got != 3 {
		t.Errorf("bob sees %d of 3 channel messages on the restored incremental backup", got)
	}
	if got := b.History("d:alice,bob"); len(got) != 1 {
		t.Errorf("bob sees %d of 1 DM on the restored incremental backup", len(got))
	}
	n.Stop()
	if out := d.MustCtl("backup", "--verify", bk1); !strings.Contains(out, "ok: every file matches") {
		t.Errorf("the first backup after restoring the second: %q", out)
	}

	t.Run("the guide's nightly script and the systemd unit's", func(t *testing.T) {
		RequireTool(t, "bash")
		b := t.TempDir()
		env := append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"), "MINIMOST_SOCKET="+d.Socket)
		runScript := func(name, script string) string {
			t.Helper()
			script = strings.ReplaceAll(script, "/var/backups/minimost", b)
			script = strings.ReplaceAll(script, "$(date +%Y%m%d-%H%M)", name)
			if !strings.Contains(script, name) {
				t.Fatalf("the script names its backup differently now:\n%s", script)
			}
			cmd := exec.Command("bash", "-ec", script)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
			return string(out)
		}
		doc := docBlock(t, "#### Incremental backups", 0)
		if out := runScript("20260101-0315", doc); strings.Contains(out, "incremental:") || !strings.Contains(out, "ok: every file matches") {
			t.Errorf("first run: want a full, verified backup:\n%s", out)
		}
		alice.Post("d:alice,bob", "between the nightly backups")
		unit := string(mustRead(t, filepath.Join("..", "contrib", "minimost-backup.service")))
		i := strings.Index(unit, "ExecStart=/bin/sh -ec '")
		if i < 0 {
			t.Fatalf("contrib/minimost-backup.service has no ExecStart=/bin/sh -ec '…'")
		}
		script := unit[i+len("ExecStart=/bin/sh -ec '"):]
		script = script[:strings.Index(script, "'\n")]
		script = strings.NewReplacer("$$", "$", "%%", "%", "/usr/local/bin/minimostctl", "minimostctl").Replace(script)
		out := runScript("20260102-0315", script)
		if !strings.Contains(out, "incremental: ") || !strings.Contains(out, filepath.Join(b, "20260101-0315")) || !strings.Contains(out, "ok: every file matches") {
			t.Errorf("second run (the unit's script): want an incremental backup since the first, verified:\n%s", out)
		}
		a, _ := os.Stat(filepath.Join(b, "20260101-0315", "users", "carol.db"))
		c, _ := os.Stat(filepath.Join(b, "20260102-0315", "users", "carol.db"))
		if a == nil || c == nil || !os.SameFile(a, c) {
			t.Errorf("carol's unchanged database is not shared by the nightly backups")
		}
	})

	t.Run("a previous backup that does not verify is refused", func(t *testing.T) {
		os.Remove(filepath.Join(bk1, "users", "alice.db"))
		r := d.Ctl("backup", filepath.Join(root, "bk3"), "--since", bk1)
		if r.Code != 1 || !strings.Contains(r.Stderr, "does not verify") {
			t.Errorf("backup --since a damaged backup: exit %d, stderr %q", r.Code, r.Stderr)
		}
		if fileExists(filepath.Join(root, "bk3")) || fileExists(filepath.Join(root, "bk3.partial")) {
			t.Errorf("a refused backup left a directory")
		}
	})
}
