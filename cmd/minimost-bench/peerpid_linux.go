package main

import "syscall"

// peerPID is the pid of the peer of the Unix socket fd (SO_PEERCRED).
func peerPID(fd int) (int, error) {
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return int(cred.Pid), nil
}
