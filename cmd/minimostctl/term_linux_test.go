package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the controlling side, and the terminal a program reads.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ctl.Close() })
	if err := unix.IoctlSetPointerInt(int(ctl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ctl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctl, tty
}

// A password typed at a terminal is read with echo off, and the terminal's settings are
// restored afterwards; a file that is not a terminal is not taken for one.
func TestReadPassword_EchoOffOnATerminal(t *testing.T) {
	ctl, tty := openPTY(t)
	if _, ok := terminal(tty); !ok {
		t.Fatal("a pty is not taken for a terminal")
	}
	if f, err := os.CreateTemp(t.TempDir(), "x"); err != nil {
		t.Fatal(err)
	} else if _, ok := terminal(f); ok {
		t.Fatal("a regular file is taken for a terminal")
	}
	before, err := getTermios(tty.Fd())
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&unix.ECHO == 0 {
		t.Fatal("the new pty does not echo")
	}
	type result struct {
		pw  string
		err error
	}
	done := make(chan result, 1)
	var prompt bytes.Buffer
	go func() {
		pw, err := readPassword(context.Background(), tty, &prompt, "Password: ")
		done <- result{pw, err}
	}()
	// Echo goes off before the read starts: poll for it, then type.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		st, err := getTermios(tty.Fd())
		if err != nil {
			t.Fatal(err)
		}
		if st.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("echo was never turned off")
		}
	}
	if _, err := ctl.Write([]byte("s3cret pw\n")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.pw != "s3cret pw" {
		t.Fatalf("read %q, %v; want the typed password", r.pw, r.err)
	}
	after, err := getTermios(tty.Fd())
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag {
		t.Fatalf("local flags %#x after the read, want %#x as before", after.Lflag, before.Lflag)
	}
	if prompt.String() != "Password: \n" {
		t.Fatalf("prompt written %q", prompt.String())
	}
}
