package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestKernelAtLeast(t *testing.T) {
	for _, c := range []struct {
		release string
		want    bool
	}{
		{"5.8.0", true},
		{"5.8", true},
		{"5.7.19", false},
		{"4.19.0-26-amd64", false},
		{"6.1.0-18-amd64", true},
		{"5.10-rc1", true},
		{"5.7-rc8", false},
		{"6.18.44-fc-v595", true},
		{"10.0", true},
		{"", false},
		{"linux", false},
		{"5", false},
	} {
		if got := kernelAtLeast(c.release, 5, 8); got != c.want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v, want %v", c.release, got, c.want)
		}
	}
}

// Where it is available, a syncer syncs a directory's file system; elsewhere it says it is
// not available, and nothing else.
func TestFSSyncer(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFSSyncer(dir)
	if errors.Is(err, ErrNoSyncFS) {
		if runtime.GOOS == "linux" && syncfsReportsErrors() {
			t.Fatal("syncfs refused on a Linux that has it")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFSSyncer(filepath.Join(dir, "missing")); err == nil {
		t.Error("a syncer opened on a missing directory")
	}
}
