package slack

import (
	"html"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/markdown"
)

// Message is a payload made ready to post.
type Message struct {
	// Body is the text kept and searched: the payload's text as markdown, then the plain
	// text of its attachments and blocks.
	Body string
	// HTML is what readers see: the rendered text followed by one card per attachment and the
	// rendered blocks.
	HTML     string
	Mentions []string
}

// Render turns a checked payload into a message.
func Render(p Payload) Message {
	var r renderer
	text := p.Text
	if p.Mrkdwn == nil || *p.Mrkdwn {
		text = Mrkdwn(text)
	} else {
		text = escapeMarkdown(text)
	}
	text = strings.TrimSpace(text)
	if text != "" {
		r.markdown(text)
		r.plain(text)
	}
	r.blocks(p.Blocks)
	for _, a := range p.Attachments {
		r.attachment(a)
	}
	body := strings.TrimSpace(r.body.String())
	if len(body) > MaxTextBytes {
		body = strings.ToValidUTF8(body[:MaxTextBytes], "")
	}
	return Message{Body: body, HTML: r.html.String(), Mentions: r.mentions}
}

type renderer struct {
	html     strings.Builder
	body     strings.Builder
	mentions []string
}

// markdown writes the rendered markdown md (through the message renderer, the only source
// of markup) and collects its mentions.
func (r *renderer) markdown(md string) {
	h, mentions := markdown.Render(md)
	r.html.WriteString(h)
	for _, m := range mentions {
		if !slices.Contains(r.mentions, m) {
			r.mentions = append(r.mentions, m)
		}
	}
}

func (r *renderer) plain(s string) {
	if s = strings.TrimSpace(s); s != "" {
		r.body.WriteString(s)
		r.body.WriteString("\n")
	}
}

// text writes a Block Kit text object: mrkdwn is converted and rendered, plain_text escaped.
func (r *renderer) text(t TextObject) {
	if t.Type == "plain_text" {
		r.markdown(escapeMarkdown(t.Text))
	} else {
		r.markdown(Mrkdwn(t.Text))
	}
	r.plain(t.Text)
}

func (r *renderer) open(class string) { r.html.WriteString(`<div class="` + class + `">`) }
func (r *renderer) close()            { r.html.WriteString("</div>") }

func (r *renderer) blocks(bs []Block) {
	for _, b := range bs {
		switch b.Type {
		case "header":
			if b.Text != nil {
				r.open("mm-block-header")
				r.html.WriteString(html.EscapeString(b.Text.Text))
				r.close()
				r.plain(b.Text.Text)
			}
		case "divider":
			r.html.WriteString(`<hr class="mm-block-divider">`)
		case "section":
			r.open("mm-block-section")
			if b.Text != nil {
				r.text(*b.Text)
			}
			if len(b.Fields) > 0 {
				r.open("mm-card-fields")
				for _, f := range b.Fields {
					r.open("mm-card-field mm-card-field-short")
					r.text(f)
					r.close()
				}
				r.close()
			}
			r.close()
		case "context":
			r.open("mm-block-context")
			for _, e := range b.Elements {
				if e.Type == "mrkdwn" || e.Type == "plain_text" {
					r.text(e)
				}
			}
			r.close()
		}
	}
}

func (r *renderer) attachment(a Attachment) {
	r.open("mm-card mm-card-" + colorClass(a.Color))
	if a.Pretext != "" {
		r.open("mm-card-pretext")
		r.markdown(Mrkdwn(a.Pretext))
		r.close()
		r.plain(a.Pretext)
	}
	if a.AuthorName != "" {
		r.open("mm-card-author")
		r.markdown(link(a.AuthorName, a.AuthorLink))
		r.close()
	}
	if a.Title != "" {
		r.open("mm-card-title")
		r.markdown(link(a.Title, a.TitleLink))
		r.close()
		r.plain(a.Title)
	}
	if a.Text != "" {
		r.open("mm-card-text")
		r.markdown(Mrkdwn(a.Text))
		r.close()
		r.plain(a.Text)
	}
	if a.Text == "" && a.Title == "" && a.Pretext == "" && len(a.Fields) == 0 && len(a.Blocks) == 0 && a.Fallback != "" {
		r.open("mm-card-text")
		r.markdown(escapeMarkdown(a.Fallback))
		r.close()
		r.plain(a.Fallback)
	}
	if len(a.Fields) > 0 {
		r.open("mm-card-fields")
		for _, f := range a.Fields {
			class := "mm-card-field"
			if f.Short {
				class += " mm-card-field-short"
			}
			r.open(class)
			r.html.WriteString(`<div class="mm-card-field-title">` + html.EscapeString(f.Title) + `</div>`)
			r.markdown(Mrkdwn(f.Value))
			r.close()
			r.plain(f.Title + ": " + f.Value)
		}
		r.close()
	}
	r.blocks(a.Blocks)
	if a.Footer != "" || a.TS != 0 {
		r.open("mm-card-footer")
		parts := []string{}
		if a.Footer != "" {
			parts = append(parts, html.EscapeString(a.Footer))
		}
		if a.TS != 0 {
			t := time.Unix(int64(a.TS), 0).UTC()
			parts = append(parts, `<time datetime="`+t.Format(time.RFC3339)+`">`+t.Format("2006-01-02 15:04 UTC")+`</time>`)
		}
		r.html.WriteString(strings.Join(parts, " · "))
		r.close()
	}
	r.close()
}

// link returns markdown for text linked to href (or the text alone): the renderer drops any
// link that is not http, https or mailto.
func link(text, href string) string {
	if href == "" {
		return escapeMarkdown(text)
	}
	return "[" + escapeMarkdown(text) + "](<" + strings.NewReplacer("<", "%3C", ">", "%3E", "\n", "").Replace(href) + ">)"
}

// colorClass maps an attachment colour (Slack's good, warning and danger, or #rrggbb) to one
// of a few named colours: the page's style sheet has them, and no payload sets a style.
func colorClass(c string) string {
	switch strings.ToLower(strings.TrimSpace(c)) {
	case "good":
		return "green"
	case "warning":
		return "yellow"
	case "danger":
		return "red"
	case "":
		return "grey"
	}
	h := strings.TrimPrefix(c, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if len(h) != 6 || err != nil {
		return "grey"
	}
	r, g, b := float64(v>>16&0xff), float64(v>>8&0xff), float64(v&0xff)
	mx, mn := max(r, g, b), min(r, g, b)
	if mx-mn < 30 {
		return "grey"
	}
	var hue float64
	switch mx {
	case r:
		hue = 60 * (g - b) / (mx - mn)
	case g:
		hue = 60*(b-r)/(mx-mn) + 120
	default:
		hue = 60*(r-g)/(mx-mn) + 240
	}
	if hue < 0 {
		hue += 360
	}
	switch {
	case hue < 20 || hue >= 330:
		return "red"
	case hue < 45:
		return "orange"
	case hue < 70:
		return "yellow"
	case hue < 170:
		return "green"
	case hue < 260:
		return "blue"
	default:
		return "purple"
	}
}
