package pg_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

func lazyPool(t *testing.T) (*pgxpool.Pool, *testkit.Statements) {
	t.Helper()
	u, err := url.Parse(testkit.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + testkit.Database(t)
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	tr := &testkit.Statements{}
	cfg.ConnConfig.Tracer = tr
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return pool, tr
}

func count(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A transaction's BEGIN goes out in the round trip of its first statement,
// whichever kind that is, and the transaction behaves as one begun alone.
func TestInTxBeginsWithTheFirstStatement(t *testing.T) {
	pool, tr := lazyPool(t)
	ctx := context.Background()
	first := map[string]func(ctx context.Context, tx pgx.Tx) error{
		"exec": func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'a')`, 1)
			return err
		},
		"query row": func(ctx context.Context, tx pgx.Tx) error {
			var id int
			return tx.QueryRow(ctx, `INSERT INTO t VALUES ($1, 'b') RETURNING id`, 2).Scan(&id)
		},
		"query": func(ctx context.Context, tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, `INSERT INTO t VALUES ($1, 'c'), ($2, 'c') RETURNING id`, 3, 4)
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
			if err == nil && len(ids) != 2 {
				err = errors.New("want 2 ids")
			}
			return err
		},
		"batch": func(ctx context.Context, tx pgx.Tx) error {
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO t VALUES ($1, 'd')`, 5)
			var id int
			b.Queue(`SELECT id FROM t WHERE id = $1`, 5).QueryRow(func(r pgx.Row) error { return r.Scan(&id) })
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			if id != 5 {
				return errors.New("batch callback did not run")
			}
			return nil
		},
	}
	for name, fn := range first {
		before := count(t, pool)
		err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			if err := fn(ctx, tx); err != nil {
				return err
			}
			// Later statements run in the same transaction.
			var inTx bool
			if err := tx.QueryRow(ctx, `SELECT now() = statement_timestamp()`).Scan(&inTx); err != nil {
				return err
			}
			if inTx {
				return errors.New("second statement not in the transaction")
			}
			_, err := tx.Exec(ctx, `UPDATE t SET v = v || '!' WHERE id = $1`, 1)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if count(t, pool) <= before {
			t.Fatalf("%s: the transaction did not commit its rows", name)
		}
	}
	if alone, inBatch := tr.Begins(); alone != 0 || inBatch != len(first) {
		t.Fatalf("BEGIN sent alone %d times, with the first statement %d times; want 0 and %d", alone, inBatch, len(first))
	}
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still held", n)
	}
}

func TestInTxRollsBackAndReleases(t *testing.T) {
	pool, _ := lazyPool(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'a')`, 1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count(t, pool) != 0 {
		t.Fatalf("err %v, %d rows: want boom and nothing written", err, count(t, pool))
	}
	// The first statement fails: the error comes back, the connection is free.
	if _, err := pool.Exec(ctx, `INSERT INTO t VALUES (9, 'x')`); err != nil {
		t.Fatal(err)
	}
	err = pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		var id int
		return tx.QueryRow(ctx, `INSERT INTO t VALUES ($1, 'y') RETURNING id`, 9).Scan(&id)
	})
	if _, unique := pg.IsUniqueViolation(err); !unique {
		t.Fatalf("err %v, want the unique violation", err)
	}
	// A savepoint as the first thing, rolled back, leaves the outer work.
	err = pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		_ = pg.Nested(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'n')`, 10); err != nil {
				return err
			}
			return boom
		})
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'o')`, 11)
		return err
	})
	if err != nil || count(t, pool) != 2 {
		t.Fatalf("err %v, %d rows: want the outer row only beside row 9", err, count(t, pool))
	}
	for i := 0; i < 5; i++ { // more than MaxConns: nothing leaked
		_ = pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'z')`, 9)
			return err
		})
	}
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still held", n)
	}
}

// A transaction that sends nothing takes no connection; one begun with
// Begin commits its statements and then runs its after-commit functions.
func TestBeginIsLazy(t *testing.T) {
	pool, tr := lazyPool(t)
	ctx := context.Background()
	acquired := pool.Stat().AcquireCount()
	if err := pg.InTx(ctx, pool, func(context.Context, pgx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if pool.Stat().AcquireCount() != acquired {
		t.Fatal("an empty transaction acquired a connection")
	}
	tctx, tx, err := pg.Begin(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	pg.AfterCommit(tctx, func() { ran = true })
	if err := pg.InTx(tctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'a')`, 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Fatal("after-commit function ran before the commit")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx) // no-op after commit
	if !ran || count(t, pool) != 1 {
		t.Fatalf("ran %v, %d rows", ran, count(t, pool))
	}
	if alone, _ := tr.Begins(); alone != 0 {
		t.Fatalf("BEGIN sent alone %d times", alone)
	}
}

// ahead queues on tx an insert of id whose callback records that it ran and
// returns fail.
func ahead(tx *pg.Tx, id int, ran *bool, fail error) {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO t VALUES ($1, 'ahead') RETURNING id`, id).QueryRow(func(r pgx.Row) error {
		var got int
		if err := r.Scan(&got); err != nil {
			return err
		}
		*ran = true
		return fail
	})
	tx.Ahead(b)
}

// Statements queued with Ahead go out in the round trip of the first
// statement, after BEGIN and before it; their callbacks run before that
// statement returns, and fail it when they fail. With nothing sent, SendAhead
// (or Commit) sends them with BEGIN alone.
func TestAheadGoesWithTheFirstStatement(t *testing.T) {
	pool, tr := lazyPool(t)
	ctx := context.Background()
	ids := func() []int {
		rows, _ := pool.Query(ctx, `SELECT id FROM t ORDER BY id`)
		got, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// begin begins a transaction with an insert of id queued ahead.
	begin := func(id int, ran *bool, fail error) (context.Context, *pg.Tx) {
		tctx, tx, err := pg.Begin(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		*ran = false
		ahead(tx, id, ran, fail)
		return tctx, tx
	}

	// With the first statement, in one round trip.
	var ran bool
	tctx, tx := begin(1, &ran, nil)
	var seen int
	if err := tx.QueryRow(tctx, `SELECT count(*) FROM t WHERE id = $1`, 1).Scan(&seen); err != nil {
		t.Fatal(err)
	}
	if !ran || seen != 1 {
		t.Fatalf("callback ran %v, first statement saw %d rows of the ahead insert; want true and 1", ran, seen)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if alone, inBatch := tr.Begins(); alone != 0 || inBatch != 1 {
		t.Fatalf("BEGIN alone %d, in a batch %d; want 0 and 1", alone, inBatch)
	}

	// A failing callback fails the first statement; the caller rolls back.
	refused := errors.New("refused")
	tctx, tx = begin(2, &ran, refused)
	_, err := tx.Exec(tctx, `INSERT INTO t VALUES ($1, 'first')`, 3)
	if !errors.Is(err, refused) || !ran {
		t.Fatalf("first statement: %v (callback ran %v), want %v", err, ran, refused)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// Nothing sent: SendAhead sends them, once; Commit too.
	tctx, tx = begin(4, &ran, nil)
	if err := tx.SendAhead(tctx); err != nil || !ran {
		t.Fatalf("SendAhead: %v, callback ran %v", err, ran)
	}
	if err := tx.SendAhead(tctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_, tx = begin(5, &ran, nil)
	if err := tx.Commit(ctx); err != nil || !ran {
		t.Fatalf("Commit: %v, callback ran %v", err, ran)
	}

	// A first statement that begins on its own (no arguments) sends them
	// right after BEGIN.
	tctx, tx = begin(6, &ran, nil)
	if _, err := tx.Exec(tctx, `UPDATE t SET v = v || '.'`); err != nil || !ran {
		t.Fatalf("first statement without arguments: %v, callback ran %v", err, ran)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []int{1, 4, 5, 6}) {
		t.Fatalf("rows %v, want [1 4 5 6]", got)
	}
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still held", n)
	}
}
