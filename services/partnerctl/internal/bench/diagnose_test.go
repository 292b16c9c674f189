package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestDiagnoseListsAStalledPartnersEventsAndDeadLetters: the diagnosis of
// a stall shows every stored event of the partner, and of no other, with
// its producer and type, and a dead letter of it with its handler, code
// and reason.
func TestDiagnoseListsAStalledPartnersEventsAndDeadLetters(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	ctx := context.Background()
	for name, subj := range map[string]string{"AGREEMENTS": "agreements.>", "DEADLETTER": "deadletter.>"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subj}}); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(subject, partner, typ, id string, extra map[string]string) {
		m := nats.NewMsg(subject)
		m.Header.Set(ce.HPartitionKey, partner)
		m.Header.Set(ce.HSource, "agreements")
		m.Header.Set(ce.HType, "com.partnerhub."+typ)
		m.Header.Set(ce.HID, id)
		m.Header.Set(ce.HTime, "2026-12-06T20:54:02.123Z")
		for k, v := range extra {
			m.Header.Set(k, v)
		}
		m.Data = []byte(`{}`)
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	publish("agreements.p1.acceptance", "PG-STALLED", "agreements.acceptance.recorded.v1", "ev-mine", nil)
	publish("agreements.p2.acceptance", "PG-OTHER", "agreements.acceptance.recorded.v1", "ev-other", nil)
	publish("deadletter.registration", "PG-STALLED", "agreements.acceptance.recorded.v1", "ev-mine", map[string]string{
		bus.DLQCode: "registration.not_yet_approved", bus.DLQHandler: "registration__agreements", bus.DLQDelivered: "7",
		bus.DLQReason: "the agreement can be accepted only after verification approved the partner"})

	got := Diagnose(ctx, url, "PG-STALLED")
	t.Log(got)
	for _, want := range []string{"2 messages", "agreements.acceptance.recorded.v1", "ev-mine", "DEAD LETTER by registration__agreements",
		"registration.not_yet_approved", "delivered 7", "only after verification approved"} {
		if !strings.Contains(got, want) {
			t.Errorf("diagnosis lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ev-other") || strings.Contains(got, "could not read") {
		t.Errorf("diagnosis shows another partner's event or a read failure:\n%s", got)
	}
}
