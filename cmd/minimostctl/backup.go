package main

import (
	"context"
	"fmt"
	"path/filepath"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type backupCmd struct {
	Dir string `arg:"" help:"Target directory: missing or empty. Relative paths are taken from the current directory, not the daemon's."`
}

func (c *backupCmd) Run(a *app) error {
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return fmt.Errorf("backup directory: %w", err)
	}
	var resp *adminv1.BackupResponse
	err = a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.Backup(ctx, &adminv1.BackupRequest{Dir: dir})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "backed up %d databases and %d files (%d bytes) to %s\n",
		len(resp.GetDatabases()), resp.GetFiles(), resp.GetBytes(), resp.GetDir())
	return nil
}
