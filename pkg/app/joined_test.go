package app_test

import (
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

// TestRegister_JoinedLine: a person who registers is announced once, by the system, in the
// first public channel ("carol joined"), to every account (itself included); not in the
// other public channels. Accounts an administrator creates and bots are not announced.
func TestRegister_JoinedLine(t *testing.T) {
	e := newEnv(t)
	e.settings.set(func(s *chat.Settings) {
		s.Channels = []string{"general", "random"}
		s.Registration = "open"
	})
	alice := e.mustAccount(t, "alice")
	joined := func() []published {
		t.Helper()
		var out []published
		for _, p := range e.rec.take() {
			if _, ok := p.ev.(chat.MessageNew); ok {
				out = append(out, p)
			}
		}
		return out
	}
	if lines := joined(); len(lines) != 0 {
		t.Errorf("an account the administrator created was announced: %+v", lines)
	}
	u, err := e.app.Register(e.ctx, "carol", "carol-password")
	if err != nil {
		t.Fatal(err)
	}
	carol := u.Account()
	lines := joined()
	if len(lines) != 1 || len(lines[0].to) != 2 {
		t.Fatalf("joined lines published %+v, want one, to alice and carol", lines)
	}
	if m := lines[0].ev.(chat.MessageNew).Message; m.Sender != chat.SystemUser || m.Body != "carol joined" || m.Conversation != "c:general" {
		t.Errorf("message.new %+v, want the system's \"carol joined\" in c:general", m)
	}
	for _, who := range []chat.Account{alice, carol} {
		h := must2(e.app.History(e.ctx, who, "c:general", "", 50))
		if len(h) != 1 || h[0].Sender != chat.SystemUser || h[0].Body != "carol joined" {
			t.Errorf("%s's #general = %+v, want the system's \"carol joined\"", who.Name, h)
		}
		if h := must2(e.app.History(e.ctx, who, "c:random", "", 50)); len(h) != 0 {
			t.Errorf("%s's #random has %d messages, want none (one line, in the first channel)", who.Name, len(h))
		}
	}

	if _, err := e.app.CreateBot(e.ctx, "deploybot", "Deploys"); err != nil {
		t.Fatal(err)
	}
	if lines := joined(); len(lines) != 0 {
		t.Errorf("creating a bot posted %+v", lines)
	}
	// Refused registration: nothing posted.
	if _, err := e.app.Register(e.ctx, "carol", "another-password"); codeOf(err) != "conflict" {
		t.Errorf("registering a taken name = %v", err)
	}
	if lines := joined(); len(lines) != 0 {
		t.Errorf("a refused registration posted %+v", lines)
	}
}
