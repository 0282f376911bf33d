package main

import (
	"context"
	"fmt"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type resetPasswordCmd struct {
	User    string `arg:"" help:"Username."`
	Expires int32  `help:"Minutes the link stays valid." default:"60" placeholder:"MIN"`
	BaseURL string `name:"base-url" help:"Public base of the link (default: the daemon's public URL: its -base-url, else the address it listens on; see status)." placeholder:"URL"`
}

// Run prints the URL alone on stdout, so that it can be captured by a script.
func (c *resetPasswordCmd) Run(a *app) error {
	if c.Expires <= 0 {
		return fmt.Errorf("--expires must be at least 1 minute")
	}
	var resp *adminv1.ResetPasswordResponse
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.ResetPassword(ctx, &adminv1.ResetPasswordRequest{Username: c.User, ExpiresMinutes: &c.Expires, BaseUrl: c.BaseURL})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]any{"url": resp.GetUrl(), "expires_ts": resp.GetExpiresTs()})
	}
	fmt.Fprintln(a.stdout, resp.GetUrl())
	return nil
}
