package markdown

import (
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// Username rule (kept in sync with MiniMost account names): lowercase ASCII
// letters, digits, '.', '_' and '-', starting with a letter or digit,
// 2 to 32 characters. A trailing '.' ends the sentence, not the name.
const (
	minNameLen = 2
	maxNameLen = 32
)

// kindMention is the ast.NodeKind of Mention.
var kindMention = ast.NewNodeKind("Mention")

// mentionNode is an inline node for "@name".
type mentionNode struct {
	ast.BaseInline
	// Name is the mentioned user name, without the '@'.
	Name string
	// Segment covers "@name" in the source.
	Segment text.Segment
}

// Kind implements ast.Node.
func (n *mentionNode) Kind() ast.NodeKind { return kindMention }

// Dump implements ast.Node.
func (n *mentionNode) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Name": n.Name}, nil)
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// mentionBoundaryBefore reports whether r may precede the '@' of a mention:
// start of line, whitespace or punctuation. Letters and digits (emails such
// as a@b.com) and characters that occur in e-mail local parts or URLs right
// before an '@' are rejected.
func mentionBoundaryBefore(r rune) bool {
	switch r {
	case '.', '-', '+', '/', '@', '=', '%', '\\', '&', '#', '\'':
		return false
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
		return false
	}
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || r == utf8.RuneError
}

// mentionParser is a goldmark inline parser triggered by '@'. Code spans and
// autolinks are parsed by their own (earlier) parsers, so '@' inside them never
// reaches it; mentions inside link text are turned back into text by
// linkContentTransformer once links are known.
type mentionParser struct{}

func (mentionParser) Trigger() []byte { return []byte{'@'} }

func (mentionParser) Parse(_ ast.Node, block text.Reader, _ parser.Context) ast.Node {
	if !mentionBoundaryBefore(block.PrecendingCharacter()) {
		return nil
	}
	line, seg := block.PeekLine()
	if len(line) < 2 || line[0] != '@' {
		return nil
	}
	i := 1
	for i < len(line) && i <= maxNameLen+2 && isNameByte(line[i]) {
		i++
	}
	if i < len(line) && isNameByte(line[i]) {
		return nil // longer than any valid name
	}
	// The character after the run must not continue a word or an address.
	if i < len(line) {
		r, _ := utf8.DecodeRune(line[i:])
		if r == '@' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			return nil
		}
	}
	end := i
	for end > 1 && line[end-1] == '.' {
		end--
	}
	name := line[1:end]
	if len(name) < minNameLen || len(name) > maxNameLen || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= '0' && name[0] <= '9') {
		return nil
	}
	block.Advance(end)
	return &mentionNode{Name: string(name), Segment: text.NewSegment(seg.Start, seg.Start+end)}
}

// linkContentTransformer removes markup that must not appear inside link
// text or image alt text: mentions become plain text again (link text is not
// a mention) and linkified URLs become text (no nested anchors).
type linkContentTransformer struct{}

func (linkContentTransformer) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	var replace []ast.Node
	depth := 0
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n.Kind() {
		case ast.KindLink, ast.KindImage:
			if entering {
				depth++
			} else {
				depth--
			}
		case kindMention, ast.KindAutoLink:
			if entering && depth > 0 {
				replace = append(replace, n)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, n := range replace {
		var t ast.Node
		switch v := n.(type) {
		case *mentionNode:
			t = ast.NewTextSegment(v.Segment)
		case *ast.AutoLink:
			// Inside a link the label is just text, written verbatim
			// (HTML-escaped) like the label of an autolink.
			s := ast.NewString(v.Label(reader.Source()))
			s.SetRaw(true)
			t = s
		default:
			continue
		}
		n.Parent().ReplaceChild(n.Parent(), n, t)
	}
}
