package main

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/admin"
	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/backup"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/cleanup"
	"github.com/minimost/minimost/pkg/settings"
	"github.com/minimost/minimost/pkg/store"
)

// backend implements admin.Backend on the daemon's parts.
type backend struct{ m *Main }

var _ admin.Backend = (*backend)(nil)

func (b *backend) Status(ctx context.Context) (admin.StatusInfo, error) {
	m := b.m
	return admin.StatusInfo{
		Version: Version, Started: m.started, DataDir: m.Config.DataDir, ListenAddr: m.URL(),
		ConnectedClients: m.hub.Count(), NextCleanup: m.sched.Next(),
	}, nil
}

func (b *backend) ListUsers(ctx context.Context) ([]admin.UserInfo, error) {
	us, err := b.m.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := b.m.store.MessageCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]admin.UserInfo, 0, len(us))
	for _, u := range us {
		out = append(out, admin.UserInfo{Username: u.Username, CreatedTS: u.CreatedTS, MessageCount: counts[u.Username]})
	}
	return out, nil
}

func (b *backend) CreateUser(ctx context.Context, username, password string) error {
	if err := chat.ValidateUsername(username); err != nil {
		return err
	}
	if err := chat.ValidatePassword(password); err != nil {
		return err
	}
	if ok, err := b.m.store.UserExists(ctx, username); err != nil {
		return err
	} else if ok {
		return chat.Errorf(chat.EConflict, "user %q already exists", username)
	}
	hash, err := b.m.web.Hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	if err := b.m.store.CreateUser(ctx, username, hash, b.m.settings.Get().Channels); err != nil {
		return err
	}
	b.m.Logger.Info("account created by admin", "user", username)
	return nil
}

func (b *backend) DeleteUser(ctx context.Context, username, mode string) error {
	return b.m.web.DeleteAccount(ctx, username, mode)
}

func (b *backend) ResetPassword(ctx context.Context, username string, expires time.Duration, baseURL string) (string, int64, error) {
	if expires <= 0 || expires > 30*24*time.Hour {
		return "", 0, chat.Errorf(chat.EInvalid, "expiry must be between 1 minute and 30 days")
	}
	if baseURL == "" {
		baseURL = b.m.Config.BaseURL
	}
	if baseURL == "" {
		baseURL = "https://127.0.0.1:5000"
	}
	if !strings.HasPrefix(baseURL, "https://") && !strings.HasPrefix(baseURL, "http://") {
		return "", 0, chat.Errorf(chat.EInvalid, "base URL must start with https:// or http://")
	}
	token, hash := auth.NewResetToken()
	exp := time.Now().Add(expires).Unix()
	if err := b.m.store.CreateResetToken(ctx, hash, username, exp); err != nil {
		return "", 0, err
	}
	notice := "A password reset was requested for your account by an administrator. " +
		"If you did not ask for one, tell your administrator. The reset link expires at " +
		time.Unix(exp, 0).UTC().Format("2006-01-02 15:04 UTC") + "."
	if err := b.m.web.SystemDM(ctx, username, notice); err != nil {
		return "", 0, err
	}
	b.m.Logger.Info("password reset link issued", "user", username, "expires_ts", exp)
	return strings.TrimRight(baseURL, "/") + "/reset?token=" + token, exp, nil
}

func (b *backend) retention(imageDays, fileDays *int) (chat.Settings, error) {
	cfg, err := settings.Load(b.m.settings.Path())
	if err != nil && (imageDays == nil || fileDays == nil) {
		return cfg, chat.Errorf(chat.EConflict, "settings.json is invalid, so nothing was deleted: %v", err)
	}
	return cfg, nil
}

func (b *backend) CleanupFiles(ctx context.Context, imageDays, fileDays *int, dryRun bool) (admin.FileCleanupReport, error) {
	cfg, err := b.retention(imageDays, fileDays)
	if err != nil {
		return admin.FileCleanupReport{}, err
	}
	rep := admin.FileCleanupReport{DryRun: dryRun, ImageDays: cfg.ImageRetentionDays, FileDays: cfg.FileRetentionDays}
	if imageDays != nil {
		rep.ImageDays = *imageDays
	}
	if fileDays != nil {
		rep.FileDays = *fileDays
	}
	files, err := cleanup.DeleteFilesOlderThan(filepath.Join(b.m.Config.DataDir, "uploads"), rep.ImageDays, rep.FileDays, dryRun, time.Now())
	for _, f := range files {
		rep.Removed = append(rep.Removed, admin.RemovedFile{Name: f.Name, Size: f.Size, ModTime: f.ModTime, Image: f.Image})
		rep.Bytes += f.Size
	}
	b.m.Logger.Info("file cleanup (admin)", "dry_run", dryRun, "removed", len(files), "bytes", rep.Bytes, "err", err)
	return rep, err
}

func (b *backend) CleanupMessages(ctx context.Context, days *int, dryRun bool) (admin.MessageCleanupReport, error) {
	cfg, err := b.retention(days, days)
	if err != nil {
		return admin.MessageCleanupReport{}, err
	}
	rep := admin.MessageCleanupReport{DryRun: dryRun, Days: cfg.MessageRetentionDays}
	if days != nil {
		rep.Days = *days
	}
	per, err := cleanup.DeleteMessagesOlderThan(ctx, b.m.store, rep.Days, dryRun, time.Now())
	rep.PerUser = per
	for _, n := range per {
		rep.Total += n
	}
	b.m.Logger.Info("message cleanup (admin)", "dry_run", dryRun, "days", rep.Days, "removed", rep.Total, "err", err)
	return rep, err
}

func (b *backend) CleanupTokens(ctx context.Context) (int64, error) {
	n, err := b.m.store.CleanupTokens(ctx)
	b.m.Logger.Info("token cleanup (admin)", "removed", n, "err", err)
	return n, err
}

func dbResults(rs []store.DBResult) []admin.DBResult {
	out := make([]admin.DBResult, len(rs))
	for i, r := range rs {
		out[i] = admin.DBResult{Path: r.Path, OK: r.OK, Detail: r.Detail}
	}
	return out
}

func (b *backend) IntegrityCheck(ctx context.Context) ([]admin.DBResult, error) {
	rs, err := b.m.store.IntegrityCheck(ctx)
	return dbResults(rs), err
}

func (b *backend) Backup(ctx context.Context, dir string) (admin.BackupReport, error) {
	rep, err := backup.Run(ctx, b.m.store, dir)
	b.m.Logger.Info("backup", "dir", dir, "databases", len(rep.Databases), "files", rep.Files, "bytes", rep.Bytes, "err", err)
	return admin.BackupReport{Dir: rep.Dir, Databases: rep.Databases, Files: rep.Files, Bytes: rep.Bytes}, err
}

func (b *backend) Checkpoint(ctx context.Context, users []string) ([]admin.DBResult, error) {
	rs, err := b.m.store.Checkpoint(ctx, users)
	return dbResults(rs), err
}

func (b *backend) Vacuum(ctx context.Context, users []string) ([]admin.DBResult, error) {
	rs, err := b.m.store.Vacuum(ctx, users)
	return dbResults(rs), err
}

func duSize(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func (b *backend) Stats(ctx context.Context) (admin.Stats, error) {
	dir := b.m.Config.DataDir
	us, err := b.m.store.Usernames(ctx)
	if err != nil {
		return admin.Stats{}, err
	}
	counts, err := b.m.store.MessageCounts(ctx)
	if err != nil {
		return admin.Stats{}, err
	}
	db := func(name string) int64 {
		return duSize(filepath.Join(dir, name)) + duSize(filepath.Join(dir, name+"-wal")) + duSize(filepath.Join(dir, name+"-shm"))
	}
	return admin.Stats{
		Users: len(us), MessagesPerUser: counts,
		DiskUsers: duSize(filepath.Join(dir, "users")), DiskUploads: duSize(filepath.Join(dir, "uploads")),
		DiskAvatars: duSize(filepath.Join(dir, "avatars")), DiskAuthDB: db("auth.db"), DiskPresenceDB: db("presence.db"),
	}, nil
}

func (b *backend) ListChannels(ctx context.Context) ([]string, error) {
	if _, err := b.m.settings.Reload(); err != nil {
		return nil, chat.Errorf(chat.EConflict, "%v", err)
	}
	return slices.Clone(b.m.settings.Get().Channels), nil
}

func (b *backend) AddChannel(ctx context.Context, name string) error {
	return b.m.settings.AddChannel(name)
}

func (b *backend) RemoveChannel(ctx context.Context, name string) error {
	return b.m.settings.RemoveChannel(name)
}

// onSettingsChange tells every client about public channels that appeared or disappeared:
// a `conversation` event for each new one, `conversation.removed` for each removed one, and
// the whole list in a `channels` event.
func (m *Main) onSettingsChange(s chat.Settings) {
	if m.web == nil {
		return
	}
	m.chanMu.Lock()
	old := m.channels
	m.channels = slices.Clone(s.Channels)
	m.chanMu.Unlock()
	ctx := context.Background()
	users, _ := m.store.Usernames(ctx)
	for _, c := range old {
		if !slices.Contains(s.Channels, c) {
			m.hub.Publish(users, map[string]any{"type": "conversation.removed", "id": chat.ChannelID(c)})
		}
	}
	for _, c := range s.Channels {
		if !slices.Contains(old, c) {
			m.hub.Publish(users, map[string]any{"type": "conversation", "conversation": chat.Conversation{ID: chat.ChannelID(c), Kind: chat.KindChannel, Name: c}})
		}
	}
	m.hub.Publish(users, map[string]any{"type": "channels", "channels": s.Channels})
}
