//go:build linux

package lazyfs

import (
	"context"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// pageSize is the unit of the overlay: a page written to is copied from the backing file
// first, then changed.
const pageSize = 4096

// fileKey identifies a backing file: its inode number and birth time, so that a reused inode
// number is another file.
type fileKey struct{ ino, gen uint64 }

// fileState is the overlay of one file: what was written or truncated since its last fsync.
// The file's contents are: the backing file below stale (and below its size), then zeros,
// with pages on top, cut at size.
type fileState struct {
	key  fileKey
	name string // path relative to the backing root when last opened, for reports
	refs int    // open handles and operations in progress (guarded by FS.mu)

	mu       sync.Mutex
	file     *os.File // the backing file, O_RDWR, owned
	size     int64    // the file's size as the mount shows it
	backSize int64    // the backing file's size
	stale    int64    // backing bytes at or after stale are gone (a pending truncate)
	pages    map[int64][]byte
}

func newFileState(key fileKey, file *os.File) (*fileState, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(file.Fd()), &st); err != nil {
		return nil, err
	}
	return &fileState{key: key, file: file, size: st.Size, backSize: st.Size, stale: math.MaxInt64, pages: map[int64][]byte{}}, nil
}

// dirty reports whether anything is pending (mu held).
func (s *fileState) dirty() bool {
	return len(s.pages) > 0 || s.size != s.backSize || s.stale < s.backSize
}

// unlinked reports whether the backing file has no name left (mu held).
func (s *fileState) unlinked() bool {
	if s.file == nil {
		return true
	}
	var st syscall.Stat_t
	return syscall.Fstat(int(s.file.Fd()), &st) == nil && st.Nlink == 0
}

// close closes the backing descriptor (mu held).
func (s *fileState) close() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

// drop forgets everything pending: the power cut (mu held).
func (s *fileState) drop() {
	s.pages = map[int64][]byte{}
	s.size = s.backSize
	s.stale = math.MaxInt64
}

// preadFull reads len(buf) bytes at off, or up to the end of the file; the rest of buf is
// left as it is.
func preadFull(f *os.File, buf []byte, off int64) error {
	for len(buf) > 0 {
		n, err := f.ReadAt(buf, off)
		if err == io.EOF || n == 0 && err == nil {
			return nil
		}
		if err != nil {
			return err
		}
		buf, off = buf[n:], off+int64(n)
	}
	return nil
}

// read returns the file's bytes in [off, off+n) (mu held).
func (s *fileState) read(off int64, n int) ([]byte, error) {
	end := min(off+int64(n), s.size)
	if off >= end {
		return nil, nil
	}
	buf := make([]byte, end-off)
	if bend := min(end, s.stale, s.backSize); bend > off {
		if err := preadFull(s.file, buf[:bend-off], off); err != nil {
			return nil, err
		}
	}
	for p := off / pageSize; p*pageSize < end; p++ {
		pg := s.pages[p]
		if pg == nil {
			continue
		}
		ps := p * pageSize
		lo, hi := max(ps, off), min(ps+pageSize, end)
		copy(buf[lo-off:hi-off], pg[lo-ps:hi-ps])
	}
	return buf, nil
}

// write puts data at off in the overlay (mu held).
func (s *fileState) write(data []byte, off int64) error {
	end := off + int64(len(data))
	for len(data) > 0 {
		p := off / pageSize
		ps := p * pageSize
		pg := s.pages[p]
		if pg == nil {
			pg = make([]byte, pageSize)
			if fend := min(ps+pageSize, s.stale, s.backSize, s.size); fend > ps {
				if err := preadFull(s.file, pg[:fend-ps], ps); err != nil {
					return err
				}
			}
			s.pages[p] = pg
		}
		k := copy(pg[off-ps:], data)
		data, off = data[k:], off+int64(k)
	}
	s.size = max(s.size, end)
	return nil
}

// truncate sets the size (mu held).
func (s *fileState) truncate(size int64) {
	if size < s.size {
		s.stale = min(s.stale, size)
		for p, pg := range s.pages {
			switch ps := p * pageSize; {
			case ps >= size:
				delete(s.pages, p)
			case ps+pageSize > size:
				clear(pg[size-ps:])
			}
		}
	}
	s.size = size
}

// sync writes the overlay to the backing file (mu held), and fsyncs that too with
// syncBacking.
func (s *fileState) sync(syncBacking bool) error {
	if !s.dirty() {
		return nil
	}
	if s.file == nil {
		return syscall.EBADF
	}
	if s.stale < s.backSize {
		if err := s.file.Truncate(s.stale); err != nil {
			return err
		}
		s.backSize = s.stale
	}
	pages := make([]int64, 0, len(s.pages))
	for p := range s.pages {
		pages = append(pages, p)
	}
	slices.Sort(pages)
	for _, p := range pages {
		ps := p * pageSize
		if ps >= s.size {
			continue
		}
		n := min(pageSize, s.size-ps)
		if _, err := s.file.WriteAt(s.pages[p][:n], ps); err != nil {
			return err
		}
		s.backSize = max(s.backSize, ps+n)
	}
	if s.backSize != s.size {
		if err := s.file.Truncate(s.size); err != nil {
			return err
		}
	}
	if syncBacking {
		if err := s.file.Sync(); err != nil {
			return err
		}
	}
	s.backSize = s.size
	s.stale = math.MaxInt64
	s.pages = map[int64][]byte{}
	return nil
}

// fillAttr puts the backing file's attributes, with the overlay's size, in out (mu held).
func (s *fileState) fillAttr(out *fuse.Attr) syscall.Errno {
	if s.file == nil {
		return syscall.EIO
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(s.file.Fd()), &st); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStat(&st)
	s.adjust(out)
	return 0
}

// adjust puts the overlay's size into attributes read from the backing file (mu held).
func (s *fileState) adjust(out *fuse.Attr) {
	out.Size = uint64(s.size)
	out.Blocks = max(out.Blocks, (uint64(s.size)+511)/512)
}

// handle is an open file on the mount.
type handle struct {
	fsys *FS
	st   *fileState
}

var (
	_ fs.FileReader    = (*handle)(nil)
	_ fs.FileWriter    = (*handle)(nil)
	_ fs.FileWritever  = (*handle)(nil)
	_ fs.FileGetattrer = (*handle)(nil)
	_ fs.FileSetattrer = (*handle)(nil)
	_ fs.FileFsyncer   = (*handle)(nil)
	_ fs.FileReleaser  = (*handle)(nil)
	_ fs.FileAllocater = (*handle)(nil)
)

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if !h.fsys.enter() {
		return nil, syscall.EIO
	}
	defer h.fsys.leave()
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	b, err := h.st.read(off, len(dest))
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return fuse.ReadResultData(b), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	return h.Writev(ctx, [][]byte{data}, off)
}

func (h *handle) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	if !h.fsys.enter() {
		return 0, syscall.EIO
	}
	defer h.fsys.leave()
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	var n int
	for _, d := range data {
		if err := h.st.write(d, off); err != nil {
			return uint32(n), fs.ToErrno(err)
		}
		n += len(d)
		off += int64(len(d))
	}
	h.fsys.writes.Add(1)
	h.fsys.bytesWritten.Add(int64(n))
	return uint32(n), 0
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	if !h.fsys.enter() {
		return syscall.EIO
	}
	defer h.fsys.leave()
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return h.st.fillAttr(&out.Attr)
}

func (h *handle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if !h.fsys.enter() {
		return syscall.EIO
	}
	defer h.fsys.leave()
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	if h.st.file == nil {
		return syscall.EIO
	}
	if errno := setattr(h.st, in, func(m uint32) error { return h.st.file.Chmod(os.FileMode(m) & os.ModePerm) },
		func(uid, gid int) error { return h.st.file.Chown(uid, gid) },
		func(ts []unix.Timespec) error {
			return unix.UtimesNanoAt(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(h.st.file.Fd())), ts, 0)
		}); errno != 0 {
		return errno
	}
	return h.st.fillAttr(&out.Attr)
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if !h.fsys.enter() {
		return syscall.EIO
	}
	defer h.fsys.leave()
	h.fsys.fsyncs.Add(1)
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return fs.ToErrno(h.st.sync(h.fsys.opts.SyncBacking))
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	h.fsys.release(h.st)
	return 0
}

// Allocate (fallocate) is not supported: posix_fallocate falls back to writing.
func (h *handle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	return syscall.EOPNOTSUPP
}

// setattr applies a SETATTR to st (mu held) and, through the callbacks, to the backing file:
// the size goes to the overlay, the rest at once.
func setattr(st *fileState, in *fuse.SetAttrIn, chmod func(uint32) error, chown func(uid, gid int) error, utimes func([]unix.Timespec) error) syscall.Errno {
	if m, ok := in.GetMode(); ok {
		if err := chmod(m); err != nil {
			return fs.ToErrno(err)
		}
	}
	uid, uok := in.GetUID()
	gid, gok := in.GetGID()
	if uok || gok {
		u, g := -1, -1
		if uok {
			u = int(uid)
		}
		if gok {
			g = int(gid)
		}
		if err := chown(u, g); err != nil {
			return fs.ToErrno(err)
		}
	}
	if sz, ok := in.GetSize(); ok {
		if st == nil {
			return syscall.EISDIR
		}
		st.truncate(int64(sz))
	}
	mtime, mok := in.GetMTime()
	atime, aok := in.GetATime()
	if mok || aok {
		ta := unix.Timespec{Nsec: unix.UTIME_OMIT}
		tm := unix.Timespec{Nsec: unix.UTIME_OMIT}
		if aok {
			ta = unix.NsecToTimespec(atime.UnixNano())
		}
		if mok {
			tm = unix.NsecToTimespec(mtime.UnixNano())
		}
		if err := utimes([]unix.Timespec{ta, tm}); err != nil {
			return fs.ToErrno(err)
		}
	}
	return 0
}
