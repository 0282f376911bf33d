//go:build linux

// Package lazyfs is a FUSE file system for power-loss tests, in the spirit of LazyFS: a
// loopback over a backing directory that keeps every byte written to a file in memory until
// that file is fsynced (fsync or fdatasync, through any descriptor of it), and can then "cut
// the power": drop everything not yet fsynced and unmount, so that the backing directory holds
// exactly what a disk would have kept.
//
// # What it models
//
//   - File data. A write, a truncate (ftruncate, truncate, O_TRUNC) and the size it gives the
//     file go to a per-file overlay of pending pages; reads and stat see the overlay, so the
//     processes on the mount see their writes as they would through a page cache. An fsync of
//     the file (by any descriptor, read-only ones too) writes its overlay to the backing file.
//     A close does not: unsynced data of a closed file stays pending, as in a page cache.
//     [FS.PowerCut] drops every overlay: a file then has exactly the contents and size it had
//     at its last fsync (or at the mount, if it was never fsynced since).
//   - Metadata, with [Options.DropUnsyncedMetadata] ([Mount] turns it on): create, mkdir,
//     mknod (sockets), symlink, link, unlink, rmdir and rename are applied to the backing
//     directory at once (the names are visible at once) and logged; an fsync of any directory
//     on the mount commits every metadata operation made before it (a journalling barrier, as
//     a directory fsync is on ext4 or XFS); PowerCut undoes the ones made since the last such
//     barrier, newest first. Removed files and replaced rename targets are moved to a hidden
//     directory in the backing root (.lazyfs-trash, not visible on the mount) until a barrier,
//     so that an undo can put them back. This is stricter than ext4 in data=ordered mode,
//     where an fsync of any file also commits the metadata changes made before it, and looser
//     than the letter of POSIX, under which a directory fsync makes only that directory's
//     entries durable. Without DropUnsyncedMetadata, metadata operations are durable at once,
//     which is stronger than any real disk (a new or renamed name needs a directory fsync).
//
// # What it does not model
//
//   - Torn or partial writes: a cut keeps no part of an unsynced write, never a prefix or an
//     arbitrary subset of the pending pages, and never a torn sector. Real disks and file
//     systems may persist any subset of the unsynced writes, in any order; this is the single
//     "everything unsynced is lost" outcome (LazyFS's clear-cache fault), the worst case for
//     losing data but not for finding code that relies on write ordering without an fsync.
//   - Writes that an fsync reports as failed (no EIO injection), and the page cache dropping
//     data after a failed writeback.
//   - Attributes (mode, owner, times) and extended attributes, which go to the backing files
//     at once and are not rolled back; mmap writes are seen as soon as the kernel writes the
//     dirty pages back to the file system (SQLite's -shm file, which needs no durability).
//   - Several mounts of one backing directory, or changes made to the backing directory
//     behind the mount's back while it is mounted.
//
// A power cut happens between two file-system operations: an operation in flight when it
// starts finishes first (an fsync that returned succeeded durably). Tests typically SIGKILL
// the processes using the mount, then call PowerCut, then [Mount] the same backing directory
// again (the kernel's page cache of the old mount is gone with the unmount).
//
// Mounting needs /dev/fuse and CAP_SYS_ADMIN (go-fuse's DirectMount) or a fusermount binary.
//
// # Where the server runs
//
// [Mount] serves the file system from the calling process. That process must not use the
// mount in ways that wait for its own server while it cannot run: a process that exits with a
// file of the mount open or mapped waits in the kernel for the close to be answered, and a Go
// process that starts a child whose working directory is on the mount (exec.Cmd.Dir) can
// stop the world for a garbage collection while the child, not yet exec'd, waits for the
// server. [Start] runs the server in a child process instead (the lazyfsd command, built by
// [BuildServer]), which is what a test that starts programs on the mount should use. Either
// way, an unmount that finds the mount busy aborts the FUSE connection (through fusectl)
// before detaching it, which fails the pending requests instead of hanging.
package lazyfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// trashName is the hidden directory in the backing root that holds removed files until a
// directory fsync commits their removal.
const trashName = ".lazyfs-trash"

// Options configure a mount.
type Options struct {
	// DropUnsyncedMetadata makes creations, removals and renames not followed by a directory
	// fsync undone by a power cut (see the package documentation).
	DropUnsyncedMetadata bool
	// SyncBacking also fsyncs the backing file when a file is fsynced on the mount. Not needed
	// for the model (the backing directory outlives the test process); off by default.
	SyncBacking bool
	// Debug logs every FUSE request (go-fuse's debug output) to stderr.
	Debug bool
}

// Stats counts what a mount did.
type Stats struct {
	Writes        int64 // write requests
	BytesWritten  int64 // bytes written to overlays
	Fsyncs        int64 // file fsyncs (and fdatasyncs)
	DirFsyncs     int64 // directory fsyncs (metadata barriers)
	MetadataOps   int64 // logged metadata operations (with DropUnsyncedMetadata)
	PendingFiles  int   // files with unsynced data now, or dropped by the power cut
	PendingBytes  int64 // bytes in unsynced pages now, or dropped by the power cut
	PendingMeta   int   // metadata operations not yet committed now, or undone by the power cut
	DroppedFiles  []string
	UndoneMetaOps []string
}

// FS is a mounted lazy file system.
type FS struct {
	backing    string
	mountpoint string
	opts       Options
	server     *fuse.Server
	conn       uint32 // the FUSE connection's id (the mount's device minor)
	trash      string // backing path of the trash directory ("" without DropUnsyncedMetadata)

	// life is held shared by every operation and exclusively by PowerCut, so that a cut
	// happens between operations.
	life sync.RWMutex
	dead bool

	// meta serialises namespace operations, barriers and the undo log.
	meta     sync.Mutex
	log      []metaOp
	trashSeq int

	// mu guards files.
	mu    sync.Mutex
	files map[fileKey]*fileState

	writes, bytesWritten, fsyncs, dirFsyncs, metaOps atomic.Int64

	cutStats *Stats
	unmount  sync.Once
	unmErr   error
}

// Mount mounts a lazy file system of backing at mountpoint (both must exist) with
// DropUnsyncedMetadata on.
func Mount(backing, mountpoint string) (*FS, error) {
	return MountOptions(backing, mountpoint, Options{DropUnsyncedMetadata: true})
}

// MountOptions mounts a lazy file system of backing at mountpoint with opts.
func MountOptions(backing, mountpoint string, opts Options) (*FS, error) {
	backing, err := filepath.Abs(backing)
	if err != nil {
		return nil, err
	}
	if mountpoint, err = filepath.Abs(mountpoint); err != nil {
		return nil, err
	}
	f := &FS{backing: backing, mountpoint: mountpoint, opts: opts, files: map[fileKey]*fileState{}}
	// A trash left by a test process that died with the mount: those removals happened.
	if err := os.RemoveAll(filepath.Join(backing, trashName)); err != nil {
		return nil, err
	}
	if opts.DropUnsyncedMetadata {
		f.trash = filepath.Join(backing, trashName)
		if err := os.Mkdir(f.trash, 0o700); err != nil {
			return nil, err
		}
	}
	root := &node{fsys: f}
	timeout := time.Second
	mo := fuse.MountOptions{
		FsName:        "lazyfs:" + backing,
		Name:          "lazyfs",
		DirectMount:   true,
		DisableXAttrs: true,
		Debug:         opts.Debug,
		// The processes on the mount are the test's own (root); SQLite's locks stay in the
		// kernel (no EnableLocks).
		AllowOther: os.Getuid() == 0,
	}
	server, err := fs.Mount(mountpoint, root, &fs.Options{
		MountOptions:    mo,
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NullPermissions: true,
	})
	if err != nil {
		if f.trash != "" {
			os.Remove(f.trash)
		}
		return nil, fmt.Errorf("lazyfs: mount %s on %s: %w", backing, mountpoint, err)
	}
	f.server = server
	var st syscall.Stat_t
	if err := syscall.Stat(mountpoint, &st); err == nil {
		f.conn = unix.Minor(st.Dev)
	}
	return f, nil
}

// Backing returns the backing directory.
func (f *FS) Backing() string { return f.backing }

// Mountpoint returns where the file system is mounted.
func (f *FS) Mountpoint() string { return f.mountpoint }

// enter starts an operation; false (EIO) once the power is cut.
func (f *FS) enter() bool {
	f.life.RLock()
	if f.dead {
		f.life.RUnlock()
		return false
	}
	return true
}

func (f *FS) leave() { f.life.RUnlock() }

// Stats returns the counters and what is pending now; after PowerCut, what the cut dropped.
func (f *FS) Stats() Stats {
	s := Stats{
		Writes: f.writes.Load(), BytesWritten: f.bytesWritten.Load(), Fsyncs: f.fsyncs.Load(),
		DirFsyncs: f.dirFsyncs.Load(), MetadataOps: f.metaOps.Load(),
	}
	f.life.RLock()
	defer f.life.RUnlock()
	if f.cutStats != nil {
		c := *f.cutStats
		c.Writes, c.BytesWritten, c.Fsyncs, c.DirFsyncs, c.MetadataOps = s.Writes, s.BytesWritten, s.Fsyncs, s.DirFsyncs, s.MetadataOps
		return c
	}
	f.mu.Lock()
	for _, st := range f.files {
		st.mu.Lock()
		if st.dirty() {
			s.PendingFiles++
			s.PendingBytes += int64(len(st.pages)) * pageSize
		}
		st.mu.Unlock()
	}
	f.mu.Unlock()
	f.meta.Lock()
	s.PendingMeta = len(f.log)
	f.meta.Unlock()
	return s
}

// PowerCut simulates a power loss: it waits for the operations in flight, then drops every
// unsynced write and truncate, undoes the metadata operations since the last directory fsync
// (with DropUnsyncedMetadata), makes every later operation fail with EIO, and unmounts. The
// backing directory then holds what was made durable. Processes still using the mount should
// be killed first (an unmount with open files is retried, then done lazily). It returns what
// it dropped; an error means an undo or the unmount failed.
func (f *FS) PowerCut() (Stats, error) {
	f.life.Lock()
	if f.dead {
		f.life.Unlock()
		return f.Stats(), errors.New("lazyfs: already powered off")
	}
	f.dead = true
	cut := &Stats{}
	f.mu.Lock()
	for _, st := range f.files {
		st.mu.Lock()
		if st.dirty() {
			cut.PendingFiles++
			cut.PendingBytes += int64(len(st.pages)) * pageSize
			if st.name != "" {
				cut.DroppedFiles = append(cut.DroppedFiles, st.name)
			}
		}
		st.drop()
		st.close()
		st.mu.Unlock()
	}
	f.files = map[fileKey]*fileState{}
	f.mu.Unlock()
	sort.Strings(cut.DroppedFiles)
	f.meta.Lock()
	cut.PendingMeta = len(f.log)
	var errs []error
	for i := len(f.log) - 1; i >= 0; i-- {
		op := f.log[i]
		cut.UndoneMetaOps = append(cut.UndoneMetaOps, op.String(f.backing))
		if err := op.undo(); err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", op.String(f.backing), err))
		}
	}
	f.log = nil
	f.meta.Unlock()
	f.cutStats = cut
	f.life.Unlock()
	if err := f.doUnmount(); err != nil {
		errs = append(errs, err)
	}
	if f.trash != "" {
		// Everything a removal logged since the last barrier is back in place; what is left
		// had its removal committed.
		if err := os.RemoveAll(f.trash); err != nil {
			errs = append(errs, err)
		}
	}
	return f.Stats(), errors.Join(errs...)
}

// Unmount is a clean shutdown: it writes every pending overlay to the backing files and
// commits the metadata log (as an orderly shutdown's final sync would), then unmounts. After
// a PowerCut it does nothing more.
func (f *FS) Unmount() error {
	f.life.Lock()
	var errs []error
	if !f.dead {
		f.dead = true
		f.mu.Lock()
		for _, st := range f.files {
			st.mu.Lock()
			if err := st.sync(false); err != nil {
				errs = append(errs, fmt.Errorf("lazyfs: write back %s: %w", st.name, err))
			}
			st.close()
			st.mu.Unlock()
		}
		f.files = map[fileKey]*fileState{}
		f.mu.Unlock()
		f.meta.Lock()
		f.commitLocked()
		f.meta.Unlock()
	}
	f.life.Unlock()
	if err := f.doUnmount(); err != nil {
		errs = append(errs, err)
	}
	if f.trash != "" {
		if err := os.RemoveAll(f.trash); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *FS) doUnmount() error {
	f.unmount.Do(func() {
		err := f.server.Unmount()
		if err == nil {
			f.server.Wait()
			return
		}
		// Something still has a file open, mapped, or its cwd there. Abort the connection
		// (every request then fails with ENOTCONN) and detach the mount: otherwise a process
		// closing or unmapping such a file would wait for this server for ever, this very
		// process too, when it exits.
		f.unmErr = fmt.Errorf("lazyfs: unmount %s: %w (the connection was aborted)", f.mountpoint, err)
		if aerr := f.abort(); aerr != nil {
			f.unmErr = fmt.Errorf("%w; abort: %v", f.unmErr, aerr)
		}
		if derr := syscall.Unmount(f.mountpoint, syscall.MNT_DETACH); derr != nil {
			f.unmErr = fmt.Errorf("%w; lazy unmount: %v", f.unmErr, derr)
			return
		}
		done := make(chan struct{})
		go func() { f.server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			f.unmErr = fmt.Errorf("%w; the server has not stopped 10 s later", f.unmErr)
		}
	})
	return f.unmErr
}

// fusectl is where the kernel lists FUSE connections.
const fusectl = "/sys/fs/fuse/connections"

// abort aborts the mount's FUSE connection through fusectl (mounted if need be).
func (f *FS) abort() error {
	if f.conn == 0 {
		return errors.New("connection id unknown")
	}
	ctl := filepath.Join(fusectl, fmt.Sprint(f.conn), "abort")
	if _, err := os.Stat(ctl); err != nil {
		if merr := syscall.Mount("fusectl", fusectl, "fusectl", 0, ""); merr != nil {
			return fmt.Errorf("%v; mount fusectl: %v", err, merr)
		}
	}
	return os.WriteFile(ctl, []byte("1"), 0)
}

// acquire returns the state of the file key with one more reference. When there is none
// yet, it is made with the backing file open returns (O_RDWR), which it then owns; otherwise
// open is not called. name (relative to the backing root) is for reports.
func (f *FS) acquire(key fileKey, name string, open func() (*os.File, error)) (*fileState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.files[key]
	if st == nil {
		file, err := open()
		if err != nil {
			return nil, err
		}
		if st, err = newFileState(key, file); err != nil {
			file.Close()
			return nil, err
		}
		f.files[key] = st
	}
	if name != "" {
		st.name = name
	}
	st.refs++
	return st, nil
}

// peek returns the state of key if there is one (nil otherwise), without a reference.
func (f *FS) peek(key fileKey) *fileState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.files[key]
}

// release drops a reference. A state with no references is forgotten (its descriptor closed)
// when nothing is pending (the backing file says it all) or its file has no name left.
func (f *FS) release(st *fileState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st.refs--
	if st.refs > 0 || f.files[st.key] != st {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.dirty() || st.unlinked() {
		delete(f.files, st.key)
		st.close()
	}
}

// forget drops the state of a file whose last name went away, unless a handle has it open
// (release does it then).
func (f *FS) forget(key fileKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.files[key]; st != nil && st.refs == 0 {
		delete(f.files, key)
		st.mu.Lock()
		st.close()
		st.mu.Unlock()
	}
}

// ---- metadata log ----

type metaKind int

const (
	metaCreate metaKind = iota // path was created
	metaRemove                 // path was removed: it is at trash
	metaRename                 // path was renamed to path2; what path2 was is at trash ("" none)
)

type metaOp struct {
	kind        metaKind
	path, path2 string
	trash       string
	trashKey    fileKey // the file at trash, whose state a commit forgets (if forgetKey)
	forgetKey   bool
}

func (op metaOp) String(base string) string {
	rel := func(p string) string {
		if r, err := filepath.Rel(base, p); err == nil {
			return r
		}
		return p
	}
	switch op.kind {
	case metaCreate:
		return "create " + rel(op.path)
	case metaRemove:
		return "remove " + rel(op.path)
	default:
		if op.trash != "" {
			return "rename " + rel(op.path) + " over " + rel(op.path2)
		}
		return "rename " + rel(op.path) + " to " + rel(op.path2)
	}
}

func (op metaOp) undo() error {
	switch op.kind {
	case metaCreate:
		return os.Remove(op.path)
	case metaRemove:
		return os.Rename(op.trash, op.path)
	default:
		if err := os.Rename(op.path2, op.path); err != nil {
			return err
		}
		if op.trash != "" {
			return os.Rename(op.trash, op.path2)
		}
		return nil
	}
}

// logLocked records op (f.meta held).
func (f *FS) logLocked(op metaOp) {
	f.log = append(f.log, op)
	f.metaOps.Add(1)
}

// trashPathLocked returns a new name in the trash (f.meta held).
func (f *FS) trashPathLocked() string {
	f.trashSeq++
	return filepath.Join(f.trash, fmt.Sprintf("%d", f.trashSeq))
}

// commitLocked makes the logged metadata operations durable: the removed files go for good
// (f.meta held).
func (f *FS) commitLocked() {
	for _, op := range f.log {
		if op.trash == "" {
			continue
		}
		os.RemoveAll(op.trash)
		if op.forgetKey {
			f.forget(op.trashKey)
		}
	}
	f.log = nil
}

// barrier is a directory fsync.
func (f *FS) barrier() {
	f.dirFsyncs.Add(1)
	if f.trash == "" {
		return
	}
	f.meta.Lock()
	f.commitLocked()
	f.meta.Unlock()
}
