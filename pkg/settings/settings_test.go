package settings_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/settings"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		wantLine int
		wantErr  string
	}{
		{"defaults for missing keys", `{}`, 0, ""},
		{"guide example", `{"channels": ["general", "software"], "image_retention_days": 30, "file_retention_days": 30, "message_retention_days": 770}`, 0, ""},
		{"negative", "{\n  \"image_retention_days\": -1\n}", 2, "image_retention_days"},
		{"fraction", "{\n\n  \"message_retention_days\": 1.5\n}", 3, "whole number"},
		{"string number", "{\"file_retention_days\": \"30\"}", 1, "whole number"},
		{"bad json", "{\n  \"channels\": [\"general\",]\n}", 2, "invalid JSON"},
		{"unknown key", "{\n  \"chanels\": []\n}", 2, "unknown key"},
		{"bad channel", `{"channels": ["Bad Name"]}`, 1, "channel"},
		{"duplicate channel", `{"channels": ["a", "a"]}`, 1, "twice"},
		{"registration", `{"registration": "maybe"}`, 1, "registration"},
		{"upload", `{"max_upload_mb": 0}`, 1, "max_upload_mb"},
		{"trailing", `{} {}`, 1, "after"},
		{"empty", ``, 1, "empty"},
		{"limit out of range", "{\n  \"max_sockets_per_user\": 0\n}", 2, "max_sockets_per_user"},
		{"allowed host", "{\n  \"integration_allowed_hosts\": [\"10.0.0.0/99\"]\n}", 2, "CIDR"},
		{"ice servers", "{\n\n  \"ice_servers\": [{\"urls\": [\"turn:t.example.org\"]}]\n}", 3, "username and a credential"},
		{"integrations ok", `{"integration_allowed_hosts": ["ci.internal", "127.0.0.1"], "ice_servers": [{"urls": ["stun:stun.example.org"]}]}`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := settings.Parse("settings.json", []byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			var ce *settings.ConfigError
			if err == nil || !asConfig(err, &ce) {
				t.Fatalf("got %v, want a ConfigError", err)
			}
			if ce.Line != tt.wantLine || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "settings.json:") {
				t.Errorf("got %q (line %d), want line %d mentioning %q", err, ce.Line, tt.wantLine, tt.wantErr)
			}
		})
	}
}

func asConfig(err error, ce **settings.ConfigError) bool {
	e, ok := err.(*settings.ConfigError)
	*ce = e
	return ok
}

func TestManager_CreatesDefaultsAndEdits(t *testing.T) {
	dir := t.TempDir()
	m, err := settings.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := settings.Load(filepath.Join(dir, "settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := chat.DefaultSettings(); got.MessageRetentionDays != want.MessageRetentionDays || len(got.Channels) != 1 || got.Registration != "open" {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	if err := m.AddChannel("design"); err != nil {
		t.Fatal(err)
	}
	if err := m.AddChannel("design"); chat.ErrorCode(err) != chat.EConflict {
		t.Errorf("adding twice: %v, want conflict", err)
	}
	if err := m.AddChannel("Bad"); chat.ErrorCode(err) != chat.EInvalid {
		t.Errorf("bad name: %v, want invalid", err)
	}
	if err := m.RemoveChannel("nope"); chat.ErrorCode(err) != chat.ENotFound {
		t.Errorf("remove missing: %v, want not found", err)
	}
	got, _ = settings.Load(filepath.Join(dir, "settings.json"))
	if strings.Join(got.Channels, ",") != "general,design" {
		t.Errorf("channels on disk = %v", got.Channels)
	}
	// An invalid hand edit keeps the last good settings and refuses changes through Update.
	os.WriteFile(filepath.Join(dir, "settings.json"), []byte(`{"channels": [}`), 0o644)
	if _, err := m.Reload(); err == nil {
		t.Error("reload of invalid file: no error")
	}
	if strings.Join(m.Get().Channels, ",") != "general,design" {
		t.Errorf("after invalid edit Get = %v, want last good", m.Get().Channels)
	}
	if err := m.AddChannel("x"); err == nil {
		t.Error("AddChannel over an invalid file succeeded")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"channels": ["general"], "image_retention_days": 30}`))
	f.Add([]byte("{\n\"x\": 1}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := settings.Parse("settings.json", b)
		if err == nil {
			if verr := settings.Validate(s); verr != nil {
				t.Fatalf("Parse accepted settings that Validate refuses: %v", verr)
			}
			// What we write we can read back.
			if _, err := settings.Parse("settings.json", settings.Marshal(s)); err != nil {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

// syncBuf is a log destination the watcher goroutine writes while the test reads.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// handEdit replaces settings.json as an editor or `mv` does: a new file renamed over it.
func handEdit(t *testing.T, dir, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "settings.json.new")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "settings.json")); err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond for at most 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestManager_Watch(t *testing.T) {
	dir := t.TempDir()
	m, err := settings.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	m.Logger = slog.New(slog.NewTextHandler(logs, nil))
	changes := make(chan chat.Settings, 10)
	m.OnChange = func(s chat.Settings) { changes <- s }
	if err := m.Watch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })

	next := func(what string) chat.Settings {
		t.Helper()
		select {
		case s := <-changes:
			return s
		case <-time.After(10 * time.Second):
			t.Fatalf("no OnChange after %s", what)
			return chat.Settings{}
		}
	}

	t.Run("a hand edit applies without any read", func(t *testing.T) {
		handEdit(t, dir, `{"channels": ["general", "design"]}`)
		if got := next("adding design"); strings.Join(got.Channels, ",") != "general,design" {
			t.Errorf("OnChange channels = %v, want general,design", got.Channels)
		}
		// In place, as `echo > settings.json` does.
		if err := os.WriteFile(filepath.Join(dir, "settings.json"), []byte(`{"channels": ["design"]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := next("an in-place write"); strings.Join(got.Channels, ",") != "design" {
			t.Errorf("OnChange channels = %v, want design", got.Channels)
		}
	})

	t.Run("an invalid edit keeps the last good settings and is logged once", func(t *testing.T) {
		handEdit(t, dir, "{\n  \"image_retention_days\": -1\n}")
		waitUntil(t, "Err to report the invalid file", func() bool { return m.Err() != nil })
		if got, want := m.Err().Error(), filepath.Join(dir, "settings.json")+":2:"; !strings.HasPrefix(got, want) {
			t.Errorf("Err = %q, want it to start with %q", got, want)
		}
		if got := m.Get().Channels; strings.Join(got, ",") != "design" {
			t.Errorf("Get after invalid edit = %v, want the last good [design]", got)
		}
		// The same mistake written again is not logged again.
		handEdit(t, dir, "{\n  \"image_retention_days\": -1\n}\n")
		handEdit(t, dir, `{"channels": ["design", "ops"]}`)
		if got := next("fixing the file"); strings.Join(got.Channels, ",") != "design,ops" {
			t.Errorf("OnChange channels = %v, want design,ops", got.Channels)
		}
		if m.Err() != nil {
			t.Errorf("Err after the fix = %v, want nil", m.Err())
		}
		if n := strings.Count(logs.String(), "settings.json is invalid"); n != 1 {
			t.Errorf("invalid edit logged %d times, want once:\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), "valid again") {
			t.Errorf("the fix was not logged:\n%s", logs.String())
		}
	})

	t.Run("Update does not announce twice", func(t *testing.T) {
		if err := m.AddChannel("x"); err != nil {
			t.Fatal(err)
		}
		next("AddChannel")
		// The watcher re-reads the file it wrote; wait for a later edit's change, which
		// must be the next one.
		handEdit(t, dir, `{"channels": ["y"]}`)
		if got := next("a later edit"); strings.Join(got.Channels, ",") != "y" {
			t.Errorf("after AddChannel the next change = %v, want [y] (AddChannel announced twice?)", got.Channels)
		}
	})
}
