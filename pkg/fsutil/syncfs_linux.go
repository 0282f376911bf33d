package fsutil

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// FSSyncer makes everything written to one file system durable with a single syncfs(2): the
// data and metadata of every file on it, as fsync does for one file. It reports a writeback
// error that happened on the file system since its previous Sync (or since it was opened),
// which Linux does from 5.8 on; OpenFSSyncer refuses older kernels.
type FSSyncer struct {
	f *os.File
}

// OpenFSSyncer opens dir for Sync. It returns ErrNoSyncFS where the system cannot do it; the
// caller then fsyncs files one by one.
func OpenFSSyncer(dir string) (*FSSyncer, error) {
	if !syncfsReportsErrors() {
		return nil, ErrNoSyncFS
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	return &FSSyncer{f: f}, nil
}

// Sync flushes the file system to stable storage.
func (s *FSSyncer) Sync() error {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("syncfs %s: %w", s.f.Name(), serr)
	}
	return nil
}

// Close releases the directory.
func (s *FSSyncer) Close() error { return s.f.Close() }

// syncfsReportsErrors reports whether this kernel's syncfs returns writeback errors: 5.8 and
// later. Before, it returned 0 even when pages could not be written.
func syncfsReportsErrors() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 5, 8)
}
