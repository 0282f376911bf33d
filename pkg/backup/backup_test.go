package backup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/backup"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/progress"
)

// fakeSource is a data directory whose "databases" are plain files copied by Snapshot.
type fakeSource struct {
	dir  string
	fail error
	// during, if set, runs in the middle of Snapshot (to cancel the context, say).
	during func()
}

func (f *fakeSource) Dir() string { return f.dir }

func (f *fakeSource) Snapshot(ctx context.Context, dir string) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "users"), 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, rel := range []string{"users/alice.db", "presence.db", "auth.db"} {
		if f.during != nil && rel == "presence.db" {
			f.during()
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if f.fail != nil && rel == "presence.db" {
			return out, f.fail
		}
		b, err := os.ReadFile(filepath.Join(f.dir, rel))
		if err != nil {
			return out, err
		}
		if err := os.WriteFile(filepath.Join(dir, rel), b, 0o644); err != nil {
			return out, err
		}
		out = append(out, rel)
	}
	return out, nil
}

func mustDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"auth.db": "auth", "presence.db": "presence", "users/alice.db": "alice",
		"secret.key": "key", "settings.json": "{}", "uploads/a.png": "png", "avatars/b.png": "avatar",
		"minimost.sock": "not copied",
	}
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// okCheck stands in for SQLite's integrity_check.
func okCheck(_ context.Context, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if strings.Contains(string(b), "corrupt") {
		return "*** in database main ***", nil
	}
	return "ok", nil
}

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func runBackup(t *testing.T, src *fakeSource, dir string) backup.Report {
	t.Helper()
	rep, err := backup.Run(context.Background(), src, dir, backup.Options{
		Version: "v9", Now: func() time.Time { return testNow },
		Counts: func(context.Context) (int64, int64, error) { return 3, 42, nil },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func TestRun_ManifestAndVerify(t *testing.T) {
	src := &fakeSource{dir: mustDataDir(t)}
	dir := filepath.Join(t.TempDir(), "bk")
	rep := runBackup(t, src, dir)
	if _, err := os.Stat(dir + backup.PartialSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.partial after a finished backup: %v, want gone", dir, err)
	}
	if rep.Users != 3 || rep.Messages != 42 || rep.Manifest != filepath.Join(dir, "manifest.json") || rep.Files != 4 {
		t.Errorf("report = %+v", rep)
	}

	vr, err := backup.Verify(context.Background(), dir, okCheck)
	if err != nil {
		t.Fatal(err)
	}
	if !vr.OK() {
		t.Fatalf("fresh backup does not verify: %v %v", vr.Problems, vr.Results)
	}
	m := vr.Manifest
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
		if len(f.SHA256) != 64 {
			t.Errorf("%s: sha256 %q", f.Path, f.SHA256)
		}
	}
	want := []string{"auth.db", "avatars/b.png", "presence.db", "secret.key", "settings.json", "uploads/a.png", "users/alice.db"}
	if !slices.Equal(paths, want) {
		t.Errorf("manifest files = %v, want %v (never the socket)", paths, want)
	}
	if m.Version != "v9" || m.CreatedTS != testNow.Unix() || m.Users != 3 || m.Messages != 42 {
		t.Errorf("manifest = %+v", m)
	}
	if got := len(vr.Results); got != 3 {
		t.Errorf("integrity checks = %d, want 3 databases", got)
	}

	t.Run("tampered, missing, extra and corrupt files are reported", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "secret.key"), []byte("KEY"), 0o600)
		os.Remove(filepath.Join(dir, "uploads", "a.png"))
		os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("x"), 0o600)
		os.WriteFile(filepath.Join(dir, "users", "alice.db"), []byte("corrupt"), 0o600)
		vr, err := backup.Verify(context.Background(), dir, okCheck)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(vr.Problems, "\n")
		for _, w := range []string{"secret.key: SHA-256 differs", "uploads/a.png: missing", "stray.txt: not in the manifest", "users/alice.db: size 7, manifest says 5"} {
			if !strings.Contains(got, w) {
				t.Errorf("problems = %q, want %q", got, w)
			}
		}
		if vr.OK() {
			t.Error("OK() = true")
		}
		for _, r := range vr.Results {
			if r.Path == "users/alice.db" && r.OK {
				t.Errorf("corrupt database passed: %+v", r)
			}
		}
	})
}

func TestVerify_NoManifest(t *testing.T) {
	dir := t.TempDir()
	_, err := backup.Verify(context.Background(), dir, okCheck)
	if chat.ErrorCode(err) != chat.EInvalid || !strings.Contains(err.Error(), "not a complete backup") {
		t.Errorf("Verify of a directory without manifest: %v", err)
	}
}

// A backup that fails or is cancelled half way leaves nothing that looks like a backup.
func TestRun_NothingLeftOnFailure(t *testing.T) {
	t.Run("snapshot fails", func(t *testing.T) {
		src := &fakeSource{dir: mustDataDir(t), fail: errors.New("disk full")}
		dir := filepath.Join(t.TempDir(), "bk")
		if _, err := backup.Run(context.Background(), src, dir, backup.Options{}); err == nil {
			t.Fatal("Run succeeded")
		}
		assertNothing(t, dir)
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		src := &fakeSource{dir: mustDataDir(t), during: cancel}
		dir := filepath.Join(t.TempDir(), "bk")
		if _, err := backup.Run(ctx, src, dir, backup.Options{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want canceled", err)
		}
		assertNothing(t, dir)
	})
}

func assertNothing(t *testing.T, dir string) {
	t.Helper()
	for _, p := range []string{dir, dir + backup.PartialSuffix} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a failed backup (%v)", p, err)
		}
	}
}

func TestCheck(t *testing.T) {
	data := mustDataDir(t)
	outside := t.TempDir()
	link := filepath.Join(outside, "link")
	if err := os.Symlink(data, link); err != nil {
		t.Fatal(err)
	}
	nonEmpty := t.TempDir()
	os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o600)
	leftover := filepath.Join(outside, "bk2")
	os.Mkdir(leftover+backup.PartialSuffix, 0o700)

	tests := []struct {
		name, dir string
		want      string // "" for allowed
	}{
		{"outside", filepath.Join(outside, "bk"), ""},
		{"existing empty dir", t.TempDir(), ""},
		{"relative", "bk", "absolute"},
		{"inside", filepath.Join(data, "users", "bk"), "inside the data directory"},
		{"the data dir itself", data, "inside the data directory"},
		{"inside through a symlink", filepath.Join(link, "bk"), "inside the data directory (it resolves to " + filepath.Join(data, "bk")},
		{"the parent of the data dir", filepath.Dir(data), "contains the data directory"},
		{"not empty", nonEmpty, "not empty"},
		{"partial left over", leftover, "interrupted backup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := backup.Check(data, tt.dir)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check(%s) = %v, want nil", tt.dir, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check(%s) = %v, want %q", tt.dir, err, tt.want)
			}
		})
	}

	t.Run("Run refuses through a symlink and writes nothing into the data directory", func(t *testing.T) {
		src := &fakeSource{dir: data}
		if _, err := backup.Run(context.Background(), src, filepath.Join(link, "bk"), backup.Options{}); err == nil {
			t.Fatal("Run succeeded")
		}
		if _, err := os.Stat(filepath.Join(data, "bk")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("data/bk: %v, want nothing written", err)
		}
	})
}

// TestRun_Since: an incremental backup links what did not change since the previous one,
// copies what did, has a full manifest of its own, and refuses a previous backup that does
// not verify.
func TestRun_Since(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{dir: mustDataDir(t)}
	root := t.TempDir()
	prev := filepath.Join(root, "bk1")
	runBackup(t, src, prev)
	if err := os.WriteFile(filepath.Join(src.dir, "users/alice.db"), []byte("alice, changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src.dir, "uploads/c.txt"), []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}

	var phases []string
	pctx := progress.With(ctx, func(r progress.Report) {
		if len(phases) == 0 || phases[len(phases)-1] != r.Phase {
			phases = append(phases, r.Phase)
		}
	})
	next := filepath.Join(root, "bk2")
	rep, err := backup.Run(pctx, src, next, backup.Options{Since: prev, Check: okCheck})
	if err != nil {
		t.Fatalf("Run --since: %v", err)
	}
	if want := []string{"verify files", "verify databases", "files", "manifest"}; !slices.Equal(phases, want) {
		t.Errorf("progress phases %v, want %v (verifying the previous backup, then the backup's own; the fake source reports no databases)", phases, want)
	}
	for _, tc := range []struct {
		rel    string
		shared bool
	}{
		{"auth.db", true}, {"presence.db", true}, {"uploads/a.png", true}, {"avatars/b.png", true}, {"secret.key", true}, {"settings.json", true},
		{"users/alice.db", false}, {"uploads/c.txt", false},
	} {
		a, errA := os.Stat(filepath.Join(prev, tc.rel))
		b, errB := os.Stat(filepath.Join(next, tc.rel))
		if errB != nil {
			t.Errorf("%s: %v", tc.rel, errB)
			continue
		}
		if got := errA == nil && os.SameFile(a, b); got != tc.shared {
			t.Errorf("%s shared with the previous backup: %v, want %v", tc.rel, got, tc.shared)
		}
	}
	if rep.Linked != 6 {
		t.Errorf("linked %d files, want 6", rep.Linked)
	}
	vr, err := backup.Verify(ctx, next, okCheck)
	if err != nil || !vr.OK() || len(vr.Manifest.Files) != 8 || vr.Manifest.Since != prev {
		t.Errorf("incremental backup: verify %v %v, %d files, since %q", err, vr.Problems, len(vr.Manifest.Files), vr.Manifest.Since)
	}
	if b, _ := os.ReadFile(filepath.Join(next, "users/alice.db")); string(b) != "alice, changed" {
		t.Errorf("users/alice.db = %q, want the changed content", b)
	}

	t.Run("previous backup does not verify", func(t *testing.T) {
		// A new file, not a write through the link, which would change bk1 as well.
		os.Remove(filepath.Join(next, "auth.db"))
		if err := os.WriteFile(filepath.Join(next, "auth.db"), []byte("tampered"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := backup.Run(ctx, src, filepath.Join(root, "bk3"), backup.Options{Since: next, Check: okCheck})
		if chat.ErrorCode(err) != chat.EConflict || !strings.Contains(err.Error(), "does not verify") {
			t.Errorf("Run --since a damaged backup: %v, want a conflict saying it does not verify", err)
		}
		if es, _ := os.ReadDir(root); len(es) != 2 {
			t.Errorf("%d entries in %s, want bk1 and bk2 only", len(es), root)
		}
	})
	t.Run("previous backup inside the data directory", func(t *testing.T) {
		_, err := backup.Run(ctx, src, filepath.Join(root, "bk4"), backup.Options{Since: src.dir, Check: okCheck})
		if chat.ErrorCode(err) != chat.EInvalid {
			t.Errorf("Run --since the data directory: %v, want invalid", err)
		}
	})
}
