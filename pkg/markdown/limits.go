package markdown

import (
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// goldmark is linear on ordinary text, but a few pathological shapes make
// it quadratic in the length of a line: thousands of nested block containers
// on one line (">>>>>>…", "1. 1. 1. …") and thousands of link openers whose
// destination never closes ("[a]([a]([a](…"). Real chat messages are nowhere
// near these limits, so past them the markup is simply escaped and shown as
// text.
const (
	// maxNesting is the number of block container markers ('>' quotes and
	// list item markers) honoured at the start of one line.
	maxNesting = 16
	// maxLinksPerLine is the number of "](" link destinations honoured on
	// one line.
	maxLinksPerLine = 64
	// maxTableColumns is the widest GFM table rendered. Every body row is
	// padded to the width of the table, so without a cap a few KiB of
	// input ("|a|a|a…" over "|-|-|-…" followed by short lines) expands to
	// tens of MiB of HTML.
	maxTableColumns = 32
)

// capComplexity returns src with the markup beyond maxNesting,
// maxLinksPerLine and maxTableColumns backslash-escaped. Lines inside top-level fenced code
// blocks are left alone. src is returned unchanged (without copying) in the
// common case.
func capComplexity(src string) string {
	var (
		b          *strings.Builder
		done       int // src[:done] has been copied to b
		fenceChar  byte
		fenceLen   int
		lineStart  int
		insertions []int // offsets in the current line to prefix with '\'
	)
	for lineStart < len(src) {
		lineEnd := strings.IndexByte(src[lineStart:], '\n')
		if lineEnd < 0 {
			lineEnd = len(src)
		} else {
			lineEnd += lineStart
		}
		line := src[lineStart:lineEnd]
		insertions = insertions[:0]

		if c, n, rest := fence(line); fenceLen > 0 {
			if c == fenceChar && n >= fenceLen && strings.TrimSpace(rest) == "" {
				fenceLen = 0
			}
		} else if n > 0 && (c == '~' || !strings.Contains(rest, "`")) {
			fenceChar, fenceLen = c, n
		} else {
			if i := nestingOverflow(line); i >= 0 {
				insertions = append(insertions, i)
			}
			if i := wideTableDelimiter(line); i >= 0 {
				insertions = append(insertions, i)
			}
			if strings.Count(line, "](") > maxLinksPerLine {
				seen := 0
				for i := 0; i+1 < len(line); i++ {
					if line[i] == ']' && line[i+1] == '(' {
						seen++
						if seen > maxLinksPerLine {
							insertions = append(insertions, i+1)
						}
					}
				}
			}
		}
		if len(insertions) > 0 {
			sort.Ints(insertions)
			if b == nil {
				b = new(strings.Builder)
				b.Grow(len(src) + len(src)/2)
			}
			for _, off := range insertions {
				b.WriteString(src[done : lineStart+off])
				b.WriteByte('\\')
				done = lineStart + off
			}
		}
		lineStart = lineEnd + 1
	}
	if b == nil {
		return src
	}
	b.WriteString(src[done:])
	return b.String()
}

// fence reports whether line opens or closes a top-level code fence: the
// fence character, the length of the run (0 if the line is no fence) and
// the rest of the line.
func fence(line string) (c byte, n int, rest string) {
	i := 0
	for i < len(line) && i < 3 && line[i] == ' ' {
		i++
	}
	if i >= len(line) || (line[i] != '`' && line[i] != '~') {
		return 0, 0, ""
	}
	c = line[i]
	j := i
	for j < len(line) && line[j] == c {
		j++
	}
	if j-i < 3 {
		return 0, 0, ""
	}
	return c, j - i, line[j:]
}

// nestingOverflow returns the offset in line of the first block container
// marker past maxNesting, or -1.
func nestingOverflow(line string) int {
	markers := 0
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			return -1
		}
		next := i
		switch c := line[i]; {
		case c == '>':
			next = i + 1
		case c == '-' || c == '+' || c == '*':
			if i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t' {
				next = i + 1
			}
		case c >= '0' && c <= '9':
			j := i
			for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			if j < len(line) && (line[j] == '.' || line[j] == ')') &&
				(j+1 == len(line) || line[j+1] == ' ' || line[j+1] == '\t') {
				next = j + 1
			}
		}
		if next == i {
			return -1
		}
		markers++
		if markers > maxNesting {
			return i
		}
		i = next
	}
	return -1
}

// wideTableDelimiter returns the offset of the first '|' of line if line
// looks like a GFM table delimiter row ("|---|:--:|", possibly behind quote
// markers) with more than maxTableColumns columns, or -1. Escaping that pipe
// stops the line from being a delimiter row, so no table is formed.
func wideTableDelimiter(line string) int {
	first, pipes, dash := -1, 0, false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '|':
			if first < 0 {
				first = i
			}
			pipes++
		case '-':
			dash = true
		case ':', ' ', '\t', '>', '\r':
		default:
			return -1
		}
	}
	if !dash || first < 0 || pipes < maxTableColumns {
		return -1
	}
	// Count the cells: the pipes between cells plus one, less the outer
	// pipes.
	t := strings.Trim(line, " \t\r>")
	cells := strings.Count(t, "|") + 1
	if strings.HasPrefix(t, "|") {
		cells--
	}
	if strings.HasSuffix(t, "|") && len(t) > 1 {
		cells--
	}
	if cells <= maxTableColumns {
		return -1
	}
	return first
}

// maxPaddingCells is the number of empty cells goldmark may add to pad short
// table rows to the table's width. Past it (only pathological input gets
// there: thousands of one-character rows under a wide header) the padding is
// dropped and the rows are left ragged, which keeps the output size
// proportional to the input.
const maxPaddingCells = 1024

// tablePaddingTransformer enforces maxPaddingCells.
type tablePaddingTransformer struct{}

func (tablePaddingTransformer) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var padding []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case east.KindTableCell:
			// Cells parsed from the source always hold one line (maybe
			// empty); padding cells hold none.
			if n.Lines().Len() == 0 && !n.HasChildren() {
				padding = append(padding, n)
			}
			return ast.WalkSkipChildren, nil
		case ast.KindParagraph, ast.KindHeading, ast.KindCodeBlock, ast.KindFencedCodeBlock, ast.KindHTMLBlock:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	if len(padding) <= maxPaddingCells {
		return
	}
	for _, n := range padding {
		n.Parent().RemoveChild(n.Parent(), n)
	}
}
