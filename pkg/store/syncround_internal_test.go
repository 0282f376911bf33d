package store

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkSyncRound is one sync round over files dirty WAL files (users/*.db-wal with 8 KiB
// written to each since the last round), made durable one file at a time (fsync: an open,
// fsync and close each, syncParallel at once, then users/) or with one syncfs. Besides the
// time it reports the process's CPU per round (the kernel's writeback threads are not in it).
//
//	go test ./pkg/store -run '^$' -bench SyncRound -benchtime 20x -count 3
func BenchmarkSyncRound(b *testing.B) {
	for _, files := range []int{100, 1000} {
		for _, way := range []string{"fsync", "syncfs"} {
			b.Run(fmt.Sprintf("files=%d/%s", files, way), func(b *testing.B) {
				s, err := Open(context.Background(), b.TempDir(), Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if way == "syncfs" && s.fsSync == nil {
					b.Skip("no syncfs here")
				}
				users := map[string]struct{}{}
				wals := make([]*os.File, files)
				for i := range wals {
					name := fmt.Sprintf("bench%04d", i)
					users[name] = struct{}{}
					if wals[i], err = os.Create(s.userDBPath(name) + "-wal"); err != nil {
						b.Fatal(err)
					}
					defer wals[i].Close()
				}
				page := make([]byte, 8<<10)
				var cpu time.Duration
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					for _, f := range wals {
						if _, err := f.Write(page); err != nil {
							b.Fatal(err)
						}
					}
					c0 := processCPU()
					b.StartTimer()
					if way == "syncfs" {
						err = s.fsSync.Sync()
					} else {
						err = s.fanout.syncUsers(users, syncWAL)
					}
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					cpu += processCPU() - c0
					b.StartTimer()
				}
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}
