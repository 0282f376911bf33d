package main

import (
	"strings"
	"testing"
)

func TestParseMetric(t *testing.T) {
	text := `# HELP minimost_fanout_copies_total Copies of messages written to user databases.
# TYPE minimost_fanout_copies_total counter
minimost_fanout_copies_total_extra 5
minimost_fanout_copies_total 123456
minimost_fanout_transactions_total 40
`
	got, err := parseMetric(strings.NewReader(text), "minimost_fanout_copies_total")
	if err != nil || got != 123456 {
		t.Fatalf("got %v, %v; want 123456", got, err)
	}
	if _, err := parseMetric(strings.NewReader(text), "minimost_missing"); err == nil {
		t.Error("a metric not exposed: no error")
	}
	if _, err := parseMetric(strings.NewReader("minimost_x abc\n"), "minimost_x"); err == nil {
		t.Error("a value that is not a number: no error")
	}
	// Several from one exposition; one missing fails them all.
	m, err := parseMetrics(strings.NewReader(text), "minimost_fanout_transactions_total", "minimost_fanout_copies_total")
	if err != nil || m["minimost_fanout_copies_total"] != 123456 || m["minimost_fanout_transactions_total"] != 40 || len(m) != 2 {
		t.Fatalf("got %v, %v; want copies 123456 and transactions 40", m, err)
	}
	if _, err := parseMetrics(strings.NewReader(text), "minimost_fanout_copies_total", "minimost_missing"); err == nil {
		t.Error("one of two metrics not exposed: no error")
	}
}

// An error frame's message is a string, a message.new's an object: both frames must decode,
// or refusals go uncounted; a string's escapes are undone; what is not a frame is skipped.
func TestServerFrame_DecodesErrorAndMessageFrames(t *testing.T) {
	f, ok := parseServerFrame([]byte(`{"type":"error","client_id":"3-7","code":"too_many","message":"the server is busy","retry_after":1}`))
	if !ok || f.Type != "error" || f.ClientID != "3-7" || f.Code != "too_many" || f.Body != "" {
		t.Errorf("error frame decoded as %+v, %v", f, ok)
	}
	f, ok = parseServerFrame([]byte(`{"message":{"id":"m1","body":"mmbench r 1 2 3","html":"<p>x</p>"},"seq":9,"type":"message.new"}`))
	if !ok || f.Type != "message.new" || f.Body != "mmbench r 1 2 3" || f.Seq != 9 {
		t.Errorf("message.new decoded as %+v, %v", f, ok)
	}
	f, ok = parseServerFrame([]byte(`{"type":"ack","client_id":"a\"b\u00e9","message":{"body":"x"}}`))
	if !ok || f.Type != "ack" || f.ClientID != "a\"bé" {
		t.Errorf("ack decoded as %+v, %v", f, ok)
	}
	for _, bad := range []string{``, `[]`, `{"seq":3}`, `{"type":7}`} {
		if f, ok := parseServerFrame([]byte(bad)); ok {
			t.Errorf("%q decoded as %+v", bad, f)
		}
	}
}

func TestParseMetricByLabel(t *testing.T) {
	text := `# HELP minimost_websocket_closed_total Ended connections.
# TYPE minimost_websocket_closed_total counter
minimost_websocket_closed_total{reason="client"} 12
minimost_websocket_closed_total{reason="ping_timeout"} 3
minimost_websocket_closedx_total{reason="client"} 99
minimost_other 5
`
	got, err := parseMetricByLabel(strings.NewReader(text), "minimost_websocket_closed_total", "reason")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["client"] != 12 || got["ping_timeout"] != 3 {
		t.Fatalf("got %v, want client 12 and ping_timeout 3", got)
	}
	if _, err := parseMetricByLabel(strings.NewReader(`minimost_websocket_closed_total{reason="x",other="y"} 1`+"\n"), "minimost_websocket_closed_total", "reason"); err == nil {
		t.Fatal("a second label was accepted")
	}
}
