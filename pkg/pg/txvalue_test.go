package pg_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
)

type valueKey struct{ id string }

// TestTxValueLivesAsLongAsItsTransaction: a value is found by later steps
// of the transaction that kept it (repositories joining it through ctx
// included), not by another transaction nor outside one; a savepoint's
// value is its transaction's once released and gone when rolled back.
func TestTxValueLivesAsLongAsItsTransaction(t *testing.T) {
	p := deferPool(t)
	ctx := context.Background()
	get := func(ctx context.Context, id string) any {
		v, _ := pg.TxValue(ctx, valueKey{id})
		return v
	}

	pg.SetTxValue(ctx, valueKey{"a"}, 1)
	if v := get(ctx, "a"); v != nil {
		t.Fatalf("outside a transaction a value was kept: %v", v)
	}

	boom := errors.New("boom")
	err := pg.InTx(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
		pg.SetTxValue(ctx, valueKey{"a"}, 1)
		// A repository joining the transaction finds it.
		if err := pg.InTx(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
			if v := get(ctx, "a"); v != 1 {
				t.Errorf("joined transaction: %v, want 1", v)
			}
			return nil
		}); err != nil {
			return err
		}
		// Another transaction does not.
		if err := pg.InTx(context.Background(), p, func(ctx context.Context, _ pgx.Tx) error {
			if v := get(ctx, "a"); v != nil {
				t.Errorf("another transaction found %v", v)
			}
			return nil
		}); err != nil {
			return err
		}
		// A released savepoint's value stays, a rolled-back one's goes; the
		// savepoint sees its transaction's values.
		if err := pg.Nested(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
			if v := get(ctx, "a"); v != 1 {
				t.Errorf("savepoint: %v, want its transaction's 1", v)
			}
			pg.SetTxValue(ctx, valueKey{"a"}, 2)
			pg.SetTxValue(ctx, valueKey{"b"}, 3)
			return nil
		}); err != nil {
			return err
		}
		if err := pg.Nested(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
			pg.SetTxValue(ctx, valueKey{"a"}, 4)
			pg.SetTxValue(ctx, valueKey{"c"}, 5)
			return boom
		}); !errors.Is(err, boom) {
			return err
		}
		if a, b, c := get(ctx, "a"), get(ctx, "b"), get(ctx, "c"); a != 2 || b != 3 || c != nil {
			t.Errorf("after a released and a rolled-back savepoint: a=%v b=%v c=%v, want 2, 3, nil", a, b, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Begin's transaction keeps values too.
	tctx, tx, err := pg.Begin(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	pg.SetTxValue(tctx, valueKey{"d"}, 6)
	if v := get(tctx, "d"); v != 6 {
		t.Fatalf("Begin's transaction: %v, want 6", v)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}
