// Package inbox makes consumers idempotent: a handler records the (source,
// id) of each event it processes in its own schema, in the same transaction
// as its effects, and the bus acknowledges only after that commits.
package inbox

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Key is one event as one handler processes it.
type Key struct {
	Handler string // the subscription's inbox name
	Source  string
	ID      string
	Type    string
}

func (k Key) compare(o Key) int {
	return cmp.Or(cmp.Compare(k.Handler, o.Handler), cmp.Compare(k.Source, o.Source), cmp.Compare(k.ID, o.ID))
}

// claimSQL records a batch's keys, in the order given, and returns those
// that were fresh.
const claimSQL = `INSERT INTO inbox (handler, source, event_id, event_type)
	SELECT handler, source, event_id, event_type
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS k(handler, source, event_id, event_type, n)
	ORDER BY n
	ON CONFLICT DO NOTHING
	RETURNING handler, source, event_id`

// Claim records keys as processed within tx, all in one statement, and
// reports for each whether it is fresh. A key already processed, or
// repeated earlier in keys, is not: its handler must then do nothing.
//
// A batch of deliveries claims its events before any handler runs: one
// statement for the batch instead of one per event. The rows go in key
// order, so two transactions claiming the same redelivered events wait for
// each other instead of deadlocking.
func Claim(ctx context.Context, tx pgx.Tx, keys []Key) ([]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, claimSQL, args(keys)...)
	if err != nil {
		return nil, fmt.Errorf("inbox claim of %d events: %w", len(keys), err)
	}
	return fresh(rows, keys)
}

// QueueClaim is Claim as a statement queued on b: when its result is read,
// done gets the fresh flags (and its error is the batch's).
func QueueClaim(b *pgx.Batch, keys []Key, done func(fresh []bool) error) {
	b.Queue(claimSQL, args(keys)...).Query(func(rows pgx.Rows) error {
		f, err := fresh(rows, keys)
		if err != nil {
			return err
		}
		return done(f)
	})
}

// args are the claim's arrays, in key order.
func args(keys []Key) []any {
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, Key.compare)
	cols := [4][]string{}
	for _, k := range sorted {
		cols[0] = append(cols[0], k.Handler)
		cols[1] = append(cols[1], k.Source)
		cols[2] = append(cols[2], k.ID)
		cols[3] = append(cols[3], k.Type)
	}
	return []any{cols[0], cols[1], cols[2], cols[3]}
}

// fresh reads the claimed keys from rows and tells, for each of keys,
// whether it is fresh.
func fresh(rows pgx.Rows, keys []Key) ([]bool, error) {
	claimed := make(map[Key]bool, len(keys))
	var k Key
	_, err := pgx.ForEachRow(rows, []any{&k.Handler, &k.Source, &k.ID}, func() error {
		claimed[k] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inbox claim of %d events: %w", len(keys), err)
	}
	out := make([]bool, len(keys))
	for i, k := range keys {
		k.Type = ""
		if claimed[k] {
			out[i] = true
			delete(claimed, k) // a repeat of k later in keys is not fresh
		}
	}
	return out, nil
}
