package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type backupCmd struct {
	Dir               string `arg:"" help:"Target directory: missing or empty, not inside the data directory. Relative paths are taken from the current directory, not the daemon's. With --verify: the backup to check."`
	Since             string `help:"Incremental: a previous backup (it must verify) to hard-link unchanged databases and files from, on the same file system. The new backup is complete on its own." placeholder:"PREV"`
	Verify            bool   `help:"Check the backup in DIR against its manifest.json (sizes, SHA-256, nothing missing or extra) and run integrity_check on every database in it; write nothing."`
	CancelOnInterrupt bool   `name:"cancel-on-interrupt" help:"Stop the backup in the daemon on Ctrl-C (by default the daemon finishes it)."`
}

// backupJSON is the --json form of backup.
type backupJSON struct {
	Dir       string   `json:"dir"`
	Manifest  string   `json:"manifest"`
	Databases []string `json:"databases"`
	Files     int32    `json:"files"`
	Bytes     int64    `json:"bytes"`
	Users     int64    `json:"users"`
	Messages  int64    `json:"messages"`
	// Since is the previous backup of an incremental one ("" for a full backup); Linked
	// counts the files hard-linked from it and LinkedBytes their size.
	Since       string `json:"since"`
	Linked      int32  `json:"linked"`
	LinkedBytes int64  `json:"linked_bytes"`
}

// verifyJSON is the --json form of backup --verify.
type verifyJSON struct {
	Dir       string         `json:"dir"`
	OK        bool           `json:"ok"`
	Files     int32          `json:"files"`
	Problems  []string       `json:"problems"`
	Databases []dbResultJSON `json:"databases"`
	Version   string         `json:"version"`
	CreatedTS int64          `json:"created_ts"`
	Users     int64          `json:"users"`
	Messages  int64          `json:"messages"`
}

func (c *backupCmd) Run(a *app) error {
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return fmt.Errorf("backup directory: %w", err)
	}
	if c.Verify {
		if c.Since != "" {
			return errors.New("--since and --verify do not go together: verify each backup on its own")
		}
		return c.verify(a, dir)
	}
	since := ""
	if c.Since != "" {
		if since, err = filepath.Abs(c.Since); err != nil {
			return fmt.Errorf("previous backup: %w", err)
		}
	}
	if _, tty := terminal(a.stdin); tty && !a.json {
		hint := "Ctrl-C stops waiting; the daemon still finishes the backup"
		if c.CancelOnInterrupt {
			hint = "Ctrl-C cancels it"
		}
		fmt.Fprintf(a.stderr, "backing up to %s (written to %s.partial until complete; %s)...\n", dir, dir, hint)
	}
	var resp *adminv1.BackupResponse
	req := &adminv1.BackupRequest{Dir: dir, CancelOnInterrupt: c.CancelOnInterrupt, Since: since}
	err = follow(a, "backup", func(ctx context.Context, cl adminv1.AdminServiceClient) (grpc.ServerStreamingClient[adminv1.BackupStreamResponse], error) {
		return cl.BackupStream(ctx, &adminv1.BackupStreamRequest{Request: req})
	}, func(m *adminv1.BackupStreamResponse) {
		if r := m.GetResult(); r != nil {
			resp = r
		}
	})
	if err != nil && a.ctx.Err() != nil && a.conn != nil {
		if c.CancelOnInterrupt {
			return errors.New("interrupted: the backup was cancelled; nothing is left at " + dir)
		}
		return fmt.Errorf("interrupted: minimostd goes on with the backup: it writes %s.partial and renames it to %s when complete (see its log, or run minimostctl backup --verify %s later)", dir, dir, dir)
	}
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(backupJSON{
			Dir: resp.GetDir(), Manifest: resp.GetManifest(), Databases: append([]string{}, resp.GetDatabases()...),
			Files: resp.GetFiles(), Bytes: resp.GetBytes(), Users: resp.GetUsers(), Messages: resp.GetMessages(),
			Since: since, Linked: resp.GetLinked(), LinkedBytes: resp.GetLinkedBytes(),
		})
	}
	fmt.Fprintf(a.stdout, "backed up %d databases and %d files (%d bytes) to %s\n",
		len(resp.GetDatabases()), resp.GetFiles(), resp.GetBytes(), resp.GetDir())
	if resp.GetManifest() != "" {
		fmt.Fprintf(a.stdout, "%d users, %d messages; manifest %s\n", resp.GetUsers(), resp.GetMessages(), resp.GetManifest())
	}
	if since != "" {
		fmt.Fprintf(a.stdout, "incremental: %d unchanged files (%d bytes) hard-linked from %s\n", resp.GetLinked(), resp.GetLinkedBytes(), since)
	}
	return nil
}

func (c *backupCmd) verify(a *app, dir string) error {
	var resp *adminv1.VerifyBackupResponse
	err := follow(a, "verify", func(ctx context.Context, cl adminv1.AdminServiceClient) (grpc.ServerStreamingClient[adminv1.VerifyBackupStreamResponse], error) {
		return cl.VerifyBackupStream(ctx, &adminv1.VerifyBackupStreamRequest{Request: &adminv1.VerifyBackupRequest{Dir: dir}})
	}, func(m *adminv1.VerifyBackupStreamResponse) {
		if r := m.GetResult(); r != nil {
			resp = r
		}
	})
	if err != nil {
		return err
	}
	bad := len(resp.GetProblems())
	for _, r := range resp.GetResults() {
		if !r.GetOk() {
			bad++
		}
	}
	if a.json {
		if err := a.printJSON(verifyJSON{
			Dir: dir, OK: resp.GetOk(), Files: resp.GetFiles(), Problems: append([]string{}, resp.GetProblems()...),
			Databases: toResultsJSON(resp.GetResults()), Version: resp.GetVersion(), CreatedTS: resp.GetCreatedTs(),
			Users: resp.GetUsers(), Messages: resp.GetMessages(),
		}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "backup %s: written %s by minimostd %s; %d users, %d messages, %d files\n", dir,
			time.Unix(resp.GetCreatedTs(), 0).Format(time.RFC3339), resp.GetVersion(), resp.GetUsers(), resp.GetMessages(), resp.GetFiles())
		for _, p := range resp.GetProblems() {
			fmt.Fprintf(a.stdout, "%s\n", p)
		}
		for _, r := range resp.GetResults() {
			fmt.Fprintf(a.stdout, "%s: %s\n", r.GetPath(), r.GetDetail())
		}
	}
	if !resp.GetOk() {
		return fmt.Errorf("backup %s does not verify: %d problems", dir, bad)
	}
	if !a.json {
		fmt.Fprintf(a.stdout, "ok: every file matches the manifest and every database passed integrity_check\n")
	}
	return nil
}
