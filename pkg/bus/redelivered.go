package bus

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// redeliveryQuiet is how long a partition taken over from an instance that
// died waits, after the last redelivered message it received, for more of
// them before it hands them on in stream order.
const redeliveryQuiet = 50 * time.Millisecond

// redelivered puts back in stream order what a partition's new owner is
// redelivered of the deliveries an instance that died held. JetStream
// queues a delivery whose ack wait ran out for redelivery in sequence
// order, but one it then fails to send (to a pull request of the dead
// instance's, still waiting on the server) goes back to the end of that
// queue, behind a later one: the new owner handled a partner's newer event
// before the one the dead instance held (pkg/bus
// TestPartitionsOfACrashedInstanceAreTakenOver, once in 150 runs under
// load). The first redeliveries of such a partition are held until one
// that is not a redelivery arrives or none came for redeliveryQuiet, then
// handed on sorted; after that, messages pass straight through.
type redelivered struct {
	mu    sync.Mutex
	on    bool // gathering
	msgs  []jetstream.Msg
	timer *time.Timer
	pass  func(jetstream.Msg) // hands a message on (receive)
}

func newRedelivered(pass func(jetstream.Msg)) *redelivered {
	g := &redelivered{on: true, pass: pass}
	g.timer = time.AfterFunc(time.Hour, g.flush)
	g.timer.Stop()
	return g
}

// receive hands m on, or holds it while the first redeliveries gather.
func (g *redelivered) receive(m jetstream.Msg) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.on {
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			g.msgs = append(g.msgs, m)
			g.timer.Reset(redeliveryQuiet)
			return
		}
		g.release()
	}
	g.pass(m)
}

// flush hands on what gathered (the quiet time passed).
func (g *redelivered) flush() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.on {
		g.release()
	}
}

// release hands on what gathered, in stream order, and stops gathering.
func (g *redelivered) release() {
	g.on = false
	g.timer.Stop()
	msgs := latestInOrder(g.msgs)
	g.msgs = nil
	for _, m := range msgs {
		g.pass(m)
	}
}

// takeAll stops gathering and returns what gathered, handed on to no one
// (the partition is given up: it is handed back with the rest).
func (g *redelivered) takeAll() []jetstream.Msg {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.on = false
	g.timer.Stop()
	msgs := g.msgs
	g.msgs = nil
	return msgs
}
