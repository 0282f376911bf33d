package app

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/backup"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/cleanup"
	"github.com/minimost/minimost/pkg/settings"
)

// Maintenance is the admin side of the store; *store.Store satisfies it.
type Maintenance interface {
	cleanup.MessageStore
	backup.Source
	ListUsers(ctx context.Context) ([]chat.UserRecord, error)
	MessageCounts(ctx context.Context) (map[string]int64, error)
	IntegrityCheck(ctx context.Context) ([]chat.DBResult, error)
	Checkpoint(ctx context.Context, users []string) ([]chat.DBResult, error)
	Vacuum(ctx context.Context, users []string) ([]chat.DBResult, error)
	CleanupTokens(ctx context.Context) (int64, error)
}

// SettingsEditor changes settings.json; *settings.Manager satisfies it.
type SettingsEditor interface {
	Path() string
	Reload() (chat.Settings, error)
	// Err tells why the file on disk is not in force (nil when it is).
	Err() error
	AddChannel(name string) error
	RemoveChannel(name string) error
}

// Admin holds the administrator's use-cases, which the admin service over the Unix socket
// translates. Account creation, deletion and reset links are the App's own, shared with the
// browser's paths.
type Admin struct {
	App      *App
	Store    Maintenance
	Settings SettingsEditor

	// Version, Started, URL, Clients and NextCleanup describe the running daemon for Status.
	Version     string
	Started     time.Time
	URL         func() string
	Clients     func() int
	NextCleanup func() time.Time

	// CheckDB runs integrity_check on a database file outside the store (a backup's), for
	// VerifyBackup; the daemon wires store.IntegrityCheckFile.
	CheckDB backup.CheckDB
}

// StatusInfo is what `minimostctl status` shows.
type StatusInfo struct {
	Version          string
	Started          time.Time
	DataDir          string
	ListenAddr       string
	ConnectedClients int
	NextCleanup      time.Time
	// SettingsError is why settings.json is not in force ("" when it is valid).
	SettingsError string
	// PublicURL is the base of the links the daemon hands out.
	PublicURL string
}

// UserInfo is one account in `minimostctl users list`.
type UserInfo struct {
	Username     string
	CreatedTS    int64
	MessageCount int64 // rows with deleted=0 in users/<name>.db
}

// FileCleanupReport lists what file cleanup removed, or would remove in a dry run.
type FileCleanupReport struct {
	DryRun    bool
	Removed   []cleanup.RemovedFile
	Bytes     int64
	ImageDays int
	FileDays  int
}

// MessageCleanupReport counts what message cleanup removed (or would remove) per database.
type MessageCleanupReport struct {
	DryRun  bool
	Days    int
	PerUser map[string]int64 // username -> rows
	Total   int64
}

// Stats is what `minimostctl stats` shows.
type Stats struct {
	Users           int
	MessagesPerUser map[string]int64 // deleted=0 rows per users/<name>.db
	DiskUsers       int64            // bytes under users/
	DiskUploads     int64
	DiskAvatars     int64
	DiskAuthDB      int64 // auth.db with its -wal and -shm
	DiskPresenceDB  int64
	// WAL bytes (-wal and -shm files), included in the Disk figures above.
	WALUsers      int64
	WALAuthDB     int64
	WALPresenceDB int64
	UserDatabases int // users/*.db
	WALFiles      int // users/*.db-wal
}

// Status describes the running daemon.
func (ad *Admin) Status(ctx context.Context) (StatusInfo, error) {
	st := StatusInfo{
		Version: ad.Version, Started: ad.Started, DataDir: ad.App.DataDir, ListenAddr: ad.URL(),
		ConnectedClients: ad.Clients(), NextCleanup: ad.NextCleanup(), PublicURL: ad.App.PublicURL(),
	}
	if err := ad.Settings.Err(); err != nil {
		st.SettingsError = err.Error()
	}
	return st, nil
}

// ListUsers lists every account with its message count.
func (ad *Admin) ListUsers(ctx context.Context) ([]UserInfo, error) {
	us, err := ad.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := ad.Store.MessageCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, 0, len(us))
	for _, u := range us {
		out = append(out, UserInfo{Username: u.Username, CreatedTS: u.CreatedTS, MessageCount: counts[u.Username]})
	}
	return out, nil
}

// CreateUser makes an account, as registration does.
func (ad *Admin) CreateUser(ctx context.Context, username, password string) error {
	_, err := ad.App.CreateAccount(ctx, username, password)
	return err
}

// DeleteUser deletes an account, as the Danger Zone does.
func (ad *Admin) DeleteUser(ctx context.Context, username, mode string) error {
	return ad.App.DeleteAccount(ctx, username, mode)
}

// ResetPassword issues a password-reset link.
func (ad *Admin) ResetPassword(ctx context.Context, username string, expires time.Duration, baseURL string) (string, int64, error) {
	return ad.App.IssueResetLink(ctx, username, expires, baseURL)
}

// retention reads settings.json now, for the retention days the caller did not give. When
// it is invalid and a value is missing, nothing is deleted.
func (ad *Admin) retention(given ...*int) (chat.Settings, error) {
	cfg, err := settings.Load(ad.Settings.Path())
	if err != nil && slices.Contains(given, nil) {
		return cfg, chat.Errorf(chat.EConflict, "settings.json is invalid, so nothing was deleted: %v", err)
	}
	return cfg, nil
}

// CleanupFiles removes uploads older than their retention (nil days: settings.json's).
func (ad *Admin) CleanupFiles(ctx context.Context, imageDays, fileDays *int, dryRun bool) (FileCleanupReport, error) {
	cfg, err := ad.retention(imageDays, fileDays)
	if err != nil {
		return FileCleanupReport{}, err
	}
	rep := FileCleanupReport{DryRun: dryRun, ImageDays: cfg.ImageRetentionDays, FileDays: cfg.FileRetentionDays}
	if imageDays != nil {
		rep.ImageDays = *imageDays
	}
	if fileDays != nil {
		rep.FileDays = *fileDays
	}
	files, err := cleanup.DeleteFilesOlderThan(ctx, filepath.Join(ad.App.DataDir, "uploads"), rep.ImageDays, rep.FileDays, dryRun, ad.App.Now())
	rep.Removed = files
	for _, f := range files {
		rep.Bytes += f.Size
	}
	ad.App.Logger.Info("file cleanup (admin)", "dry_run", dryRun, "removed", len(files), "bytes", rep.Bytes, "err", err)
	return rep, err
}

// CleanupMessages removes messages older than days (nil: settings.json's) from every
// users/*.db.
func (ad *Admin) CleanupMessages(ctx context.Context, days *int, dryRun bool) (MessageCleanupReport, error) {
	cfg, err := ad.retention(days)
	if err != nil {
		return MessageCleanupReport{}, err
	}
	rep := MessageCleanupReport{DryRun: dryRun, Days: cfg.MessageRetentionDays}
	if days != nil {
		rep.Days = *days
	}
	per, err := cleanup.DeleteMessagesOlderThan(ctx, ad.Store, rep.Days, dryRun, ad.App.Now())
	rep.PerUser = per
	for _, n := range per {
		rep.Total += n
	}
	ad.App.Logger.Info("message cleanup (admin)", "dry_run", dryRun, "days", rep.Days, "removed", rep.Total, "err", err)
	return rep, err
}

// CleanupTokens purges used and expired password-reset tokens.
func (ad *Admin) CleanupTokens(ctx context.Context) (int64, error) {
	n, err := ad.Store.CleanupTokens(ctx)
	ad.App.Logger.Info("token cleanup (admin)", "removed", n, "err", err)
	return n, err
}

// IntegrityCheck runs PRAGMA integrity_check on every database.
func (ad *Admin) IntegrityCheck(ctx context.Context) ([]chat.DBResult, error) {
	return ad.Store.IntegrityCheck(ctx)
}

// Backup writes a hot backup of all state into dir (through dir.partial, with a manifest).
// With since (a previous backup, which must verify), what is unchanged since it is
// hard-linked from it.
func (ad *Admin) Backup(ctx context.Context, dir, since string) (backup.Report, error) {
	ad.App.Logger.Info("backup started", "dir", dir, "since", since)
	rep, err := backup.Run(ctx, ad.Store, dir, backup.Options{Version: ad.Version, Now: ad.App.Now, Counts: ad.counts, Since: since, Check: ad.CheckDB})
	ad.App.Logger.Info("backup", "dir", dir, "databases", len(rep.Databases), "files", rep.Files, "bytes", rep.Bytes,
		"users", rep.Users, "messages", rep.Messages, "linked", rep.Linked, "linked_bytes", rep.LinkedBytes, "err", err)
	return rep, err
}

// counts returns the number of accounts and of visible message copies, for the manifest.
func (ad *Admin) counts(ctx context.Context) (users, messages int64, err error) {
	us, err := ad.Store.ListUsers(ctx)
	if err != nil {
		return 0, 0, err
	}
	per, err := ad.Store.MessageCounts(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, n := range per {
		messages += n
	}
	return int64(len(us)), messages, nil
}

// VerifyBackup checks the backup in dir against its manifest and runs integrity_check on
// every database in it.
func (ad *Admin) VerifyBackup(ctx context.Context, dir string) (backup.VerifyReport, error) {
	if ad.CheckDB == nil {
		return backup.VerifyReport{}, chat.Errorf(chat.EUnavailable, "backup verification is not available")
	}
	rep, err := backup.Verify(ctx, dir, ad.CheckDB)
	ad.App.Logger.Info("backup verified", "dir", dir, "ok", err == nil && rep.OK(), "problems", len(rep.Problems), "err", err)
	return rep, err
}

// Checkpoint runs a WAL checkpoint on the named users' databases, or on every database.
func (ad *Admin) Checkpoint(ctx context.Context, users []string) ([]chat.DBResult, error) {
	return ad.Store.Checkpoint(ctx, users)
}

// Vacuum runs VACUUM on the named users' databases, or on every database.
func (ad *Admin) Vacuum(ctx context.Context, users []string) ([]chat.DBResult, error) {
	return ad.Store.Vacuum(ctx, users)
}

func duSize(path string) int64 {
	n, _, _ := duSplit(path)
	return n
}

// duSplit returns the bytes of the regular files under path, how many of them belong to WAL
// files (-wal, -shm), and how many -wal files there are.
func duSplit(path string) (total, wal int64, walFiles int) {
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
				switch {
				case strings.HasSuffix(p, "-wal"):
					wal += fi.Size()
					walFiles++
				case strings.HasSuffix(p, "-shm"):
					wal += fi.Size()
				}
			}
		}
		return nil
	})
	return total, wal, walFiles
}

// Stats counts accounts and messages and the disk use of the data directory.
func (ad *Admin) Stats(ctx context.Context) (Stats, error) {
	dir := ad.App.DataDir
	d, err := ad.App.Store.Accounts(ctx)
	if err != nil {
		return Stats{}, err
	}
	counts, err := ad.Store.MessageCounts(ctx)
	if err != nil {
		return Stats{}, err
	}
	db := func(name string) (total, wal int64) {
		wal = duSize(filepath.Join(dir, name+"-wal")) + duSize(filepath.Join(dir, name+"-shm"))
		return duSize(filepath.Join(dir, name)) + wal, wal
	}
	st := Stats{
		Users: len(d.All()), MessagesPerUser: counts,
		DiskUploads: duSize(filepath.Join(dir, "uploads")), DiskAvatars: duSize(filepath.Join(dir, "avatars")),
	}
	st.DiskUsers, st.WALUsers, st.WALFiles = duSplit(filepath.Join(dir, "users"))
	st.UserDatabases = len(counts)
	st.DiskAuthDB, st.WALAuthDB = db("auth.db")
	st.DiskPresenceDB, st.WALPresenceDB = db("presence.db")
	return st, nil
}

// ListChannels re-reads settings.json and returns the public channels.
func (ad *Admin) ListChannels(ctx context.Context) ([]string, error) {
	s, err := ad.Settings.Reload()
	if err != nil {
		return nil, chat.Errorf(chat.EConflict, "%v", err)
	}
	return slices.Clone(s.Channels), nil
}

// AddChannel adds a public channel to settings.json; every client is told.
func (ad *Admin) AddChannel(ctx context.Context, name string) error {
	return ad.Settings.AddChannel(name)
}

// RemoveChannel removes a public channel from settings.json (its messages stay).
func (ad *Admin) RemoveChannel(ctx context.Context, name string) error {
	return ad.Settings.RemoveChannel(name)
}
