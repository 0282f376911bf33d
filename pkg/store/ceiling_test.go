package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/store"
)

// countRows counts the messages in each ceiling file of dir.
func countRows(t *testing.T, dir string, files int) int64 {
	t.Helper()
	var total int64
	for i := range files {
		db, err := sql.Open("sqlite", rawDSN(filepath.Join(dir, fmt.Sprintf("ceiling-%05d.db", i))))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		err = db.QueryRow("SELECT count(*) FROM messages WHERE conversation = 'c:general'").Scan(&n)
		db.Close()
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		if n == 0 {
			t.Errorf("file %d: no rows", i)
		}
		total += n
	}
	return total
}

func TestMeasureCeiling_WritesTheCopiesItCounts(t *testing.T) {
	dir := t.TempDir()
	res, err := store.MeasureCeiling(context.Background(), dir, 3, 5, 2, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Copies == 0 || res.Copies%5 != 0 {
		t.Fatalf("copies = %d, want a positive multiple of 5 (whole batches)", res.Copies)
	}
	if got := countRows(t, dir, 3); got != res.Copies {
		t.Errorf("rows in the files = %d, reported copies = %d", got, res.Copies)
	}
	if res.Files != 3 || res.PerTx != 5 || res.Workers != 2 || res.CopiesPerSec <= 0 || res.Elapsed <= 0 {
		t.Errorf("result = %+v", res)
	}
}

func TestCeiling_Insert(t *testing.T) {
	dir := t.TempDir()
	c, err := store.OpenCeiling(context.Background(), dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Insert(context.Background(), 23, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if res.Copies != 23 {
		t.Errorf("copies = %d, want 23", res.Copies)
	}
	if got := countRows(t, dir, 2); got != 23 {
		t.Errorf("rows = %d, want 23", got)
	}
}

func TestMeasureCeiling_RefusesBadArguments(t *testing.T) {
	if _, err := store.MeasureCeiling(context.Background(), t.TempDir(), 0, 50, 4, time.Millisecond); err == nil {
		t.Error("no files: no error")
	}
	if _, err := store.MeasureCeiling(context.Background(), t.TempDir(), 1, 0, 4, time.Millisecond); err == nil {
		t.Error("perTx 0: no error")
	}
	if _, err := store.OpenCeiling(context.Background(), filepath.Join(t.TempDir(), "missing"), 1); err == nil {
		t.Error("missing directory: no error")
	}
}
