package markdown

import (
	"bytes"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// md is safe for concurrent use: goldmark creates a fresh parser context for
// every Parse call and the renderer's function table is immutable once built.
var md = goldmark.New(
	goldmark.WithExtensions(
		extension.Strikethrough,
		extension.Linkify,
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
	),
	goldmark.WithParserOptions(
		parser.WithInlineParsers(util.Prioritized(mentionParser{}, 500)),
		parser.WithASTTransformers(
			util.Prioritized(linkContentTransformer{}, 500),
			util.Prioritized(tablePaddingTransformer{}, 600),
		),
	),
	goldmark.WithRendererOptions(
		// Never html.WithUnsafe(): raw HTML must not pass through.
		html.WithHardWraps(),
		renderer.WithNodeRenderers(util.Prioritized(&safeRenderer{}, 100)),
	),
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Render converts the chat message body from Markdown to HTML that is safe to
// insert with innerHTML, and returns the names mentioned with @name (including
// the special mentions "here", "channel" and "all"), without the '@', unique
// and in order of first appearance. mentions is nil when there are none.
//
// Render never fails: any input produces some HTML. The caller is expected to
// bound the size of body; Render itself keeps the cost about linear in it by
// showing markup beyond fixed limits as text (more than 16 nested quotes or
// list items on one line, more than 64 links on one line, tables wider than
// 32 columns; see limits.go).
func Render(body string) (html string, mentions []string) {
	src := []byte(capComplexity(body))
	doc := md.Parser().Parse(text.NewReader(src))
	mentions = collectMentions(doc)

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := md.Renderer().Render(buf, src, doc); err != nil {
		// The renderer only fails if the writer fails, and bytes.Buffer
		// does not; keep the fallback safe anyway.
		return "<p>" + string(util.EscapeHTML(src)) + "</p>\n", mentions
	}
	return buf.String(), mentions
}

func collectMentions(doc ast.Node) []string {
	var names []string
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		if m, ok := n.(*mentionNode); ok {
			found := false
			for _, have := range names {
				if have == m.Name {
					found = true
					break
				}
			}
			if !found {
				names = append(names, m.Name)
			}
		}
		return ast.WalkContinue, nil
	})
	return names
}
