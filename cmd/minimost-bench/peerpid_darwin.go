package main

import "golang.org/x/sys/unix"

// peerPID is the pid of the peer of the Unix socket fd (LOCAL_PEERPID).
func peerPID(fd int) (int, error) {
	return unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
}
