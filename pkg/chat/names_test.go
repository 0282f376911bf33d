package chat_test

import (
	"strings"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"a1", true}, {"bob.smith", true}, {"x_y-z", true}, {"9lives", true},
		{strings.Repeat("a", 32), true},
		{"a", false}, {strings.Repeat("a", 33), false}, {"Alice", false}, {".alice", false},
		{"-x", false}, {"_x", false}, {"../etc", false}, {"a/b", false}, {"a..b", false},
		{"a b", false}, {"", false}, {"system", false}, {"admin", false}, {"ålice", false},
		{"alice\x00", false}, {"Deleted User", false},
	}
	for _, tt := range tests {
		err := chat.ValidateUsername(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateUsername(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestParseConversationID(t *testing.T) {
	tests := []struct {
		id, kind string
	}{
		{"c:general", chat.KindChannel}, {"p:abcdefgh12345678", chat.KindPrivate}, {"d:alice,bob", chat.KindDM},
		{"d:alice,system", chat.KindDM},
		{"d:bob,alice", ""}, {"d:alice", ""}, {"d:alice,alice", ""}, {"c:../x", ""}, {"x:1", ""},
		{"p:short", ""}, {"c:", ""}, {"", ""}, {"d:alice,,bob", ""}, {"p:ABCDEFGHIJ", ""},
	}
	for _, tt := range tests {
		kind, _, _, err := chat.ParseConversationID(tt.id)
		if kind != tt.kind || (err == nil) != (tt.kind != "") {
			t.Errorf("ParseConversationID(%q) = %q, %v; want kind %q", tt.id, kind, err, tt.kind)
		}
	}
}

func FuzzParseConversationID(f *testing.F) {
	for _, s := range []string{"c:general", "d:alice,bob", "p:abcdefgh", "d:a,b,c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		kind, key, members, err := chat.ParseConversationID(id)
		if err != nil {
			return
		}
		switch kind {
		case chat.KindChannel:
			if chat.ValidateChannelName(key) != nil || chat.ChannelID(key) != id {
				t.Fatalf("accepted channel id %q", id)
			}
		case chat.KindDM:
			canon, err := chat.DMID(members)
			if err != nil || canon != id {
				t.Fatalf("accepted non-canonical DM id %q", id)
			}
		}
		if strings.ContainsAny(id, "/\\\x00") {
			t.Fatalf("accepted id with path characters: %q", id)
		}
	})
}

func FuzzValidateUsername(f *testing.F) {
	f.Add("alice")
	f.Add("../x")
	f.Fuzz(func(t *testing.T, name string) {
		if chat.ValidateUsername(name) != nil {
			return
		}
		if strings.ContainsAny(name, "/\\\x00 ") || strings.HasPrefix(name, ".") || name != strings.ToLower(name) || len(name) > 32 {
			t.Fatalf("accepted unsafe username %q", name)
		}
	})
}

func FuzzSplitAccountID(f *testing.F) {
	for _, s := range []string{"alice", "carol~2", "bob~10", "x~1", "a~02", "~2", "system"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		name, gen, ok := chat.SplitAccountID(id)
		if !ok {
			return
		}
		if chat.AccountID(name, gen) != id {
			t.Fatalf("SplitAccountID(%q) = %q, %d, which makes %q", id, name, gen, chat.AccountID(name, gen))
		}
		if chat.ValidateAccountID(id) == nil && strings.ContainsAny(id, "/\\\x00 ,") {
			t.Fatalf("accepted account id with path or list characters: %q", id)
		}
	})
}
