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
//
// An incremental backup (Options.Since) names a previous backup, which must verify first.
// Every database is still snapshotted, for consistency, but a snapshot identical to the
// previous backup's copy (same size and SHA-256) is replaced by a hard link to it, and a file
// of uploads/ or avatars/ identical to its previous copy is linked without being copied. The
// new backup is complete on its own, with a full manifest: deleting the previous one does not
// harm it. Links need both backups on one file system; elsewhere the files are copied.
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
	"github.com/minimost/minimost/pkg/progress"
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
	// Linked counts the files hard-linked from the previous backup (Options.Since), and
	// LinkedBytes their size: space the backup shares instead of using.
	Linked      int
	LinkedBytes int64
}

// Manifest is manifest.json: what a backup holds, to check it against later.
type Manifest struct {
	Format    int    `json:"format"` // 1
	Version   string `json:"version"`
	CreatedTS int64  `json:"created_ts"`
	Created   string `json:"created"` // RFC 3339, for people
	DataDir   string `json:"data_dir"`
	Users     int64  `json:"users"`
	Messages  int64  `json:"messages"`
	Bytes     int64  `json:"bytes"`
	// Since is the previous backup an incremental backup shares unchanged files with.
	Since string         `json:"since,omitempty"`
	Files []ManifestFile `json:"files"`
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
	// Since is an absolute path to a previous backup: what is unchanged since it is
	// hard-linked from it (see the package comment). It must verify, with Check.
	Since string
	// Check runs integrity_check on a database of the previous backup; required with Since.
	Check CheckDB
}

// prevBackup is the previous backup of an incremental one: its directory and its files by path.
type prevBackup struct {
	dir   string
	files map[string]ManifestFile
}

// openSince verifies the previous backup at since and indexes its manifest. A previous
// backup that does not verify is refused: linking its files would carry its damage on.
func openSince(ctx context.Context, dataDir, since string, check CheckDB) (*prevBackup, error) {
	if !filepath.IsAbs(since) {
		return nil, chat.Errorf(chat.EInvalid, "previous backup must be an absolute path")
	}
	if check == nil {
		return nil, chat.Errorf(chat.EUnavailable, "incremental backups are not available")
	}
	data, err := resolve(dataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data directory: %w", err)
	}
	if p, err := resolve(since); err == nil && (inside(p, data) || inside(data, p)) {
		return nil, chat.Errorf(chat.EInvalid, "previous backup %s is inside the data directory", since)
	}
	rep, err := Verify(progress.Prefixed(ctx, "verify "), since, check)
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		first := ""
		if len(rep.Problems) > 0 {
			first = rep.Problems[0]
		} else {
			for _, r := range rep.Results {
				if !r.OK {
					first = r.Path + ": " + r.Detail
					break
				}
			}
		}
		return nil, chat.Errorf(chat.EConflict, "previous backup %s does not verify (%s); run minimostctl backup --verify %s, or make a full backup", since, first, since)
	}
	prev := &prevBackup{dir: filepath.Clean(since), files: map[string]ManifestFile{}}
	for _, f := range rep.Manifest.Files {
		prev.files[f.Path] = f
	}
	return prev, nil
}

// same tells whether the file at path has the size and SHA-256 of rel in the previous backup.
func (p *prevBackup) same(rel, path string) bool {
	if p == nil {
		return false
	}
	f, ok := p.files[rel]
	if !ok {
		return false
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != f.Size {
		return false
	}
	_, sum, err := hashFile(path)
	return err == nil && sum == f.SHA256
}

// link makes dst a hard link to rel in the previous backup, replacing dst if it exists. It
// returns false (and leaves dst as it was) when the link cannot be made, across file
// systems for example.
func (p *prevBackup) link(rel, dst string) bool {
	tmp := dst + ".link"
	os.Remove(tmp)
	if err := os.Link(filepath.Join(p.dir, filepath.FromSlash(rel)), tmp); err != nil {
		return false
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return false
	}
	return true
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
	var prev *prevBackup
	if opt.Since != "" {
		var err error
		if prev, err = openSince(ctx, st.Dir(), opt.Since, opt.Check); err != nil {
			return rep, err
		}
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
	for _, rel := range dbs {
		path := filepath.Join(partial, filepath.FromSlash(rel))
		if prev.same(rel, path) && prev.link(rel, path) {
			rep.Linked++
			rep.LinkedBytes += prev.files[rel].Size
		}
	}
	if opt.Counts != nil {
		if rep.Users, rep.Messages, err = opt.Counts(ctx); err != nil {
			return rep, fmt.Errorf("count users and messages: %w", err)
		}
	}
	cp := &copier{ctx: ctx, prev: prev, rep: &rep, pr: progress.Start(ctx, "files", 0)}
	for _, f := range topFiles {
		err := cp.copy(filepath.Join(data, f), filepath.Join(partial, f), f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return rep, err
		}
	}
	for _, sub := range []string{"uploads", "avatars"} {
		if err := cp.tree(filepath.Join(data, sub), filepath.Join(partial, sub), sub); err != nil {
			return rep, err
		}
	}

	now := opt.Now()
	m := Manifest{
		Format: 1, Version: opt.Version, CreatedTS: now.Unix(), Created: now.UTC().Format(time.RFC3339),
		DataDir: data, Users: rep.Users, Messages: rep.Messages, Since: opt.Since,
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
	var rels []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			rels = append(rels, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(rels)
	pr := progress.Start(ctx, "manifest", len(rels))
	out := make([]ManifestFile, 0, len(rels))
	for _, rel := range rels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		size, sum, err := hashFile(filepath.Join(dir, rel))
		if err != nil {
			return nil, err
		}
		out = append(out, ManifestFile{Path: filepath.ToSlash(rel), Size: size, SHA256: sum})
		pr.Add(filepath.ToSlash(rel), size)
	}
	slices.SortFunc(out, func(a, b ManifestFile) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
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

// copier copies the files beside the databases into a backup, linking those unchanged since
// the previous backup, and counts them in the report.
type copier struct {
	ctx  context.Context
	prev *prevBackup // nil for a full backup
	rep  *Report
	pr   *progress.Counter
}

// copy copies (or links) the file src to dst; rel is its path in the backup, with slashes.
func (c *copier) copy(src, dst, rel string) error {
	var n int64
	if c.prev.same(rel, src) && c.prev.link(rel, dst) {
		n = c.prev.files[rel].Size
		c.rep.Linked++
		c.rep.LinkedBytes += n
	} else {
		var err error
		if n, err = copyFile(src, dst); err != nil {
			return err
		}
	}
	c.rep.Files++
	c.pr.Add(rel, n)
	return nil
}

// tree copies the regular files under src (a file removed meanwhile, by cleanup, is
// skipped); rel is src's path in the backup.
func (c *copier) tree(src, dst, rel string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := c.ctx.Err(); err != nil {
			return err
		}
		r, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, r), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		err = c.copy(path, filepath.Join(dst, r), rel+"/"+filepath.ToSlash(r))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
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
	pr := progress.Start(ctx, "files", len(rep.Manifest.Files))
	for _, f := range rep.Manifest.Files {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		pr.Add(f.Path, f.Size)
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
	var dbs []ManifestFile
	for _, f := range rep.Manifest.Files {
		if strings.HasSuffix(f.Path, ".db") && filepath.IsLocal(filepath.FromSlash(f.Path)) {
			dbs = append(dbs, f)
		}
	}
	pr = progress.Start(ctx, "databases", len(dbs))
	for _, f := range dbs {
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
		pr.Add(f.Path, f.Size)
	}
	return rep, nil
}
