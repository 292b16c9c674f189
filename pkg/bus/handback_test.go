package bus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// nakOrder is a message that records the order of the naks.
type nakOrder struct {
	jetstream.Msg
	n     int
	mu    *sync.Mutex
	order *[]int
}

func (m nakOrder) Nak() error {
	m.mu.Lock()
	*m.order = append(*m.order, m.n)
	m.mu.Unlock()
	return nil
}

// TestAMessageIsHandedBackAfterWhatItsPartitionHolds: the server redelivers
// what is handed back in the order of the naks, so a message the client
// received after others of its partition goes back only once they are
// settled (handled, or handed back by their worker) — and a held message of
// another partition does not hold it up.
func TestAMessageIsHandedBackAfterWhatItsPartitionHolds(t *testing.T) {
	var mu sync.Mutex
	var order []int
	msg := func(n int) nakOrder { return nakOrder{n: n, mu: &mu, order: &order} }
	s := &subscription{r: &Router{cfg: Config{AckWait: 10 * time.Second}, log: slog.New(slog.DiscardHandler)}, held: map[jetstream.Msg]held{}, pulls: map[int]*pulled{}}
	queued, other := msg(1), msg(9)
	s.held[queued] = held{partition: 2, n: 1}
	s.held[other] = held{partition: 3, n: 2}

	done := make(chan struct{})
	go func() { s.handBack(msg(2), 2); close(done) }()
	select {
	case <-done:
		t.Fatal("handed back while an earlier message of its partition was held")
	case <-time.After(100 * time.Millisecond):
	}
	_ = queued.Nak() // its worker hands the queued one back
	s.release(queued)
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("not handed back once its partition held nothing")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != 1 || order[1] != 2 {
		t.Errorf("naks in order %v, want [1 2]", order)
	}
}

// TestTheDatabaseIsAskedAgainWithinASecond: an owner whose round failed
// and events held while the database is away try again after 100 ms,
// doubling, never more than a second apart (an owner's round also never
// more than a rebalance interval), so a Postgres that answers again is
// seen within a second (the held events had waited up to 5 s between
// tries, the rounds up to the 2 s interval).
func TestTheDatabaseIsAskedAgainWithinASecond(t *testing.T) {
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := databaseRetry(i + 1); got != w*time.Millisecond {
			t.Errorf("try %d: %s, want %s", i+1, got, w*time.Millisecond)
		}
	}
	if got := databaseRetry(1000); got != time.Second {
		t.Errorf("after many tries: %s", got)
	}
	if got := retryRound(5, 500*time.Millisecond); got != 500*time.Millisecond {
		t.Errorf("a round with a 500 ms interval: %s", got)
	}
	if got := retryRound(9, 2*time.Second); got != time.Second {
		t.Errorf("a round with the default interval: %s", got)
	}
}

// seqMsg is a delivery of stream sequence seq, the delivered-th.
type seqMsg struct {
	jetstream.Msg
	seq, delivered uint64
}

func (m seqMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.seq}, NumDelivered: m.delivered}, nil
}

// TestWhatAPullBeingClosedReceivedGoesBackInStreamOrderOnce: a message
// the workers handed back may come back to the pull being closed after
// later ones: the pull hands everything back in stream order, each
// message once (its latest delivery; a nak of the earlier one is stale).
func TestWhatAPullBeingClosedReceivedGoesBackInStreamOrderOnce(t *testing.T) {
	pl := &pulled{}
	for _, m := range []seqMsg{{seq: 7, delivered: 1}, {seq: 8, delivered: 1}, {seq: 5, delivered: 2}, {seq: 7, delivered: 2}} {
		if !pl.keepBack(m) {
			t.Fatal("not kept before the hand-back")
		}
	}
	var got []seqMsg
	for _, m := range pl.takeBack() {
		got = append(got, m.(seqMsg))
	}
	want := []seqMsg{{seq: 5, delivered: 2}, {seq: 7, delivered: 2}, {seq: 8, delivered: 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("handed back %v, want %v", got, want)
	}
	if pl.keepBack(seqMsg{seq: 9, delivered: 1}) {
		t.Fatal("kept after the hand-back: nothing would hand it back")
	}
}

// lastDeliveryMsg is a delivery that records how it was settled.
type lastDeliveryMsg struct {
	seqMsg
	settled *[]string
}

func (m lastDeliveryMsg) Subject() string { return "registration.test.happened.v1.2" }
func (m lastDeliveryMsg) Data() []byte    { return []byte(`{}`) }
func (m lastDeliveryMsg) Headers() nats.Header {
	return nats.Header{"Ce-Id": {fmt.Sprint("ev-", m.seq)}}
}
func (m lastDeliveryMsg) Ack() error {
	*m.settled = append(*m.settled, fmt.Sprint("ack ", m.seq))
	return nil
}
func (m lastDeliveryMsg) Nak() error {
	*m.settled = append(*m.settled, fmt.Sprint("nak ", m.seq))
	return nil
}

// deadLetters records what is published on the dead-letter stream.
type deadLetters struct {
	jetstream.JetStream
	got []*nats.Msg
}

func (d *deadLetters) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	d.got = append(d.got, m)
	return &jetstream.PubAck{}, nil
}

// maxDeliverConsumer is a durable whose deliveries stop at max.
type maxDeliverConsumer struct {
	jetstream.Consumer
	max int
}

func (c maxDeliverConsumer) CachedInfo() *jetstream.ConsumerInfo {
	return &jetstream.ConsumerInfo{Config: jetstream.ConsumerConfig{MaxDeliver: c.max}}
}

// TestAnEventHandedBackOnItsLastDeliveryIsDeadLettered: the server does
// not deliver again an event handed back on its durable's last delivery
// (MaxDeliver) — it dropped it without a word. Such an event is
// dead-lettered (to be replayed) and acknowledged; the others are handed
// back as before.
func TestAnEventHandedBackOnItsLastDeliveryIsDeadLettered(t *testing.T) {
	var settled []string
	dl := &deadLetters{}
	s := &subscription{r: &Router{service: "relationships", js: dl, cfg: Config{AckWait: time.Second}, log: slog.New(slog.DiscardHandler)},
		durable: "relationships__registration_test_happened_v1", held: map[jetstream.Msg]held{}, pulls: map[int]*pulled{}}
	pl := &pulled{cons: maxDeliverConsumer{max: 7}}
	pl.keepBack(lastDeliveryMsg{seqMsg{seq: 4, delivered: 6}, &settled})
	pl.keepBack(lastDeliveryMsg{seqMsg{seq: 5, delivered: 7}, &settled})
	s.handBackKept(pl, 2)
	if want := []string{"nak 4", "ack 5"}; !slices.Equal(settled, want) {
		t.Fatalf("settled %v, want %v", settled, want)
	}
	if len(dl.got) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl.got))
	}
	h := dl.got[0].Header
	if h.Get(DLQCode) != CodeLastDeliveryHandedBack || h.Get("Ce-Id") != "ev-5" || h.Get(DLQDelivered) != "7" {
		t.Fatalf("dead letter %v", h)
	}
}
