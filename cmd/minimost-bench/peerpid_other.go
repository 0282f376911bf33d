//go:build !linux && !darwin

package main

import (
	"errors"
	"runtime"
)

// peerPID would be the pid of the peer of the Unix socket fd; this system does not say it:
// give the daemon's pid with -pid.
func peerPID(fd int) (int, error) {
	return 0, errors.New("the pid of a Unix socket's peer is not available on " + runtime.GOOS + ": use -pid")
}
