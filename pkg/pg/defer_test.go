package pg_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

func deferPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testkit.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = testkit.Database(t)
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if _, err := p.Exec(ctx, `CREATE TABLE items (v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return p
}

type keyA struct{}
type keyB struct{}

// writer inserts a batch in one statement and counts its calls.
type writer struct {
	calls   [][]string
	fail    error
	visible []int // rows the transaction saw when the batch was written
}

func (w *writer) flush(ctx context.Context, items []string) error {
	w.calls = append(w.calls, slices.Clone(items))
	if w.fail != nil {
		return w.fail
	}
	tx, _ := pg.TxFrom(ctx)
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM items`).Scan(&n); err != nil {
		return err
	}
	w.visible = append(w.visible, n)
	_, err := tx.Exec(ctx, `INSERT INTO items SELECT unnest($1::text[])`, items)
	return err
}

func rows(t *testing.T, p *pgxpool.Pool) []string {
	t.Helper()
	r, err := p.Query(context.Background(), `SELECT v FROM items ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Items deferred in a transaction are written by one call per key, in the
// order added, just before it commits, in it; an after-commit function
// registered while writing runs once it has committed.
func TestDeferWritesOneBatchPerKeyBeforeCommit(t *testing.T) {
	ctx := context.Background()
	p := deferPool(t)
	a, b := &writer{}, &writer{}
	tctx, tx, err := pg.Begin(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(tctx, `INSERT INTO items VALUES ('direct')`); err != nil {
		t.Fatal(err)
	}
	afterCommit := 0
	withHook := func(ctx context.Context, items []string) error {
		pg.AfterCommit(ctx, func() { afterCommit++ })
		return a.flush(ctx, items)
	}
	for _, v := range []string{"a1", "a2", "a3"} {
		if err := pg.Defer(tctx, keyA{}, v, withHook); err != nil {
			t.Fatal(err)
		}
		if err := pg.Defer(tctx, keyB{}, "b-"+v, b.flush); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.calls)+len(b.calls) != 0 {
		t.Fatalf("written before the commit: %v %v", a.calls, b.calls)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.calls[0], []string{"a1", "a2", "a3"}) || len(a.calls) != 1 || len(b.calls) != 1 || len(b.calls[0]) != 3 {
		t.Errorf("batches %v and %v, want one each with every item in order", a.calls, b.calls)
	}
	if a.visible[0] != 1 {
		t.Errorf("the batch saw %d rows, want the transaction's own 1", a.visible[0])
	}
	if afterCommit != 1 {
		t.Errorf("after-commit function ran %d times", afterCommit)
	}
	if got := rows(t, p); len(got) != 7 {
		t.Errorf("rows %v", got)
	}
}

// A batch that cannot be written fails the commit: nothing of the
// transaction is kept, and no after-commit function runs.
func TestDeferFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	p := deferPool(t)
	w := &writer{fail: errors.New("no")}
	tctx, tx, err := pg.Begin(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(tctx, `INSERT INTO items VALUES ('direct')`); err != nil {
		t.Fatal(err)
	}
	ran := false
	pg.AfterCommit(tctx, func() { ran = true })
	if err := pg.Defer(tctx, keyA{}, "x", w.flush); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, w.fail) {
		t.Fatalf("commit = %v, want the batch's error", err)
	}
	if got := rows(t, p); len(got) != 0 || ran {
		t.Errorf("after a failed batch: rows %v, after-commit ran %v", got, ran)
	}
}

// InTx writes its batches before it commits; outside a transaction a
// deferred item is written at once; a savepoint rolled back drops its
// items, one released hands them to the transaction's batch.
func TestDeferInTxNestedAndWithoutTransaction(t *testing.T) {
	ctx := context.Background()
	p := deferPool(t)
	w := &writer{}
	var now []string
	if err := pg.Defer(ctx, keyA{}, "now", func(_ context.Context, items []string) error { now = items; return nil }); err != nil || !slices.Equal(now, []string{"now"}) {
		t.Fatalf("without a transaction: written %v, %v; want at once", now, err)
	}
	err := pg.InTx(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
		if err := pg.Defer(ctx, keyA{}, "outer", w.flush); err != nil {
			return err
		}
		if err := pg.Nested(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
			return errors.Join(pg.Defer(ctx, keyA{}, "undone", w.flush), errors.New("savepoint fails"))
		}); err == nil {
			t.Error("the failing savepoint reported no error")
		}
		return pg.Nested(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
			return pg.Defer(ctx, keyA{}, "kept", w.flush)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.calls) != 1 || !slices.Equal(w.calls[0], []string{"outer", "kept"}) {
		t.Errorf("batches %v, want one: outer, kept", w.calls)
	}
	if got := rows(t, p); !slices.Equal(got, []string{"kept", "outer"}) {
		t.Errorf("rows %v", got)
	}
}
