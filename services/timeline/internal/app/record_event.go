package app

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"

	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// RecordEvent is one CloudEvent from a producer stream, as decoded by the bus.
type RecordEvent struct {
	domain.Event
	// DataClassification is the event's dataclassification extension.
	DataClassification string
}

// Recorded says what RecordEvent did.
type Recorded struct {
	Fresh    bool     // false: already stored, nothing changed
	Partners []string // the timelines the event is on
	// Deliveries are the webhook deliveries it created, claimed for this
	// replica's dispatcher (hand them off once the transaction commits).
	Deliveries []NewDelivery
	// Event is the event as stored (what its deliveries send).
	Event domain.Event
}

// RecordEvent stores an event of any type, known or not (the timeline is
// forward compatible), once, on the timeline of every partner it concerns.
// An event without a time is placed at its arrival.
func (a *App) RecordEvent(ctx context.Context, cmd RecordEvent) (Recorded, error) {
	e := cmd.Event
	if e.Time.IsZero() {
		e.Time = a.Now().UTC()
	}
	if e.PartitionKey == "" {
		e.PartitionKey = e.Subject
	}
	e.Time = e.Time.Truncate(time.Microsecond) // as Postgres keeps it: a delivery and the feed say the same
	e.Data = domain.Redacted(cmd.DataClassification, e.Data)
	partners := domain.PartnersOf(e.Subject, e.Data)
	fresh, deliveries, err := a.Store.Record(ctx, e, partners, domain.RegistrantOf(e), a.Now().Add(a.DeliveryLease))
	if err != nil {
		return Recorded{}, fmt.Errorf("record %s %s/%s: %w", e.Type, e.Source, e.ID, err)
	}
	return Recorded{Fresh: fresh, Partners: partners, Deliveries: deliveries, Event: e}, nil
}

// CodeInvalidDeadLetter refuses a dead letter without the dlq-* headers that
// say who refused the event.
const CodeInvalidDeadLetter = "timeline.invalid_dead_letter"

// RecordDeadLetter is another consumer's dead letter of an event: the
// original event (Time is the event's) and why it was refused.
type RecordDeadLetter struct {
	domain.Event
	DataClassification string
	// At is when the event was dead-lettered (zero: at arrival).
	At time.Time
}

// RecordDeadLetter stores a dead letter once per (consumer, handler, event),
// at the time it was dead-lettered, on the timeline of every partner the
// original event concerns. It never counts as the producer's event.
func (a *App) RecordDeadLetter(ctx context.Context, cmd RecordDeadLetter) (Recorded, error) {
	e := cmd.Event
	if e.DeadLetter == nil || e.DeadLetter.Service == "" || e.DeadLetter.Handler == "" {
		return Recorded{}, apperr.Invalid(CodeInvalidDeadLetter, "a dead letter must name the service and handler that refused it")
	}
	if e.PartitionKey == "" {
		e.PartitionKey = e.Subject
	}
	e.Time = cmd.At
	if e.Time.IsZero() {
		e.Time = a.Now()
	}
	e.Time = e.Time.UTC()
	e.Data = domain.Redacted(cmd.DataClassification, e.Data)
	partners := domain.PartnersOf(e.Subject, e.Data)
	fresh, err := a.Store.RecordDeadLetter(ctx, e, partners)
	if err != nil {
		return Recorded{}, fmt.Errorf("record dead letter of %s %s/%s by %s: %w", e.Type, e.Source, e.ID, e.DeadLetter.Key(), err)
	}
	return Recorded{Fresh: fresh, Partners: partners}, nil
}
