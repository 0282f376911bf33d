// Package backup takes a hot backup of a data directory while the daemon serves: consistent
// snapshots of every database through SQLite (VACUUM INTO a temporary file, synced, renamed),
// then secret.key, cert.pem, key.pem, settings.json, uploads/ and avatars/.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
)

// Report describes a finished backup.
type Report struct {
	Dir       string
	Databases []string
	Files     int
	Bytes     int64
}

// Files copied beside the databases, with their modes.
var topFiles = []string{"secret.key", "cert.pem", "key.pem", "settings.json"}

// Run backs up st's data directory into dir, which must be absolute and missing or empty and
// must not lie inside the data directory.
func Run(ctx context.Context, st *store.Store, dir string) (Report, error) {
	rep := Report{Dir: dir}
	if !filepath.IsAbs(dir) {
		return rep, chat.Errorf(chat.EInvalid, "backup directory must be an absolute path")
	}
	data, _ := filepath.Abs(st.Dir())
	if rel, err := filepath.Rel(data, dir); err == nil && (rel == "." || filepath.IsLocal(rel)) {
		return rep, chat.Errorf(chat.EInvalid, "backup directory %s is inside the data directory", dir)
	}
	if entries, err := os.ReadDir(dir); err == nil {
		if len(entries) > 0 {
			return rep, chat.Errorf(chat.EConflict, "backup directory %s is not empty", dir)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return rep, chat.Errorf(chat.EInvalid, "backup directory %s: %v", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return rep, chat.Errorf(chat.EInvalid, "create backup directory: %v", err)
	}
	dbs, err := st.Snapshot(ctx, dir)
	rep.Databases = dbs
	if err != nil {
		return rep, fmt.Errorf("snapshot databases: %w", err)
	}
	for _, p := range dbs {
		if fi, err := os.Stat(filepath.Join(dir, p)); err == nil {
			rep.Bytes += fi.Size()
		}
	}
	for _, f := range topFiles {
		n, err := copyFile(filepath.Join(data, f), filepath.Join(dir, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return rep, err
		}
		rep.Files++
		rep.Bytes += n
	}
	for _, sub := range []string{"uploads", "avatars"} {
		files, n, err := copyTree(filepath.Join(data, sub), filepath.Join(dir, sub))
		if err != nil {
			return rep, err
		}
		rep.Files += files
		rep.Bytes += n
	}
	return rep, nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	return n, nil
}

// copyTree copies the regular files under src (a file removed meanwhile, by cleanup, is
// skipped).
func copyTree(src, dst string) (files int, bytes int64, err error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, 0, err
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		n, err := copyFile(path, filepath.Join(dst, rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		files++
		bytes += n
		return nil
	})
	return files, bytes, err
}
