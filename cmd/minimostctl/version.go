package main

import (
	"context"
	"fmt"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type versionCmd struct{}

// versionJSON is the --json form of version; daemon is "" when it could not be reached.
type versionJSON struct {
	Client      string `json:"client"`
	Daemon      string `json:"daemon"`
	DaemonError string `json:"daemon_error,omitempty"`
}

// Run prints both versions; an unreachable daemon is reported, not an error, since the
// client's version is still an answer.
func (c *versionCmd) Run(a *app) error {
	v := versionJSON{Client: Version}
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) error {
		resp, err := cl.Status(ctx, &adminv1.StatusRequest{})
		v.Daemon = resp.GetVersion()
		return err
	})
	if err != nil {
		v.DaemonError = a.message(err)
	}
	if a.json {
		return a.printJSON(v)
	}
	fmt.Fprintf(a.stdout, "minimostctl %s\n", v.Client)
	if v.DaemonError != "" {
		fmt.Fprintf(a.stdout, "minimostd   unknown (%s)\n", v.DaemonError)
	} else {
		fmt.Fprintf(a.stdout, "minimostd   %s (%s)\n", v.Daemon, a.socket)
	}
	return nil
}
