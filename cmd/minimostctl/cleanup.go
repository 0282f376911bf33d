package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type cleanupCmd struct {
	Files    cleanupFilesCmd    `cmd:"" help:"Remove uploads older than their retention (defaults from settings.json). A retention of 0 days keeps those files (cleanup off)."`
	Messages cleanupMessagesCmd `cmd:"" help:"Remove messages older than the retention (default from settings.json). --days 0 keeps every message (cleanup off)."`
	Tokens   cleanupTokensCmd   `cmd:"" help:"Purge used and expired password reset tokens."`
}

type cleanupFilesCmd struct {
	ImageDays *int32 `name:"image-days" help:"Retention of images in days (0: keep images)." placeholder:"N"`
	FileDays  *int32 `name:"file-days" help:"Retention of other files in days (0: keep them)." placeholder:"N"`
	DryRun    bool   `name:"dry-run" help:"List what would be removed; remove nothing."`
	Yes       bool   `short:"y" help:"Do not ask for confirmation (asked on a terminal when a retention is given on the command line)."`
}

// fileJSON is one file of cleanup files --json.
type fileJSON struct {
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	ModTS int64  `json:"mod_ts"`
	Image bool   `json:"image"`
}

// cleanupFilesJSON is the --json form of cleanup files.
type cleanupFilesJSON struct {
	DryRun    bool       `json:"dry_run"`
	ImageDays int32      `json:"image_days"`
	FileDays  int32      `json:"file_days"`
	Files     []fileJSON `json:"files"`
	Count     int        `json:"count"`
	Bytes     int64      `json:"bytes"`
}

// call runs the cleanup (or its dry run), with progress on stderr when shown is set.
func (c *cleanupFilesCmd) call(a *app, dryRun, shown bool) (*adminv1.CleanupFilesResponse, error) {
	var resp *adminv1.CleanupFilesResponse
	req := &adminv1.CleanupFilesRequest{ImageDays: c.ImageDays, FileDays: c.FileDays, DryRun: dryRun}
	if !shown {
		err := a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
			resp, err = cl.CleanupFiles(ctx, req)
			return err
		})
		return resp, err
	}
	err := follow(a, "cleanup files", func(ctx context.Context, cl adminv1.AdminServiceClient) (grpc.ServerStreamingClient[adminv1.CleanupFilesStreamResponse], error) {
		return cl.CleanupFilesStream(ctx, &adminv1.CleanupFilesStreamRequest{Request: req})
	}, func(m *adminv1.CleanupFilesStreamResponse) {
		if r := m.GetResult(); r != nil {
			resp = r
		}
	})
	return resp, err
}

func (c *cleanupFilesCmd) Run(a *app) error {
	if !c.DryRun && !c.Yes && (c.ImageDays != nil || c.FileDays != nil) {
		if _, ok := terminal(a.stdin); ok {
			preview, err := c.call(a, true, false)
			if err != nil {
				return err
			}
			q := fmt.Sprintf("Permanently remove %d files (%d bytes) from uploads/: %s?", len(preview.GetRemoved()), preview.GetBytes(), fileRetention(preview))
			if err := a.confirm(false, false, q); err != nil {
				return err
			}
		}
	}
	resp, err := c.call(a, c.DryRun, true)
	if err != nil {
		return err
	}
	if a.json {
		out := cleanupFilesJSON{DryRun: resp.GetDryRun(), ImageDays: resp.GetImageDays(), FileDays: resp.GetFileDays(),
			Files: []fileJSON{}, Count: len(resp.GetRemoved()), Bytes: resp.GetBytes()}
		for _, f := range resp.GetRemoved() {
			out.Files = append(out.Files, fileJSON{f.GetName(), f.GetSize(), f.GetModTs(), f.GetImage()})
		}
		return a.printJSON(out)
	}
	verb := "removed"
	if resp.GetDryRun() {
		verb = "would remove"
	}
	for _, f := range resp.GetRemoved() {
		fmt.Fprintf(a.stdout, "%s %s\t%d\t%s\n", verb, f.GetName(), f.GetSize(), time.Unix(f.GetModTs(), 0).Format(time.RFC3339))
	}
	fmt.Fprintf(a.stdout, "%s %d files, %d bytes (%s)\n", verb, len(resp.GetRemoved()), resp.GetBytes(), fileRetention(resp))
	var off []string
	if resp.GetImageDays() == 0 {
		off = append(off, "images")
	}
	if resp.GetFileDays() == 0 {
		off = append(off, "other files")
	}
	if len(off) > 0 {
		fmt.Fprintf(a.stdout, "note: a retention of 0 days turns cleanup off: %s are kept, whatever their age\n", strings.Join(off, " and "))
	}
	return nil
}

// fileRetention states the retentions applied.
func fileRetention(r *adminv1.CleanupFilesResponse) string {
	return fmt.Sprintf("images older than %d days, other files older than %d days", r.GetImageDays(), r.GetFileDays())
}

type cleanupMessagesCmd struct {
	Days   *int32 `help:"Retention of messages in days (0: keep every message)." placeholder:"N"`
	DryRun bool   `name:"dry-run" help:"Count what would be removed; remove nothing."`
	Yes    bool   `short:"y" help:"Do not ask for confirmation (asked on a terminal when --days is given)."`
}

// cleanupMessagesJSON is the --json form of cleanup messages; off is true when the retention
// is 0 (nothing is ever removed).
type cleanupMessagesJSON struct {
	DryRun  bool             `json:"dry_run"`
	Days    int32            `json:"days"`
	Off     bool             `json:"off"`
	PerUser map[string]int64 `json:"per_user"`
	Total   int64            `json:"total"`
}

// call runs the cleanup (or its dry run), with progress on stderr when shown is set.
func (c *cleanupMessagesCmd) call(a *app, dryRun, shown bool) (*adminv1.CleanupMessagesResponse, error) {
	var resp *adminv1.CleanupMessagesResponse
	req := &adminv1.CleanupMessagesRequest{Days: c.Days, DryRun: dryRun}
	if !shown {
		err := a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
			resp, err = cl.CleanupMessages(ctx, req)
			return err
		})
		return resp, err
	}
	err := follow(a, "cleanup messages", func(ctx context.Context, cl adminv1.AdminServiceClient) (grpc.ServerStreamingClient[adminv1.CleanupMessagesStreamResponse], error) {
		return cl.CleanupMessagesStream(ctx, &adminv1.CleanupMessagesStreamRequest{Request: req})
	}, func(m *adminv1.CleanupMessagesStreamResponse) {
		if r := m.GetResult(); r != nil {
			resp = r
		}
	})
	return resp, err
}

func (c *cleanupMessagesCmd) Run(a *app) error {
	if !c.DryRun && !c.Yes && c.Days != nil && *c.Days > 0 {
		if _, ok := terminal(a.stdin); ok {
			preview, err := c.call(a, true, false)
			if err != nil {
				return err
			}
			q := fmt.Sprintf("Permanently delete %d messages older than %d days from every users/*.db?", preview.GetTotal(), preview.GetDays())
			if err := a.confirm(false, false, q); err != nil {
				return err
			}
		}
	}
	resp, err := c.call(a, c.DryRun, true)
	if err != nil {
		return err
	}
	per := resp.GetPerUser()
	if per == nil {
		per = map[string]int64{}
	}
	if a.json {
		return a.printJSON(cleanupMessagesJSON{DryRun: resp.GetDryRun(), Days: resp.GetDays(), Off: resp.GetDays() == 0, PerUser: per, Total: resp.GetTotal()})
	}
	if resp.GetDays() == 0 {
		src := "message_retention_days is 0 in settings.json"
		if c.Days != nil {
			src = "--days 0"
		}
		fmt.Fprintf(a.stdout, "note: message cleanup is off (%s): a retention of 0 days keeps every message, whatever its age\n", src)
	}
	verb := "removed"
	if resp.GetDryRun() {
		verb = "would remove"
	}
	for _, u := range slices.Sorted(maps.Keys(per)) {
		fmt.Fprintf(a.stdout, "%s: %d\n", u, per[u])
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
	if a.json {
		return a.printJSON(map[string]int64{"removed": resp.GetRemoved()})
	}
	fmt.Fprintf(a.stdout, "removed %d tokens\n", resp.GetRemoved())
	return nil
}
