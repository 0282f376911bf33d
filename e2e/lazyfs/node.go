//go:build linux

package lazyfs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// node is a file or directory on the mount: a loopback to the same path in the backing
// directory. It implements every operation itself (none is inherited from go-fuse's
// loopback), so that no data reaches the backing files except through the overlay.
type node struct {
	fs.Inode
	fsys *FS
}

var (
	_ fs.NodeLookuper   = (*node)(nil)
	_ fs.NodeGetattrer  = (*node)(nil)
	_ fs.NodeSetattrer  = (*node)(nil)
	_ fs.NodeOpener     = (*node)(nil)
	_ fs.NodeCreater    = (*node)(nil)
	_ fs.NodeMkdirer    = (*node)(nil)
	_ fs.NodeMknoder    = (*node)(nil)
	_ fs.NodeSymlinker  = (*node)(nil)
	_ fs.NodeLinker     = (*node)(nil)
	_ fs.NodeReadlinker = (*node)(nil)
	_ fs.NodeUnlinker   = (*node)(nil)
	_ fs.NodeRmdirer    = (*node)(nil)
	_ fs.NodeRenamer    = (*node)(nil)
	_ fs.NodeReaddirer  = (*node)(nil)
	_ fs.NodeFsyncer    = (*node)(nil)
	_ fs.NodeStatfser   = (*node)(nil)
)

// path is the node's backing path.
// An orphan (a file removed while open) gets a path that does not exist.
func (n *node) path() string { return filepath.Join(n.fsys.backing, n.Path(n.Root())) }

// child is the backing path of name in this directory.
func (n *node) child(name string) string { return filepath.Join(n.path(), name) }

// rel is a backing path relative to the backing root, for reports.
func (n *node) rel(p string) string {
	r, err := filepath.Rel(n.fsys.backing, p)
	if err != nil {
		return p
	}
	return r
}

// reserved reports whether name in this directory is the hidden trash.
func (n *node) reserved(name string) bool {
	return n.fsys.trash != "" && n.IsRoot() && name == trashName
}

// setNum assigns v to *dst whatever the integer type (Stat_t's widths differ per
// architecture).
func setNum[T ~int32 | ~int64 | ~uint32 | ~uint64](dst *T, v int64) { *dst = T(v) }

// statx stats path (AT_SYMLINK_NOFOLLOW) or, with path "", the descriptor dirfd; it also
// returns the birth time as a generation number.
func statx(dirfd int, path string) (syscall.Stat_t, uint64, error) {
	flags := unix.AT_SYMLINK_NOFOLLOW
	if path == "" {
		flags = unix.AT_EMPTY_PATH
	}
	var x unix.Statx_t
	var st syscall.Stat_t
	if err := unix.Statx(dirfd, path, flags, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &x); err != nil {
		return st, 0, err
	}
	setNum(&st.Dev, int64(unix.Mkdev(x.Dev_major, x.Dev_minor)))
	setNum(&st.Ino, int64(x.Ino))
	setNum(&st.Nlink, int64(x.Nlink))
	setNum(&st.Mode, int64(x.Mode))
	setNum(&st.Uid, int64(x.Uid))
	setNum(&st.Gid, int64(x.Gid))
	setNum(&st.Rdev, int64(unix.Mkdev(x.Rdev_major, x.Rdev_minor)))
	setNum(&st.Size, int64(x.Size))
	setNum(&st.Blksize, int64(x.Blksize))
	setNum(&st.Blocks, int64(x.Blocks))
	st.Atim = syscall.Timespec{Sec: x.Atime.Sec, Nsec: int64(x.Atime.Nsec)}
	st.Mtim = syscall.Timespec{Sec: x.Mtime.Sec, Nsec: int64(x.Mtime.Nsec)}
	st.Ctim = syscall.Timespec{Sec: x.Ctime.Sec, Nsec: int64(x.Ctime.Nsec)}
	gen := uint64(1)
	if x.Mask&unix.STATX_BTIME != 0 {
		gen = uint64(x.Btime.Sec)*1e9 + uint64(x.Btime.Nsec)
	}
	return st, gen, nil
}

func lstat(path string) (syscall.Stat_t, fileKey, error) {
	st, gen, err := statx(unix.AT_FDCWD, path)
	return st, fileKey{st.Ino, gen}, err
}

func isReg(st *syscall.Stat_t) bool { return st.Mode&syscall.S_IFMT == syscall.S_IFREG }
func isDir(st *syscall.Stat_t) bool { return st.Mode&syscall.S_IFMT == syscall.S_IFDIR }

// attr fills out from st, with the overlay's size for a regular file that has one.
func (n *node) attr(st *syscall.Stat_t, key fileKey, out *fuse.Attr) {
	out.FromStat(st)
	if isReg(st) {
		if s := n.fsys.peek(key); s != nil {
			s.mu.Lock()
			s.adjust(out)
			s.mu.Unlock()
		}
	}
}

// newChild returns the inode of a backing file just stat'ed, and fills out.
func (n *node) newChild(ctx context.Context, st *syscall.Stat_t, key fileKey, out *fuse.EntryOut) *fs.Inode {
	n.attr(st, key, &out.Attr)
	return n.NewInode(ctx, &node{fsys: n.fsys}, fs.StableAttr{Mode: st.Mode & syscall.S_IFMT, Ino: key.ino, Gen: key.gen})
}

// lookupNew stats a name just created and returns its inode.
func (n *node) lookupNew(ctx context.Context, p string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	st, key, err := lstat(p)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return n.newChild(ctx, &st, key, out), 0
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if !n.fsys.enter() {
		return nil, syscall.EIO
	}
	defer n.fsys.leave()
	if n.reserved(name) {
		return nil, syscall.ENOENT
	}
	return n.lookupNew(ctx, n.child(name), out)
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if h, ok := f.(*handle); ok {
		return h.Getattr(ctx, out)
	}
	if !n.fsys.enter() {
		return syscall.EIO
	}
	defer n.fsys.leave()
	st, key, err := lstat(n.path())
	if err != nil {
		return fs.ToErrno(err)
	}
	n.attr(&st, key, &out.Attr)
	return 0
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if h, ok := f.(*handle); ok {
		return h.Setattr(ctx, in, out)
	}
	if !n.fsys.enter() {
		return syscall.EIO
	}
	defer n.fsys.leave()
	p := n.path()
	st, key, err := lstat(p)
	if err != nil {
		return fs.ToErrno(err)
	}
	var fst *fileState
	if _, ok := in.GetSize(); ok && isReg(&st) {
		if fst, err = n.fsys.acquire(key, n.rel(p), func() (*os.File, error) { return os.OpenFile(p, os.O_RDWR, 0) }); err != nil {
			return fs.ToErrno(err)
		}
		defer n.fsys.release(fst)
		fst.mu.Lock()
		defer fst.mu.Unlock()
	}
	errno := setattr(fst, in, func(m uint32) error { return syscall.Chmod(p, m&07777) },
		func(uid, gid int) error { return os.Lchown(p, uid, gid) },
		func(ts []unix.Timespec) error {
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		})
	if errno != 0 {
		return errno
	}
	if st, key, err = lstat(p); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStat(&st)
	if fst != nil {
		fst.adjust(&out.Attr)
	} else if isReg(&st) {
		if s := n.fsys.peek(key); s != nil {
			s.mu.Lock()
			s.adjust(&out.Attr)
			s.mu.Unlock()
		}
	}
	return 0
}

// openHandle makes a handle on the backing file file (just opened), which is closed if the
// file already has a state.
func (n *node) openHandle(file *os.File, rel string, trunc bool) (*handle, syscall.Errno) {
	_, gen, err := statx(int(file.Fd()), "")
	if err != nil {
		file.Close()
		return nil, fs.ToErrno(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(file.Fd()), &st); err != nil {
		file.Close()
		return nil, fs.ToErrno(err)
	}
	used := false
	fst, err := n.fsys.acquire(fileKey{st.Ino, gen}, rel, func() (*os.File, error) { used = true; return file, nil })
	if !used {
		file.Close()
	}
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	if trunc {
		fst.mu.Lock()
		fst.truncate(0)
		fst.mu.Unlock()
	}
	return &handle{fsys: n.fsys, st: fst}, 0
}

// openBacking opens a backing file for reading and writing (the overlay writes to it at an
// fsync, whatever the handle's mode), or read-only if that is all it allows.
func openBacking(p string, flags int, mode uint32) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDWR|flags, os.FileMode(mode&07777))
	if err != nil && (errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.ETXTBSY)) {
		f, err = os.OpenFile(p, os.O_RDONLY|flags, os.FileMode(mode&07777))
	}
	return f, err
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !n.fsys.enter() {
		return nil, 0, syscall.EIO
	}
	defer n.fsys.leave()
	p := n.path()
	file, err := openBacking(p, syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	h, errno := n.openHandle(file, n.rel(p), flags&syscall.O_TRUNC != 0)
	if errno != 0 {
		return nil, 0, errno
	}
	return h, 0, 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if !n.fsys.enter() {
		return nil, nil, 0, syscall.EIO
	}
	defer n.fsys.leave()
	if n.reserved(name) {
		return nil, nil, 0, syscall.EPERM
	}
	n.fsys.meta.Lock()
	defer n.fsys.meta.Unlock()
	p := n.child(name)
	_, _, statErr := lstat(p)
	existed := statErr == nil
	file, err := openBacking(p, os.O_CREATE|int(flags&syscall.O_EXCL)|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return nil, nil, 0, fs.ToErrno(err)
	}
	if !existed && n.fsys.trash != "" {
		n.fsys.logLocked(metaOp{kind: metaCreate, path: p})
	}
	h, errno := n.openHandle(file, n.rel(p), existed && flags&syscall.O_TRUNC != 0)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	st, key, err := lstat(p)
	if err != nil {
		h.Release(ctx)
		return nil, nil, 0, fs.ToErrno(err)
	}
	return n.newChild(ctx, &st, key, out), h, 0, 0
}

// created logs a new name and returns its inode (f.meta held).
func (n *node) created(ctx context.Context, p string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.fsys.trash != "" {
		n.fsys.logLocked(metaOp{kind: metaCreate, path: p})
	}
	return n.lookupNew(ctx, p, out)
}

// namespaceOp runs fn for a new name in this directory, under the metadata lock.
func (n *node) namespaceOp(name string, fn func(p string) error) (string, syscall.Errno) {
	if n.reserved(name) {
		return "", syscall.EPERM
	}
	p := n.child(name)
	return p, fs.ToErrno(fn(p))
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if !n.fsys.enter() {
		return nil, syscall.EIO
	}
	defer n.fsys.leave()
	n.fsys.meta.Lock()
	defer n.fsys.meta.Unlock()
	p, errno := n.namespaceOp(name, func(p string) error { return syscall.Mkdir(p, mode&07777) })
	if errno != 0 {
		return nil, errno
	}
	return n.created(ctx, p, out)
}

func (n *node) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if !n.fsys.enter() {
		return nil, syscall.EIO
	}
	defer n.fsys.leave()
	n.fsys.meta.Lock()
	defer n.fsys.meta.Unlock()
	p, errno := n.namespaceOp(name, func(p string) error { return syscall.Mknod(p, mode, int(dev)) })
	if errno != 0 {
		return nil, errno
	}
	return n.created(ctx, p, out)
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if !n.fsys.enter() {
		return nil, syscall.EIO
	}
	defer n.fsys.leave()
	n.fsys.meta.Lock()
	defer n.fsys.meta.Unlock()
	p, errno := n.namespaceOp(name, func(p string) error { return syscall.Symlink(target, p) })
	if errno != 0 {
		return nil, errno
	}
	return n.created(ctx, p, out)
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	t, ok := target.(*node)
	if !ok || t.fsys != n.fsys {
		return nil, syscall.EXDEV
	}
	if !n.fsys.enter() {
		return nil, syscall.EIO
	}
	defer n.fsys.leave()
	n.fsys.meta.Lock()
	defer n.fsys.meta.Unlock()
	p, errno := n.namespaceOp(name, func(p string) error { return syscall.Link(t.path(), p) })
	if errno != 0 {
		return nil, errno
	}
	return n.created(ctx, p, out)
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	if !n.fsys.enter() {
		return nil, syscall.EIO
	}
	defer n.fsys.leave()
	s, err := os.Readlink(n.path())
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return []byte(s), 0
}

// isEmptyDir reports whether the directory p has no entries.
func isEmptyDir(p string) (bool, error) {
	d, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer d.Close()
	_, err = d.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// remove takes the name p away: at once, or (with DropUnsyncedMetadata) into the trash with
// an undo entry (f.meta held).
func (n *node) remove(p string, st *syscall.Stat_t, key fileKey) syscall.Errno {
	if n.fsys.trash == "" {
		var err error
		if isDir(st) {
			err = syscall.Rmdir(p)
		} else {
			err = syscall.Unlink(p)
		}
		if err != nil {
			return fs.ToErrno(err)
		}
		if isReg(st) && st.Nlink <= 1 {
			n.fsys.forget(key)
		}
		return 0
	}
	tp := n.fsys.trashPathLocked()
	if err := os.Rename(p, tp); err != nil {
		return fs.ToErrno(err)
	}
	op := metaOp{kind: metaRemove, path: p, trash: tp}
	if isReg(st) && st.Nlink <= 1 {
		op.trashKey, op.forgetKey = key, true
	}
	n.fsys.logLocked(op)
	return 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	if !n.fsys.enter() {
		return syscall.EIO
	}
	defer n.fsys.leave()
	if n.reserved(name) {
		return syscall.EPERM
	}
	n.fsys.meta.Lock()
	defer n.fsys.meta.Unlock()
	p := n.child(name)
	st, key, err := lstat(p)
	if err != nil {
		return fs.ToErrno(err)
	}
	if isDir(&st) {
		return syscall.EISDIR
	}
	return n.remove(p, &st, key)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if !n.fsys.enter() {
		return syscall.EIO
	}
	defer n.fsys.leave()
	if n.reserved(name) {
		return syscall.EPERM
	}
	n.fsys.meta.Lock()
	defer n.fsys.meta.Unlock()
	p := n.child(name)
	st, key, err := lstat(p)
	if err != nil {
		return fs.ToErrno(err)
	}
	if !isDir(&st) {
		return syscall.ENOTDIR
	}
	if empty, err := isEmptyDir(p); err != nil {
		return fs.ToErrno(err)
	} else if !empty {
		return syscall.ENOTEMPTY
	}
	return n.remove(p, &st, key)
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok || np.fsys != n.fsys {
		return syscall.EXDEV
	}
	if flags&^unix.RENAME_NOREPLACE != 0 {
		return syscall.EINVAL // RENAME_EXCHANGE and RENAME_WHITEOUT are not supported
	}
	if !n.fsys.enter() {
		return syscall.EIO
	}
	defer n.fsys.leave()
	if n.reserved(name) || np.reserved(newName) {
		return syscall.EPERM
	}
	n.fsys.meta.Lock()
	defer n.fsys.meta.Unlock()
	src, dst := n.child(name), np.child(newName)
	sst, skey, err := lstat(src)
	if err != nil {
		return fs.ToErrno(err)
	}
	dst0, dkey, derr := lstat(dst)
	exists := derr == nil
	if exists {
		switch {
		case flags&unix.RENAME_NOREPLACE != 0:
			return syscall.EEXIST
		case dkey == skey:
			return 0 // two names of one file: rename does nothing
		case isDir(&sst) && !isDir(&dst0):
			return syscall.ENOTDIR
		case !isDir(&sst) && isDir(&dst0):
			return syscall.EISDIR
		}
		if isDir(&dst0) {
			if empty, err := isEmptyDir(dst); err != nil {
				return fs.ToErrno(err)
			} else if !empty {
				return syscall.ENOTEMPTY
			}
		}
	}
	if n.fsys.trash == "" {
		if err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, uint(flags)); err != nil {
			return fs.ToErrno(err)
		}
		if exists && isReg(&dst0) && dst0.Nlink <= 1 {
			n.fsys.forget(dkey)
		}
		return 0
	}
	op := metaOp{kind: metaRename, path: src, path2: dst}
	if exists {
		op.trash = n.fsys.trashPathLocked()
		if err := os.Rename(dst, op.trash); err != nil {
			return fs.ToErrno(err)
		}
		if isReg(&dst0) && dst0.Nlink <= 1 {
			op.trashKey, op.forgetKey = dkey, true
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if op.trash != "" {
			os.Rename(op.trash, dst)
		}
		return fs.ToErrno(err)
	}
	n.fsys.logLocked(op)
	return 0
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	if !n.fsys.enter() {
		return nil, syscall.EIO
	}
	defer n.fsys.leave()
	ds, errno := fs.NewLoopbackDirStream(n.path())
	if errno != 0 {
		return nil, errno
	}
	defer ds.Close()
	var list []fuse.DirEntry
	for ds.HasNext() {
		e, errno := ds.Next()
		if errno != 0 {
			return nil, errno
		}
		if n.reserved(e.Name) {
			continue
		}
		list = append(list, e)
	}
	return fs.NewListDirStream(list), 0
}

// Fsync is fsync or fdatasync: of a file, it writes the file's overlay to the backing file;
// of a directory, it commits the metadata operations made so far.
func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if h, ok := f.(*handle); ok {
		return h.Fsync(ctx, flags)
	}
	if !n.fsys.enter() {
		return syscall.EIO
	}
	defer n.fsys.leave()
	if n.StableAttr().Mode&syscall.S_IFMT == syscall.S_IFDIR {
		n.fsys.barrier()
		return 0
	}
	// A file without a handle (not sent by Linux): its state, if any.
	st, key, err := lstat(n.path())
	if err != nil {
		return fs.ToErrno(err)
	}
	if isReg(&st) {
		if s := n.fsys.peek(key); s != nil {
			n.fsys.fsyncs.Add(1)
			s.mu.Lock()
			defer s.mu.Unlock()
			return fs.ToErrno(s.sync(n.fsys.opts.SyncBacking))
		}
	}
	return 0
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var s syscall.Statfs_t
	if err := syscall.Statfs(n.fsys.backing, &s); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStatfsT(&s)
	return 0
}
