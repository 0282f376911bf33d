package main

import (
	"context"
	"fmt"
	"time"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type statusCmd struct{}

// statusJSON is the --json form of status.
type statusJSON struct {
	Version          string `json:"version"`
	StartedTS        int64  `json:"started_ts"`
	UptimeSeconds    int64  `json:"uptime_seconds"`
	DataDir          string `json:"data_dir"`
	ListenAddr       string `json:"listen_addr"`
	ConnectedClients int32  `json:"connected_clients"`
	NextCleanupTS    int64  `json:"next_cleanup_ts"`
	PublicURL        string `json:"public_url"`
	// SettingsError is why settings.json is not in force; "" when it is valid.
	SettingsError string `json:"settings_error"`
	ClientVersion string `json:"client_version"`
}

func (c *statusCmd) Run(a *app) error {
	var resp *adminv1.StatusResponse
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.Status(ctx, &adminv1.StatusRequest{})
		return err
	})
	if err != nil {
		return err
	}
	started := time.Unix(resp.GetStartedTs(), 0)
	uptime := time.Since(started).Truncate(time.Second)
	if a.json {
		return a.printJSON(statusJSON{
			Version:          resp.GetVersion(),
			StartedTS:        resp.GetStartedTs(),
			UptimeSeconds:    int64(uptime / time.Second),
			DataDir:          resp.GetDataDir(),
			ListenAddr:       resp.GetListenAddr(),
			ConnectedClients: resp.GetConnectedClients(),
			NextCleanupTS:    resp.GetNextCleanupTs(),
			PublicURL:        resp.GetPublicUrl(),
			SettingsError:    resp.GetSettingsError(),
			ClientVersion:    Version,
		})
	}
	next := "not scheduled"
	if ts := resp.GetNextCleanupTs(); ts != 0 {
		next = time.Unix(ts, 0).Format(time.RFC3339)
	}
	fmt.Fprintf(a.stdout, "version:       %s\n", resp.GetVersion())
	fmt.Fprintf(a.stdout, "uptime:        %s (since %s)\n", uptime, started.Format(time.RFC3339))
	fmt.Fprintf(a.stdout, "data dir:      %s\n", resp.GetDataDir())
	fmt.Fprintf(a.stdout, "listen:        %s\n", resp.GetListenAddr())
	fmt.Fprintf(a.stdout, "clients:       %d\n", resp.GetConnectedClients())
	fmt.Fprintf(a.stdout, "next cleanup:  %s\n", next)
	fmt.Fprintf(a.stdout, "public url:    %s\n", resp.GetPublicUrl())
	if e := resp.GetSettingsError(); e != "" {
		fmt.Fprintf(a.stdout, "settings:      INVALID, the last valid settings stay in force: %s\n", e)
	} else {
		fmt.Fprintf(a.stdout, "settings:      ok\n")
	}
	return nil
}
