package admin

import "golang.org/x/sys/unix"

// peerPID is the pid of the peer of the Unix socket fd, for logging (0: unknown).
func peerPID(fd int) int {
	pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil {
		return 0
	}
	return pid
}
