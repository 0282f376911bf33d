package fsutil_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/minimost/minimost/pkg/fsutil"
)

func TestWriteNew(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	if err := fsutil.WriteNew(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 6 {
		t.Fatalf("stat = %v, %v; want 6 bytes, mode 0600", fi, err)
	}
	if err := fsutil.WriteNew(p, []byte("other"), 0o600); err == nil {
		t.Error("WriteNew over an existing file succeeded")
	}
	if b, _ := os.ReadFile(p); string(b) != "secret" {
		t.Errorf("existing file changed to %q", b)
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "settings.json")
	for _, v := range []string{"one", "two"} {
		if err := fsutil.WriteAtomic(p, []byte(v), 0o640); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != v {
			t.Errorf("content = %q, want %q", b, v)
		}
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left)", len(es))
	}
}

func TestMakePrivate(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.MkdirAll(filepath.Join(dir, "users"), 0o755)
	os.WriteFile(filepath.Join(dir, "users", "alice.db"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret.key"), []byte("x"), 0o600)
	changed, err := fsutil.MakePrivate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".", "users", "users/alice.db"}; fmt.Sprint(changed) != fmt.Sprint(want) {
		t.Errorf("changed %v, want %v", changed, want)
	}
	for p, want := range map[string]os.FileMode{"": 0o700, "users": 0o700, "users/alice.db": 0o600, "secret.key": 0o600} {
		if fi, _ := os.Stat(filepath.Join(dir, p)); fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if changed, _ := fsutil.MakePrivate(dir); len(changed) != 0 {
		t.Errorf("a second run changed %v", changed)
	}
}
