package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// The terminal's settings are read and set with golang.org/x/sys/unix (ioctlGetTermios and
// ioctlSetTermios name the requests of each system): golang.org/x/term's ReadPassword turns
// echo off the same way, but cannot be interrupted, and this read ends with its context.

func getTermios(fd uintptr) (*unix.Termios, error) {
	return unix.IoctlGetTermios(int(fd), ioctlGetTermios)
}

func setTermios(fd uintptr, t *unix.Termios) error {
	return unix.IoctlSetTermios(int(fd), ioctlSetTermios, t)
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
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	fmt.Fprint(w, prompt)
	if err := setTermios(f.Fd(), &noEcho); err != nil {
		return "", fmt.Errorf("turn off echo: %w", err)
	}
	defer func() {
		setTermios(f.Fd(), old)
		fmt.Fprintln(w)
	}()
	return readTTYLine(ctx, f)
}
