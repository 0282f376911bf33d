package admin

import (
	"context"
	"time"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/backup"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/cleanup"
)

// Backend is what the admin service needs of the daemon: *app.Admin, the application
// layer's administrator use-cases; the gRPC Server only translates.
// Methods return *chat.Error for problems the caller can fix (unknown user, invalid name,
// non-empty backup directory); the Server maps their codes to gRPC codes in one place.
type Backend interface {
	Status(ctx context.Context) (StatusInfo, error)
	ListUsers(ctx context.Context) ([]UserInfo, error)
	CreateUser(ctx context.Context, username, password string) error
	// DeleteUser deletes an account; mode is "soft" or "hard".
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
	// Backup writes a hot backup of all state into dir (absolute, missing or empty), through
	// dir.partial, with a manifest. With since (absolute; "" for a full backup) the files
	// unchanged since that previous backup are hard-linked from it. It stops when ctx ends.
	// Long operations report their progress to the progress.Func in ctx, if any.
	Backup(ctx context.Context, dir, since string) (BackupReport, error)
	// VerifyBackup checks a backup directory against its manifest and runs integrity_check
	// on every database in it.
	VerifyBackup(ctx context.Context, dir string) (BackupVerifyReport, error)
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

// The result types are the application layer's; these names keep the service's code short.
type (
	StatusInfo           = app.StatusInfo
	UserInfo             = app.UserInfo
	DBResult             = chat.DBResult
	FileCleanupReport    = app.FileCleanupReport
	RemovedFile          = cleanup.RemovedFile
	MessageCleanupReport = app.MessageCleanupReport
	BackupReport         = backup.Report
	BackupVerifyReport   = backup.VerifyReport
	Stats                = app.Stats
)

var _ Backend = (*app.Admin)(nil)
