package chat

//go:generate go run emoji_gen.go

import (
	"strings"
	"sync"
)

// emojiSet holds each emoji of emojiList without its variation selectors (U+FE0F). Built on
// first use, never changed after.
var emojiSet = sync.OnceValue(func() map[string]bool {
	set := map[string]bool{}
	for _, e := range strings.Split(emojiList, "\n") {
		if e != "" {
			set[strings.ReplaceAll(e, "\uFE0F", "")] = true
		}
	}
	return set
})

// IsEmoji reports whether e is one emoji of the set the browser app's picker offers
// (emojibase-data, web/emoji/en-compact.json), skin tones included. Variation selectors do
// not matter: "👍" and the data's "👍️" are both the thumbs up.
func IsEmoji(e string) bool {
	bare := strings.ReplaceAll(e, "\uFE0F", "")
	return bare != "" && emojiSet()[bare]
}

// EmojiCount is how many emoji the set holds.
func EmojiCount() int { return len(emojiSet()) }
