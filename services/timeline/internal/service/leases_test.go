package service_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/timeline/internal/service"
)

// TestAHeldWebhookDeliveryKeepsItsLease: while a receiver holds a request
// longer than a lease, the replica that sent it renews the delivery's lease
// (every third of it): another replica cannot take it and send it a second
// time while this one waits for the answer.
func TestAHeldWebhookDeliveryKeepsItsLease(t *testing.T) {
	e := start(t, fastRetries, func(c *service.Config) {
		c.WebhookTimeout = time.Minute
		c.TimerInterval = 30 * time.Second // the sweep every half lease: a lapsed lease shows for up to 3 s
	})
	db := e.adminDB()
	hooks := newReceiver(t)
	release := make(chan struct{})
	released := sync.OnceFunc(func() { close(release) })
	t.Cleanup(released)
	var requests atomic.Int32
	hooks.fail = func(string) int {
		requests.Add(1)
		<-release
		return 0
	}
	e.register(operator, hooks, map[string]any{"event_types": []string{"relationships."}})
	ev := event(srcRelationships, "com.partnerhub.relationships.request.created.v1", reseller, 1, t0, map[string]any{"reseller_id": reseller})
	e.publish(ev)
	testkit.Eventually(t, 10*time.Second, func() error {
		if requests.Load() == 0 {
			return errors.New("no request yet")
		}
		return nil
	})
	held := time.Now()
	for time.Since(held) < 10*time.Second { // more than a lease and a half
		var leaseLeft time.Duration
		if err := db.QueryRow(context.Background(), `SELECT next_attempt_at - now() FROM timeline.webhook_deliveries WHERE event_id = $1`,
			ev.ID).Scan(&leaseLeft); err != nil {
			t.Fatal(err)
		}
		if leaseLeft <= 0 {
			t.Fatalf("%s into the request, the delivery's lease ran out %s ago: another replica may send it again",
				time.Since(held).Round(time.Millisecond), -leaseLeft)
		}
		time.Sleep(200 * time.Millisecond)
	}
	released()
	hooks.waitFor(t, ev.ID)
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// TestAReplicaSendsWhatAGoneReplicaClaimed: a delivery claimed by another
// replica (its lease, next_attempt_at, set after this replica last looked)
// whose holder is gone is sent by this one within half a lease of the
// lease's end, although its TIMER_INTERVAL is the production 30 s.
func TestAReplicaSendsWhatAGoneReplicaClaimed(t *testing.T) {
	e := start(t, fastRetries, func(c *service.Config) {
		c.TimerInterval = 30 * time.Second
		c.WebhookRetrySchedule = []time.Duration{time.Hour}
	})
	db := e.adminDB()
	hooks := newReceiver(t)
	var requests atomic.Int32
	hooks.fail = func(string) int {
		if requests.Add(1) == 1 {
			return http.StatusServiceUnavailable // the first attempt fails: next one in an hour
		}
		return 0
	}
	e.register(operator, hooks, map[string]any{"event_types": []string{"relationships."}})
	ev := event(srcRelationships, "com.partnerhub.relationships.request.created.v1", reseller, 1, t0, map[string]any{"reseller_id": reseller})
	e.publish(ev)
	testkit.Eventually(t, 10*time.Second, func() error {
		var state string
		var attempts int
		if err := db.QueryRow(context.Background(), `SELECT state, attempts FROM timeline.webhook_deliveries WHERE event_id = $1`,
			ev.ID).Scan(&state, &attempts); err != nil {
			return err
		}
		if state != "pending" || attempts != 1 {
			return fmt.Errorf("%s after %d attempts", state, attempts)
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // the dispatcher has recorded the retry and sleeps
	// Another replica claims it (its lease ends in a second) and is gone.
	if _, err := db.Exec(context.Background(), `UPDATE timeline.webhook_deliveries SET next_attempt_at = now() + interval '1 second'
		WHERE event_id = $1`, ev.ID); err != nil {
		t.Fatal(err)
	}
	claimed := time.Now()
	testkit.Eventually(t, 40*time.Second, func() error {
		if requests.Load() < 2 {
			return errors.New("not sent again yet")
		}
		return nil
	})
	took := time.Since(claimed)
	t.Logf("sent again %s after the other replica's claim (its lease: 1 s)", took.Round(time.Millisecond))
	if limit := time.Second + 3*time.Second + time.Second; took > limit {
		t.Fatalf("sent again %s after the claim; want at most %s (the lease, then half the 6 s lease)", took.Round(time.Millisecond), limit)
	}
	hooks.waitFor(t, ev.ID)
}
