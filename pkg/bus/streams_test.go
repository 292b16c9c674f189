package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestAProducerStreamStoresOnlyWhatAConsumerReads: a producer's stream
// takes an event on a partition of its topic, and refuses at publish one
// that no consumer would read (no partition, a partition that does not
// exist, a topic of another shape); INTAKE and DEADLETTER take any subject
// of theirs. A stream created before (on "registration.>") is narrowed
// when provisioned again.
func TestAProducerStreamStoresOnlyWhatAConsumerReads(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	ctx := context.Background()
	old := bus.StreamConfig(bus.Catalog[1], 1)
	old.Subjects = []string{"registration.>"}
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	publish := func(subject string) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := js.Publish(ctx, subject, []byte(`{}`))
		return err
	}
	for _, subject := range []string{
		bus.PartitionSubject("registration.partner.submitted.v1", 0),
		bus.PartitionSubject("registration.partner.submitted.v1", bus.Partitions-1),
		bus.PartitionSubject("email.ownership.confirmed.v1", 2),
		"intake.registration.requested.v1",
		bus.DeadLetterSubject("email-ownership"),
	} {
		if err := publish(subject); err != nil {
			t.Errorf("%s: %v", subject, err)
		}
	}
	for _, subject := range []string{
		"registration.partner.submitted.v1",
		"registration.x.v1",
		bus.PartitionSubject("registration.partner.submitted.v1", bus.Partitions),
		"registration.partner.submitted.v1.x",
		"registration.partner.submitted.v1.0.extra",
		"verification.case.approved.v1",
	} {
		if err := publish(subject); !errors.Is(err, jetstream.ErrNoStreamResponse) {
			t.Errorf("%s: stored (or another error: %v); want no stream to answer", subject, err)
		}
	}
	info, err := js.Stream(ctx, "REGISTRATION")
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 2 {
		t.Errorf("REGISTRATION holds %d messages, want the 2 on a partition", n)
	}
}
