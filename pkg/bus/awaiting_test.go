package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// An event whose handler awaits another event of its partner (bus.Awaiting)
// is redelivered within a fraction of BUS_NAK_BASE, where any other
// transient failure waits the whole of it; one that keeps waiting gets two
// deliveries more before it is dead-lettered with its code.
func TestAnAwaitingEventIsRedeliveredSoon(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	cfg := testConfig(url)
	cfg.NakBase, cfg.NakMax = 3*time.Second, 3*time.Second // a quick retry is at 300 ms, then 1.2 s
	router, _ := newRouter(t, "relationships", cfg, nil)
	var mu sync.Mutex
	deliveries := map[int][]time.Time{}
	router.On(typeHappened, func(_ context.Context, ev ce.Event) error {
		n := number(t, ev)
		mu.Lock()
		deliveries[n] = append(deliveries[n], time.Now())
		k := len(deliveries[n])
		mu.Unlock()
		notYet := apperr.New(apperr.KindUnavailable, "test.not_yet", "waits for another event")
		switch {
		case n == 0 && k == 1:
			return bus.Awaiting(notYet)
		case n == 1 && k == 1:
			return notYet // the usual backoff
		}
		return nil
	})
	runRouter(t, router)
	publish(t, js, "PG-1", 0)
	publish(t, js, "PG-2", 1)
	testkit.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(deliveries[0]) < 2 || len(deliveries[1]) < 2 {
			return fmt.Errorf("deliveries %d and %d, want 2 each", len(deliveries[0]), len(deliveries[1]))
		}
		return nil
	})
	mu.Lock()
	awaited, failed := deliveries[0][1].Sub(deliveries[0][0]), deliveries[1][1].Sub(deliveries[1][0])
	mu.Unlock()
	if awaited >= 2*time.Second {
		t.Errorf("an awaiting event was redelivered after %s, want about a tenth of BUS_NAK_BASE (3s)", awaited)
	}
	if failed < 2*time.Second {
		t.Errorf("another transient failure was redelivered after %s, want BUS_NAK_BASE (3s)", failed)
	}

	cfg.NakBase, cfg.NakMax = 10*time.Millisecond, 10*time.Millisecond
	quick, _ := newRouter(t, "agreements", cfg, nil)
	var calls int
	quick.On(typeHappened, func(_ context.Context, ev ce.Event) error {
		if number(t, ev) != 9 {
			return nil // the events above, which this durable reads too
		}
		mu.Lock()
		calls++
		mu.Unlock()
		return bus.Awaiting(apperr.New(apperr.KindUnavailable, "test.not_yet", "waits for another event"))
	})
	runRouter(t, quick)
	id := publish(t, js, "PG-3", 9)
	waitDeadLetter(t, js, "agreements", id, "test.not_yet")
	mu.Lock()
	defer mu.Unlock()
	if want := cfg.MaxDeliver + 2; calls != want {
		t.Errorf("an awaiting event was delivered %d times before its dead letter, want MaxDeliver + 2 = %d", calls, want)
	}
}
