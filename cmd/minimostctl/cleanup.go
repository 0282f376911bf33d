package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type cleanupCmd struct {
	Files    cleanupFilesCmd    `cmd:"" help:"Remove uploads older than their retention (defaults from settings.json)."`
	Messages cleanupMessagesCmd `cmd:"" help:"Remove messages older than the retention (default from settings.json)."`
	Tokens   cleanupTokensCmd   `cmd:"" help:"Purge used and expired password reset tokens."`
}

type cleanupFilesCmd struct {
	ImageDays *int32 `name:"image-days" help:"Retention of images in days." placeholder:"N"`
	FileDays  *int32 `name:"file-days" help:"Retention of other files in days." placeholder:"N"`
	DryRun    bool   `name:"dry-run" help:"List what would be removed; remove nothing."`
}

func (c *cleanupFilesCmd) Run(a *app) error {
	var resp *adminv1.CleanupFilesResponse
	err := a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.CleanupFiles(ctx, &adminv1.CleanupFilesRequest{ImageDays: c.ImageDays, FileDays: c.FileDays, DryRun: c.DryRun})
		return err
	})
	if err != nil {
		return err
	}
	verb := "removed"
	if resp.GetDryRun() {
		verb = "would remove"
	}
	for _, f := range resp.GetRemoved() {
		fmt.Fprintf(a.stdout, "%s %s\t%d\t%s\n", verb, f.GetName(), f.GetSize(), time.Unix(f.GetModTs(), 0).Format(time.RFC3339))
	}
	fmt.Fprintf(a.stdout, "%s %d files, %d bytes (images older than %d days, other files older than %d days)\n",
		verb, len(resp.GetRemoved()), resp.GetBytes(), resp.GetImageDays(), resp.GetFileDays())
	return nil
}

type cleanupMessagesCmd struct {
	Days   *int32 `help:"Retention of messages in days." placeholder:"N"`
	DryRun bool   `name:"dry-run" help:"Count what would be removed; remove nothing."`
}

func (c *cleanupMessagesCmd) Run(a *app) error {
	var resp *adminv1.CleanupMessagesResponse
	err := a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.CleanupMessages(ctx, &adminv1.CleanupMessagesRequest{Days: c.Days, DryRun: c.DryRun})
		return err
	})
	if err != nil {
		return err
	}
	verb := "removed"
	if resp.GetDryRun() {
		verb = "would remove"
	}
	for _, u := range slices.Sorted(maps.Keys(resp.GetPerUser())) {
		fmt.Fprintf(a.stdout, "%s: %d\n", u, resp.GetPerUser()[u])
	}
	fmt.Fprintf(a.stdout, "%s %d messages older than %d days\n", verb, resp.GetTotal(), resp.GetDays())
	return nil
}

type cleanupTokensCmd struct{}

func (c *cleanupTokensCmd) Run(a *app) error {
	var resp *adminv1.CleanupTokensResponse
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.CleanupTokens(ctx, &adminv1.CleanupTokensRequest{})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "removed %d tokens\n", resp.GetRemoved())
	return nil
}
