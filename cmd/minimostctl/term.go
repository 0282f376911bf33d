package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// golang.org/x/term is not among the module's dependencies, so the two ioctls it would
// wrap are made here (Linux, like the daemon's peer-credential check).

func getTermios(fd uintptr) (syscall.Termios, error) {
	var t syscall.Termios
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); errno != 0 {
		return t, errno
	}
	return t, nil
}

func setTermios(fd uintptr, t *syscall.Termios) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(t))); errno != 0 {
		return errno
	}
	return nil
}

// terminal returns r as a file if it is a terminal.
func terminal(r io.Reader) (*os.File, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return nil, false
	}
	_, err := getTermios(f.Fd())
	return f, err == nil
}

// readPassword prints prompt on w and reads a line from the terminal f with echo off,
// restoring the terminal however the read ends.
func readPassword(ctx context.Context, f *os.File, w io.Writer, prompt string) (string, error) {
	old, err := getTermios(f.Fd())
	if err != nil {
		return "", fmt.Errorf("read terminal settings: %w", err)
	}
	noEcho := old
	noEcho.Lflag &^= syscall.ECHO
	noEcho.Lflag |= syscall.ICANON | syscall.ISIG
	fmt.Fprint(w, prompt)
	if err := setTermios(f.Fd(), &noEcho); err != nil {
		return "", fmt.Errorf("turn off echo: %w", err)
	}
	defer func() {
		setTermios(f.Fd(), &old)
		fmt.Fprintln(w)
	}()
	return readTTYLine(ctx, f)
}
