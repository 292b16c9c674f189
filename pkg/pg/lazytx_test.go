package pg_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

func lazyPool(t *testing.T) (*pgxpool.Pool, *testkit.Statements) {
	t.Helper()
	tr := &testkit.Statements{}
	pool := tablePool(t, "", func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = tr })
	return pool, tr
}

// tablePool is a pool of two connections on a new test database, at host
// when set, with a table t(id int, v text).
func tablePool(t *testing.T, host string, configure func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	u, err := url.Parse(testkit.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		u.Host = host
	}
	u.Path = "/" + testkit.Database(t)
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	configure(cfg)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return pool
}

// noneHeld fails the test when a transaction still holds a connection.
func noneHeld(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still held", n)
	}
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
	noneHeld(t, pool)
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
	noneHeld(t, pool)
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
	noneHeld(t, pool)
}

// insertLast queues a row of each id with pg.SendLast on tx.
func insertLast(ctx context.Context, tx pgx.Tx, ids ...int) error {
	b := &pgx.Batch{}
	for _, id := range ids {
		b.Queue(`INSERT INTO t VALUES ($1, 'last')`, id)
	}
	return pg.SendLast(ctx, tx, b)
}

// isCommit reports whether sql is a COMMIT.
func isCommit(sql string) bool { return strings.EqualFold(strings.TrimSpace(sql), "commit") }

// SendLast's statements go out with the COMMIT, in one round trip; their
// callbacks run before the after-commit functions.
func TestSendLastGoesWithTheCommit(t *testing.T) {
	pool, tr := lazyPool(t)
	ctx := context.Background()
	var scanned int
	var seenByHook int
	err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		var id int
		if err := tx.QueryRow(ctx, `INSERT INTO t VALUES ($1, 'a') RETURNING id`, 1).Scan(&id); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO t VALUES ($1, 'b') RETURNING id`, 2).QueryRow(func(r pgx.Row) error { return r.Scan(&scanned) })
		b.Queue(`INSERT INTO t VALUES ($1, 'c')`, 3)
		if err := pg.SendLast(ctx, tx, b); err != nil {
			return err
		}
		pg.AfterCommit(ctx, func() { seenByHook = scanned })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count(t, pool) != 3 || scanned != 2 || seenByHook != 2 {
		t.Fatalf("%d rows, callback scanned %d, the after-commit function saw %d; want 3, 2, 2", count(t, pool), scanned, seenByHook)
	}
	batches := tr.Batches()
	if len(batches) != 2 || len(batches[1]) != 3 || !isCommit(batches[1][2]) {
		t.Fatalf("batches %q: want BEGIN with the first statement, then the last two with COMMIT", batches)
	}
	for _, sql := range tr.Alone() {
		if isCommit(sql) {
			t.Fatalf("COMMIT sent on its own: %q", tr.Alone())
		}
	}
	noneHeld(t, pool)

	// A transaction of last statements only is one round trip.
	tr.Reset()
	if err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		return insertLast(ctx, tx, 4)
	}); err != nil {
		t.Fatal(err)
	}
	if b := tr.Batches(); len(b) != 1 || len(b[0]) != 3 || !testkit.IsBegin(b[0][0]) || !isCommit(b[0][2]) || len(tr.Alone()) != 0 {
		t.Fatalf("batches %q, alone %q: want one batch BEGIN, INSERT, COMMIT", b, tr.Alone())
	}
	if count(t, pool) != 4 {
		t.Fatalf("%d rows, want 4", count(t, pool))
	}
}

// A statement sent after SendLast takes the last statements with it, in
// its round trip, and sees their rows; the COMMIT then goes alone. A last
// statement that fails fails that statement.
func TestSendLastThenMore(t *testing.T) {
	pool, tr := lazyPool(t)
	ctx := context.Background()
	for _, begun := range []bool{false, true} {
		tr.Reset()
		base := 0
		if begun {
			base = 100
		}
		err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			if begun {
				if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'first')`, base); err != nil {
					return err
				}
			}
			if err := insertLast(ctx, tx, base+1); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM t WHERE id = $1`, base+1).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return errors.New("the read did not see the last statements' row")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		batches := tr.Batches()
		read := batches[len(batches)-1]
		if len(read) < 2 || !strings.HasPrefix(read[len(read)-2], "INSERT") || !strings.HasPrefix(read[len(read)-1], "SELECT") {
			t.Fatalf("begun %v: batches %q: want the last statement and the read in one batch", begun, batches)
		}
		if alone := tr.Alone(); len(alone) != 1 || !isCommit(alone[0]) {
			t.Fatalf("begun %v: alone %q: want only the COMMIT on its own", begun, alone)
		}
	}
	if count(t, pool) != 3 {
		t.Fatalf("%d rows, want 3", count(t, pool))
	}

	err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := insertLast(ctx, tx, 101); err != nil { // taken
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'after')`, 200)
		if _, ok := pg.IsUniqueViolation(err); !ok {
			t.Errorf("the statement after a failing last statement: %v, want its unique violation", err)
		}
		return err
	})
	if err == nil || count(t, pool) != 3 {
		t.Fatalf("err %v, %d rows: want an error and nothing written", err, count(t, pool))
	}
	noneHeld(t, pool)
}

// A last statement that fails fails the commit: the whole transaction is
// rolled back, no after-commit function runs, and the connection goes back
// to the pool usable.
func TestSendLastFailureRollsBack(t *testing.T) {
	pool, _ := lazyPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO t VALUES (9, 'taken')`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"after a statement", "alone"} {
		hook := false
		err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			if name == "after a statement" {
				if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'a')`, 1); err != nil {
					return err
				}
			}
			pg.AfterCommit(ctx, func() { hook = true })
			return insertLast(ctx, tx, 2, 9, 3) // 9 is taken
		})
		if c, ok := pg.IsUniqueViolation(err); !ok {
			t.Fatalf("%s: err %v (%s), want the unique violation", name, err, c)
		}
		if hook || count(t, pool) != 1 {
			t.Fatalf("%s: after-commit ran %v, %d rows; want false and the one row before", name, hook, count(t, pool))
		}
		noneHeld(t, pool)
	}
	// The connections are usable.
	for i := range 3 {
		if err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			return insertLast(ctx, tx, 20+i)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if count(t, pool) != 4 {
		t.Fatalf("%d rows, want 4", count(t, pool))
	}
}

// A handler that fails after SendLast sends nothing more: the last
// statements are dropped with the rollback.
func TestSendLastDroppedOnRollback(t *testing.T) {
	pool, tr := lazyPool(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := insertLast(ctx, tx, 1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count(t, pool) != 0 || len(tr.Batches()) != 0 {
		t.Fatalf("err %v, %d rows, batches %q: want boom, nothing written, nothing sent", err, count(t, pool), tr.Batches())
	}
}

// In a transaction begun with Begin (the bus's), what goes ahead is read
// before the last statements commit; in a savepoint SendLast sends at once.
func TestSendLastInBeginAndNested(t *testing.T) {
	pool, tr := lazyPool(t)
	ctx := context.Background()
	tctx, tx, err := pg.Begin(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after the commit
	refuse := errors.New("processed before")
	ahead := &pgx.Batch{}
	ahead.Queue(`SELECT 1`).QueryRow(func(r pgx.Row) error {
		var one int
		if err := r.Scan(&one); err != nil {
			return err
		}
		return refuse
	})
	tx.Ahead(ahead)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO t VALUES ($1, 'a')`, 1)
	if err := pg.SendLast(tctx, tx.Tx, b); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, refuse) {
		t.Fatalf("commit: %v, want the refusal of what went ahead", err)
	}
	if count(t, pool) != 0 {
		t.Fatal("the last statements committed although what went ahead refused")
	}
	noneHeld(t, pool)

	tr.Reset()
	err = pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'outer')`, 1); err != nil {
			return err
		}
		return pg.Nested(ctx, pool, func(ctx context.Context, sp pgx.Tx) error {
			return insertLast(ctx, sp, 2)
		})
	})
	if err != nil || count(t, pool) != 2 {
		t.Fatalf("err %v, %d rows: want both rows", err, count(t, pool))
	}
	for _, b := range tr.Batches() {
		if len(b) > 0 && isCommit(b[len(b)-1]) {
			t.Fatalf("batch %q: a savepoint's statements went with the COMMIT", b)
		}
	}
}

// A callback of a last statement cannot refuse the commit, which went in
// the same round trip: the rows are committed and the error says so.
func TestSendLastCallbackCannotRefuse(t *testing.T) {
	pool, _ := lazyPool(t)
	ctx := context.Background()
	refuse := errors.New("belongs to someone else")
	err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO t VALUES ($1, 'a') RETURNING id`, 1).QueryRow(func(pgx.Row) error { return refuse })
		return pg.SendLast(ctx, tx, b)
	})
	if !errors.Is(err, refuse) || !strings.Contains(err.Error(), "committed") || count(t, pool) != 1 {
		t.Fatalf("err %v, %d rows: want the callback's error saying the transaction committed, and the row", err, count(t, pool))
	}
	noneHeld(t, pool)
}
