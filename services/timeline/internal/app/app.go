// Package app holds the timeline's use cases: record an event from the bus
// (once) and answer a partner's timeline to the callers who may see it.
package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Store is the timeline's persistence.
type Store interface {
	// RecordAll stores each recording's event once (by source and id), on the
	// timelines of its partners, remembers who registered the partner when
	// the event says (Registrant set) and creates its webhook deliveries,
	// claimed until claimUntil, in the order given; Stored says for each
	// whether it was new (false: already stored, a redelivery or a replay,
	// in which case nothing changed).
	RecordAll(ctx context.Context, recs []Recording, claimUntil time.Time) ([]Stored, error)
	// RecordDeadLetter stores a dead letter of e (e.DeadLetter set), one
	// row per consumer handler and event (its source and id) indexed under
	// partners, and answers how many times that handler has dead-lettered
	// it now: 1 for a new row; more when the row was there with an earlier
	// time than e.Time (a replay refused again: the row takes its code,
	// reason, deliveries and time as the last); 0 when nothing changed (a
	// redelivery of a dead letter stored already, or one whose time is not
	// known, again).
	RecordDeadLetter(ctx context.Context, e domain.Event, partners []string, timeKnown bool) (int, error)
	// Page returns up to limit entries (events, and dead letters when
	// deadLetters) of partner after the position (nil: from the start) in
	// timeline order, restricted to types starting with one of typePrefixes
	// (none: every type).
	Page(ctx context.Context, partner string, after *domain.Position, typePrefixes []string, limit int, deadLetters bool) ([]domain.Event, error)
	// Sources summarises, per source, the partner's events and the
	// sequences of its own partition (dead letters do not count).
	Sources(ctx context.Context, partner string) ([]domain.SourceSummary, error)
	// Feed returns up to q.Limit events after q.After in feed order, only
	// of transactions that can no longer be overtaken by one still running.
	Feed(ctx context.Context, q FeedQuery) ([]domain.Event, error)
	// RegisteredBy names who registered partner ("" when unknown).
	RegisteredBy(ctx context.Context, partner string) (string, error)
	// Prune deletes up to limit events recorded before cutoff (and the dead
	// letters recorded before it) and reports how many events it deleted.
	Prune(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// Recording is an event ready to be stored: where it goes.
type Recording struct {
	Event domain.Event
	// Partners are the timelines it is on (sorted, none: on no timeline).
	Partners []string
	// Registrant is set when the event says who registered a partner.
	Registrant domain.Registrant
}

// Stored is what recording one event did.
type Stored struct {
	Fresh      bool // false: already stored, nothing changed
	Deliveries []NewDelivery
}

// NewDelivery is a webhook delivery that recording an event created.
type NewDelivery struct {
	ID string
	// EndpointID is set when the delivery is of the recorded event itself
	// (else it is of an earlier event, a registration's backfill).
	EndpointID string
}

// App is the timeline's use cases.
type App struct {
	Store Store
	// Now is the recording clock (arrival time of events without a time).
	Now func() time.Time
	// Retention is how long the store keeps an event after it arrived (the
	// feed's promise; MinRetention at least).
	Retention time.Duration
	// DeliveryLease is how long the deliveries an event creates are
	// claimed by this replica (its dispatcher sends them).
	DeliveryLease time.Duration
}
