// Package cleanup removes what has outlived its retention (the guide's "Automatic
// Cleanup"): attachments in uploads/ by mtime, with separate retention for images and other
// files, and messages in every users/*.db by send time. A dry run reports exactly what a real
// run would remove. Scheduler runs both in the background, re-reading settings.json each time.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/progress"
	"github.com/minimost/minimost/pkg/settings"
)

// RemovedFile is one file that cleanup removed (or would remove).
type RemovedFile struct {
	Name    string // relative to the uploads folder
	Size    int64
	ModTime time.Time
	Image   bool
}

// DeleteFilesOlderThan removes regular files under dir whose mtime is more than imageDays
// (images) or fileDays (everything else) before now. 0 days leaves that kind alone. With
// dryRun nothing is removed. This is the guide's delete_files_older_than. It reports each
// file it looks at as progress (phase "files") and stops when ctx ends.
func DeleteFilesOlderThan(ctx context.Context, dir string, imageDays, fileDays int, dryRun bool, now time.Time) ([]RemovedFile, error) {
	if imageDays < 0 || fileDays < 0 {
		return nil, chat.Errorf(chat.EInvalid, "retention days must be 0 (off) or positive")
	}
	var out []RemovedFile
	pr := progress.Start(ctx, "files", 0)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		var size int64
		defer func() { pr.Add(d.Name(), size) }()
		img := chat.IsImageName(d.Name())
		days := fileDays
		if img {
			days = imageDays
		}
		if days == 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		size = fi.Size()
		if !fi.ModTime().Before(now.Add(-time.Duration(days) * 24 * time.Hour)) {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if !dryRun {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", rel, err)
			}
		}
		out = append(out, RemovedFile{Name: rel, Size: fi.Size(), ModTime: fi.ModTime(), Image: img})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// MessageStore is what message cleanup needs of the store.
type MessageStore interface {
	// Dir is the data directory (uploads/ is inside it).
	Dir() string
	// DeleteMessagesOlderThan removes (or with dryRun counts) the messages sent before cutoff
	// from every users/*.db, per user.
	DeleteMessagesOlderThan(ctx context.Context, cutoff time.Time, dryRun bool) (map[string]int64, error)
}

// DeleteMessagesOlderThan removes messages sent more than days before now from every
// users/*.db (in small batches), or counts them with dryRun. 0 days does nothing. This is the
// guide's delete_messages_older_than.
func DeleteMessagesOlderThan(ctx context.Context, st MessageStore, days int, dryRun bool, now time.Time) (map[string]int64, error) {
	if days < 0 {
		return nil, chat.Errorf(chat.EInvalid, "retention days must be 0 (off) or positive")
	}
	if days == 0 {
		return map[string]int64{}, nil
	}
	return st.DeleteMessagesOlderThan(ctx, now.Add(-time.Duration(days)*24*time.Hour), dryRun)
}

// Scheduler runs file and message cleanup First after Start and then every Every.
type Scheduler struct {
	Store    MessageStore
	Settings *settings.Manager
	Logger   *slog.Logger
	Now      func() time.Time
	First    time.Duration
	Every    time.Duration

	mu   sync.Mutex
	next time.Time
	stop chan struct{}
	done chan struct{}
}

// Start begins the schedule.
func (s *Scheduler) Start() {
	if s.Now == nil {
		s.Now = time.Now
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.setNext(s.Now().Add(s.First))
	go func() {
		defer close(s.done)
		t := time.NewTimer(s.First)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			s.RunOnce(context.Background())
			s.setNext(s.Now().Add(s.Every))
			t.Reset(s.Every)
		}
	}()
}

func (s *Scheduler) setNext(t time.Time) {
	s.mu.Lock()
	s.next = t
	s.mu.Unlock()
}

// Next returns when the next run is due.
func (s *Scheduler) Next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// Stop ends the schedule, waiting for a run in progress.
func (s *Scheduler) Stop() {
	if s.stop == nil {
		return
	}
	close(s.stop)
	<-s.done
	s.stop = nil // a second Stop does nothing
}

// RunOnce re-reads settings.json and runs both cleanups. An invalid settings.json skips the
// run: nothing is deleted on settings nobody meant.
func (s *Scheduler) RunOnce(ctx context.Context) {
	cfg, err := settings.Load(s.Settings.Path())
	if err != nil {
		s.Logger.Error("cleanup skipped: settings.json is invalid", "err", err)
		return
	}
	now := s.Now()
	files, err := DeleteFilesOlderThan(ctx, filepath.Join(s.Store.Dir(), "uploads"), cfg.ImageRetentionDays, cfg.FileRetentionDays, false, now)
	var bytes int64
	for _, f := range files {
		bytes += f.Size
		s.Logger.Info("file cleanup removed upload", "file", f.Name, "size", f.Size,
			"mtime", f.ModTime.UTC().Format(time.RFC3339), "image", f.Image)
	}
	if err != nil {
		s.Logger.Error("file cleanup failed", "err", err, "removed", len(files))
	} else {
		s.Logger.Info("file cleanup", "removed", len(files), "bytes", bytes,
			"image_retention_days", cfg.ImageRetentionDays, "file_retention_days", cfg.FileRetentionDays)
	}
	per, err := DeleteMessagesOlderThan(ctx, s.Store, cfg.MessageRetentionDays, false, now)
	var total int64
	users := make([]string, 0, len(per))
	for u, n := range per {
		total += n
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		s.Logger.Info("message cleanup removed messages", "user", u, "removed", per[u])
	}
	if err != nil {
		s.Logger.Error("message cleanup failed", "err", err, "removed", total)
	} else {
		s.Logger.Info("message cleanup", "removed", total, "databases", len(per), "message_retention_days", cfg.MessageRetentionDays)
	}
}
