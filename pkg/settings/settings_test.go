package settings_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
