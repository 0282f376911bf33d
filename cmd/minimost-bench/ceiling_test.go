package main

import (
	"encoding/json"
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
// or refusals go uncounted.
func TestServerFrame_DecodesErrorAndMessageFrames(t *testing.T) {
	var f serverFrame
	if err := json.Unmarshal([]byte(`{"type":"error","client_id":"3-7","code":"too_many","message":"the server is busy","retry_after":1}`), &f); err != nil {
		t.Fatalf("error frame: %v", err)
	}
	if f.Type != "error" || f.ClientID != "3-7" || f.Code != "too_many" {
		t.Errorf("error frame decoded as %+v", f)
	}
	if err := json.Unmarshal([]byte(`{"type":"message.new","seq":9,"message":{"id":"m1","body":"mmbench r 1 2 3"}}`), &f); err != nil {
		t.Fatalf("message.new: %v", err)
	}
	var m messageOf
	if err := json.Unmarshal(f.Message, &m); err != nil || m.Body != "mmbench r 1 2 3" || f.Seq != 9 {
		t.Errorf("message.new decoded as %+v, %+v (%v)", f, m, err)
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
