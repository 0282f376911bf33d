package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSessionsPath_BesideTheDataDirectory(t *testing.T) {
	if got := sessionsPath("/tmp/bench20k/"); got != "/tmp/bench20k.sessions.json" {
		t.Errorf("sessionsPath = %q", got)
	}
}

func TestSessions_RoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.sessions.json")
	f, err := loadSessions(path, "bench")
	if err != nil || len(f.Users) != 0 {
		t.Fatalf("missing file: %v, %d users; want an empty set", err, len(f.Users))
	}
	f.Users["bench0000"] = map[string]string{"mm_session": "abc.def", "mm_csrf": "XYZ.123"}
	f.Users["bench12345"] = map[string]string{"mm_session": "ghi"}
	if err := f.save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	g, err := loadSessions(path, "Bench")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Users) != 2 || g.Users["bench0000"]["mm_csrf"] != "XYZ.123" || g.Users["bench12345"]["mm_session"] != "ghi" {
		t.Errorf("read back %+v", g.Users)
	}
	// Nothing but the file itself is left in the directory (no temporary file).
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the directory, want 1", len(entries))
	}
}

func TestSessions_RefusesABadFile(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"not json", `{"version": 1,`, "unexpected EOF"},
		{"other version", `{"version": 2, "prefix": "bench", "users": {}}`, "version 2"},
		{"other prefix", `{"version": 1, "prefix": "load", "users": {}}`, "-prefix"},
		{"unknown field", `{"version": 1, "prefix": "bench", "users": {}, "extra": 1}`, "unknown field"},
		{"not our user", `{"version": 1, "prefix": "bench", "users": {"alice": {"mm_session": "x"}}}`, `"alice"`},
		{"no session", `{"version": 1, "prefix": "bench", "users": {"bench0001": {"mm_csrf": "x"}}}`, "no mm_session"},
		{"other cookie", `{"version": 1, "prefix": "bench", "users": {"bench0001": {"mm_session": "x", "other": "y"}}}`, `"other"`},
		{"bad cookie value", `{"version": 1, "prefix": "bench", "users": {"bench0001": {"mm_session": "a;b"}}}`, "mm_session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d.sessions.json")
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadSessions(path, "bench")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
			if b, _ := os.ReadFile(path); string(b) != tc.body {
				t.Error("the refused file was changed")
			}
		})
	}
}

func TestClientCookies_RoundTrip(t *testing.T) {
	base, _ := url.Parse("https://127.0.0.1:5000")
	a := newClient("bench0000", base, nil)
	a.restore(map[string]string{"mm_session": "s1", "mm_csrf": "c1"})
	b := newClient("bench0000", base, nil)
	b.restore(a.cookies())
	if got := b.cookies(); got["mm_session"] != "s1" || got["mm_csrf"] != "c1" || len(got) != 2 {
		t.Errorf("cookies = %v", got)
	}
}
