package main

import "testing"

// The daemon's back-pressure answers a send with an error frame whose "message" is a string:
// it must be read as an error frame (it used to be dropped as unreadable, so refused sends
// were counted as missing copies).
func TestParseFrame(t *testing.T) {
	f, ok := parseFrame([]byte(`{"type":"error","client_id":"3-7","code":"too_many","message":"the server is busy","retry_after":1}`))
	if !ok || f.Type != "error" || f.ClientID != "3-7" || f.Code != "too_many" {
		t.Fatalf("error frame: %+v, %v", f, ok)
	}
	f, ok = parseFrame([]byte(`{"type":"message.new","seq":9,"message":{"id":"m1","body":"hi"}}`))
	if !ok || f.Type != "message.new" || f.Seq != 9 || f.Message.ID != "m1" || f.Message.Body != "hi" {
		t.Fatalf("message.new: %+v, %v", f, ok)
	}
	if _, ok := parseFrame([]byte(`{"type":`)); ok {
		t.Fatal("a truncated frame was read")
	}
}
