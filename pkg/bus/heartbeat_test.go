package bus

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/ce"
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

// markedMsg counts the in-progress marks it was sent.
type markedMsg struct {
	jetstream.Msg
	marks int
}

func (m *markedMsg) InProgress() error    { m.marks++; return nil }
func (m *markedMsg) Headers() nats.Header { return nats.Header{ce.HPartitionKey: {"PG-1"}} }
func (m *markedMsg) Subject() string      { return "registration.p0.x" }

// TestAMessageReceivedSoonAfterAHeartbeatIsMarkedToo: the server may have
// delivered a message before a heartbeat while the client still buffered
// it, so the heartbeat did not mark it and the older messages' ack deadline
// moved past its own; marked when received, it is redelivered after them if
// this instance dies (TestPartitionsOfACrashedInstanceAreTakenOver failed
// that way once under CI load). Without a heartbeat within the ack wait
// nothing is sent.
func TestAMessageReceivedSoonAfterAHeartbeatIsMarkedToo(t *testing.T) {
	s := &subscription{r: &Router{cfg: Config{AckWait: 6 * time.Second}}, held: map[jetstream.Msg]held{},
		w: &workers{queues: []chan queued{make(chan queued, 3)}}}
	now := time.Now()
	fresh := &markedMsg{}
	s.receive(fresh, 0)
	if fresh.marks != 0 {
		t.Fatalf("a message received with no heartbeat sent was marked %d times", fresh.marks)
	}
	s.lastBeat = now.Add(-time.Second)
	after := &markedMsg{}
	s.receive(after, 0)
	if after.marks != 1 {
		t.Fatalf("a message received a second after a heartbeat was marked %d times, want 1", after.marks)
	}
	s.lastBeat = now.Add(-7 * time.Second)
	late := &markedMsg{}
	s.receive(late, 0)
	if late.marks != 0 {
		t.Fatalf("a message received after the ack wait since the last heartbeat was marked %d times", late.marks)
	}
}
