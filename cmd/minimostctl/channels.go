package main

import (
	"context"
	"fmt"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type channelsCmd struct {
	List   channelsListCmd   `cmd:"" help:"List public channels, one per line."`
	Add    channelsAddCmd    `cmd:"" help:"Add a public channel; applies without a restart."`
	Remove channelsRemoveCmd `cmd:"" help:"Remove a public channel; applies without a restart. Asks on a terminal unless --yes; removing the last channel always needs a confirmation or --yes."`
}

type channelsListCmd struct{}

func (c *channelsListCmd) Run(a *app) error {
	chs, err := listChannels(a)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(chs)
	}
	for _, ch := range chs {
		fmt.Fprintln(a.stdout, ch)
	}
	return nil
}

func listChannels(a *app) ([]string, error) {
	var resp *adminv1.ListChannelsResponse
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.ListChannels(ctx, &adminv1.ListChannelsRequest{})
		return err
	})
	return append([]string{}, resp.GetChannels()...), err
}

// channelJSON is the --json form of channels add and remove.
type channelJSON struct {
	Channel string `json:"channel"`
	Action  string `json:"action"` // "added" or "removed"
}

type channelsAddCmd struct {
	Name string `arg:"" help:"Channel name."`
}

func (c *channelsAddCmd) Run(a *app) error {
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) error {
		_, err := cl.AddChannel(ctx, &adminv1.AddChannelRequest{Name: c.Name})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(channelJSON{c.Name, "added"})
	}
	fmt.Fprintf(a.stdout, "added channel %s\n", c.Name)
	return nil
}

type channelsRemoveCmd struct {
	Name string `arg:"" help:"Channel name."`
	Yes  bool   `short:"y" help:"Do not ask for confirmation."`
}

func (c *channelsRemoveCmd) Run(a *app) error {
	if !c.Yes {
		chs, err := listChannels(a)
		if err != nil {
			return err
		}
		last := len(chs) == 1 && chs[0] == c.Name
		q := fmt.Sprintf("Remove channel %s? Its messages stay in the databases but nobody sees them until it is added again.", c.Name)
		if last {
			q = fmt.Sprintf("Remove %s, the last public channel? Users will have no channel at all.", c.Name)
		}
		if err := a.confirm(false, last, q); err != nil {
			return err
		}
	}
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) error {
		_, err := cl.RemoveChannel(ctx, &adminv1.RemoveChannelRequest{Name: c.Name})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(channelJSON{c.Name, "removed"})
	}
	fmt.Fprintf(a.stdout, "removed channel %s\n", c.Name)
	return nil
}
