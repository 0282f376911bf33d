package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// sessionsVersion is the format of a sessions file; another version is refused.
const sessionsVersion = 1

// sessionsFile is what -data keeps beside the data directory: the session cookies of the
// accounts it logged in, so that a later run reuses them instead of hashing every password
// again (the daemon keeps its sessions across restarts: secret.key stays in the directory).
type sessionsFile struct {
	Version int    `json:"version"`
	Prefix  string `json:"prefix"`
	// Users maps a username to its cookies (name → value): the session and the CSRF token.
	Users map[string]map[string]string `json:"users"`
}

// sessionsPath is DIR.sessions.json for the data directory DIR: beside it, not inside it,
// so that nothing the daemon owns is touched.
func sessionsPath(dataDir string) string {
	return filepath.Clean(dataDir) + ".sessions.json"
}

// loadSessions reads a sessions file. A missing file is an empty set; a file that does not
// parse, is of another version or prefix, or holds a name or cookie that is not ours is an
// error, and nothing is taken from it.
func loadSessions(path, prefix string) (*sessionsFile, error) {
	empty := &sessionsFile{Version: sessionsVersion, Prefix: strings.ToLower(prefix), Users: map[string]map[string]string{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return empty, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sessions file: %w", err)
	}
	var f sessionsFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("sessions file %s: %w (remove it to log in again)", path, err)
	}
	if err := f.check(prefix); err != nil {
		return nil, fmt.Errorf("sessions file %s: %w (remove it to log in again)", path, err)
	}
	if f.Users == nil {
		f.Users = map[string]map[string]string{}
	}
	return &f, nil
}

// check refuses a file that is not one this program wrote for prefix.
func (f *sessionsFile) check(prefix string) error {
	if f.Version != sessionsVersion {
		return fmt.Errorf("version %d, want %d", f.Version, sessionsVersion)
	}
	if f.Prefix != strings.ToLower(prefix) {
		return fmt.Errorf("written for -prefix %q, this run has %q", f.Prefix, prefix)
	}
	for name, cookies := range f.Users {
		if !strings.HasPrefix(name, f.Prefix) || len(name) < len(f.Prefix)+4 || strings.Trim(name[len(f.Prefix):], "0123456789") != "" {
			return fmt.Errorf("user %q is not one of %s0000…", name, f.Prefix)
		}
		if cookies[sessionCookieName] == "" {
			return fmt.Errorf("user %q has no %s cookie", name, sessionCookieName)
		}
		for k, v := range cookies {
			c := &http.Cookie{Name: k, Value: v}
			if c.Valid() != nil || (k != sessionCookieName && k != csrfCookieName) {
				return fmt.Errorf("user %q: cookie %q is not a session or CSRF cookie", name, k)
			}
		}
	}
	return nil
}

// The daemon's cookie names.
const (
	sessionCookieName = "mm_session"
	csrfCookieName    = "mm_csrf"
)

// save writes the file with mode 0600 (a session cookie is a password), through a temporary
// file renamed over the old one so that an interrupted run leaves the previous file whole.
func (f *sessionsFile) save(path string) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save sessions: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save sessions: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save sessions: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save sessions: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save sessions: %w", err)
	}
	return nil
}
