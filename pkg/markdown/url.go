package markdown

import (
	"bytes"

	"github.com/yuin/goldmark/util"
)

var allowedSchemes = [][]byte{[]byte("http://"), []byte("https://"), []byte("mailto:")}

// safeURL returns the percent-escaped form of a link destination if it has
// an explicit http, https or mailto scheme, and ok == false otherwise.
// Relative and protocol-relative ("//host") URLs are refused too.
//
// When resolve is true, backslash escapes and character references are
// resolved first, exactly as goldmark does before writing an href, so that
// "javascript&#58;" and "java&Tab;script:" are seen for what they are. Leading
// and trailing spaces and control characters, which browsers ignore, are
// trimmed; any control character or space left inside the scheme makes the
// URL unsafe (URLEscape turns it into %XX, which never matches a scheme).
// The check is made on the escaped bytes that are actually written, so what
// is checked is what the browser gets.
func safeURL(dest []byte, resolve bool) (href []byte, ok bool) {
	if resolve {
		dest = util.UnescapePunctuations(dest)
		dest = util.ResolveNumericReferences(dest)
		dest = util.ResolveEntityNames(dest)
	}
	dest = bytes.TrimFunc(dest, func(r rune) bool { return r <= ' ' || r == 0x7f })
	href = util.URLEscape(dest, false)
	for _, s := range allowedSchemes {
		if len(href) >= len(s) && bytes.EqualFold(href[:len(s)], s) {
			return href, true
		}
	}
	return nil, false
}
