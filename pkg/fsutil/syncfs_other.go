//go:build !linux

package fsutil

// FSSyncer is only available on Linux (see syncfs_linux.go).
type FSSyncer struct{}

// OpenFSSyncer returns ErrNoSyncFS: this system has no syncfs.
func OpenFSSyncer(dir string) (*FSSyncer, error) { return nil, ErrNoSyncFS }

// Sync does nothing; OpenFSSyncer never returns an FSSyncer here.
func (s *FSSyncer) Sync() error { return ErrNoSyncFS }

// Close does nothing.
func (s *FSSyncer) Close() error { return nil }

func syncfsReportsErrors() bool { return false }
