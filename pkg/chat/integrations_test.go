package chat_test

import (
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

func TestValidateTrigger(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"deploy", true}, {"a", true}, {"build-2_x", true}, {"", false}, {"/deploy", false}, {"Deploy", false},
		{"-x", false}, {"a b", false}, {"abcdefghijklmnopqrstuvwxyz0123456", false}, {"ünï", false},
	} {
		if err := chat.ValidateTrigger(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidateTrigger(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestValidateAllowedHost(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"ci.internal", true}, {"*.corp.example", true}, {"127.0.0.1", true}, {"::1", true}, {"10.0.0.0/8", true},
		{"fd00::/8", true}, {"", false}, {"*.", false}, {"a*.b", false}, {"10.0.0.0/33", false}, {"host:80", false},
		{"user@host", false}, {".example", false}, {"example.", false},
	} {
		if err := chat.ValidateAllowedHost(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidateAllowedHost(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestMessageProps_RoundTrip(t *testing.T) {
	if chat.EncodeProps(nil) != "" || chat.EncodeProps(&chat.MessageProps{}) != "" || chat.DecodeProps("") != nil || chat.DecodeProps("{bad") != nil {
		t.Error("empty or bad props are not none")
	}
	p := &chat.MessageProps{FromWebhook: true, Username: "CI"}
	if got := chat.DecodeProps(chat.EncodeProps(p)); got == nil || *got != *p {
		t.Errorf("round trip = %+v, want %+v", got, p)
	}
}

func TestValidateICEServers(t *testing.T) {
	s := func(urls ...string) chat.ICEServer { return chat.ICEServer{URLs: urls} }
	turn := chat.ICEServer{URLs: []string{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"}, Username: "mm", Credential: "secret"}
	for _, tc := range []struct {
		name string
		in   []chat.ICEServer
		ok   bool
	}{
		{"none", nil, true},
		{"stun", []chat.ICEServer{s("stun:stun.example.org:3478")}, true},
		{"turn with credentials", []chat.ICEServer{turn}, true},
		{"turn without", []chat.ICEServer{s("turn:turn.example.org")}, false},
		{"http", []chat.ICEServer{s("https://stun.example.org")}, false},
		{"empty urls", []chat.ICEServer{s()}, false},
		{"no host", []chat.ICEServer{s("stun:")}, false},
		{"space", []chat.ICEServer{s("stun:a b")}, false},
	} {
		if err := chat.ValidateICEServers(tc.in); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
