package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// filesWanted is how many file descriptors a run of users clients needs: one socket per
// client here; a spawned daemon inherits the limit and needs one per socket too, plus its
// databases (three descriptors — file, WAL, shared memory — for each cached account
// database, up to 2,048) and its listeners and logs.
func filesWanted(users int, spawn bool) uint64 {
	if spawn {
		return uint64(users) + 3*2048 + 1000
	}
	return uint64(users) + 1000
}

// raiseFileLimit lifts RLIMIT_NOFILE to at least want when it is lower: the soft limit up to
// the hard one, and the hard one too when this process may (root). It says what is missing
// when it cannot.
func raiseFileLimit(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if uint64(lim.Cur) >= want {
		return nil
	}
	if uint64(lim.Max) < want {
		ceiling := want
		if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
			if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n < ceiling {
				ceiling = n
			}
		}
		raised := lim
		setRlim(&raised.Cur, ceiling)
		setRlim(&raised.Max, ceiling)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	if uint64(lim.Cur) < want {
		setRlim(&lim.Cur, min(want, uint64(lim.Max)))
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
	}
	if uint64(lim.Cur) < want {
		return fmt.Errorf("this many clients need %d open files, the limit is %d (raise ulimit -n, or run with fewer -users)", want, lim.Cur)
	}
	return nil
}

// setRlim sets a field of syscall.Rlimit, whose type is uint64 on some systems and int64 on
// others.
func setRlim[T int64 | uint64](p *T, v uint64) { *p = T(v) }
