package eventfmt_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/eventfmt"
)

// TestALiveTailMissesNothingAcrossAServerRestart: a tail of new events on a
// stream that had none yet goes on after the server restarts without
// missing what was published while it came back (nats.go recreates an
// ordered consumer that delivered nothing with its original policy, and
// "new" would skip those).
func TestALiveTailMissesNothingAcrossAServerRestart(t *testing.T) {
	srv := testkit.RestartableNATS(t)
	_, js := testkit.JetStream(t, srv.URL())
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, 1, "RELATIONSHIPS"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	stop, _, err := eventfmt.Tail(ctx, js, eventfmt.TailOptions{Streams: []string{"RELATIONSHIPS"}, Strict: true}, func(it eventfmt.Item) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, it.Event.ID)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	srv.Restart()
	ev, m := relationshipEvent()
	testkit.Eventually(t, 10*time.Second, func() error {
		_, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(ev.ID))
		return err
	})
	testkit.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0] != ev.ID {
			return fmt.Errorf("tail saw %v, want the event published during the restart", seen)
		}
		return nil
	})
}

// TestATailLeavesNoConsumerBehind: a tail that read the stored events and
// then followed the live ones deletes its consumers when stopped. They
// stayed for nats.go's five minutes of inactivity: a script running
// 'partnerctl demo' a few dozen times hit the server's default limit of
// 1000 consumers per stream, and every run after failed.
func TestATailLeavesNoConsumerBehind(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, 1, "RELATIONSHIPS"); err != nil {
		t.Fatal(err)
	}
	ev, m := relationshipEvent()
	if _, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(ev.ID)); err != nil {
		t.Fatal(err)
	}
	consumers := func() int {
		s, err := js.Stream(ctx, "RELATIONSHIPS")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	for range 3 {
		seen := make(chan struct{}, 1)
		stop, _, err := eventfmt.Tail(ctx, js, eventfmt.TailOptions{Streams: []string{"RELATIONSHIPS"}, Strict: true, Start: eventfmt.Start{All: true}},
			func(eventfmt.Item) { seen <- struct{}{} }, nil)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-seen:
		case <-time.After(5 * time.Second):
			t.Fatal("the stored event was not read")
		}
		if n := consumers(); n == 0 {
			t.Fatal("no consumer while tailing")
		}
		stop()
	}
	testkit.Eventually(t, 3*time.Second, func() error {
		if n := consumers(); n != 0 {
			return fmt.Errorf("%d consumers left after three tails", n)
		}
		return nil
	})
}

// relationshipEvent is a relationship event about PG-TAIL as the
// relationships relay publishes it.
func relationshipEvent() (ce.Event, *nats.Msg) {
	const typ = "com.partnerhub.relationships.request.created.v1"
	ev := ce.Event{ID: ce.NewID(), Source: "/services/relationships", Type: typ, Subject: "PG-TAIL", PartitionKey: "PG-TAIL",
		Time: time.Now().UTC(), DataContentType: ce.JSON, Data: []byte(`{}`)}
	m := nats.NewMsg(testkit.Subject(typ, "PG-TAIL"))
	for k, v := range ev.Headers() {
		m.Header[k] = []string{v}
	}
	m.Data = ev.Data
	return ev, m
}
