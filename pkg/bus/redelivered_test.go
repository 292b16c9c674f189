package bus

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// passed records the stream sequences handed on, in order.
type passed struct {
	mu   sync.Mutex
	seqs []uint64
}

func (p *passed) pass(m jetstream.Msg) {
	p.mu.Lock()
	p.seqs = append(p.seqs, m.(seqMsg).seq)
	p.mu.Unlock()
}

func (p *passed) got() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seqs)
}

// TestATakenOverPartitionHandsItsRedeliveriesOnInStreamOrder: the server
// may redeliver what a dead instance held out of order (a redelivery it
// failed to send goes to the back of its queue). The new owner holds the
// first redeliveries and hands them on sorted, when a first delivery
// arrives or when none came for a while; later messages pass straight on.
func TestATakenOverPartitionHandsItsRedeliveriesOnInStreamOrder(t *testing.T) {
	t.Run("a first delivery follows", func(t *testing.T) {
		p := &passed{}
		g := newRedelivered(p.pass)
		g.receive(seqMsg{seq: 5, delivered: 2})
		g.receive(seqMsg{seq: 4, delivered: 2})
		if got := p.got(); len(got) != 0 {
			t.Fatalf("handed on %v while the redeliveries gathered", got)
		}
		g.receive(seqMsg{seq: 6, delivered: 1})
		g.receive(seqMsg{seq: 3, delivered: 3}) // after the gathering: as it comes
		if got, want := p.got(), []uint64{4, 5, 6, 3}; !slices.Equal(got, want) {
			t.Fatalf("handed on %v, want %v", got, want)
		}
	})
	t.Run("the redeliveries stop", func(t *testing.T) {
		p := &passed{}
		g := newRedelivered(p.pass)
		g.receive(seqMsg{seq: 9, delivered: 2})
		g.receive(seqMsg{seq: 8, delivered: 2})
		time.Sleep(4 * redeliveryQuiet)
		if got, want := p.got(), []uint64{8, 9}; !slices.Equal(got, want) {
			t.Fatalf("handed on %v, want %v", got, want)
		}
	})
	t.Run("the partition is given up meanwhile", func(t *testing.T) {
		p := &passed{}
		g := newRedelivered(p.pass)
		g.receive(seqMsg{seq: 2, delivered: 2})
		if kept := g.takeAll(); len(kept) != 1 {
			t.Fatalf("took %d, want the one gathered", len(kept))
		}
		time.Sleep(2 * redeliveryQuiet)
		if got := p.got(); len(got) != 0 {
			t.Fatalf("handed on %v after the partition was given up", got)
		}
	})
}
