// Package timer is a durable timer wheel in the service's own schema: a
// deadline is a row, written in the same transaction as the state that
// needs it, and a job fires each due row once, in a transaction with the
// handler's effects. Timers survive restarts and fire once across replicas
// (rows are taken with FOR UPDATE SKIP LOCKED). The job sleeps until the
// next due row, and a timer set sooner wakes it when its transaction commits.
package timer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/pg"
)

// JobName is the name of the job that fires the timers.
const JobName = "timers"

// Due is a timer that has come due.
type Due struct {
	Kind    string
	Key     string
	DueAt   time.Time
	Payload json.RawMessage
}

// Handler reacts to a due timer inside the transaction that marks it fired.
type Handler func(ctx context.Context, tx pgx.Tx, d Due) error

// Timers are the durable timers of one service.
type Timers struct {
	pool     *pgxpool.Pool
	handlers map[string]Handler
	wake     func()
	log      *slog.Logger
	// Batch bounds the timers one run fires (the rest fire in the next run, at once).
	Batch int
}

// New returns the timers of the schema pool is pinned to.
func New(pool *pgxpool.Pool, log *slog.Logger) *Timers {
	return &Timers{pool: pool, handlers: map[string]Handler{}, wake: func() {}, log: log, Batch: 100}
}

// Handle sets the handler of a timer kind; call before the job runs.
func (t *Timers) Handle(kind string, h Handler) { t.handlers[kind] = h }

// Job is the job that fires due timers; every is its safety poll.
func (t *Timers) Job(r *jobs.Runner, every time.Duration) jobs.Job {
	t.wake = r.Waker(JobName)
	return jobs.Job{Name: JobName, Every: every, Run: t.FireDue}
}

// Schedule sets (or moves) the timer (kind, key) to fire at due, in tx; the
// job is woken when the transaction in ctx commits.
func (t *Timers) Schedule(ctx context.Context, tx pgx.Tx, kind, key string, due time.Time, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if payload == nil {
		data = []byte("{}")
	}
	_, err = tx.Exec(ctx, `INSERT INTO timers (kind, key, due_at, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO UPDATE SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, fired_at = NULL`,
		kind, key, due, data)
	if err != nil {
		return fmt.Errorf("schedule timer %s/%s: %w", kind, key, err)
	}
	pg.AfterCommit(ctx, t.wake)
	return nil
}

// Cancel removes the timer (kind, key) if it has not fired.
func Cancel(ctx context.Context, tx pgx.Tx, kind, key string) error {
	_, err := tx.Exec(ctx, `DELETE FROM timers WHERE kind = $1 AND key = $2 AND fired_at IS NULL`, kind, key)
	return err
}

// FireDue fires every timer due at now (each in its own transaction, up
// to Batch) and returns when the next one is due (zero: none is set). When
// none is due it only reads when the next one is, without a transaction:
// the safety poll of an idle service is one statement.
func (t *Timers) FireDue(ctx context.Context, now time.Time) (time.Time, error) {
	next, err := t.nextDue(ctx)
	if err != nil || next.IsZero() || next.After(now) {
		return next, err
	}
	for fired := 0; fired < t.Batch; fired++ {
		var n int
		err := pg.InTx(ctx, t.pool, func(ctx context.Context, tx pgx.Tx) error {
			var d Due
			err := tx.QueryRow(ctx, `SELECT kind, key, due_at, payload FROM timers
				WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`, now).
				Scan(&d.Kind, &d.Key, &d.DueAt, &d.Payload)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if h, ok := t.handlers[d.Kind]; ok {
				if err := h(ctx, tx, d); err != nil {
					return fmt.Errorf("timer %s/%s: %w", d.Kind, d.Key, err)
				}
			} else {
				t.log.Warn("no handler for timer kind; marking fired", "kind", d.Kind, "key", d.Key)
			}
			_, err = tx.Exec(ctx, `UPDATE timers SET fired_at = now() WHERE kind = $1 AND key = $2`, d.Kind, d.Key)
			n = 1
			return err
		})
		if err != nil {
			return time.Time{}, err
		}
		if n == 0 {
			break
		}
	}
	return t.nextDue(ctx)
}

// nextDue is when the next timer is due (zero: none is set).
func (t *Timers) nextDue(ctx context.Context) (time.Time, error) {
	var next *time.Time
	if err := t.pool.QueryRow(ctx, `SELECT min(due_at) FROM timers WHERE fired_at IS NULL`).Scan(&next); err != nil {
		return time.Time{}, err
	}
	if next == nil {
		return time.Time{}, nil
	}
	return *next, nil
}

// HasHandlers reports whether any timer kind has a handler (the platform
// runs the timers job only then).
func (t *Timers) HasHandlers() bool { return len(t.handlers) > 0 }
