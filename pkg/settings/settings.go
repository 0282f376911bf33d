// Package settings reads, validates and atomically rewrites settings.json (SPEC §3).
package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/chat"
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
	return writeFileAtomic(path, Marshal(s), 0o644)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".settings-*.tmp")
	if err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write settings: %w", err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write settings: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync settings: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace settings: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Manager holds the current settings of a data directory. It creates settings.json with
// every default when it is missing, re-reads the file when it changes on disk (so hand edits
// apply without a restart), and serialises changes made through it.
type Manager struct {
	path string

	mu      sync.Mutex
	cur     chat.Settings
	modTime time.Time
	size    int64
	checked time.Time
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// OnChange, if set, is called (without the lock) after the settings changed.
	OnChange func(chat.Settings)
}

// Open returns a Manager for dir/settings.json, creating the file with defaults if missing.
// An invalid file is an error naming the file, line and reason.
func Open(dir string) (*Manager, error) {
	m := &Manager{path: filepath.Join(dir, FileName), Now: time.Now}
	if _, err := os.Stat(m.path); errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(m.path, Marshal(chat.DefaultSettings()), 0o644); err != nil {
			return nil, err
		}
	}
	s, err := Load(m.path)
	if err != nil {
		return nil, err
	}
	m.cur = s
	m.stamp()
	return m, nil
}

// Path returns the settings file's path.
func (m *Manager) Path() string { return m.path }

func (m *Manager) stamp() {
	if fi, err := os.Stat(m.path); err == nil {
		m.modTime, m.size = fi.ModTime(), fi.Size()
	}
	m.checked = m.Now()
}

// Get returns the current settings. At most once a second it notices a changed file and
// reloads it; an invalid edit keeps the last good settings (and Reload reports the error).
func (m *Manager) Get() chat.Settings {
	m.mu.Lock()
	if m.Now().Sub(m.checked) < time.Second {
		s := m.cur
		m.mu.Unlock()
		return s
	}
	m.checked = m.Now()
	fi, err := os.Stat(m.path)
	changed := err == nil && (!fi.ModTime().Equal(m.modTime) || fi.Size() != m.size)
	m.mu.Unlock()
	if changed {
		m.Reload()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// Reload re-reads the file. On error the previous settings stay in force.
func (m *Manager) Reload() (chat.Settings, error) {
	m.mu.Lock()
	s, err := Load(m.path)
	if err != nil {
		cur := m.cur
		m.stamp()
		m.mu.Unlock()
		return cur, err
	}
	changed := !equal(s, m.cur)
	m.cur = s
	m.stamp()
	cb := m.OnChange
	m.mu.Unlock()
	if changed && cb != nil {
		cb(s)
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
	m.cur = s
	m.stamp()
	cb := m.OnChange
	m.mu.Unlock()
	if cb != nil {
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

func equal(a, b chat.Settings) bool {
	return slices.Equal(a.Channels, b.Channels) && a.ImageRetentionDays == b.ImageRetentionDays &&
		a.FileRetentionDays == b.FileRetentionDays && a.MessageRetentionDays == b.MessageRetentionDays &&
		a.Registration == b.Registration && a.MaxUploadMB == b.MaxUploadMB
}
