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
	Again    bool     // a dead letter of an event its handler had dead-lettered before
	Partners []string // the timelines the event is on
	// Deliveries are the webhook deliveries it created, claimed for this
	// replica's dispatcher (hand them off once the transaction commits).
	Deliveries []NewDelivery
	// Event is the event as stored (what its deliveries send).
	Event domain.Event
}

// Prepare makes cmd a recording: an event without a time is placed at its
// arrival and one without a partition key in its subject's partition; the
// time is kept to the microsecond (as Postgres keeps it: a delivery and the
// feed say the same), restricted data redacted, and the partners it
// concerns listed.
func (a *App) Prepare(cmd RecordEvent) Recording {
	e := cmd.Event
	if e.Time.IsZero() {
		e.Time = a.Now().UTC()
	}
	if e.PartitionKey == "" {
		e.PartitionKey = e.Subject
	}
	e.Time = e.Time.Truncate(time.Microsecond)
	e.Data = domain.Redacted(cmd.DataClassification, e.Data)
	return Recording{Event: e, Partners: domain.PartnersOf(e.Subject, e.Data), Registrant: domain.RegistrantOf(e)}
}

// RecordEvents stores a batch of prepared events (of any type, known or
// not: the timeline is forward compatible), each once, on the timeline of
// every partner it concerns, in one round of statements.
func (a *App) RecordEvents(ctx context.Context, recs []Recording) ([]Recorded, error) {
	stored, err := a.Store.RecordAll(ctx, recs, a.Now().Add(a.DeliveryLease))
	if err != nil {
		if len(recs) == 1 {
			e := recs[0].Event
			return nil, fmt.Errorf("record %s %s/%s: %w", e.Type, e.Source, e.ID, err)
		}
		return nil, fmt.Errorf("record %d events: %w", len(recs), err)
	}
	out := make([]Recorded, len(recs))
	for i, r := range recs {
		out[i] = Recorded{Fresh: stored[i].Fresh, Partners: r.Partners, Deliveries: stored[i].Deliveries, Event: r.Event}
	}
	return out, nil
}

// RecordEvent stores one event (RecordEvents of one).
func (a *App) RecordEvent(ctx context.Context, cmd RecordEvent) (Recorded, error) {
	res, err := a.RecordEvents(ctx, []Recording{a.Prepare(cmd)})
	if err != nil {
		return Recorded{}, err
	}
	return res[0], nil
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
// at the time it was first dead-lettered, on the timeline of every partner
// the original event concerns, and counts the times the handler refused it
// again (a replay of the dead letter that failed too). It never counts as
// the producer's event.
func (a *App) RecordDeadLetter(ctx context.Context, cmd RecordDeadLetter) (Recorded, error) {
	e := cmd.Event
	if e.DeadLetter == nil || e.DeadLetter.Service == "" || e.DeadLetter.Handler == "" {
		return Recorded{}, apperr.Invalid(CodeInvalidDeadLetter, "a dead letter must name the service and handler that refused it")
	}
	if e.PartitionKey == "" {
		e.PartitionKey = e.Subject
	}
	e.Time = cmd.At
	timeKnown := !e.Time.IsZero()
	if !timeKnown {
		e.Time = a.Now()
	}
	e.Time = e.Time.UTC()
	e.Data = domain.Redacted(cmd.DataClassification, e.Data)
	partners := domain.PartnersOf(e.Subject, e.Data)
	times, err := a.Store.RecordDeadLetter(ctx, e, partners, timeKnown)
	if err != nil {
		return Recorded{}, fmt.Errorf("record dead letter of %s %s/%s by %s: %w", e.Type, e.Source, e.ID, e.DeadLetter.Key(), err)
	}
	return Recorded{Fresh: times > 0, Again: times > 1, Partners: partners}, nil
}
