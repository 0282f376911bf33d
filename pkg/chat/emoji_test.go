package chat_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

// TestEmoji_MatchesWebData: the server's set is exactly what the app's picker offers, from the
// same file (run `go generate ./pkg/chat` after updating web/emoji/en-compact.json).
func TestEmoji_MatchesWebData(t *testing.T) {
	b, err := os.ReadFile("../../web/emoji/en-compact.json")
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Group   *int    `json:"group"`
		Unicode string  `json:"unicode"`
		Skins   []entry `json:"skins"`
	}
	var list []entry
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list {
		if e.Group == nil || *e.Group == 2 {
			if chat.IsEmoji(e.Unicode) {
				t.Errorf("%q (a component, not an emoji of its own) is in the set", e.Unicode)
			}
			continue
		}
		for _, u := range append([]entry{e}, e.Skins...) {
			n++
			if !chat.IsEmoji(u.Unicode) {
				t.Errorf("IsEmoji(%q) = false", u.Unicode)
			}
		}
	}
	if chat.EmojiCount() != n {
		t.Errorf("the set holds %d emoji, the data %d: run go generate ./pkg/chat", chat.EmojiCount(), n)
	}
}

func TestIsEmoji(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"👍", true},
		{"👍️", true},
		{"👍🏽", true},
		{"❤️", true},
		{"❤", true},
		{"🏳️‍🌈", true},
		{"🏳‍🌈", true},
		{"🚀", true},
		{"a", false},
		{":wave:", false},
		{"👍👍", false},
		{"", false},
		{"<b>", false},
		{"\uFE0F", false},
		{"🏻", false}, // a skin-tone component alone
	} {
		if got := chat.IsEmoji(tc.in); got != tc.ok {
			t.Errorf("IsEmoji(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}
