package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/grpc"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// dbResultJSON is one database in the --json form of integrity-check, checkpoint, vacuum
// and backup --verify.
type dbResultJSON struct {
	Path   string `json:"path"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// resultsJSON is the --json form of integrity-check, checkpoint and vacuum.
type resultsJSON struct {
	Results []dbResultJSON `json:"results"`
	Failed  int            `json:"failed"`
}

func toResultsJSON(rs []*adminv1.DBResult) []dbResultJSON {
	out := make([]dbResultJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, dbResultJSON{r.GetPath(), r.GetOk(), r.GetDetail()})
	}
	return out
}

// printResults prints "path: detail" per database (or JSON) and fails if any is not ok.
func printResults(a *app, what string, rs []*adminv1.DBResult) error {
	bad := 0
	for _, r := range rs {
		if !r.GetOk() {
			bad++
		}
	}
	if a.json {
		if err := a.printJSON(resultsJSON{toResultsJSON(rs), bad}); err != nil {
			return err
		}
	} else {
		for _, r := range rs {
			detail := r.GetDetail()
			if detail == "" {
				detail = map[bool]string{true: "ok", false: "failed"}[r.GetOk()]
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", r.GetPath(), detail)
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
	err := follow(a, "integrity-check", func(ctx context.Context, cl adminv1.AdminServiceClient) (grpc.ServerStreamingClient[adminv1.IntegrityCheckStreamResponse], error) {
		return cl.IntegrityCheckStream(ctx, &adminv1.IntegrityCheckStreamRequest{Request: &adminv1.IntegrityCheckRequest{}})
	}, func(m *adminv1.IntegrityCheckStreamResponse) {
		if r := m.GetResult(); r != nil {
			resp = r
		}
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
	err := follow(a, "checkpoint", func(ctx context.Context, cl adminv1.AdminServiceClient) (grpc.ServerStreamingClient[adminv1.CheckpointStreamResponse], error) {
		return cl.CheckpointStream(ctx, &adminv1.CheckpointStreamRequest{Request: &adminv1.CheckpointRequest{Users: c.Users}})
	}, func(m *adminv1.CheckpointStreamResponse) {
		if r := m.GetResult(); r != nil {
			resp = r
		}
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
	err := follow(a, "vacuum", func(ctx context.Context, cl adminv1.AdminServiceClient) (grpc.ServerStreamingClient[adminv1.VacuumStreamResponse], error) {
		return cl.VacuumStream(ctx, &adminv1.VacuumStreamRequest{Request: &adminv1.VacuumRequest{Users: c.Users}})
	}, func(m *adminv1.VacuumStreamResponse) {
		if r := m.GetResult(); r != nil {
			resp = r
		}
	})
	if err != nil {
		return err
	}
	return printResults(a, "vacuum", resp.GetResults())
}

type statsCmd struct{}

// statsJSON is the --json form of stats; sizes are in bytes.
type statsJSON struct {
	Users           int32            `json:"users"`
	MessagesPerUser map[string]int64 `json:"messages_per_user"`
	Disk            diskJSON         `json:"disk"`
	WAL             walJSON          `json:"wal"`
	UserDatabases   int32            `json:"user_databases"`
}

// diskJSON holds every part's total size, WAL included.
type diskJSON struct {
	Users      int64 `json:"users"`
	Uploads    int64 `json:"uploads"`
	Avatars    int64 `json:"avatars"`
	AuthDB     int64 `json:"auth_db"`
	PresenceDB int64 `json:"presence_db"`
}

// walJSON holds the part of diskJSON that is WAL (-wal and -shm files).
type walJSON struct {
	Users      int64 `json:"users"`
	Files      int32 `json:"files"` // users/*.db-wal files present
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
	if a.json {
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
			WAL: walJSON{
				Users: resp.GetWalUsers(), Files: resp.GetWalFiles(),
				AuthDB: resp.GetWalAuthDb(), PresenceDB: resp.GetWalPresenceDb(),
			},
			UserDatabases: resp.GetUserDatabases(),
		})
	}
	fmt.Fprintf(a.stdout, "users: %d\n", resp.GetUsers())
	fmt.Fprintln(a.stdout, "messages:")
	for _, u := range slices.Sorted(maps.Keys(per)) {
		fmt.Fprintf(a.stdout, "  %-20s %d\n", u, per[u])
	}
	fmt.Fprintln(a.stdout, "disk (bytes):         total        data         WAL")
	row := func(name string, total, wal int64) {
		fmt.Fprintf(a.stdout, "  %-15s %12d %11d %11d\n", name, total, total-wal, wal)
	}
	row("users/", resp.GetDiskUsers(), resp.GetWalUsers())
	row("auth.db", resp.GetDiskAuthDb(), resp.GetWalAuthDb())
	row("presence.db", resp.GetDiskPresenceDb(), resp.GetWalPresenceDb())
	row("uploads/", resp.GetDiskUploads(), 0)
	row("avatars/", resp.GetDiskAvatars(), 0)
	fmt.Fprintf(a.stdout, "user databases: %d, with a WAL file: %d (an idle database's WAL is truncated after minimostd's -wal-idle)\n",
		resp.GetUserDatabases(), resp.GetWalFiles())
	return nil
}
