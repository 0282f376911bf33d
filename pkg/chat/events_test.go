package chat_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

// jsonFields returns the JSON field names of an event's payload.
func jsonFields(ev chat.Event) []string {
	var out []string
	t := reflect.TypeOf(ev)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// TestEvents_DocumentedAndMirrored keeps the three lists of live events in step: the Go types
// of events.go, the browser's web/js/events.js, and the server-to-client table of
// docs/api.md (each event a row naming every field of its payload).
func TestEvents_DocumentedAndMirrored(t *testing.T) {
	var goTypes []string
	for _, ev := range chat.AllEvents() {
		if slices.Contains(goTypes, ev.EventType()) {
			t.Errorf("event type %q declared twice", ev.EventType())
		}
		goTypes = append(goTypes, ev.EventType())
		if _, err := chat.MarshalEvent(ev); err != nil {
			t.Errorf("marshal %s: %v", ev.EventType(), err)
		}
	}

	js, err := os.ReadFile("../../web/js/events.js")
	if err != nil {
		t.Fatal(err)
	}
	var jsTypes []string
	for _, m := range regexp.MustCompile(`(?m)^\s+[A-Z_]+: '([a-z.]+)',`).FindAllStringSubmatch(string(js), -1) {
		jsTypes = append(jsTypes, m[1])
	}
	if a, b := sorted(goTypes), sorted(jsTypes); !slices.Equal(a, b) {
		t.Errorf("web/js/events.js lists %v; pkg/chat/events.go declares %v", b, a)
	}

	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "Server → client:")
	if !ok {
		t.Fatal("docs/api.md has no \"Server → client:\" table")
	}
	section, _, _ = strings.Cut(section, "Client → server:")
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z.]+)` \\| (.*)\\|$").FindAllStringSubmatch(section, -1) {
		rows[m[1]] = m[2]
	}
	for _, ev := range chat.AllEvents() {
		row, ok := rows[ev.EventType()]
		if !ok {
			t.Errorf("docs/api.md does not document the %q event", ev.EventType())
			continue
		}
		delete(rows, ev.EventType())
		for _, f := range jsonFields(ev) {
			if !strings.Contains(row, "`"+f+"`") {
				t.Errorf("docs/api.md: the %q event's row does not name its field `%s`", ev.EventType(), f)
			}
		}
	}
	for typ := range rows {
		t.Errorf("docs/api.md documents an event %q that the server does not send", typ)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestMarshalEvent(t *testing.T) {
	b, err := chat.MarshalEvent(chat.MessageDeleted{Conversation: "c:general", ID: "X"})
	if err != nil || string(b) != `{"type":"message.deleted","conversation":"c:general","id":"X"}` {
		t.Errorf("MarshalEvent = %s, %v", b, err)
	}
	if b, err := chat.MarshalEvent(chat.Resync{}); err != nil || string(b) != `{"type":"resync"}` {
		t.Errorf("MarshalEvent(Resync) = %s, %v", b, err)
	}
}
