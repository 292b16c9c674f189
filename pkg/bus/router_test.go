package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// A dead-letter consumer gets the dlq-* headers beside the decoded event,
// and none of the router's own metadata.
func TestSubscribeAllHeadersGivesTheMessageHeaders(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, 1, bus.DeadLetterStream); err != nil {
		t.Fatal(err)
	}
	cfg := bus.Config{NATSURL: url, Replicas: 1, MaxDeliver: 3, AckWait: 5 * time.Second,
		NakBase: 10 * time.Millisecond, NakMax: 100 * time.Millisecond, Prefetch: 4}
	router := startRouter(t, cfg)
	type got struct {
		ev      ce.Event
		headers map[string]string
	}
	received := make(chan got, 1)
	router.SubscribeAllHeaders(bus.DeadLetterSubject("registration"), func(_ context.Context, ev ce.Event, h map[string]string) error {
		received <- got{ev, h}
		return nil
	})
	runRouter(t, router)

	ev := ce.Event{ID: ce.NewID(), Source: "/services/registration", Type: "com.partnerhub.registration.x.v1", Subject: "PG-1",
		Time: time.Now().UTC(), DataContentType: ce.JSON, Data: []byte(`{}`)}
	m := nats.NewMsg(bus.DeadLetterSubject("registration"))
	for k, v := range ev.Headers() {
		m.Header[k] = []string{v}
	}
	m.Header[bus.DLQCode] = []string{"registration.not_yet_approved"}
	m.Header[bus.DLQHandler] = []string{"registration__registration_x_v1"}
	m.Data = ev.Data
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-received:
		if g.ev.ID != ev.ID || g.headers[ce.HID] != ev.ID {
			t.Errorf("event %s, ce-id header %q, want %s", g.ev.ID, g.headers[ce.HID], ev.ID)
		}
		if g.headers[bus.DLQCode] != "registration.not_yet_approved" || g.headers[bus.DLQHandler] != "registration__registration_x_v1" {
			t.Errorf("dlq headers %v", g.headers)
		}
		for k := range g.headers {
			if len(k) > 6 && k[:6] == "x-bus-" {
				t.Errorf("router metadata %s leaked into the headers", k)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler got nothing")
	}
}
