// Package postgres stores the agreements service's aggregates in its own
// schema and writes the domain events they recorded to the outbox in the
// same transaction. Acceptance records are append-only: the migration takes
// UPDATE, DELETE and TRUNCATE away from the runtime role.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/timer"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the service's goose migrations (run by the platform as the
// schema owner).
var Migrations fs.FS = pg.Migrations(migrationFiles)

// Durable timer kinds this adapter schedules; the service registers one
// handler for both that runs the app's FireDueTimers.
const (
	// TimerReacceptanceDue fires at a requirement's deadline.
	TimerReacceptanceDue = "agreements.reacceptance_due"
	// TimerFanOut fires a while after a requires_reacceptance version is
	// published, to finish a fan-out that a crash interrupted.
	TimerFanOut = "agreements.fan_out"
	// TimerRetirement fires a while after a version is retired, to cancel
	// the requirements a crash left open (the retiring request normally
	// cancels them at once, each in its own transaction).
	TimerRetirement = "agreements.retirement"
)

// FanOutGrace is how long after publishing the fan-out check fires: the
// publishing request normally finishes the fan-out long before.
const FanOutGrace = time.Minute

// EventMapper turns a domain event into an outbox draft (the events
// adapter's outbound mapping).
type EventMapper func(domain.Event) (outbox.Draft, error)

// Store holds what every repository needs.
type Store struct {
	pool   *pgxpool.Pool
	outbox *outbox.Writer
	mapper EventMapper
	timers *timer.Timers
}

// New returns the store over pool, writing events through w mapped by m
// and scheduling its deadlines on timers.
func New(pool *pgxpool.Pool, w *outbox.Writer, m EventMapper, timers *timer.Timers) *Store {
	return &Store{pool: pool, outbox: w, mapper: m, timers: timers}
}

// Versions returns the version repository.
func (s *Store) Versions() *Versions { return &Versions{s} }

// Partners returns the partner projection repository.
func (s *Store) Partners() *Partners { return &Partners{s} }

// Acceptances returns the append-only acceptance repository.
func (s *Store) Acceptances() *Acceptances { return &Acceptances{s} }

// Keys returns the reader of what deciding an acceptance of a key needs.
func (s *Store) Keys() *Keys { return &Keys{s} }

// Pending returns the pending acceptance repository.
func (s *Store) Pending() *PendingAcceptances { return &PendingAcceptances{s} }

// Requirements returns the re-acceptance requirement repository.
func (s *Store) Requirements() *Requirements { return &Requirements{s} }

// emit writes evs to the outbox within tx (outbox.Writer.Append: one round
// trip).
func (s *Store) emit(ctx context.Context, tx pgx.Tx, evs []domain.Event) error {
	drafts, err := s.drafts(evs)
	if err != nil {
		return err
	}
	_, err = s.outbox.Append(ctx, tx, drafts...)
	return err
}

// queue queues the outbox rows of evs on b (sent by the caller with its own
// statements; Done once it closed without error).
func (s *Store) queue(ctx context.Context, b *pgx.Batch, evs []domain.Event) (*outbox.Queued, error) {
	drafts, err := s.drafts(evs)
	if err != nil {
		return nil, err
	}
	return s.outbox.Queue(ctx, b, drafts...)
}

// drafts maps evs to outbox drafts.
func (s *Store) drafts(evs []domain.Event) ([]outbox.Draft, error) {
	drafts := make([]outbox.Draft, 0, len(evs))
	for _, e := range evs {
		d, err := s.mapper(e)
		if err != nil {
			return nil, fmt.Errorf("map %s: %w", e.EventName(), err)
		}
		drafts = append(drafts, d)
	}
	return drafts, nil
}

func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return pg.InTx(ctx, s.pool, fn)
}

// q reads in the transaction carried by ctx, if any, else on the pool, so
// that reads inside an event handler see the handler's own writes.
func (s *Store) q(ctx context.Context) pg.Querier { return pg.Q(ctx, s.pool) }

func (s *Store) schedule(ctx context.Context, tx pgx.Tx, kind, key string, due time.Time) error {
	return s.timers.Schedule(ctx, tx, kind, key, due, nil)
}

// programLockClass is the first key of the advisory lock of a program (the
// second is hashtext of the program's name). A transaction that appends an
// acceptance takes it shared (Acceptances.Append); one that publishes a
// version (Versions.Add) or retires one (Versions.Update) takes it
// exclusively; each holds it until it ends. Without it, an acceptance
// recorded in a transaction that goes on after the append (an event
// handler's, the API's) could miss a requires_reacceptance version
// published meanwhile: it reads the program's versions (app.requireNewer)
// before it commits, and the publication's fan-out reads the current
// acceptances after its own commit, so each could miss the other. In the
// same way a retirement, which cancels the version's open requirements
// after it commits, could miss a requirement such a transaction adds. With
// the lock, a publication or retirement that committed first is seen by
// the acceptance's later read, and one that waits for the acceptance sees
// what it wrote.
const programLockClass = 0x6167_7273 // "agrs"

const (
	lockProgramShared    = `SELECT pg_advisory_xact_lock_shared($1, hashtext($2))`
	lockProgramExclusive = `SELECT pg_advisory_xact_lock($1, hashtext($2))`
)

// nullTime maps a nil *time.Time to SQL NULL.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// queryAll runs a query and scans every row with scan (pgx.CollectRows).
func queryAll[T any](ctx context.Context, q pg.Querier, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}
