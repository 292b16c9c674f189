// Package timer is a durable timer wheel in the service's own schema: a
// deadline is a row, written in the same transaction as the state that
// needs it, and a poller fires each due row once, in a transaction with the
// handler's effects. Timers survive restarts and fire once across replicas
// (rows are taken with FOR UPDATE SKIP LOCKED).
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
)

// Schedule sets (or moves) the timer (kind, key) to fire at due.
func Schedule(ctx context.Context, tx pgx.Tx, kind, key string, due time.Time, payload any) error {
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
	return nil
}

// Cancel removes the timer (kind, key) if it has not fired.
func Cancel(ctx context.Context, tx pgx.Tx, kind, key string) error {
	_, err := tx.Exec(ctx, `DELETE FROM timers WHERE kind = $1 AND key = $2 AND fired_at IS NULL`, kind, key)
	return err
}

// Due is a timer that has come due.
type Due struct {
	Kind    string
	Key     string
	DueAt   time.Time
	Payload json.RawMessage
}

// Handler reacts to a due timer inside the transaction that marks it fired.
type Handler func(ctx context.Context, tx pgx.Tx, d Due) error

// Poller fires due timers.
type Poller struct {
	Pool     *pgxpool.Pool
	Handlers map[string]Handler
	Interval time.Duration
	Batch    int
	Now      func() time.Time
	Log      *slog.Logger
}

// Run polls until ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	if p.Interval <= 0 {
		p.Interval = time.Second
	}
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		if _, err := p.FireDue(ctx); err != nil && !errors.Is(err, context.Canceled) {
			p.Log.Error("timer poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// FireDue fires every timer due now (each in its own transaction) and
// returns how many fired.
func (p *Poller) FireDue(ctx context.Context) (int, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	fired := 0
	for {
		var n int
		err := pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
			var d Due
			err := tx.QueryRow(ctx, `SELECT kind, key, due_at, payload FROM timers
				WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`, now()).
				Scan(&d.Kind, &d.Key, &d.DueAt, &d.Payload)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if h, ok := p.Handlers[d.Kind]; ok {
				if err := h(ctx, tx, d); err != nil {
					return fmt.Errorf("timer %s/%s: %w", d.Kind, d.Key, err)
				}
			} else {
				p.Log.Warn("no handler for timer kind; marking fired", "kind", d.Kind, "key", d.Key)
			}
			_, err = tx.Exec(ctx, `UPDATE timers SET fired_at = now() WHERE kind = $1 AND key = $2`, d.Kind, d.Key)
			n = 1
			return err
		})
		if err != nil {
			return fired, err
		}
		if n == 0 {
			return fired, nil
		}
		fired++
	}
}
