// Package fsutil writes files durably: the one place MiniMost creates a file whose contents
// must survive a crash or power cut (keys, certificates, settings.json, uploads, avatars).
package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteNew creates path (which must not exist) with mode, writes data, and syncs the file and
// its directory before returning. On any failure nothing is left at path.
func WriteNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if err := writeSyncClose(f, data); err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// WriteAtomic replaces path with data (mode applied) so that a reader, or a crash at any
// moment, sees either the old file or the new one whole: a synced temporary file in the same
// directory, renamed over path, then the directory synced.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := writeSyncClose(f, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return SyncDir(dir)
}

func writeSyncClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir syncs a directory, so that the names created or renamed in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// MakePrivate gives dir and everything in it owner-only modes: directories 0700, files 0600
// (a socket or symlink is left alone). It returns the paths it changed, relative to dir, so
// the daemon can log what it fixed in a data directory made with a looser umask.
func MakePrivate(dir string) (changed []string, err error) {
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var want os.FileMode
		switch {
		case d.IsDir():
			want = 0o700
		case d.Type().IsRegular():
			want = 0o600
		default:
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm() == want {
			return nil
		}
		if err := os.Chmod(path, want); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		changed = append(changed, rel)
		return nil
	})
	return changed, err
}
