package main

import (
	"context"
	"fmt"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type channelsCmd struct {
	List   channelsListCmd   `cmd:"" help:"List public channels, one per line."`
	Add    channelsAddCmd    `cmd:"" help:"Add a public channel; applies without a restart."`
	Remove channelsRemoveCmd `cmd:"" help:"Remove a public channel; applies without a restart."`
}

type channelsListCmd struct {
	JSON bool `name:"json" help:"Print a JSON array."`
}

func (c *channelsListCmd) Run(a *app) error {
	var resp *adminv1.ListChannelsResponse
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.ListChannels(ctx, &adminv1.ListChannelsRequest{})
		return err
	})
	if err != nil {
		return err
	}
	if c.JSON {
		return a.printJSON(append([]string{}, resp.GetChannels()...))
	}
	for _, ch := range resp.GetChannels() {
		fmt.Fprintln(a.stdout, ch)
	}
	return nil
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
	fmt.Fprintf(a.stdout, "added channel %s\n", c.Name)
	return nil
}

type channelsRemoveCmd struct {
	Name string `arg:"" help:"Channel name."`
}

func (c *channelsRemoveCmd) Run(a *app) error {
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) error {
		_, err := cl.RemoveChannel(ctx, &adminv1.RemoveChannelRequest{Name: c.Name})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "removed channel %s\n", c.Name)
	return nil
}
