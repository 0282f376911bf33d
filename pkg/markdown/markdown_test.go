package markdown_test

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/minimost/minimost/pkg/markdown"
)

// ---------------------------------------------------------------------------
// Safety checker shared by the XSS corpus, the table tests and the fuzzer.

var (
	allowedElements = map[string]bool{
		"p": true, "br": true, "em": true, "strong": true, "del": true, "code": true, "pre": true,
		"blockquote": true, "ul": true, "ol": true, "li": true, "a": true, "span": true,
		"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true,
		"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
	}
	allowedAttrs = map[string]bool{
		"href": true, "rel": true, "target": true, "class": true, "data-user": true, "align": true, "start": true,
	}
	forbiddenRaw = []string{
		"<script", "<img", "<svg", "<iframe", "<style", "<object", "<embed", "<form", "<input",
		"<math", "<link", "<meta", "<base", "<!--",
	}
	eventAttrRe   = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	hrefRe        = regexp.MustCompile(`(?i)^(?:https?://|mailto:)[^\s"<>\x00-\x1f\x7f]*$`)
	classRe       = regexp.MustCompile(`^(?:mention|language-[a-z0-9+#-]+)$`)
	dataUserRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,30}[a-z0-9_-]$`)
	startRe       = regexp.MustCompile(`^[0-9]{1,10}$`)
	dangerSchemes = regexp.MustCompile(`(?i)^\s*(?:javascript|vbscript|data|file|blob):`)
)

// checkSafe returns an error describing the first way in which out is not
// safe to insert with innerHTML, or nil.
func checkSafe(out string) error {
	lower := strings.ToLower(out)
	for _, f := range forbiddenRaw {
		if strings.Contains(lower, f) {
			return fmt.Errorf("output contains %q", f)
		}
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if errors.Is(z.Err(), io.EOF) {
				return nil
			}
			return fmt.Errorf("tokenizer: %v", z.Err())
		case html.CommentToken, html.DoctypeToken:
			return fmt.Errorf("unexpected %v token %q", tt, z.Raw())
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			raw := string(z.Raw())
			if eventAttrRe.MatchString(raw) {
				return fmt.Errorf("event handler attribute in tag %q", raw)
			}
			tok := z.Token()
			if !allowedElements[tok.Data] {
				return fmt.Errorf("element <%s> not allowed (tag %q)", tok.Data, raw)
			}
			if tt == html.EndTagToken {
				continue
			}
			var rel, target bool
			for _, a := range tok.Attr {
				if a.Namespace != "" || !allowedAttrs[a.Key] {
					return fmt.Errorf("attribute %q not allowed (tag %q)", a.Key, raw)
				}
				switch a.Key {
				case "href":
					if tok.Data != "a" || dangerSchemes.MatchString(a.Val) || !hrefRe.MatchString(a.Val) {
						return fmt.Errorf("bad href %q (tag %q)", a.Val, raw)
					}
				case "rel":
					rel = a.Val == "noopener noreferrer nofollow"
				case "target":
					target = a.Val == "_blank"
				case "class":
					if !classRe.MatchString(a.Val) {
						return fmt.Errorf("bad class %q", a.Val)
					}
				case "data-user":
					if !dataUserRe.MatchString(a.Val) {
						return fmt.Errorf("bad data-user %q", a.Val)
					}
				case "align":
					if a.Val != "left" && a.Val != "right" && a.Val != "center" {
						return fmt.Errorf("bad align %q", a.Val)
					}
				case "start":
					if !startRe.MatchString(a.Val) {
						return fmt.Errorf("bad start %q", a.Val)
					}
				}
			}
			if tok.Data == "a" && !(rel && target) {
				return fmt.Errorf("<a> without rel/target: %q", raw)
			}
		}
	}
}

func render(t testing.TB, in string) (string, []string) {
	t.Helper()
	got, mentions := markdown.Render(in)
	if err := checkSafe(got); err != nil {
		t.Errorf("Render(%q) = %q: unsafe: %v", in, got, err)
	}
	return got, mentions
}

// ---------------------------------------------------------------------------
// Rendering.

const relTarget = ` rel="noopener noreferrer nofollow" target="_blank"`

func TestRender(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello world", "<p>hello world</p>\n"},
		{"empty", "", ""},
		{"hard line breaks", "one\ntwo", "<p>one<br>\ntwo</p>\n"},
		{"emphasis", "*a* **b** ~~c~~", "<p><em>a</em> <strong>b</strong> <del>c</del></p>\n"},
		{"heading", "# Title", "<h1>Title</h1>\n"},
		{"heading h3", "### Small", "<h3>Small</h3>\n"},
		{"bullet list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"ordered list start", "3. a\n4. b", "<ol start=\"3\">\n<li>a</li>\n<li>b</li>\n</ol>\n"},
		{"task list is text", "- [ ] todo", "<ul>\n<li>[ ] todo</li>\n</ul>\n"},
		{"quote", "> quoted\n> more", "<blockquote>\n<p>quoted<br>\nmore</p>\n</blockquote>\n"},
		{"nested quote", "> > deep", "<blockquote>\n<blockquote>\n<p>deep</p>\n</blockquote>\n</blockquote>\n"},
		{"thematic break", "a\n\n---", "<p>a</p>\n<hr>\n"},
		{"code span escaped", "use `<script>` here", "<p>use <code>&lt;script&gt;</code> here</p>\n"},
		{"fenced go", "```go\nfmt.Println(\"<b>\")\n```", "<pre><code class=\"language-go\">fmt.Println(&quot;&lt;b&gt;&quot;)\n</code></pre>\n"},
		{"fenced lang sanitized", "```C++ \"onclick=x\n1\n```", "<pre><code class=\"language-c++\">1\n</code></pre>\n"},
		{"fenced lang only junk", "```\"><\n1\n```", "<pre><code>1\n</code></pre>\n"},
		{"fenced no lang", "```\n<i>x</i>\n```", "<pre><code>&lt;i&gt;x&lt;/i&gt;\n</code></pre>\n"},
		{"indented code", "    <b>x</b>", "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>\n"},
		{"raw inline html is text", "a <b>bold</b> c", "<p>a &lt;b&gt;bold&lt;/b&gt; c</p>\n"},
		{"raw html block is text", "<div>\nhi\n</div>", "<p>&lt;div&gt;<br>\nhi<br>\n&lt;/div&gt;</p>\n"},
		{"table", "| a | b |\n|:--|--:|\n| 1 | 2 |", "<table>\n<thead>\n<tr>\n<th align=\"left\">a</th>\n<th align=\"right\">b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td align=\"left\">1</td>\n<td align=\"right\">2</td>\n</tr>\n</tbody>\n</table>\n"},
		{"entities kept escaped", "a &lt; b & c", "<p>a &lt; b &amp; c</p>\n"},

		// Links.
		{"inline link", "[site](https://example.com/a?b=1&c=2)", "<p><a href=\"https://example.com/a?b=1&amp;c=2\"" + relTarget + ">site</a></p>\n"},
		{"http link", "[x](http://example.com)", "<p><a href=\"http://example.com\"" + relTarget + ">x</a></p>\n"},
		{"mailto link", "[mail](mailto:a@example.com)", "<p><a href=\"mailto:a@example.com\"" + relTarget + ">mail</a></p>\n"},
		{"uppercase scheme ok", "[x](HTTPS://example.com)", "<p><a href=\"HTTPS://example.com\"" + relTarget + ">x</a></p>\n"},
		{"title dropped", "[x](https://e.com \"the title\")", "<p><a href=\"https://e.com\"" + relTarget + ">x</a></p>\n"},
		{"reference link", "[x][r]\n\n[r]: https://e.com", "<p><a href=\"https://e.com\"" + relTarget + ">x</a></p>\n"},
		{"autolink", "<https://e.com/x>", "<p><a href=\"https://e.com/x\"" + relTarget + ">https://e.com/x</a></p>\n"},
		{"email autolink", "<a@e.com>", "<p><a href=\"mailto:a@e.com\"" + relTarget + ">a@e.com</a></p>\n"},
		{"linkify url", "see https://e.com/p now", "<p>see <a href=\"https://e.com/p\"" + relTarget + ">https://e.com/p</a> now</p>\n"},
		{"linkify www", "www.e.com", "<p><a href=\"http://www.e.com\"" + relTarget + ">www.e.com</a></p>\n"},
		{"linkify email", "mail a@e.com", "<p>mail <a href=\"mailto:a@e.com\"" + relTarget + ">a@e.com</a></p>\n"},
		{"url escaped", "[x](https://e.com/a\"b<c>)", "<p><a href=\"https://e.com/a%22b%3Cc%3E\"" + relTarget + ">x</a></p>\n"},
		{"relative dropped", "[x](/path)", "<p>x</p>\n"},
		{"protocol relative dropped", "[x](//evil.com)", "<p>x</p>\n"},
		{"fragment dropped", "[x](#top)", "<p>x</p>\n"},
		{"ftp dropped", "[x](ftp://e.com)", "<p>x</p>\n"},
		{"javascript dropped", "[click *me*](javascript:alert(1))", "<p>click <em>me</em></p>\n"},
		{"unsafe autolink is text", "<javascript:alert(1)>", "<p>javascript:alert(1)</p>\n"},
		{"no nested anchors", "[see https://a.com](https://b.com)", "<p><a href=\"https://b.com\"" + relTarget + ">see https://a.com</a></p>\n"},

		// Images become links.
		{"image as link", "![cat](https://e.com/cat.png)", "<p><a href=\"https://e.com/cat.png\"" + relTarget + ">cat</a></p>\n"},
		{"image no alt", "![](https://e.com/cat.png)", "<p><a href=\"https://e.com/cat.png\"" + relTarget + ">https://e.com/cat.png</a></p>\n"},
		{"image unsafe is alt", "![cat](javascript:alert(1))", "<p>cat</p>\n"},
		{"image alt markup flattened", "![*a* [b](https://x.com)](https://e.com/i.png)", "<p><a href=\"https://e.com/i.png\"" + relTarget + ">a b</a></p>\n"},
		{"linked image", "[![a](https://e.com/i.png)](https://e.com)", "<p><a href=\"https://e.com\"" + relTarget + ">a</a></p>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := render(t, tt.in)
			if got != tt.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Mentions.

func TestMentions(t *testing.T) {
	span := func(n string) string { return `<span class="mention" data-user="` + n + `">@` + n + `</span>` }
	tests := []struct {
		name     string
		in       string
		want     []string
		wantHTML string // checked when not empty
	}{
		{"simple", "hi @bob", []string{"bob"}, "<p>hi " + span("bob") + "</p>\n"},
		{"start of message", "@alice hi", []string{"alice"}, "<p>" + span("alice") + " hi</p>\n"},
		{"order and uniqueness", "@bob @alice @bob @carol", []string{"bob", "alice", "carol"}, ""},
		{"special", "@here @channel @all", []string{"here", "channel", "all"}, ""},
		{"name chars", "@j.doe-2_x", []string{"j.doe-2_x"}, ""},
		{"trailing dot", "thanks @bob.", []string{"bob"}, "<p>thanks " + span("bob") + ".</p>\n"},
		{"trailing dots", "@bob... ok", []string{"bob"}, ""},
		{"punctuation before", "(@bob), cc:@carol", []string{"bob", "carol"}, ""},
		{"in emphasis", "*@bob* **@carol**", []string{"bob", "carol"}, "<p><em>" + span("bob") + "</em> <strong>" + span("carol") + "</strong></p>\n"},
		{"underscore is a name char", "_@carol_", []string{"carol_"}, ""},
		{"in quote and list", "> @bob\n\n- @carol", []string{"bob", "carol"}, ""},
		{"two chars", "@ab", []string{"ab"}, ""},
		{"32 chars", "@" + strings.Repeat("a", 32), []string{strings.Repeat("a", 32)}, ""},
		{"digits first", "@2fa", []string{"2fa"}, ""},
		{"comma", "@bob,@carol", []string{"bob", "carol"}, ""},

		{"email", "write a@b.com", nil, ""},
		{"email bare", "bob@example.com", nil, ""},
		{"code span", "`@bob`", nil, "<p><code>@bob</code></p>\n"},
		{"code block", "```\n@bob\n```", nil, "<pre><code>@bob\n</code></pre>\n"},
		{"link text", "[@bob](https://e.com)", nil, "<p><a href=\"https://e.com\"" + relTarget + ">@bob</a></p>\n"},
		{"unsafe link text", "[@bob](javascript:x)", nil, "<p>@bob</p>\n"},
		{"image alt", "![@bob](https://e.com/i.png)", nil, ""},
		{"url path", "https://e.com/@bob", nil, ""},
		{"uppercase", "@Bob", nil, "<p>@Bob</p>\n"},
		{"uppercase inside", "@boB", nil, ""},
		{"too long", "@" + strings.Repeat("a", 33), nil, ""},
		{"too short", "@a", nil, ""},
		{"only dot", "@.bob", nil, ""},
		{"lone at", "@ bob", nil, ""},
		{"letter before", "x@bob", nil, ""},
		{"double at", "@bob@example.com", nil, ""},
		{"escaped", `\@bob`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, mentions := render(t, tt.in)
			if !slices.Equal(mentions, tt.want) {
				t.Errorf("Render(%q) mentions = %q, want %q (html %q)", tt.in, mentions, tt.want, got)
			}
			if tt.wantHTML != "" && got != tt.wantHTML {
				t.Errorf("Render(%q)\n got %q\nwant %q", tt.in, got, tt.wantHTML)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// XSS corpus.

var xssCorpus = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=//evil/x.js></SCRIPT>`,
	"<script>\nalert(1)\n</script>",
	`<img src=x onerror=alert(1)>`,
	`<IMG SRC="javascript:alert(1)">`,
	`<svg onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<style>*{background:url(javascript:alert(1))}</style>`,
	`<object data="data:text/html,<script>alert(1)</script>"></object>`,
	`<embed src=javascript:alert(1)>`,
	`<form action=javascript:alert(1)><input type=submit></form>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<a href="https://ok.com" onclick="alert(1)">x</a>`,
	`<div onmouseover="alert(1)">hover</div>`,
	"<details open ontoggle=alert(1)>",
	`<!-- comment --><script>alert(1)</script>`,
	`[x](javascript:alert(1))`,
	`[x](JaVaScRiPt:alert(1))`,
	`[x](  javascript:alert(1))`,
	`[x](<javascript:alert(1)>)`,
	`[x](<java script:alert(1)>)`,
	"[x](<java\tscript:alert(1)>)",
	"[x](java\tscript:alert(1))",
	"[x](<java\nscript:alert(1)>)",
	`[x](java&#x09;script:alert(1))`,
	`[x](java&Tab;script:alert(1))`,
	`[x](javascript&#58;alert(1))`,
	`[x](javascript&colon;alert(1))`,
	`[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))`,
	`[x](%6Aavascript:alert(1))`,
	`[x](java\script:alert(1))`,
	`[x](\javascript:alert(1))`,
	`[x](vbscript:msgbox(1))`,
	`[x](VBScript:msgbox(1))`,
	`[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`[x](DATA:text/html,<script>alert(1)</script>)`,
	`[x](file:///etc/passwd)`,
	"[x][r]\n\n[r]: javascript:alert(1)",
	"[x][r]\n\n[r]: <javascript:alert(1)> \"t\"",
	"[r]\n\n[r]: data:text/html,x",
	`<javascript:alert(1)>`,
	`<vbscript:msgbox(1)>`,
	`<data:text/html,<script>alert(1)</script>>`,
	`<JAVASCRIPT:alert(1)>`,
	`javascript:alert(1)`,
	"`<script>alert(1)</script>`",
	"``<img src=x onerror=alert(1)>``",
	"```\n<script>alert(1)</script>\n```",
	"```js\" onload=\"alert(1)\n1\n```",
	"```<script>\n1\n```",
	`[x](https://ok.com "a" onmouseover="alert(1)")`,
	`[x](https://ok.com 'a" onmouseover="alert(1)')`,
	`[x](https://ok.com/"onmouseover="alert(1))`,
	`[x](<https://ok.com/" onmouseover="alert(1)>)`,
	`[x]("onmouseover="alert(1))`,
	`![x](x" onerror="alert(1))`,
	`![x](https://ok.com/x.png" onerror="alert(1))`,
	`![x" onerror="alert(1)](https://ok.com/x.png)`,
	`![<img src=x onerror=alert(1)>](https://ok.com/x.png)`,
	`![x](javascript:alert(1))`,
	`![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)`,
	"![x][r]\n\n[r]: javascript:alert(1)",
	`[<img src=x onerror=alert(1)>](https://ok.com)`,
	`[*<script>*](javascript:alert(1))`,
	"@bob<script>alert(1)</script>",
	`@"onmouseover=alert(1)`,
	"| a | <script>alert(1)</script> |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
	"> <script>alert(1)</script>\n> [x](javascript:alert(1))",
	"- [x](javascript:alert(1))\n  - <svg onload=alert(1)>",
	"https://ok.com/<script>alert(1)</script>",
	`www.ok.com/"onmouseover="alert(1)`,
	"<a href=\"&#x6A;avascript:alert(1)\">x</a>",
	"\x00<script>alert(1)</script>",
	"[x](\x00javascript:alert(1))",
	"[x](\x01javascript:alert(1))",
	"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
}

func TestXSSCorpus(t *testing.T) {
	if len(xssCorpus) < 25 {
		t.Fatalf("corpus has %d payloads, want >= 25", len(xssCorpus))
	}
	for i, in := range xssCorpus {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got, _ := markdown.Render(in)
			if err := checkSafe(got); err != nil {
				t.Errorf("Render(%q) = %q: %v", in, got, err)
			}
		})
	}
}

// TestCheckSafeRejects makes sure the checker itself catches what it is meant
// to catch, so that a passing XSS corpus means something.
func TestCheckSafeRejects(t *testing.T) {
	bad := []string{
		`<script>x</script>`,
		`<p onclick="x">a</p>`,
		`<a href="javascript:alert(1)" rel="noopener noreferrer nofollow" target="_blank">x</a>`,
		`<a href=" data:x" rel="noopener noreferrer nofollow" target="_blank">x</a>`,
		`<a href="/rel" rel="noopener noreferrer nofollow" target="_blank">x</a>`,
		`<a href="https://ok.com">x</a>`,
		`<img src=x>`,
		`<div>x</div>`,
		`<p style="x">a</p>`,
		`<span class="mention evil">x</span>`,
		`<!-- x -->`,
		`<svg/onload=alert(1)>`,
	}
	for _, out := range bad {
		if err := checkSafe(out); err == nil {
			t.Errorf("checkSafe(%q) = nil, want an error", out)
		}
	}
	good := `<p><a href="https://e.com/?a=1&amp;b=2" rel="noopener noreferrer nofollow" target="_blank">x</a> <span class="mention" data-user="bob">@bob</span></p>`
	if err := checkSafe(good); err != nil {
		t.Errorf("checkSafe(%q) = %v, want nil", good, err)
	}
}

// ---------------------------------------------------------------------------
// Pathological input.

// The caps of limits.go, as the tests see them.
const (
	capNesting      = 16 // maxNesting: block containers honoured at the start of a line
	capLinksPerLine = 64 // maxLinksPerLine: link destinations honoured on one line
)

// htmlShape returns the number of elements of out and how deeply they nest.
func htmlShape(out string) (elements, depth int) {
	z := html.NewTokenizer(strings.NewReader(out))
	open := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return elements, depth
		case html.StartTagToken:
			elements++
			if name, _ := z.TagName(); string(name) != "br" && string(name) != "hr" {
				open++
				depth = max(depth, open)
			}
		case html.SelfClosingTagToken:
			elements++
		case html.EndTagToken:
			open--
		}
	}
}

// TestPathological bounds the work Render does on inputs that made goldmark quadratic (or
// its output explode) before the caps of limits.go. It measures work, not time: the size of
// the output, the number and the nesting of the elements built, the links parsed on a line
// and the heap allocations made, each of which the caps keep linear in the input (without
// them the nesting inputs build thousands of nested elements, the tables millions of cells,
// and a line of links thousands of anchors).
func TestPathological(t *testing.T) {
	const size = 8 << 10
	rep := func(s string) string { return strings.Repeat(s, size/len(s)) }
	var nested strings.Builder
	for i := 0; nested.Len() < size; i++ {
		nested.WriteString(strings.Repeat("  ", i%100) + "- x\n")
	}
	inputs := map[string]string{
		"quotes":         rep(">"),
		"spaced quotes":  rep("> "),
		"brackets":       rep("["),
		"images":         rep("!["),
		"link openers":   rep("[a]("),
		"link newline":   rep("[a](\n"),
		"closed links":   rep("[a](https://e.com/) "),
		"bullets":        rep("- "),
		"ordered":        rep("1. "),
		"quote lists":    rep("> - "),
		"emphasis":       rep("*a"),
		"mixed emphasis": rep("a*b_"),
		"backticks":      rep("`a``"),
		"lt":             rep("<a "),
		"mentions":       rep("@ab "),
		"nested lists":   nested.String(),
		"ref defs":       rep("[a]: b\n"),
		"wide table":     strings.Repeat("|a", 2000) + "\n" + strings.Repeat("|-", 2000) + "\n" + rep("a\n"),
		"tall table":     strings.Repeat("|a", 32) + "\n" + strings.Repeat("|-", 32) + "\n" + rep("a\n"),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			got, _ := render(t, in)
			lines := strings.Count(in, "\n") + 1
			// Generous bounds: goldmark's quadratic cases took seconds (and 30 MiB of
			// output for the wide table) before capping.
			if len(got) > 16*len(in)+1024 {
				t.Errorf("Render(%s, %d bytes) produced %d bytes", name, len(in), len(got))
			}
			elements, depth := htmlShape(got)
			if elements > len(in)+64 {
				t.Errorf("Render(%s, %d bytes) built %d elements, want at most one per input byte", name, len(in), elements)
			}
			// A line opens at most capNesting containers (a list item is two elements,
			// <ul><li>); indentation nests lists one level deeper per line at most.
			if limit := 2*capNesting + 2*lines + 4; depth > limit {
				t.Errorf("Render(%s, %d bytes, %d lines) nests elements %d deep, want at most %d", name, len(in), lines, depth, limit)
			}
			if n, limit := strings.Count(got, "<a "), capLinksPerLine*lines; n > limit {
				t.Errorf("Render(%s, %d lines) made %d links, want at most %d per line", name, lines, n, capLinksPerLine)
			}
			// The tall table needs about 18 allocations per input byte (goldmark's table
			// cells); without the padding cap it takes 49, the wide table 1500.
			allocs := testing.AllocsPerRun(1, func() { markdown.Render(in) })
			if limit := 32*float64(len(in)) + 1000; allocs > limit {
				t.Errorf("Render(%s, %d bytes) made %.0f heap allocations, want at most %.0f", name, len(in), allocs, limit)
			}
		})
	}
}

func TestNestingCap(t *testing.T) {
	got, _ := render(t, strings.Repeat(">", 40)+" deep")
	if n := strings.Count(got, "<blockquote>"); n != 16 {
		t.Errorf("got %d nested blockquotes, want 16: %q", n, got)
	}
	// Fenced code content is never altered by the caps.
	in := "```\n" + strings.Repeat(">", 40) + "\n```"
	want := "<pre><code>" + strings.Repeat("&gt;", 40) + "\n</code></pre>\n"
	if got, _ := render(t, in); got != want {
		t.Errorf("Render(%q)\n got %q\nwant %q", in, got, want)
	}
}

func TestConcurrent(t *testing.T) {
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				got, m := markdown.Render("hi @bob, see [x](https://e.com) `c`")
				if !strings.Contains(got, "https://e.com") || len(m) != 1 {
					t.Errorf("bad concurrent render %q %q", got, m)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

// ---------------------------------------------------------------------------
// Fuzzing and benchmarks.

func FuzzRender(f *testing.F) {
	for _, s := range xssCorpus {
		f.Add(s)
	}
	f.Add("hi @bob, see [x](https://e.com) and `code`\n> quote\n- item")
	f.Add("| a | b |\n|---|:-:|\n| 1 | 2 |")
	f.Add("```go\nfunc main() {}\n```")
	f.Fuzz(func(t *testing.T, in string) {
		// A hang would otherwise only show as a stalled fuzzer.
		tm := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("HANG %q", in)) })
		defer tm.Stop()
		got, mentions := markdown.Render(in)
		if err := checkSafe(got); err != nil {
			t.Fatalf("Render(%q) = %q: %v", in, got, err)
		}
		seen := map[string]bool{}
		for _, m := range mentions {
			if seen[m] || !dataUserRe.MatchString(m) || len(m) < 2 || len(m) > 32 {
				t.Fatalf("Render(%q) mentions = %q: bad or duplicate %q", in, mentions, m)
			}
			seen[m] = true
			if !strings.Contains(got, `data-user="`+m+`"`) {
				t.Fatalf("Render(%q): mention %q not in output %q", in, m, got)
			}
		}
	})
}

func BenchmarkRender(b *testing.B) {
	// A typical ~200-byte chat message.
	msg := "Hey @alice, the deploy of **v1.4** is done :tada:\n" +
		"Logs are at https://ci.example.com/runs/1234 and the fix was in `pkg/chat/send.go`.\n" +
		"> looks good to me\n" +
		"- [changelog](https://example.com/cl)"
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		markdown.Render(msg)
	}
}
