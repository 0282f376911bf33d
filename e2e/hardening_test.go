package e2e_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asNobody runs a command as uid/gid 65534 and returns its combined output and error.
func asNobody(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestHardening_PrivateFiles: another local user reads nothing of the data directory, even one
// created with a loose umask before the daemon first ran, and even if an admin later opens up
// the directory itself.
func TestHardening_PrivateFiles(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to read as another uid")
	}
	sqlite := RequireTool(t, "sqlite3")
	parent := t.TempDir()
	os.Chmod(parent, 0o755)
	dir := filepath.Join(parent, "data")
	// A data directory as an admin with umask 022 might prepare it (os.Chmod: the test
	// binary's umask is 0077, see TestMain).
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "settings.json"), []byte(`{"channels": ["general"]}`), 0o644)
	for p, mode := range map[string]fs.FileMode{dir: 0o755, filepath.Join(dir, "settings.json"): 0o644} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	// A real process: the modes of what it creates come from its own umask.
	d := StartProcessIn(t, dir)
	if !strings.Contains(d.Log.String(), "made files in the data directory private") {
		t.Errorf("the daemon did not log that it tightened the loose modes:\n%s", d.Log.String())
	}
	alice := d.NewClient()
	alice.Register("alice", "alice-password")
	alice.Post("c:general", "a private thought")

	var loose []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.Type()&fs.ModeSocket != 0 {
			return nil
		}
		fi, _ := e.Info()
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			rel, _ := filepath.Rel(dir, p)
			loose = append(loose, rel+" "+fi.Mode().Perm().String())
		}
		return nil
	})
	if len(loose) > 0 {
		t.Errorf("files not private to the daemon's user: %v", loose)
	}

	if out, err := asNobody("ls", dir); err == nil {
		t.Errorf("uid 65534 listed the data directory: %s", out)
	}
	// Even with the directory opened up by mistake, the files themselves stay closed.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"users/alice.db", "auth.db", "presence.db"} {
		out, err := asNobody(sqlite, filepath.Join(dir, db), "SELECT COUNT(*) FROM sqlite_master;")
		if err == nil {
			t.Errorf("uid 65534 read %s: %s", db, out)
		}
	}
	if out, err := asNobody("cat", filepath.Join(dir, "secret.key")); err == nil {
		t.Errorf("uid 65534 read secret.key: %q", out)
	}
}

// TestHardening_MissingSettingsRefused: a data directory in use that lost settings.json is not
// silently reset to the defaults (which would lose the channel list), unless -init.
func TestHardening_MissingSettingsRefused(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.WriteSettings(func(s map[string]any) { s["channels"] = []string{"general", "design"} })
	d.Stop()
	if err := os.Remove(d.Path("settings.json")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "minimostd"), "-data", d.Dir, "-listen", "127.0.0.1:0")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second): // only bounds a failing test
		cmd.Process.Kill()
		t.Fatal("minimostd started on a data directory without settings.json")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(out), "settings.json is missing") || !strings.Contains(string(out), "-init") {
		t.Errorf("start without settings.json: %v\n%s\nwant a refusal that names -init", err, out)
	}
	if _, err := os.Stat(d.Path("settings.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused start wrote settings.json")
	}
	d.Args = []string{"-init"}
	d.Start()
	if _, err := os.Stat(d.Path("settings.json")); err != nil {
		t.Errorf("-init did not write settings.json: %v", err)
	}
	if got := lcLoginStatus(d, "alice", "alice-password"); got != 200 {
		t.Errorf("alice's login after -init = %d", got)
	}
}

// TestHardening_PostRateOverWebSocket: the per-account message rate holds on the WebSocket
// too, and the refusal says when to try again.
func TestHardening_PostRateOverWebSocket(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	alice := d.NewClient()
	alice.Register("alice", "alice-password")
	d.WriteSettings(func(s map[string]any) { s["posts_per_minute"] = 2 })
	ws := alice.MustWS()
	var refused map[string]any
	waitFor(t, "a send refused as too many", func() bool {
		ws.Send(map[string]any{"type": "send", "conversation": "c:general", "body": "hello", "client_id": "c1"})
		for {
			f := ws.Next(10 * time.Second)
			if f == nil {
				return false
			}
			switch f["type"] {
			case "ack":
				return false
			case "error":
				refused = f
				return f["code"] == "too_many"
			}
		}
	})
	if ra, _ := refused["retry_after"].(float64); ra < 1 {
		t.Errorf("the refusal %v has no retry_after", refused)
	}
	// The HTTP API shares the budget.
	if r := alice.Do("POST", ConvPath("c:general", "/messages"), map[string]string{"body": "over http"}); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("posting over HTTP after the WebSocket used the budget = %d, want 429 with Retry-After", r.Status)
	}
}
