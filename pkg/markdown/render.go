package markdown

import (
	"bytes"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// linkAttrs is appended to every <a> tag, right after href.
const linkAttrs = `" rel="noopener noreferrer nofollow" target="_blank">`

// safeRenderer overrides goldmark's HTML renderer for every node kind whose
// default output could carry active content or unwanted attributes. It is
// registered with a higher priority than goldmark's own renderer.
type safeRenderer struct{}

func (r *safeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindLink, r.renderLink)
	reg.Register(ast.KindImage, r.renderImage)
	reg.Register(ast.KindAutoLink, r.renderAutoLink)
	reg.Register(ast.KindRawHTML, r.renderRawHTML)
	reg.Register(ast.KindHTMLBlock, r.renderHTMLBlock)
	reg.Register(ast.KindFencedCodeBlock, r.renderFencedCodeBlock)
	reg.Register(kindMention, r.renderMention)
	// Task-list checkboxes are not enabled, but never render an <input>.
	reg.Register(east.KindTaskCheckBox, func(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
		return ast.WalkContinue, nil
	})
}

func writeOpenLink(w util.BufWriter, href []byte) {
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML(href))
	_, _ = w.WriteString(linkAttrs)
}

// renderLink renders [text](url): an anchor for safe URLs, the bare text
// otherwise. Titles are dropped.
func (r *safeRenderer) renderLink(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	href, ok := safeURL(n.Destination, true)
	if !ok {
		return ast.WalkContinue, nil // children render as text
	}
	if entering {
		writeOpenLink(w, href)
	} else {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

// renderImage renders ![alt](url) as a link to the image (never <img>, which
// would let a sender track readers), or as the plain alt text.
func (r *safeRenderer) renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.Image)
	var alt bytes.Buffer
	plainText(&alt, source, n)
	href, ok := safeURL(n.Destination, true)
	if !ok || insideLink(n) {
		// Inside a link the image is just its alt text: no nested anchors.
		_, _ = w.Write(alt.Bytes())
		return ast.WalkSkipChildren, nil
	}
	writeOpenLink(w, href)
	if alt.Len() == 0 {
		_, _ = w.Write(util.EscapeHTML(href))
	} else {
		_, _ = w.Write(alt.Bytes())
	}
	_, _ = w.WriteString("</a>")
	return ast.WalkSkipChildren, nil
}

func insideLink(n ast.Node) bool {
	for p := n.Parent(); p != nil; p = p.Parent() {
		if p.Kind() == ast.KindLink {
			return true
		}
	}
	return false
}

// plainText writes the HTML-escaped text content of n's descendants.
func plainText(w *bytes.Buffer, source []byte, n ast.Node) {
	bw := bufWriter{w}
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || c == n {
			return ast.WalkContinue, nil
		}
		switch v := c.(type) {
		case *ast.Text:
			if v.IsRaw() {
				html.DefaultWriter.RawWrite(bw, v.Segment.Value(source))
			} else {
				html.DefaultWriter.Write(bw, v.Segment.Value(source))
			}
			if v.SoftLineBreak() || v.HardLineBreak() {
				w.WriteByte(' ')
			}
		case *ast.String:
			html.DefaultWriter.RawWrite(bw, v.Value)
		case *ast.AutoLink:
			html.DefaultWriter.RawWrite(bw, v.Label(source))
		case *ast.RawHTML:
			for i := 0; i < v.Segments.Len(); i++ {
				seg := v.Segments.At(i)
				w.Write(util.EscapeHTML(seg.Value(source)))
			}
			return ast.WalkSkipChildren, nil
		case *mentionNode:
			w.Write(util.EscapeHTML(v.Segment.Value(source)))
		}
		return ast.WalkContinue, nil
	})
}

// bufWriter adapts bytes.Buffer to util.BufWriter.
type bufWriter struct{ *bytes.Buffer }

func (bufWriter) Available() int  { return 4096 }
func (b bufWriter) Buffered() int { return b.Len() }
func (bufWriter) Flush() error    { return nil }

// renderAutoLink renders <url>, <email> and linkified bare URLs.
func (r *safeRenderer) renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	url := n.URL(source)
	label := n.Label(source)
	if n.AutoLinkType == ast.AutoLinkEmail && !bytes.HasPrefix(bytes.ToLower(url), []byte("mailto:")) {
		url = append([]byte("mailto:"), url...)
	}
	href, ok := safeURL(url, false)
	if !ok {
		_, _ = w.Write(util.EscapeHTML(label))
		return ast.WalkSkipChildren, nil
	}
	writeOpenLink(w, href)
	_, _ = w.Write(util.EscapeHTML(label))
	_, _ = w.WriteString("</a>")
	return ast.WalkSkipChildren, nil
}

// renderRawHTML shows inline raw HTML as text.
func (r *safeRenderer) renderRawHTML(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.RawHTML)
	for i := 0; i < n.Segments.Len(); i++ {
		seg := n.Segments.At(i)
		_, _ = w.Write(util.EscapeHTML(seg.Value(source)))
	}
	return ast.WalkSkipChildren, nil
}

// renderHTMLBlock shows a raw HTML block as a paragraph of text.
func (r *safeRenderer) renderHTMLBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.HTMLBlock)
	var raw []byte
	for i := 0; i < n.Lines().Len(); i++ {
		seg := n.Lines().At(i)
		raw = append(raw, seg.Value(source)...)
	}
	if n.HasClosure() {
		raw = append(raw, n.ClosureLine.Value(source)...)
	}
	raw = bytes.TrimRight(raw, " \t\r\n")
	if len(raw) == 0 {
		return ast.WalkSkipChildren, nil
	}
	_, _ = w.WriteString("<p>")
	for i, line := range bytes.Split(raw, []byte("\n")) {
		if i > 0 {
			_, _ = w.WriteString("<br>\n")
		}
		_, _ = w.Write(util.EscapeHTML(bytes.TrimRight(line, "\r")))
	}
	_, _ = w.WriteString("</p>\n")
	return ast.WalkSkipChildren, nil
}

// renderFencedCodeBlock renders ```lang fences with a sanitized class.
func (r *safeRenderer) renderFencedCodeBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.FencedCodeBlock)
	if !entering {
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString("<pre><code")
	if lang := sanitizeLanguage(n.Language(source)); lang != "" {
		_, _ = w.WriteString(` class="language-`)
		_, _ = w.WriteString(lang)
		_ = w.WriteByte('"')
	}
	_ = w.WriteByte('>')
	for i := 0; i < n.Lines().Len(); i++ {
		seg := n.Lines().At(i)
		html.DefaultWriter.RawWrite(w, seg.Value(source))
	}
	return ast.WalkContinue, nil
}

// maxLanguageLen bounds the language class of a fenced code block.
const maxLanguageLen = 32

// sanitizeLanguage lowercases lang and keeps only [a-z0-9+#-].
func sanitizeLanguage(lang []byte) string {
	var out []byte
	for _, c := range lang {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '#' || c == '-' {
			out = append(out, c)
			if len(out) == maxLanguageLen {
				break
			}
		}
	}
	return string(out)
}

func (r *safeRenderer) renderMention(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*mentionNode)
	// Name is [a-z0-9._-] only, so it needs no escaping.
	_, _ = w.WriteString(`<span class="mention" data-user="`)
	_, _ = w.WriteString(n.Name)
	_, _ = w.WriteString(`">@`)
	_, _ = w.WriteString(n.Name)
	_, _ = w.WriteString(`</span>`)
	return ast.WalkContinue, nil
}
