package app_test

import (
	"slices"
	"testing"
)

// A read receipt goes to every member of a conversation up to ReceiptsLiveMax members; in a
// bigger one only to the reader's own connections (the others read receipts as they open it),
// and it is recorded either way.
func TestApp_ReceiptsLiveOnlyInSmallConversations(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	bob := e.mustAccount(t, "bob")
	carol := e.mustAccount(t, "carol")
	m := must(e.app.Post(e.ctx, bob, "c:general", "hello", "", nil))

	e.app.ReceiptsLiveMax = 3 // #general has 3 members: live to all
	e.rec.take()
	if err := e.app.MarkRead(e.ctx, alice, "c:general", m.ID); err != nil {
		t.Fatal(err)
	}
	to, ok := recipientsOf(e.rec.take(), "read")
	slices.Sort(to)
	want := []string{alice.ID, bob.ID, carol.ID}
	slices.Sort(want)
	if !ok || !slices.Equal(to, want) {
		t.Errorf("3 members, limit 3: receipt to %v, want everyone %v", to, want)
	}

	e.app.ReceiptsLiveMax = 2 // now bigger than the limit: the reader's connections only
	if err := e.app.MarkRead(e.ctx, carol, "c:general", m.ID); err != nil {
		t.Fatal(err)
	}
	if to, ok := recipientsOf(e.rec.take(), "read"); !ok || !slices.Equal(to, []string{carol.ID}) {
		t.Errorf("3 members, limit 2: receipt to %v, want carol only", to)
	}
	rs, err := e.app.Receipts(e.ctx, bob, "c:general")
	if err != nil {
		t.Fatal(err)
	}
	var readers []string
	for _, r := range rs {
		readers = append(readers, r.Reader)
	}
	if !slices.Contains(readers, "carol") || !slices.Contains(readers, "alice") {
		t.Errorf("receipts read on opening: %v, want alice and carol", readers)
	}
}
