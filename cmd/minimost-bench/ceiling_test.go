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
}
