package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Ceiling is a set of account databases, with the user schema, the DSN and the insert of the
// store's fan-out but nothing of the store around them: what SQLite itself writes on this
// machine, the figure the fan-out's copies per second are read against.
type Ceiling struct {
	dbs   []*sql.DB
	stmts []*sql.Stmt
	ids   IDGen
}

// CeilingResult is what a measurement of the ceiling wrote.
type CeilingResult struct {
	Files   int // databases written
	PerTx   int // copies per transaction
	Workers int // goroutines writing, each file by one at a time
	Copies  int64
	Elapsed time.Duration
	// CPU is this process's CPU time (user and system, every thread) over the measurement:
	// everything else the process does meanwhile is counted in it too.
	CPU          time.Duration
	CopiesPerSec float64
	CPUNsPerCopy float64
}

// OpenCeiling creates files account databases (ceiling-00000.db …) in dir, which must exist,
// opened and migrated as the store opens users/<name>.db, each with the conversation its
// copies go to.
func OpenCeiling(ctx context.Context, dir string, files int) (*Ceiling, error) {
	if files < 1 {
		return nil, errors.New("ceiling: at least one file")
	}
	c := &Ceiling{}
	for i := range files {
		path := filepath.Join(dir, fmt.Sprintf("ceiling-%05d.db", i))
		db, err := openDB(ctx, path, "user", true, 1, "NORMAL")
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("ceiling: %w", err)
		}
		c.dbs = append(c.dbs, db)
		if _, err := db.ExecContext(ctx, "INSERT OR IGNORE INTO conversations(id, added_ts) VALUES (?, ?)", ceilingConv, time.Now().Unix()); err != nil {
			c.Close()
			return nil, fmt.Errorf("ceiling: %w", err)
		}
		st, err := db.PrepareContext(ctx, putSQL[putPlain])
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("ceiling: %w", err)
		}
		c.stmts = append(c.stmts, st)
	}
	return c, nil
}

const ceilingConv = "c:general"

// Close closes the databases; the files stay where they were created.
func (c *Ceiling) Close() error {
	var first error
	for _, st := range c.stmts {
		st.Close()
	}
	for _, db := range c.dbs {
		if err := db.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.dbs, c.stmts = nil, nil
	return first
}

// Insert writes copies rows, perTx to a transaction, with workers goroutines: batch k goes
// to file k mod files, so that with as many files as workers or more a file is written by
// one goroutine at a time, as the store's one writer per database.
func (c *Ceiling) Insert(ctx context.Context, copies, perTx, workers int) (CeilingResult, error) {
	return c.run(ctx, perTx, workers, func(batch int) int {
		return max(0, min(perTx, copies-batch*perTx))
	})
}

// Run writes batches of perTx rows with workers goroutines for about d (every batch started
// before d is finished).
func (c *Ceiling) Run(ctx context.Context, perTx, workers int, d time.Duration) (CeilingResult, error) {
	deadline := time.Now().Add(d)
	return c.run(ctx, perTx, workers, func(int) int {
		if time.Now().After(deadline) {
			return 0
		}
		return perTx
	})
}

// run writes batch k of size(k) rows until size returns 0.
func (c *Ceiling) run(ctx context.Context, perTx, workers int, size func(batch int) int) (CeilingResult, error) {
	res := CeilingResult{Files: len(c.dbs), PerTx: perTx, Workers: workers}
	if perTx < 1 || workers < 1 {
		return res, errors.New("ceiling: perTx and workers must be at least 1")
	}
	var next, copies atomic.Int64
	var failed error
	var once sync.Once
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), processCPU()
	for range workers {
		wg.Go(func() {
			body := make([]string, perTx)
			ids := make([]string, perTx)
			for {
				k := int(next.Add(1)) - 1
				n := size(k)
				if n == 0 || ctx.Err() != nil {
					return
				}
				now := time.Now()
				for j := range n {
					ids[j] = c.ids.New(now)
					body[j] = fmt.Sprintf("ceiling copy %d.%d: the quick brown fox jumps over the lazy dog", k, j)
				}
				i := k % len(c.dbs)
				if err := c.insert(ctx, i, ids[:n], body[:n], now); err != nil {
					once.Do(func() { failed = err })
					return
				}
				copies.Add(int64(n))
			}
		})
	}
	wg.Wait()
	res.Elapsed, res.CPU = time.Since(start), processCPU()-cpu0
	res.Copies = copies.Load()
	if failed == nil {
		failed = ctx.Err()
	}
	if res.Copies > 0 {
		res.CopiesPerSec = float64(res.Copies) / res.Elapsed.Seconds()
		res.CPUNsPerCopy = float64(res.CPU.Nanoseconds()) / float64(res.Copies)
	}
	return res, failed
}

// insert writes one batch into file i in one transaction, with the fan-out's statement for
// a plain message.
func (c *Ceiling) insert(ctx context.Context, i int, ids, bodies []string, now time.Time) error {
	return withTx(ctx, c.dbs[i], func(tx *sql.Tx) error {
		put := tx.StmtContext(ctx, c.stmts[i])
		defer put.Close()
		for j, id := range ids {
			if _, err := put.Exec(id, ceilingConv, "u0000", bodies[j], "<p>"+bodies[j]+"</p>", now.Unix(), now.UnixMilli(),
				""); err != nil {
				return fmt.Errorf("ceiling: insert: %w", err)
			}
		}
		return nil
	})
}

// MeasureCeiling creates files account databases in dir and writes copies into them, perTx
// to a transaction with workers goroutines, for about d: the raw group-commit ceiling of this
// machine in copies per second and CPU per copy. The files are left in dir.
func MeasureCeiling(ctx context.Context, dir string, files, perTx, workers int, d time.Duration) (CeilingResult, error) {
	c, err := OpenCeiling(ctx, dir, files)
	if err != nil {
		return CeilingResult{}, err
	}
	res, err := c.Run(ctx, perTx, workers, d)
	if cerr := c.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("ceiling: %w", cerr)
	}
	return res, err
}

// processCPU is the CPU time (user and system, every thread) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
