package bus

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// fakeMsg is a held message in a unit test of pure logic: only its
// identity is used.
type fakeMsg struct {
	jetstream.Msg
	name string
}

// TestHeldMessagesAreMarkedInProgressTogetherOldestFirst: once one held
// message is due for a heartbeat, every held message is marked, in the order
// they were received, so that a later message's ack deadline never falls
// before an earlier one's. Marking only the late one let a partner's newer
// event, queued behind a long-running one, expire first and be redelivered
// first to the next owner after a crash (TestPartitionsOfACrashedInstanceAreTakenOver,
// once under load).
func TestHeldMessagesAreMarkedInProgressTogetherOldestFirst(t *testing.T) {
	now := time.Now()
	every := 10 * time.Second
	older, newer, newest := &fakeMsg{name: "older"}, &fakeMsg{name: "newer"}, &fakeMsg{name: "newest"}
	hs := map[jetstream.Msg]held{
		newest: {since: now.Add(-time.Second), n: 9},
		older:  {since: now.Add(-12 * time.Second), n: 7},
		newer:  {since: now.Add(-2 * time.Second), n: 8},
	}
	got := heartbeats(hs, now, every)
	var names []string
	for _, m := range got {
		names = append(names, m.(*fakeMsg).name)
	}
	if len(names) != 3 || names[0] != "older" || names[1] != "newer" || names[2] != "newest" {
		t.Fatalf("marked %v, want older, newer, newest", names)
	}
	// None is due while every held message is younger than every: their
	// own ack wait still runs, in the order they came.
	delete(hs, older)
	if got := heartbeats(hs, now, every); len(got) != 0 {
		t.Fatalf("marked %d fresh messages", len(got))
	}
}
