package app

import (
	"context"
	"fmt"

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
	e.Data = domain.Redacted(cmd.DataClassification, e.Data)
	partners := domain.PartnersOf(e.Subject, e.Data)
	fresh, err := a.Store.Record(ctx, e, partners)
	if err != nil {
		return Recorded{}, fmt.Errorf("record %s %s/%s: %w", e.Type, e.Source, e.ID, err)
	}
	return Recorded{Fresh: fresh, Partners: partners}, nil
}
