package slack_test

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/minimost/minimost/pkg/slack"
	"golang.org/x/net/html"
)

// checkSafeHTML fails the test for any element or attribute outside the small vocabulary
// of rendered messages and cards, and for any link that is not http, https or mailto.
func checkSafeHTML(t *testing.T, h string) {
	t.Helper()
	allowed := map[string]bool{"p": true, "div": true, "a": true, "strong": true, "em": true, "code": true, "pre": true,
		"del": true, "hr": true, "time": true, "br": true, "ul": true, "ol": true, "li": true, "blockquote": true, "span": true,
		"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true}
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if !allowed[tok.Data] {
			t.Errorf("element <%s> in %s", tok.Data, h)
		}
		for _, a := range tok.Attr {
			switch a.Key {
			case "class", "datetime", "rel", "target", "title", "data-user", "start", "align":
			case "href":
				// A URL's scheme is case-insensitive: "HTTP://" is an http link.
				if v := strings.ToLower(a.Val); !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "mailto:") {
					t.Errorf("link to %q in %s", a.Val, h)
				}
			default:
				t.Errorf("attribute %s=%q on <%s>", a.Key, a.Val, tok.Data)
			}
		}
	}
}

func TestMrkdwn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"*bold* and _italic_", "**bold** and _italic_"},
		{"~gone~", "~~gone~~"},
		{"2*3*4 stays", "2*3*4 stays"},
		{"* list item", "* list item"},
		{"<https://example.com|Example>", "[Example](<https://example.com>)"},
		{"<https://example.com>", "[https\\://example\\.com](<https://example.com>)"},
		{"<!here> look", "@here look"},
		{"<!channel>", "@channel"},
		{"<!everyone>", "@channel"},
		{"hi <@Bob>", "hi @bob"},
		{"in <#C024BE7LR|general>", "in #general"},
		{"a &lt;b&gt; &amp; c", "a \\<b\\> & c"},
		{"`*not bold*`", "`*not bold*`"},
		{"```*code*```", "\n```\n*code*\n```\n"},
		{"<javascript:alert(1)|click>", "[click](<javascript:alert(1)>)"},
	} {
		if got := slack.Mrkdwn(tc.in); got != tc.want {
			t.Errorf("Mrkdwn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body, wantErr string
	}{
		{"json", "application/json", `{"text":"hi"}`, ""},
		{"json charset", "application/json; charset=utf-8", `{"text":"hi"}`, ""},
		{"form", "application/x-www-form-urlencoded", "payload=%7B%22text%22%3A%22hi%22%7D", ""},
		{"form without payload", "application/x-www-form-urlencoded", "text=hi", "payload"},
		{"not json", "application/json", `{"text":`, "not valid JSON"},
		{"trailing", "application/json", `{"text":"a"} {}`, "after the JSON"},
		{"empty", "application/json", `{"text":"  "}`, "no text"},
		{"wrong type", "application/json", `{"text":5}`, "not valid JSON"},
		{"xml", "text/xml", `<a/>`, "content type"},
		{"too many attachments", "application/json", `{"attachments":[` + strings.Repeat(`{"text":"a"},`, 20) + `{"text":"a"}]}`, "attachments"},
		{"untyped block", "application/json", `{"blocks":[{"text":{"type":"mrkdwn","text":"a"}}]}`, "no type"},
		{"bad text type", "application/json", `{"blocks":[{"type":"section","text":{"type":"html","text":"a"}}]}`, "text type"},
		{"only divider", "application/json", `{"blocks":[{"type":"divider"}]}`, "no text"},
		{"ts string", "application/json", `{"attachments":[{"text":"a","ts":"1700000000"}]}`, ""},
		{"bad ts", "application/json", `{"attachments":[{"text":"a","ts":"soon"}]}`, "ts"},
		{"too large", "application/json", `{"text":"` + strings.Repeat("a", slack.MaxPayloadBytes) + `"}`, "larger than"},
		{"text too long", "application/json", `{"text":"` + strings.Repeat("a", slack.MaxTextBytes+1) + `"}`, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := slack.Parse(tc.ctype, []byte(tc.body))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func mustRender(t *testing.T, file string) slack.Message {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := slack.Parse("application/json", data)
	if err != nil {
		t.Fatal(err)
	}
	return slack.Render(p)
}

func TestRender_RealPayloads(t *testing.T) {
	t.Run("alertmanager", func(t *testing.T) {
		m := mustRender(t, "alertmanager.json")
		checkSafeHTML(t, m.HTML)
		for _, want := range []string{`class="mm-card mm-card-red"`, `<a href="http://alertmanager.example:9093/#/alerts?receiver=chat"`,
			"<strong>Alert:</strong>", "<code>critical</code>", "[FIRING:1] InstanceDown"} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
			}
		}
		if !strings.Contains(m.Body, "InstanceDown") {
			t.Errorf("body %q is not searchable for the alert", m.Body)
		}
	})
	t.Run("grafana", func(t *testing.T) {
		m := mustRender(t, "grafana.json")
		checkSafeHTML(t, m.HTML)
		for _, want := range []string{"mm-card-red", "mm-card-field mm-card-field-short", ">Severity</div>", "critical",
			"Grafana v11.2.0", `<time datetime="2025-11-27T08:00:00Z">`, "<strong>Firing</strong>"} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
			}
		}
	})
	t.Run("github", func(t *testing.T) {
		m := mustRender(t, "github.json")
		checkSafeHTML(t, m.HTML)
		for _, want := range []string{`<div class="mm-block-header">Build failed: acme/app</div>`, `<hr class="mm-block-divider">`,
			`<a href="https://github.com/acme/app/actions/runs/42"`, "<strong>failed</strong>", "mm-block-context"} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
			}
		}
		if len(m.Mentions) != 1 || m.Mentions[0] != "here" {
			t.Errorf("mentions = %v, want [here]", m.Mentions)
		}
	})
}

func TestRender_Safe(t *testing.T) {
	payload := `{
	  "text": "<script>alert(1)</script> <javascript:alert(1)|x> <img src=x onerror=alert(1)>",
	  "attachments": [{"title": "<b>t</b>", "title_link": "javascript:alert(2)", "color": "red\" onmouseover=\"x",
	    "author_name": "<i>a</i>", "author_link": "data:text/html,x", "footer": "<svg onload=x>",
	    "fields": [{"title": "<u>f</u>", "value": "<iframe src=x>", "short": true}],
	    "text": "[a](javascript:alert(3))"}],
	  "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "<h1>x</h1>"}},
	    {"type": "section", "text": {"type": "plain_text", "text": "<a href=javascript:x>y</a>"}}]
	}`
	p, err := slack.Parse("application/json", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	h := slack.Render(p).HTML
	checkSafeHTML(t, h)
	if !strings.Contains(h, "mm-card-grey") {
		t.Errorf("a bad colour did not fall back to grey:\n%s", h)
	}
}

func TestRender_Colors(t *testing.T) {
	for c, want := range map[string]string{"good": "green", "warning": "yellow", "danger": "red", "#D63232": "red",
		"#36a64f": "green", "#439FE0": "blue", "#f90": "orange", "#888888": "grey", "nonsense": "grey"} {
		p := slack.Payload{Attachments: []slack.Attachment{{Text: "x", Color: c}}}
		if h := slack.Render(p).HTML; !strings.Contains(h, "mm-card-"+want+`"`) {
			t.Errorf("colour %q: %s, want mm-card-%s", c, h, want)
		}
	}
}

// FuzzRender: whatever a payload holds, the rendered message stays inside the vocabulary of
// safe elements, attributes and links.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"*b* _i_ ~s~", "<javascript:alert(1)|x>", "<https://a.example|<b>x</b>>", "```<script>```", "&lt;img src=x onerror=1&gt;", "<!here> <@U1|bob> <#C1|c>"} {
		f.Add(s, "danger", "https://example.com")
	}
	f.Fuzz(func(t *testing.T, s, color, link string) {
		p := slack.Payload{Text: s,
			Attachments: []slack.Attachment{{Title: s, TitleLink: link, Text: s, Pretext: s, Color: color, AuthorName: s, AuthorLink: link, Footer: s,
				Fields: []slack.Field{{Title: s, Value: s, Short: true}}}},
			Blocks: []slack.Block{{Type: "header", Text: &slack.TextObject{Type: "plain_text", Text: s}},
				{Type: "section", Text: &slack.TextObject{Type: "mrkdwn", Text: s}, Fields: []slack.TextObject{{Type: "plain_text", Text: s}}},
				{Type: "context", Elements: []slack.TextObject{{Type: "mrkdwn", Text: s}}}}}
		checkSafeHTML(t, slack.Render(p).HTML)
	})
}
