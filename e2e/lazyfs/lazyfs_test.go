//go:build linux

package lazyfs

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// mountT mounts a lazy file system on two temporary directories; when mounting is impossible
// here (no /dev/fuse, no privilege) the test skips loudly, or fails under
// MINIMOST_E2E=required.
func mountT(t *testing.T, opts Options) (backing, mnt string, f *FS) {
	t.Helper()
	backing, mnt = t.TempDir(), t.TempDir()
	return backing, mnt, mountAt(t, backing, mnt, opts)
}

func mountAt(t *testing.T, backing, mnt string, opts Options) *FS {
	t.Helper()
	f, err := MountOptions(backing, mnt, opts)
	if err != nil {
		msg := fmt.Sprintf("*** cannot mount a FUSE file system here (needs /dev/fuse and CAP_SYS_ADMIN or fusermount): %v ***", err)
		if os.Getenv("MINIMOST_E2E") == "required" {
			t.Fatal(msg + " and MINIMOST_E2E=required")
		}
		fmt.Fprintln(os.Stderr, "SKIP:", t.Name(), msg)
		t.Skip(msg)
	}
	t.Cleanup(func() { f.Unmount() })
	return f
}

func pattern(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

func mustWrite(t *testing.T, p string, data []byte, sync bool) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantFile(t *testing.T, what, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes %q…, want %d bytes %q…", what, len(got), head(got), len(want), head(want))
	}
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

func wantGone(t *testing.T, what, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("%s: %s exists (err %v), want it gone", what, p, err)
	}
}

// TestPowerCut_Data writes files, fsyncs some of what it wrote, checks that the mount shows
// everything and the backing directory only what was fsynced, cuts the power and checks that
// exactly the fsynced data survived.
func TestPowerCut_Data(t *testing.T) {
	backing, mnt, f := mountT(t, Options{DropUnsyncedMetadata: true})
	m := func(n string) string { return filepath.Join(mnt, n) }
	b := func(n string) string { return filepath.Join(backing, n) }

	// a: 10,000 synced bytes, then an unsynced overwrite in the middle and an append.
	a := pattern('A', 10000)
	mustWrite(t, m("a"), a, true)
	fa, err := os.OpenFile(m("a"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fa.WriteAt(pattern('B', 1000), 5000)
	fa.WriteAt(pattern('C', 3000), 10000)
	aNow := append(append(append(pattern('A', 5000), pattern('B', 1000)...), pattern('A', 4000)...), pattern('C', 3000)...)
	fa.Close()
	// b: written and closed without fsync, then fsynced through a read-only descriptor.
	mustWrite(t, m("b"), pattern('X', 5000), false)
	wantFile(t, "b on the backing before its fsync", b("b"), nil)
	if rb, err := os.Open(m("b")); err != nil {
		t.Fatal(err)
	} else {
		if err := rb.Sync(); err != nil {
			t.Fatalf("fsync of a read-only descriptor: %v", err)
		}
		rb.Close()
	}
	// c: never synced.
	mustWrite(t, m("c"), pattern('Y', 7000), false)
	// d: 8,192 synced bytes, then a pending truncate to 100 and a write at 5,000.
	mustWrite(t, m("d"), pattern('D', 8192), true)
	if err := os.Truncate(m("d"), 100); err != nil {
		t.Fatal(err)
	}
	fd, err := os.OpenFile(m("d"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd.WriteAt([]byte("Z"), 5000)
	dNow := append(append(pattern('D', 100), make([]byte, 4900)...), 'Z')
	// e: synced after a truncate and a write, then truncated again without a sync.
	mustWrite(t, m("e"), pattern('E', 9000), true)
	fe, err := os.OpenFile(m("e"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fe.Truncate(3000)
	fe.WriteAt(pattern('F', 10), 6000)
	eSynced := append(append(pattern('E', 3000), make([]byte, 3000)...), pattern('F', 10)...)
	if err := fe.Sync(); err != nil {
		t.Fatal(err)
	}
	fe.Truncate(10)
	fe.Close()
	syncDir(t, mnt) // every name is durable

	wantFile(t, "a on the mount", m("a"), aNow)
	wantFile(t, "a on the backing", b("a"), a)
	wantFile(t, "b on the mount", m("b"), pattern('X', 5000))
	wantFile(t, "b on the backing", b("b"), pattern('X', 5000))
	wantFile(t, "c on the mount", m("c"), pattern('Y', 7000))
	wantFile(t, "c on the backing", b("c"), nil)
	wantFile(t, "d on the mount", m("d"), dNow)
	wantFile(t, "d on the backing", b("d"), pattern('D', 8192))
	if st, err := os.Stat(m("d")); err != nil || st.Size() != int64(len(dNow)) {
		t.Errorf("stat d on the mount: %v, %v; want size %d", st, err, len(dNow))
	}
	wantFile(t, "e on the mount", m("e"), pattern('E', 10))
	wantFile(t, "e on the backing", b("e"), eSynced)
	if st := f.Stats(); st.PendingFiles != 3 { // a, c, d (e's truncate too: 4)
		t.Logf("pending before the cut: %+v", st)
	}

	// The power goes while d is still open.
	fd.Close()
	cut, err := f.PowerCut()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the cut dropped %d bytes in %d files: %v", cut.PendingBytes, cut.PendingFiles, cut.DroppedFiles)
	if want := []string{"a", "c", "d", "e"}; fmt.Sprint(cut.DroppedFiles) != fmt.Sprint(want) {
		t.Errorf("dropped %v, want %v", cut.DroppedFiles, want)
	}
	wantFile(t, "a after the cut", b("a"), a)
	wantFile(t, "b after the cut", b("b"), pattern('X', 5000))
	wantFile(t, "c after the cut", b("c"), nil)
	wantFile(t, "d after the cut", b("d"), pattern('D', 8192))
	wantFile(t, "e after the cut", b("e"), eSynced)
	if _, err := os.Stat(filepath.Join(backing, trashName)); !os.IsNotExist(err) {
		t.Errorf("the trash is still in the backing directory after the cut")
	}

	// Mounted again, it shows what survived, and works.
	mountAt(t, backing, mnt, Options{DropUnsyncedMetadata: true})
	wantFile(t, "a remounted", m("a"), a)
	wantFile(t, "d remounted", m("d"), pattern('D', 8192))
	ents, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[a b c d e]" {
		t.Errorf("remounted directory lists %v, want [a b c d e] (no trash)", names)
	}
}

// TestPowerCut_Metadata checks that creations, removals and renames not followed by a
// directory fsync are undone by a cut, and the ones before one are kept.
func TestPowerCut_Metadata(t *testing.T) {
	backing, mnt, f := mountT(t, Options{DropUnsyncedMetadata: true})
	m := func(n ...string) string { return filepath.Join(append([]string{mnt}, n...)...) }
	b := func(n ...string) string { return filepath.Join(append([]string{backing}, n...)...) }

	mustWrite(t, m("kept"), []byte("kept"), true)
	mustWrite(t, m("victim"), []byte("victim"), true)
	mustWrite(t, m("old"), []byte("old"), true)
	if err := os.Mkdir(m("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, m("dir", "moved"), []byte("moved"), true)
	syncDir(t, mnt)
	syncDir(t, m("dir"))

	// After the barrier: none of these is durable.
	mustWrite(t, m("new"), []byte("new"), true) // data synced, name not
	if err := os.Remove(m("victim")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, m("tmp"), []byte("replacement"), true)
	if err := os.Rename(m("tmp"), m("old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(m("sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, m("sub", "inner"), []byte("inner"), true)
	if err := os.Rename(m("dir", "moved"), m("moved")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m("victim")); !os.IsNotExist(err) {
		t.Errorf("victim still visible on the mount after its removal: %v", err)
	}
	wantFile(t, "old on the mount", m("old"), []byte("replacement"))
	for _, n := range []string{"new", "sub", "moved"} {
		if _, err := os.Stat(m(n)); err != nil {
			t.Errorf("%s not on the mount: %v", n, err)
		}
	}
	ents, _ := os.ReadDir(mnt)
	for _, e := range ents {
		if e.Name() == trashName {
			t.Errorf("the trash is visible on the mount")
		}
	}
	if err := os.WriteFile(m(trashName), nil, 0o644); err == nil {
		t.Errorf("creating %s on the mount worked", trashName)
	}

	cut, err := f.PowerCut()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("undone: %v", cut.UndoneMetaOps)
	wantFile(t, "kept", b("kept"), []byte("kept"))
	wantGone(t, "a creation without a directory fsync", b("new"))
	wantFile(t, "a removal without a directory fsync", b("victim"), []byte("victim"))
	wantFile(t, "a rename over a file without a directory fsync", b("old"), []byte("old"))
	wantGone(t, "the renamed file", b("tmp"))
	wantGone(t, "a new directory", b("sub"))
	wantFile(t, "a file moved between directories", b("dir", "moved"), []byte("moved"))
	wantGone(t, "the moved file's new name", b("moved"))

	// The same operations followed by a directory fsync survive.
	f2 := mountAt(t, backing, mnt, Options{DropUnsyncedMetadata: true})
	mustWrite(t, m("new"), []byte("new"), true)
	if err := os.Remove(m("victim")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, m("tmp"), []byte("replacement"), true)
	if err := os.Rename(m("tmp"), m("old")); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt)
	if _, err := f2.PowerCut(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, "a synced creation", b("new"), []byte("new"))
	wantGone(t, "a synced removal", b("victim"))
	wantFile(t, "a synced rename", b("old"), []byte("replacement"))
}

// TestPowerCut_MetadataImmediate: without DropUnsyncedMetadata, names are durable at once but
// data still needs an fsync.
func TestPowerCut_MetadataImmediate(t *testing.T) {
	backing, mnt, f := mountT(t, Options{})
	mustWrite(t, filepath.Join(mnt, "f"), []byte("unsynced"), false)
	if err := os.Mkdir(filepath.Join(mnt, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := f.PowerCut(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, "an unsynced file", filepath.Join(backing, "f"), nil)
	if st, err := os.Stat(filepath.Join(backing, "d")); err != nil || !st.IsDir() {
		t.Errorf("directory d: %v %v", st, err)
	}
}

// TestPowerCut_SQLite runs SQLite (modernc, in a child process that is SIGKILLed) on the
// mount: every transaction committed with synchronous=FULL survives the cut, a database with
// synchronous=NORMAL loses what was not checkpointed, and both pass integrity_check.
func TestPowerCut_SQLite(t *testing.T) {
	backing, mnt, f := mountT(t, Options{DropUnsyncedMetadata: true})
	start := time.Now()
	acked := map[string]int{}
	for _, mode := range []string{"FULL", "NORMAL"} {
		db := filepath.Join(mnt, strings.ToLower(mode)+".db")
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSQLiteWriter$")
		cmd.Env = append(os.Environ(), "LAZYFS_HELPER_DB="+db, "LAZYFS_HELPER_SYNC="+mode)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		deadline := time.Now().Add(60 * time.Second)
		for n < 300 && time.Now().Before(deadline) && sc.Scan() {
			if v, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil {
				n = v
			}
		}
		t.Logf("%s: %d commits in %v", mode, n, time.Since(start))
		cmd.Process.Kill() // right after an acknowledged commit
		cmd.Wait()
		t.Logf("%s: killed at %v", mode, time.Since(start))
		if n < 300 {
			t.Fatalf("%s: the writer committed only %d rows: %s", mode, n, stderr.String())
		}
		acked[mode] = n
	}
	cut, err := f.PowerCut()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the cut dropped %d bytes in %v", cut.PendingBytes, cut.DroppedFiles)
	// Checked on the backing directory: this process serves the mount, and must not map its
	// files (see the package documentation).
	for _, mode := range []string{"FULL", "NORMAL"} {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(backing, strings.ToLower(mode)+".db")+"?mode=rw")
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		var check string
		if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&rows); err != nil && !strings.Contains(err.Error(), "no such table") {
			t.Errorf("%s: %v", mode, err)
		}
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Errorf("%s: integrity_check = %q, %v", mode, check, err)
		}
		db.Close()
		t.Logf("synchronous=%s: %d rows committed before the kill, %d after the cut", mode, acked[mode], rows)
		switch {
		case mode == "FULL" && rows < acked[mode]:
			t.Errorf("synchronous=FULL lost committed rows: %d of %d left", rows, acked[mode])
		case mode == "NORMAL" && rows >= acked[mode]:
			t.Errorf("synchronous=NORMAL kept all %d rows: the cut dropped nothing (is the overlay used?)", rows)
		}
	}
}

// TestHelperSQLiteWriter is the child process of TestPowerCut_SQLite: it inserts rows, one
// transaction each, and prints "committed N" after each commit, until it is killed.
func TestHelperSQLiteWriter(t *testing.T) {
	path := os.Getenv("LAZYFS_HELPER_DB")
	if path == "" {
		t.Skip("a helper process of TestPowerCut_SQLite")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous("+os.Getenv("LAZYFS_HELPER_SYNC")+")")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, body TEXT)"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 1_000_000; i++ {
		if _, err := db.Exec("INSERT INTO t(body) VALUES (?)", strings.Repeat("x", 200)); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", i)
	}
}

// TestUnmount_Busy: a file left open on the mount by this very process (which serves it)
// must not hang the unmount, nor the close afterwards, nor the process's exit: the connection
// is aborted.
func TestUnmount_Busy(t *testing.T) {
	_, mnt, f := mountT(t, Options{DropUnsyncedMetadata: true})
	open, err := os.Create(filepath.Join(mnt, "held"))
	if err != nil {
		t.Fatal(err)
	}
	open.Write([]byte("pending"))
	done := make(chan error, 1)
	go func() { _, err := f.PowerCut(); done <- err }()
	select {
	case err := <-done:
		t.Logf("power cut with a file held open: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("PowerCut hung on a busy mount")
	}
	closed := make(chan error, 1)
	go func() { closed <- open.Close() }()
	select {
	case err := <-closed:
		t.Logf("close after the cut: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("closing a file of the aborted mount hung")
	}
}

// TestProcess runs the server as a lazyfsd child process: unsynced data written through the
// mount is dropped by a cut, synced data survives, and a clean unmount writes everything.
func TestProcess(t *testing.T) {
	bin, err := BuildServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	backing, mnt := t.TempDir(), t.TempDir()
	start := func() *Process {
		p, err := Start(bin, backing, mnt, Options{DropUnsyncedMetadata: true})
		if err != nil {
			msg := fmt.Sprintf("*** cannot mount a FUSE file system here (needs /dev/fuse and CAP_SYS_ADMIN or fusermount): %v ***", err)
			if os.Getenv("MINIMOST_E2E") == "required" {
				t.Fatal(msg + " and MINIMOST_E2E=required")
			}
			fmt.Fprintln(os.Stderr, "SKIP:", t.Name(), msg)
			t.Skip(msg)
		}
		t.Cleanup(func() { p.Unmount() })
		return p
	}
	p := start()
	mustWrite(t, filepath.Join(mnt, "synced"), []byte("synced"), true)
	mustWrite(t, filepath.Join(mnt, "unsynced"), []byte("unsynced"), false)
	syncDir(t, mnt)
	if st, err := p.Stats(); err != nil || st.PendingFiles != 1 {
		t.Errorf("stats before the cut: %+v, %v; want 1 file pending", st, err)
	}
	cut, err := p.PowerCut()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cut.DroppedFiles) != "[unsynced]" {
		t.Errorf("the cut dropped %v, want [unsynced]", cut.DroppedFiles)
	}
	wantFile(t, "synced", filepath.Join(backing, "synced"), []byte("synced"))
	wantFile(t, "unsynced", filepath.Join(backing, "unsynced"), nil)

	p = start()
	mustWrite(t, filepath.Join(mnt, "unsynced"), []byte("written back"), false)
	if err := p.Unmount(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, "a clean unmount", filepath.Join(backing, "unsynced"), []byte("written back"))
}
