// Package inbox makes consumers idempotent: a handler records the (source,
// id) of each event it processes in its own schema, in the same transaction
// as its effects, and the bus acknowledges only after that commits.
package inbox

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/pg"
)

// Claim records ev as processed by handler within tx. It reports false when
// ev was already processed: the caller must then do nothing.
func Claim(ctx context.Context, tx pgx.Tx, handler string, ev ce.Event) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO inbox (handler, source, event_id, event_type) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, handler, ev.Source, ev.ID, ev.Type)
	if err != nil {
		return false, fmt.Errorf("inbox claim %s/%s: %w", ev.Source, ev.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Once runs fn in a transaction unless ev was already processed by handler;
// the inbox row and fn's effects commit together. fn's ctx carries the
// transaction (pg.TxFrom), so repositories called with it join it.
func Once(ctx context.Context, pool *pgxpool.Pool, handler string, ev ce.Event, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		fresh, err := Claim(ctx, tx, handler, ev)
		if err != nil || !fresh {
			return err
		}
		return fn(ctx, tx)
	})
}
