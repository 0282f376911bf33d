package admin

import (
	"context"
	"time"
)

// Backend is what the admin service needs of the daemon. cmd/minimostd wires the concrete
// implementation (store, cleanup, backup, settings); the gRPC Server only translates.
// Methods return *chat.Error for problems the caller can fix (unknown user, invalid name,
// non-empty backup directory); the Server maps their codes to gRPC codes in one place.
type Backend interface {
	Status(ctx context.Context) (StatusInfo, error)
	ListUsers(ctx context.Context) ([]UserInfo, error)
	CreateUser(ctx context.Context, username, password string) error
	// DeleteUser deletes an account; mode is "soft" or "hard" (SPEC §9).
	DeleteUser(ctx context.Context, username, mode string) error
	// ResetPassword stores a single-use token for username valid for expires, sends the user
	// a system DM, and returns the reset URL built on baseURL ("" means the default base).
	ResetPassword(ctx context.Context, username string, expires time.Duration, baseURL string) (url string, expiresTS int64, err error)
	// CleanupFiles removes uploads older than their retention; nil days mean settings.json's.
	CleanupFiles(ctx context.Context, imageDays, fileDays *int, dryRun bool) (FileCleanupReport, error)
	// CleanupMessages removes messages older than days (nil: settings.json's) from every users/*.db.
	CleanupMessages(ctx context.Context, days *int, dryRun bool) (MessageCleanupReport, error)
	// CleanupTokens purges used and expired password-reset tokens and returns how many.
	CleanupTokens(ctx context.Context) (int64, error)
	IntegrityCheck(ctx context.Context) ([]DBResult, error)
	// Backup writes a hot backup of all state into dir (absolute, missing or empty).
	Backup(ctx context.Context, dir string) (BackupReport, error)
	// Checkpoint runs PRAGMA wal_checkpoint on the named users' databases, or on every
	// database (auth.db, presence.db, users/*.db) when users is empty.
	Checkpoint(ctx context.Context, users []string) ([]DBResult, error)
	// Vacuum runs VACUUM likewise.
	Vacuum(ctx context.Context, users []string) ([]DBResult, error)
	Stats(ctx context.Context) (Stats, error)
	ListChannels(ctx context.Context) ([]string, error)
	AddChannel(ctx context.Context, name string) error
	RemoveChannel(ctx context.Context, name string) error
}

// StatusInfo is what `minimostctl status` shows.
type StatusInfo struct {
	Version          string
	Started          time.Time
	DataDir          string
	ListenAddr       string
	ConnectedClients int
	NextCleanup      time.Time
}

// UserInfo is one account in `minimostctl users list`.
type UserInfo struct {
	Username     string
	CreatedTS    int64
	MessageCount int64 // rows with deleted=0 in users/<name>.db
}

// DBResult is the outcome of one operation on one database file.
type DBResult struct {
	Path   string // relative to the data directory, e.g. "users/alice.db"
	OK     bool
	Detail string // "ok", integrity_check output, or the error
}

// FileCleanupReport lists what file cleanup removed, or would remove in a dry run.
type FileCleanupReport struct {
	DryRun    bool
	Removed   []RemovedFile
	Bytes     int64
	ImageDays int
	FileDays  int
}

// RemovedFile is one file of uploads/ that cleanup removed (or would remove).
type RemovedFile struct {
	Name    string // relative to uploads/
	Size    int64
	ModTime time.Time
	Image   bool
}

// MessageCleanupReport counts what message cleanup removed (or would remove) per database.
type MessageCleanupReport struct {
	DryRun  bool
	Days    int
	PerUser map[string]int64 // username -> rows
	Total   int64
}

// BackupReport describes a finished backup.
type BackupReport struct {
	Dir       string
	Databases []string // relative paths written
	Files     int      // other files copied
	Bytes     int64
}

// Stats is what `minimostctl stats` shows.
type Stats struct {
	Users           int
	MessagesPerUser map[string]int64 // deleted=0 rows per users/<name>.db
	DiskUsers       int64            // bytes under users/
	DiskUploads     int64
	DiskAvatars     int64
	DiskAuthDB      int64 // auth.db with its -wal
	DiskPresenceDB  int64
}
