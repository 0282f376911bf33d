package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// validConfig is a configuration check accepts: a spawned channel run.
func validConfig() config {
	return config{URL: "https://127.0.0.1:5000", Users: 100, Senders: 10, Rate: 5, Duration: 20 * time.Second,
		Scenario: "channel", Prefix: "bench", Spawn: true, Connectors: 8, Runs: 1, Ceiling: true}
}

func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*config)
		want string // "" when accepted, else part of the error
	}{
		{"valid", func(*config) {}, ""},
		{"50,000 users", func(c *config) { c.Users = 50000 }, ""},
		{"too many users", func(c *config) { c.Users = 50001 }, "-users must be at most 50000"},
		{"data with spawn", func(c *config) { c.DataDir = "/tmp/x" }, ""},
		{"data without spawn", func(c *config) { c.DataDir = "/tmp/x"; c.Spawn = false; c.Socket = "/tmp/s" }, "-data needs -spawn"},
		{"runs 0", func(c *config) { c.Runs = 0 }, "-runs must be between 1 and 100"},
		{"runs 101", func(c *config) { c.Runs = 101 }, "-runs must be between 1 and 100"},
		{"restart storm", func(c *config) { c.Scenario = "storm"; c.Restart = true }, ""},
		{"restart not storm", func(c *config) { c.Scenario = "idle"; c.Restart = true }, "-restart needs -scenario storm and -spawn"},
		{"restart without spawn", func(c *config) {
			c.Scenario, c.Restart, c.Spawn, c.Socket = "storm", true, false, "/tmp/s"
		}, "-restart needs -scenario storm and -spawn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.edit(&c)
			err := c.check()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestUsernameBeyond9999(t *testing.T) {
	if got := username("Bench", 7); got != "bench0007" {
		t.Errorf("username(7) = %q", got)
	}
	if got := username("bench", 49999); got != "bench49999" {
		t.Errorf("username(49999) = %q", got)
	}
}

func TestFilesWanted(t *testing.T) {
	if got := filesWanted(10000, true); got <= 10000+3*2048 {
		t.Errorf("a spawned daemon with 10,000 sockets: %d files, want more than its sockets and cached databases", got)
	}
	if got := filesWanted(10000, false); got <= 10000 || got >= filesWanted(10000, true) {
		t.Errorf("10,000 clients alone: %d files", got)
	}
}

func TestWatchList(t *testing.T) {
	if w := watchList("bench", 0, 10, -1); w != nil {
		t.Errorf("-watch -1: %q, want no watch", *w)
	}
	if w := watchList("bench", 8, 10, 3); w == nil || *w != "bench0009,bench0000,bench0001" {
		t.Errorf("-watch 3 for client 8 of 10: %v", w)
	}
	if w := watchList("bench", 0, 10, 0); w == nil || *w != "" {
		t.Errorf("-watch 0: %v, want an empty watch (nobody)", w)
	}
	if w := watchList("bench", 1, 2, 5); w == nil || *w != "bench0000" {
		t.Errorf("-watch 5 of 2 users: %v, want the other one", w)
	}
}

// A private channel of an earlier run is used again only when both its name and its
// members are those wanted.
func TestFindPrivate_NameAndMembers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/conversations":
			io.WriteString(w, `{"conversations": [{"id": "c:general", "kind": "channel", "name": "general"},
				{"id": "p:aaa", "kind": "private", "name": "bench-2x3-000"},
				{"id": "p:bbb", "kind": "private", "name": "bench-2x3-001"},
				{"id": "p:ccc", "kind": "private", "name": "bench-2x3-001"}]}`)
		case "/api/conversations/p:aaa/members":
			io.WriteString(w, `{"members": ["b0", "b1", "b9"]}`)
		case "/api/conversations/p:bbb/members":
			io.WriteString(w, `{"members": ["b4"]}`)
		case "/api/conversations/p:ccc/members":
			io.WriteString(w, `{"members": ["b5", "b3", "b4"]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	c := newClient("b0", base, srv.Client().Transport)
	for _, tc := range []struct {
		name    string
		members []string
		want    string
	}{
		{"bench-2x3-000", []string{"b0", "b1", "b2"}, ""}, // other members
		{"bench-2x3-001", []string{"b3", "b4", "b5"}, "p:ccc"},
		{"bench-2x3-002", []string{"b0", "b1", "b9"}, ""}, // no such name
	} {
		got, err := findPrivate(context.Background(), c, tc.name, tc.members)
		if err != nil || got != tc.want {
			t.Errorf("findPrivate(%s, %v) = %q, %v; want %q", tc.name, tc.members, got, err, tc.want)
		}
	}
}
