//go:build linux

// Command lazyfsd serves one lazyfs mount (see package lazyfs) in a process of its own, so
// that the process running the tests never serves a FUSE file system it also uses: a Go
// process that forks a child into a directory of its own mount, or exits with a file of it
// open or mapped, can deadlock on itself. lazyfs.Start runs it.
//
//	lazyfsd -backing DIR -mount DIR [-drop-unsynced-metadata=false]
//
// It prints "ready" once mounted (or "error: …" and exits 1), then reads commands from its
// standard input, one a line, and answers each with one line of JSON, {"stats": …, "error":
// "…"}:
//
//	stats     what is pending now
//	cut       a power cut (lazyfs.FS.PowerCut), then it exits
//	unmount   a clean unmount (lazyfs.FS.Unmount), then it exits
//
// When its standard input ends (the test process died) it unmounts and exits.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/minimost/minimost/e2e/lazyfs"
)

func main() {
	backing := flag.String("backing", "", "the backing directory")
	mnt := flag.String("mount", "", "the mount point")
	dropMeta := flag.Bool("drop-unsynced-metadata", true, "undo creations, removals and renames not followed by a directory fsync at a power cut")
	flag.Parse()
	if *backing == "" || *mnt == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: lazyfsd -backing DIR -mount DIR [-drop-unsynced-metadata=false]")
		os.Exit(2)
	}
	f, err := lazyfs.MountOptions(*backing, *mnt, lazyfs.Options{DropUnsyncedMetadata: *dropMeta})
	if err != nil {
		fmt.Printf("error: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	reply := func(st lazyfs.Stats, err error) {
		var r lazyfs.Reply
		r.Stats = st
		if err != nil {
			r.Error = err.Error()
		}
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "stats":
			reply(f.Stats(), nil)
		case "cut":
			reply(f.PowerCut())
			return
		case "unmount":
			reply(lazyfs.Stats{}, f.Unmount())
			return
		default:
			reply(lazyfs.Stats{}, fmt.Errorf("unknown command %q", sc.Text()))
		}
	}
	if err := f.Unmount(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
