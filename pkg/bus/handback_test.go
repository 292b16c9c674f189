package bus

import (
	"sync"
	"testing"
	"time"

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
	s := &subscription{r: &Router{cfg: Config{AckWait: 10 * time.Second}}, held: map[jetstream.Msg]held{}, pulls: map[int]*pulled{}}
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
