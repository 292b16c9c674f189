package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/services/agreements/internal/app"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Keys implements app.KeyReader.
type Keys struct{ s *Store }

// ReadKey reads the key's current record, its open requirements and the
// versions of its program in one round trip (a pipeline of three queries,
// in the transaction carried by ctx if any).
func (r *Keys) ReadKey(ctx context.Context, key domain.AcceptanceKey) (app.KeyState, error) {
	var st app.KeyState
	b := &pgx.Batch{}
	b.Queue(currentSQL, key.LocationID, string(key.Program), string(key.Market)).QueryRow(func(row pgx.Row) error {
		a, err := scanAcceptance(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		st.Current = a
		return err
	})
	b.Queue(openSQL, key.LocationID, string(key.Program), string(key.Market)).Query(func(rows pgx.Rows) error {
		var err error
		st.Open, err = collect(rows, scanRequirement)
		return err
	})
	b.Queue(byProgramSQL, string(key.Program)).Query(func(rows pgx.Rows) error {
		var err error
		st.Versions, err = collect(rows, scanVersion)
		return err
	})
	if err := r.s.q(ctx).SendBatch(ctx, b).Close(); err != nil {
		return app.KeyState{}, fmt.Errorf("read key %s/%s/%s: %w", key.LocationID, key.Program, key.Market, err)
	}
	return st, nil
}

// collect scans every row with scan (pgx.CollectRows).
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
}
