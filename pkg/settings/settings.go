// Package settings reads, validates and atomically rewrites settings.json: the public channels,
// retention days, registration, the upload limit, the resource limits, the integrations'
// allowed hosts and the calls' STUN/TURN servers, each with a default. Manager.Watch
// applies hand edits of the file as soon as they are written (fsnotify), keeping the last
// valid settings in force while the file is invalid.
package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
)

// FileName is the settings file's name inside the data directory.
const FileName = "settings.json"

// ConfigError is an invalid settings.json: the file, the line and the reason.
type ConfigError struct {
	Path   string
	Line   int
	Reason string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Reason)
}

// Parse decodes and validates settings.json's content. Keys that are missing take their
// defaults; unknown keys are an error (a misspelt key would otherwise be silently ignored).
func Parse(path string, data []byte) (chat.Settings, error) {
	s := chat.DefaultSettings()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, decodeError(path, data, err)
	}
	if dec.More() {
		return s, &ConfigError{Path: path, Line: lineOf(data, int(dec.InputOffset())), Reason: "unexpected data after the JSON object"}
	}
	if err := Validate(s); err != nil {
		ce := &ConfigError{Path: path, Reason: err.Error()}
		var ke *keyError
		if errors.As(err, &ke) {
			ce.Line = lineOfKey(data, ke.key)
		}
		return s, ce
	}
	return s, nil
}

type keyError struct {
	key string
	msg string
}

func (e *keyError) Error() string { return e.msg }

// Validate checks the values of s.
func Validate(s chat.Settings) error {
	for _, k := range []struct {
		name string
		v    int
	}{
		{"image_retention_days", s.ImageRetentionDays},
		{"file_retention_days", s.FileRetentionDays},
		{"message_retention_days", s.MessageRetentionDays},
	} {
		if k.v < 0 {
			return &keyError{k.name, fmt.Sprintf("%q must be 0 (off) or a positive number of days, not %d", k.name, k.v)}
		}
	}
	if s.MaxUploadMB < 1 || s.MaxUploadMB > 10240 {
		return &keyError{"max_upload_mb", fmt.Sprintf(`"max_upload_mb" must be between 1 and 10240, not %d`, s.MaxUploadMB)}
	}
	if s.Registration != "open" && s.Registration != "closed" {
		return &keyError{"registration", fmt.Sprintf(`"registration" must be "open" or "closed", not %q`, s.Registration)}
	}
	if s.Channels == nil {
		return &keyError{"channels", `"channels" must be a list of channel names`}
	}
	seen := map[string]bool{}
	for _, c := range s.Channels {
		if err := chat.ValidateChannelName(c); err != nil {
			return &keyError{"channels", fmt.Sprintf(`"channels": %v`, err)}
		}
		if seen[c] {
			return &keyError{"channels", fmt.Sprintf(`"channels": %q is listed twice`, c)}
		}
		seen[c] = true
	}
	if key, reason := s.Limits.Validate(); key != "" {
		return &keyError{key, reason}
	}
	if err := chat.ValidateICEServers(s.ICEServers); err != nil {
		return &keyError{"ice_servers", fmt.Sprintf(`"ice_servers": %v`, chat.ErrorMessage(err))}
	}
	for _, h := range s.IntegrationAllowedHosts {
		if err := chat.ValidateAllowedHost(h); err != nil {
			return &keyError{"integration_allowed_hosts", fmt.Sprintf(`"integration_allowed_hosts": %v`, chat.ErrorMessage(err))}
		}
	}
	return nil
}

func decodeError(path string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &ConfigError{Path: path, Line: lineOf(data, int(se.Offset)), Reason: "invalid JSON: " + se.Error()}
	case errors.As(err, &te):
		want := te.Type.String()
		switch te.Type.String() {
		case "int":
			want = "a whole number"
		case "string":
			want = "a string"
		case "[]string":
			want = "a list of strings"
		}
		return &ConfigError{Path: path, Line: lineOf(data, int(te.Offset)), Reason: fmt.Sprintf("%q must be %s, not %s", te.Field, want, te.Value)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ConfigError{Path: path, Line: lineOf(data, len(data)), Reason: "file is empty or truncated"}
	}
	// Unknown fields come back as a plain error: `json: unknown field "x"`.
	msg := err.Error()
	line := 0
	var field string
	if _, scanErr := fmt.Sscanf(msg, "json: unknown field %q", &field); scanErr == nil {
		line = lineOfKey(data, field)
		msg = fmt.Sprintf("unknown key %q", field)
	}
	return &ConfigError{Path: path, Line: line, Reason: msg}
}

func lineOf(data []byte, offset int) int {
	if offset > len(data) {
		offset = len(data)
	}
	if offset < 0 {
		offset = 0
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

func lineOfKey(data []byte, key string) int {
	i := bytes.Index(data, []byte(`"`+key+`"`))
	if i < 0 {
		return 0
	}
	return lineOf(data, i)
}

// Load reads and validates the settings file at path.
func Load(path string) (chat.Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return chat.DefaultSettings(), fmt.Errorf("read settings: %w", err)
	}
	return Parse(path, data)
}

// Marshal renders s as settings.json text: one key per line, so that diffs and the error
// line numbers are readable.
func Marshal(s chat.Settings) []byte {
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n')
}

// WriteAtomic writes s to path through a synced temporary file and a rename, so a crash
// leaves either the old or the new file, never a torn one.
func WriteAtomic(path string, s chat.Settings) error {
	if err := Validate(s); err != nil {
		return chat.Errorf(chat.EInvalid, "%s", err.Error())
	}
	return writeFileAtomic(path, Marshal(s), 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := fsutil.WriteAtomic(path, data, mode); err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	return nil
}

// Manager holds the current settings of a data directory. It creates settings.json with
// every default when it is missing, applies hand edits of the file as soon as they are
// written (Watch), and serialises changes made through it.
type Manager struct {
	path string

	mu      sync.Mutex
	cur     chat.Settings
	lastErr error // why the file on disk is not in force; nil when it is
	logged  string

	watcher *fsnotify.Watcher
	done    chan struct{}

	// OnChange, if set, is called (without the lock) after the settings changed.
	OnChange func(chat.Settings)
	// Logger receives what the watcher has to report: an invalid edit (once per distinct
	// error) and the file becoming valid again. Nil discards.
	Logger *slog.Logger
	// Debounce is how long the watcher waits after the last change event before it reads
	// the file, so that an editor's several writes are read once (default 50 ms).
	Debounce time.Duration
}

// Open returns a Manager for dir/settings.json, creating the file with defaults if missing.
// An invalid file is an error naming the file, line and reason.
func Open(dir string) (*Manager, error) {
	m := &Manager{path: filepath.Join(dir, FileName)}
	if _, err := os.Stat(m.path); errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(m.path, Marshal(chat.DefaultSettings()), 0o600); err != nil {
			return nil, err
		}
	}
	s, err := Load(m.path)
	if err != nil {
		return nil, err
	}
	m.cur = s
	return m, nil
}

// Path returns the settings file's path.
func (m *Manager) Path() string { return m.path }

// Get returns the settings in force: the last valid content of the file.
func (m *Manager) Get() chat.Settings {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// Err returns why the file on disk is not in force (a *ConfigError, or a read error), or
// nil when it is valid. It is as fresh as the last Reload, which the watcher runs on every
// change of the file.
func (m *Manager) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastErr
}

// Watch starts watching the settings file with fsnotify and reloads it whenever it is
// written, replaced (an editor's or mv's rename), or removed. The directory is watched, not
// the file, so that a replaced file keeps being watched. Close stops it.
func (m *Manager) Watch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch settings: %w", err)
	}
	if err := w.Add(filepath.Dir(m.path)); err != nil {
		w.Close()
		return fmt.Errorf("watch settings: %w", err)
	}
	m.watcher, m.done = w, make(chan struct{})
	go m.watch(w)
	// A change between Open and Add would otherwise go unnoticed until the next one.
	m.Reload()
	return nil
}

func (m *Manager) watch(w *fsnotify.Watcher) {
	defer close(m.done)
	debounce := m.Debounce
	if debounce <= 0 {
		debounce = 50 * time.Millisecond
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	name := filepath.Base(m.path)
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				timer.Stop()
				return
			}
			if filepath.Base(ev.Name) == name {
				timer.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				timer.Stop()
				return
			}
			m.logger().Warn("settings watcher", "err", err)
			// Events may have been lost (queue overflow): read the file to be sure.
			timer.Reset(debounce)
		case <-timer.C:
			m.Reload()
		}
	}
}

// Close stops the watcher, if any.
func (m *Manager) Close() error {
	if m.watcher == nil {
		return nil
	}
	err := m.watcher.Close()
	<-m.done
	m.watcher = nil
	return err
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

// Reload re-reads the file. On error the previous settings stay in force; the error is
// logged once (until the file changes to another error or becomes valid) and kept for Err.
func (m *Manager) Reload() (chat.Settings, error) {
	m.mu.Lock()
	s, err := Load(m.path)
	if err != nil {
		cur := m.cur
		m.lastErr = err
		first := err.Error() != m.logged
		m.logged = err.Error()
		m.mu.Unlock()
		if first {
			m.logger().Error("settings.json is invalid; the last valid settings stay in force", "err", err.Error())
		}
		return cur, err
	}
	changed := !equal(s, m.cur)
	wasBad := m.lastErr != nil
	m.cur, m.lastErr, m.logged = s, nil, ""
	cb := m.OnChange
	m.mu.Unlock()
	if wasBad {
		m.logger().Info("settings.json is valid again", "path", m.path)
	}
	if changed {
		m.logger().Info("settings.json applied", "channels", s.Channels, "registration", s.Registration)
		if cb != nil {
			cb(s)
		}
	}
	return s, nil
}

// Update applies fn to a fresh read of the file and writes the result atomically. fn returns
// a *chat.Error to refuse the change; nothing is written then.
func (m *Manager) Update(fn func(*chat.Settings) error) (chat.Settings, error) {
	m.mu.Lock()
	s, err := Load(m.path)
	if err != nil {
		m.mu.Unlock()
		return m.cur, chat.Errorf(chat.EConflict, "settings.json is invalid, fix it first: %v", err)
	}
	if err := fn(&s); err != nil {
		m.mu.Unlock()
		return m.cur, err
	}
	if err := WriteAtomic(m.path, s); err != nil {
		m.mu.Unlock()
		return m.cur, err
	}
	changed := !equal(s, m.cur)
	m.cur, m.lastErr, m.logged = s, nil, ""
	cb := m.OnChange
	m.mu.Unlock()
	// The watcher reads the file again after this write and finds nothing new.
	if changed && cb != nil {
		cb(s)
	}
	return s, nil
}

// AddChannel adds a public channel.
func (m *Manager) AddChannel(name string) error {
	if err := chat.ValidateChannelName(name); err != nil {
		return err
	}
	_, err := m.Update(func(s *chat.Settings) error {
		if slices.Contains(s.Channels, name) {
			return chat.Errorf(chat.EConflict, "channel %q already exists", name)
		}
		s.Channels = append(s.Channels, name)
		return nil
	})
	return err
}

// RemoveChannel removes a public channel; its messages stay in the databases.
func (m *Manager) RemoveChannel(name string) error {
	_, err := m.Update(func(s *chat.Settings) error {
		i := slices.Index(s.Channels, name)
		if i < 0 {
			return chat.Errorf(chat.ENotFound, "no channel %q", name)
		}
		s.Channels = slices.Delete(s.Channels, i, i+1)
		return nil
	})
	return err
}

// equal compares every key, so a key added to chat.Settings is never missed.
func equal(a, b chat.Settings) bool { return bytes.Equal(Marshal(a), Marshal(b)) }
