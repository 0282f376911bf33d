package slack

import (
	"strings"
)

// Mrkdwn converts Slack's mrkdwn to MiniMost markdown: *bold* → **bold**, _italic_ stays,
// ~strike~ → ~~strike~~, <url|label> → [label](url), <url> → the URL, <!here> and
// <!channel> → @here and @channel, <@name> → @name, <#C1|name> → #name, and Slack's
// escapes &amp; &lt; &gt; become the characters. Code spans and blocks are left alone.
func Mrkdwn(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		// Code: ``` blocks and ` spans are copied as they are.
		if strings.HasPrefix(s[i:], "```") {
			end := strings.Index(s[i+3:], "```")
			if end >= 0 {
				code := s[i : i+3+end+3]
				// Slack allows ```text``` on one line; markdown needs the fences on their own lines.
				inner := strings.Trim(code[3:len(code)-3], "\n")
				b.WriteString("\n```\n" + unescape(inner) + "\n```\n")
				i += len(code)
				continue
			}
		}
		switch c := s[i]; c {
		case '`':
			if end := strings.IndexByte(s[i+1:], '`'); end >= 0 {
				b.WriteString("`" + unescape(s[i+1:i+1+end]) + "`")
				i += end + 2
				continue
			}
		case '<':
			if end := strings.IndexByte(s[i+1:], '>'); end >= 0 && !strings.Contains(s[i+1:i+1+end], "\n") {
				b.WriteString(angle(s[i+1 : i+1+end]))
				i += end + 2
				continue
			}
		case '*', '~':
			if end, ok := emphasis(s, i); ok {
				mark := "**"
				if c == '~' {
					mark = "~~"
				}
				b.WriteString(mark + Mrkdwn(s[i+1:end]) + mark)
				i = end + 1
				continue
			}
		case '&':
			if r, n := entity(s[i:]); n > 0 {
				b.WriteString(r)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// emphasis finds the closing mark of a Slack *bold* or ~strike~ opened at s[i]: on the same
// line, with no space just inside either mark, and the opening mark not inside a word.
func emphasis(s string, i int) (end int, ok bool) {
	c := s[i]
	if i > 0 && isWordByte(s[i-1]) || i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == c {
		return 0, false
	}
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\n':
			return 0, false
		case c:
			if s[j-1] != ' ' && (j+1 == len(s) || !isWordByte(s[j+1])) {
				return j, true
			}
		}
	}
	return 0, false
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80
}

// angle converts the inside of Slack's <...>: links, special mentions, user and channel
// references.
func angle(in string) string {
	target, label, hasLabel := strings.Cut(in, "|")
	target, label = unescape(target), unescape(label)
	switch {
	case strings.HasPrefix(target, "!"):
		switch name := strings.TrimPrefix(target, "!"); {
		case name == "here":
			return "@here"
		case name == "channel", name == "everyone":
			return "@channel"
		case hasLabel:
			return escapeMarkdown(label)
		default:
			return escapeMarkdown(name)
		}
	case strings.HasPrefix(target, "@"):
		if hasLabel && label != "" {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return "@" + strings.ToLower(strings.TrimPrefix(target, "@"))
	case strings.HasPrefix(target, "#"):
		if hasLabel && label != "" {
			return "#" + escapeMarkdown(label)
		}
		return escapeMarkdown(target)
	}
	if !hasLabel || label == "" {
		label = target
	}
	return "[" + escapeMarkdown(label) + "](<" + strings.NewReplacer("<", "%3C", ">", "%3E").Replace(target) + ">)"
}

func entity(s string) (string, int) {
	for _, e := range []struct{ from, to string }{{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}} {
		if strings.HasPrefix(s, e.from) {
			if e.to == "<" || e.to == ">" {
				// A literal < or > must not start markup once it is markdown.
				return "\\" + e.to, len(e.from)
			}
			return e.to, len(e.from)
		}
	}
	return "", 0
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
}

// escapeMarkdown makes plain text literal in markdown: every ASCII punctuation character is
// backslash-escaped.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && strings.IndexByte("\\`*_{}[]()<>#+-.!|~&@:", c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
