package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// printResults prints "path: detail" per database and fails if any is not ok.
func printResults(a *app, what string, rs []*adminv1.DBResult) error {
	bad := 0
	for _, r := range rs {
		detail := r.GetDetail()
		if detail == "" {
			detail = map[bool]string{true: "ok", false: "failed"}[r.GetOk()]
		}
		fmt.Fprintf(a.stdout, "%s: %s\n", r.GetPath(), detail)
		if !r.GetOk() {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s failed for %d of %d databases", what, bad, len(rs))
	}
	return nil
}

type integrityCheckCmd struct{}

func (c *integrityCheckCmd) Run(a *app) error {
	var resp *adminv1.IntegrityCheckResponse
	err := a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.IntegrityCheck(ctx, &adminv1.IntegrityCheckRequest{})
		return err
	})
	if err != nil {
		return err
	}
	return printResults(a, "integrity check", resp.GetResults())
}

type checkpointCmd struct {
	Users []string `arg:"" optional:"" name:"user" help:"Users whose databases to checkpoint (default: every database)."`
}

func (c *checkpointCmd) Run(a *app) error {
	var resp *adminv1.CheckpointResponse
	err := a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.Checkpoint(ctx, &adminv1.CheckpointRequest{Users: c.Users})
		return err
	})
	if err != nil {
		return err
	}
	return printResults(a, "checkpoint", resp.GetResults())
}

type vacuumCmd struct {
	Users []string `arg:"" optional:"" name:"user" help:"Users whose databases to vacuum (default: every database)."`
}

func (c *vacuumCmd) Run(a *app) error {
	var resp *adminv1.VacuumResponse
	err := a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.Vacuum(ctx, &adminv1.VacuumRequest{Users: c.Users})
		return err
	})
	if err != nil {
		return err
	}
	return printResults(a, "vacuum", resp.GetResults())
}

type statsCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

// statsJSON is the --json form of stats; sizes are in bytes.
type statsJSON struct {
	Users           int32            `json:"users"`
	MessagesPerUser map[string]int64 `json:"messages_per_user"`
	Disk            diskJSON         `json:"disk"`
}

type diskJSON struct {
	Users      int64 `json:"users"`
	Uploads    int64 `json:"uploads"`
	Avatars    int64 `json:"avatars"`
	AuthDB     int64 `json:"auth_db"`
	PresenceDB int64 `json:"presence_db"`
}

func (c *statsCmd) Run(a *app) error {
	var resp *adminv1.StatsResponse
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.Stats(ctx, &adminv1.StatsRequest{})
		return err
	})
	if err != nil {
		return err
	}
	per := resp.GetMessagesPerUser()
	if per == nil {
		per = map[string]int64{}
	}
	if c.JSON {
		return a.printJSON(statsJSON{
			Users:           resp.GetUsers(),
			MessagesPerUser: per,
			Disk: diskJSON{
				Users:      resp.GetDiskUsers(),
				Uploads:    resp.GetDiskUploads(),
				Avatars:    resp.GetDiskAvatars(),
				AuthDB:     resp.GetDiskAuthDb(),
				PresenceDB: resp.GetDiskPresenceDb(),
			},
		})
	}
	fmt.Fprintf(a.stdout, "users: %d\n", resp.GetUsers())
	fmt.Fprintln(a.stdout, "messages:")
	for _, u := range slices.Sorted(maps.Keys(per)) {
		fmt.Fprintf(a.stdout, "  %-20s %d\n", u, per[u])
	}
	fmt.Fprintln(a.stdout, "disk (bytes):")
	fmt.Fprintf(a.stdout, "  %-20s %d\n", "users/", resp.GetDiskUsers())
	fmt.Fprintf(a.stdout, "  %-20s %d\n", "uploads/", resp.GetDiskUploads())
	fmt.Fprintf(a.stdout, "  %-20s %d\n", "avatars/", resp.GetDiskAvatars())
	fmt.Fprintf(a.stdout, "  %-20s %d\n", "auth.db", resp.GetDiskAuthDb())
	fmt.Fprintf(a.stdout, "  %-20s %d\n", "presence.db", resp.GetDiskPresenceDb())
	return nil
}
