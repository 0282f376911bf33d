// Package backup takes a hot backup of a data directory while the daemon serves, and verifies
// one afterwards.
//
// A backup is written into DIR.partial: consistent snapshots of every database through SQLite
// (VACUUM INTO a temporary file, synced, renamed), then secret.key, cert.pem, key.pem,
// settings.json, uploads/ and avatars/, then manifest.json (every file with its size and
// SHA-256, the counts of users and messages, the daemon's version and the time). Only then is
// DIR.partial renamed to DIR. A backup that fails or is cancelled removes DIR.partial, and one
// cut short by a crash leaves only DIR.partial: a directory named DIR is always complete, and
// Verify proves it against its manifest.
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
)

// ManifestName is the manifest's file name inside a backup.
const ManifestName = "manifest.json"

// PartialSuffix is appended to the target directory's name while a backup is written.
const PartialSuffix = ".partial"

// Report describes a finished backup.
type Report struct {
	Dir       string
	Databases []string
	Files     int // files other than databases and the manifest
	Bytes     int64
	Users     int64
	Messages  int64
	Manifest  string // path of manifest.json
}

// Manifest is manifest.json: what a backup holds, to check it against later.
type Manifest struct {
	Format    int            `json:"format"` // 1
	Version   string         `json:"version"`
	CreatedTS int64          `json:"created_ts"`
	Created   string         `json:"created"` // RFC 3339, for people
	DataDir   string         `json:"data_dir"`
	Users     int64          `json:"users"`
	Messages  int64          `json:"messages"`
	Bytes     int64          `json:"bytes"`
	Files     []ManifestFile `json:"files"`
}

// ManifestFile is one file of a backup; Path is relative to the backup, with slashes.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Source is the live store being backed up.
type Source interface {
	// Dir is the data directory.
	Dir() string
	// Snapshot writes consistent copies of every database into dir and returns their paths
	// relative to it.
	Snapshot(ctx context.Context, dir string) ([]string, error)
}

// Options are what a backup records beside the files.
type Options struct {
	// Version is the daemon's version, recorded in the manifest.
	Version string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Counts, if set, returns the number of accounts and of message copies, recorded in the
	// manifest; it runs right after the databases are copied.
	Counts func(ctx context.Context) (users, messages int64, err error)
}

// Files copied beside the databases, with their modes.
var topFiles = []string{"secret.key", "cert.pem", "key.pem", "settings.json"}

// resolve returns path with every symbolic link resolved, also when its last elements do not
// exist yet: the deepest existing ancestor is resolved and the rest joined to it.
func resolve(path string) (string, error) {
	rest := []string{}
	p := filepath.Clean(path)
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			slices.Reverse(rest)
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = append(rest, filepath.Base(p))
		p = parent
	}
}

// inside reports whether path is dir or lies under it (both resolved).
func inside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// Check refuses a target directory a backup must not be written to: a relative path, one
// inside the data directory (also through a symbolic link), a non-empty one, or one whose
// DIR.partial exists.
func Check(dataDir, dir string) error {
	if !filepath.IsAbs(dir) {
		return chat.Errorf(chat.EInvalid, "backup directory must be an absolute path")
	}
	data, err := resolve(dataDir)
	if err != nil {
		return fmt.Errorf("resolve data directory: %w", err)
	}
	target, err := resolve(dir)
	if err != nil {
		return chat.Errorf(chat.EInvalid, "backup directory %s: %v", dir, err)
	}
	if inside(target, data) || inside(target+PartialSuffix, data) {
		if target != filepath.Clean(dir) {
			return chat.Errorf(chat.EInvalid, "backup directory %s is inside the data directory (it resolves to %s)", dir, target)
		}
		return chat.Errorf(chat.EInvalid, "backup directory %s is inside the data directory", dir)
	}
	if inside(data, target) {
		return chat.Errorf(chat.EInvalid, "backup directory %s contains the data directory", dir)
	}
	if entries, err := os.ReadDir(dir); err == nil {
		if len(entries) > 0 {
			return chat.Errorf(chat.EConflict, "backup directory %s is not empty", dir)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return chat.Errorf(chat.EInvalid, "backup directory %s: %v", dir, err)
	}
	if _, err := os.Lstat(dir + PartialSuffix); err == nil {
		return chat.Errorf(chat.EConflict, "%s%s exists, left by an interrupted backup: remove it, or choose another directory", dir, PartialSuffix)
	}
	return nil
}

// Run backs up st's data directory into dir (see the package comment). dir must be absolute,
// missing or empty, and not inside the data directory.
func Run(ctx context.Context, st Source, dir string, opt Options) (rep Report, err error) {
	rep = Report{Dir: dir}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if err := Check(st.Dir(), dir); err != nil {
		return rep, err
	}
	data, _ := filepath.Abs(st.Dir())
	partial := dir + PartialSuffix
	if err := os.MkdirAll(partial, 0o700); err != nil {
		return rep, chat.Errorf(chat.EInvalid, "create backup directory: %v", err)
	}
	defer func() {
		if err != nil {
			// Nothing that looks like a backup stays behind.
			os.RemoveAll(partial)
		}
	}()

	dbs, err := st.Snapshot(ctx, partial)
	rep.Databases = dbs
	if err != nil {
		return rep, fmt.Errorf("snapshot databases: %w", err)
	}
	if opt.Counts != nil {
		if rep.Users, rep.Messages, err = opt.Counts(ctx); err != nil {
			return rep, fmt.Errorf("count users and messages: %w", err)
		}
	}
	for _, f := range topFiles {
		_, err := copyFile(filepath.Join(data, f), filepath.Join(partial, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return rep, err
		}
		rep.Files++
	}
	for _, sub := range []string{"uploads", "avatars"} {
		files, _, err := copyTree(ctx, filepath.Join(data, sub), filepath.Join(partial, sub))
		if err != nil {
			return rep, err
		}
		rep.Files += files
	}

	now := opt.Now()
	m := Manifest{
		Format: 1, Version: opt.Version, CreatedTS: now.Unix(), Created: now.UTC().Format(time.RFC3339),
		DataDir: data, Users: rep.Users, Messages: rep.Messages,
	}
	if m.Files, err = hashTree(ctx, partial); err != nil {
		return rep, fmt.Errorf("manifest: %w", err)
	}
	for _, f := range m.Files {
		m.Bytes += f.Size
	}
	rep.Bytes = m.Bytes
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := fsutil.WriteNew(filepath.Join(partial, ManifestName), append(b, '\n'), 0o600); err != nil {
		return rep, fmt.Errorf("manifest: %w", err)
	}
	if err := syncTree(partial); err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	// rename(2) also replaces an empty directory, which Check allowed.
	if err := os.Rename(partial, dir); err != nil {
		return rep, fmt.Errorf("rename %s: %w", filepath.Base(partial), err)
	}
	fsutil.SyncDir(filepath.Dir(dir))
	rep.Manifest = filepath.Join(dir, ManifestName)
	return rep, nil
}

// hashTree lists every regular file under dir with its size and SHA-256, sorted by path.
func hashTree(ctx context.Context, dir string) ([]ManifestFile, error) {
	var out []ManifestFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		size, sum, err := hashFile(path)
		if err != nil {
			return err
		}
		out = append(out, ManifestFile{Path: filepath.ToSlash(rel), Size: size, SHA256: sum})
		return nil
	})
	slices.SortFunc(out, func(a, b ManifestFile) int { return strings.Compare(a.Path, b.Path) })
	return out, err
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// syncTree fsyncs every directory under dir (the files are synced as they are written), so
// that the rename that publishes the backup does not outrun its contents. Best effort for
// file systems that refuse to sync a directory.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			fsutil.SyncDir(path)
		}
		return nil
	})
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
func copyTree(ctx context.Context, src, dst string) (files int, bytes int64, err error) {
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
		if err := ctx.Err(); err != nil {
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

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Manifest Manifest
	// Problems lists every difference from the manifest, one line each; empty means none.
	Problems []string
	// Results are the integrity checks of the databases, in manifest order.
	Results []chat.DBResult
}

// OK tells whether the backup matches its manifest and every database passed its check.
func (r VerifyReport) OK() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, res := range r.Results {
		if !res.OK {
			return false
		}
	}
	return true
}

// CheckDB runs an integrity check on the database file at path and returns its output ("ok"
// when intact). It must not write next to the file (no -wal, no -shm).
type CheckDB func(ctx context.Context, path string) (string, error)

// Verify checks the backup in dir against its manifest.json: every listed file is there with
// its size and SHA-256, and no other file is; then check runs on every database (*.db).
// A directory without a manifest is an error: it is not a complete backup.
func Verify(ctx context.Context, dir string, check CheckDB) (VerifyReport, error) {
	var rep VerifyReport
	if !filepath.IsAbs(dir) {
		return rep, chat.Errorf(chat.EInvalid, "backup directory must be an absolute path")
	}
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return rep, chat.Errorf(chat.ENotFound, "backup directory %s: %v", dir, serr)
		}
		return rep, chat.Errorf(chat.EInvalid, "%s has no %s: it is not a complete backup (an interrupted one, or not written by minimostctl backup)", dir, ManifestName)
	}
	if err != nil {
		return rep, chat.Errorf(chat.EInvalid, "read manifest: %v", err)
	}
	if err := json.Unmarshal(b, &rep.Manifest); err != nil || rep.Manifest.Format != 1 {
		return rep, chat.Errorf(chat.EInvalid, "%s: not a manifest this version understands (%v)", filepath.Join(dir, ManifestName), err)
	}
	listed := map[string]bool{ManifestName: true}
	for _, f := range rep.Manifest.Files {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		listed[f.Path] = true
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: not a path inside the backup", f.Path))
			continue
		}
		size, sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: missing", f.Path))
			continue
		case err != nil:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", f.Path, err))
			continue
		case size != f.Size:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: size %d, manifest says %d", f.Path, size, f.Size))
		case sum != f.SHA256:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: SHA-256 differs from the manifest", f.Path))
		}
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if !listed[filepath.ToSlash(rel)] {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: not in the manifest", filepath.ToSlash(rel)))
		}
		return nil
	})
	for _, f := range rep.Manifest.Files {
		if !strings.HasSuffix(f.Path, ".db") || !filepath.IsLocal(filepath.FromSlash(f.Path)) {
			continue
		}
		r := chat.DBResult{Path: f.Path}
		out, err := check(ctx, filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			r.Detail = err.Error()
		} else {
			r.Detail, r.OK = out, out == "ok"
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}
