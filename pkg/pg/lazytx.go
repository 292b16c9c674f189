package pg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lazyTx is a transaction whose BEGIN goes out in the same round trip as
// its first statement (pgx's Batch.BeginTx), instead of a round trip of its
// own: every transaction of a service costs one round trip fewer, on the
// service and on its Postgres backend alike (the profile of an onboarding
// showed a service spending most of its CPU in the round trips of its
// transactions). A transaction that sends nothing acquires no connection and
// commits as a no-op.
//
// The first statement begins it when it is an Exec or QueryRow or Query with
// arguments, or a batch; anything else (an Exec without arguments, which may
// hold several statements only the simple protocol takes, a savepoint,
// CopyFrom, Prepare, LargeObjects, Conn) begins it on its own first, as
// pgx.Pool.Begin does. Once begun, every call goes to pgx's own transaction.
//
// Its last statements can go out with its COMMIT instead (SendLast): one
// round trip fewer again. For that it holds its connection itself rather
// than through a pgxpool.Tx (whose Commit always sends a COMMIT of its own),
// and gives it back when the transaction ends.
type lazyTx struct {
	pool   *pgxpool.Pool
	conn   *pgxpool.Conn      // held from BEGIN to the end, nil before and after
	real   pgx.Tx             // nil until begun; pgx's transaction on conn
	ahead  []*pgx.QueuedQuery // to send right after BEGIN (Tx.Ahead)
	last   []*pgx.QueuedQuery // to send with COMMIT (SendLast)
	closed bool               // committed or rolled back
}

var _ pgx.Tx = (*lazyTx)(nil)

// beginLazy returns a transaction on pool that begins with its first statement.
func beginLazy(pool *pgxpool.Pool) *lazyTx { return &lazyTx{pool: pool} }

// lazyBeginner is what pgx.BeginFunc begins with.
type lazyBeginner struct{ pool *pgxpool.Pool }

func (b lazyBeginner) Begin(context.Context) (pgx.Tx, error) { return beginLazy(b.pool), nil }

// begun begins the transaction on its own when it has not begun yet.
// What SendLast queued goes out first.
func (t *lazyTx) begun(ctx context.Context) (pgx.Tx, error) {
	if err := t.sendLast(ctx); err != nil {
		return nil, err
	}
	if t.real != nil {
		return t.real, nil
	}
	if t.closed {
		return closedTx{}, nil
	}
	h := hold{pool: t.pool}
	for {
		c, err := h.acquire(ctx)
		if err != nil {
			return nil, err
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			closed := c.Conn().IsClosed()
			c.Release()
			if closed && h.again(ctx, err, true) {
				continue
			}
			return nil, err
		}
		t.conn, t.real = c, tx
		break
	}
	tx := t.real
	if err := t.sendAhead(ctx, tx); err != nil {
		return nil, err
	}
	return tx, nil
}

// sendLast sends, on its own, what SendLast queued to go with COMMIT:
// something else is sent before the commit.
func (t *lazyTx) sendLast(ctx context.Context) error {
	if len(t.last) == 0 {
		return nil
	}
	return t.sendFirst(ctx, nil).Close()
}

// release gives the connection back to the pool (which closes it unless
// it is idle outside a transaction).
func (t *lazyTx) release() {
	t.closed = true
	if t.conn != nil {
		t.conn.Release()
		t.conn = nil
	}
}

// sendAhead sends what is queued ahead on tx, begun already, and reads it.
func (t *lazyTx) sendAhead(ctx context.Context, tx pgx.Tx) error {
	if len(t.ahead) == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &pgx.Batch{QueuedQueries: t.ahead})
	err := t.readAhead(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// readAhead reads the results of the statements sent ahead (running their
// callbacks): the first error, if any, is the caller's statement's too.
func (t *lazyTx) readAhead(br pgx.BatchResults) error {
	ahead := t.ahead
	t.ahead = nil
	return readAll(br, ahead)
}

// sendFirst sends queries in one round trip after what has to go before
// them: BEGIN and what went ahead when the transaction has not begun, and
// what SendLast queued. The returned results have read those; when one of
// them failed, every result of queries is its error (they may have run,
// but the caller rolls back).
func (t *lazyTx) sendFirst(ctx context.Context, queries []*pgx.QueuedQuery) pgx.BatchResults {
	last := t.last
	t.last = nil
	begin := t.real == nil
	b := &pgx.Batch{}
	if begin {
		b.BeginTx(pgx.TxOptions{})
		b.QueuedQueries = append(b.QueuedQueries, t.ahead...)
	}
	b.QueuedQueries = append(b.QueuedQueries, last...)
	b.QueuedQueries = append(b.QueuedQueries, queries...)
	var br pgx.BatchResults
	var err error
	if begin {
		commits := slices.ContainsFunc(queries, func(q *pgx.QueuedQuery) bool { return q.SQL == "commit" })
		h := hold{pool: t.pool}
		for {
			c, aerr := h.acquire(ctx)
			if aerr != nil {
				br = pgx.FailedBatchResults(b, aerr)
				break
			}
			br = c.SendBatch(ctx, b)
			// BEGIN's own result: an error here (no connection, a broken one)
			// is the error of every later result too. Nothing of the round
			// trip was committed when it held no COMMIT, or nothing of it was
			// sent: it goes again on another connection (see hold).
			_, berr := br.Exec()
			if berr != nil && c.Conn().IsClosed() {
				if (!commits || pgconn.SafeToRetry(berr)) && h.again(ctx, berr, true) {
					_ = br.Close()
					c.Release()
					b = resend(b)
					continue
				}
				noteIfUnavailable(berr) // the next transactions' connections are checked
			}
			t.conn, t.real = c, br.Tx()
			break
		}
		err = t.readAhead(br)
	} else {
		br = t.real.SendBatch(ctx, b)
	}
	if lerr := readAll(br, last); err == nil {
		err = lerr
	}
	if err != nil {
		_ = br.Close()
		return pgx.FailedBatchResults(&pgx.Batch{QueuedQueries: queries}, err)
	}
	return br
}

// resend is a batch that begins a transaction, as b does, with b's queries
// again: new queued queries with the same statements, arguments and
// callbacks, without what pgx kept of b's connection (its statement
// descriptions), for another connection.
func resend(b *pgx.Batch) *pgx.Batch {
	out := &pgx.Batch{}
	out.BeginTx(pgx.TxOptions{})
	for _, q := range b.QueuedQueries[1:] {
		out.QueuedQueries = append(out.QueuedQueries, &pgx.QueuedQuery{SQL: q.SQL, Arguments: q.Arguments, Fn: q.Fn})
	}
	return out
}

// DatabaseHold is how long a transaction's first round trip waits for a
// database that cannot be reached — restarting, failing over, out of
// connection slots — before it fails with the error (pg.Unavailable: 503
// with Retry-After, or an event handled again later). A database restart
// takes well under a second on the machine kinds this runs on; without the
// wait every request that came meanwhile was answered 503, and the clients
// that honoured its Retry-After (1 s, the least it can say) waited past the
// database's return. Only the first round trip waits, whose statements are
// not committed by it (no COMMIT in it, or none of it sent): nothing of it
// can have happened, so it goes again as it was.
var DatabaseHold = 2 * time.Second

// hold paces the attempts of a first round trip to reach the database.
type hold struct {
	pool    *pgxpool.Pool
	start   time.Time
	retried int // on a pooled connection found closed
}

// again reports whether the round trip that failed with err goes again:
// when the database itself was not reached (reached false), once it
// answers a new connection again (AwaitDatabase), within DatabaseHold of
// the first failure. A pooled connection that the database had closed
// (reached: a restart closes every connection) is replaced at once: from
// now on the pool checks a connection before it hands it out (see
// noteUnavailable), so the next one is alive or new.
func (h *hold) again(ctx context.Context, err error, reached bool) bool {
	if !unreachable(err) || ctx.Err() != nil {
		return false
	}
	noteUnavailable()
	if h.start.IsZero() {
		h.start = time.Now()
	}
	if reached && h.retried < 3 {
		h.retried++
		return time.Since(h.start) < DatabaseHold
	}
	return AwaitDatabase(ctx, h.pool, DatabaseHold-time.Since(h.start))
}

// acquire is a connection of h's pool, waiting for a database that does
// not answer a new one (again).
func (h *hold) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	for {
		c, err := h.pool.Acquire(ctx)
		if err == nil || !h.again(ctx, err, false) {
			return c, err
		}
	}
}

// unavailableAt is when a round trip last found the database unreachable
// (Unix nanoseconds; 0: never).
var unavailableAt atomic.Int64

func noteUnavailable() { unavailableAt.Store(time.Now().UnixNano()) }

// noteIfUnavailable notes err when it says the database is unreachable.
func noteIfUnavailable(err error) {
	if unreachable(err) {
		noteUnavailable()
	}
}

// unreachable reports an Unavailable error that is the database's or the
// network's, not the caller's own deadline or cancellation.
func unreachable(err error) bool {
	return err != nil && Unavailable(err) && !pgconn.Timeout(err) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded)
}

// CheckConnections is the pools' ShouldPing (ConnectWith sets it): whether
// the pool pings a connection before it hands it out: one idle for over a second (pgxpool's own rule), and any
// for 10 s after a round trip found the database unreachable, when the
// pool's idle connections may all have been closed by a restart.
func CheckConnections(_ context.Context, p pgxpool.ShouldPingParams) bool {
	if p.IdleDuration > time.Second {
		return true
	}
	at := unavailableAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < 10*time.Second
}

// direct reports whether a call goes straight to pgx's transaction
// (begun first if need be): it has begun and nothing waits to go before
// the call, or the call cannot go in a batch (a statement without
// arguments may hold several, which only the simple protocol takes; an
// empty batch sends nothing).
func (t *lazyTx) direct(batchable bool) bool {
	return t.closed || !batchable || (t.real != nil && len(t.last) == 0)
}

func (t *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.direct(len(args) > 0) {
		tx, err := t.begun(ctx)
		if err != nil {
			return pgconn.CommandTag{}, err
		}
		return tx.Exec(ctx, sql, args...)
	}
	br := t.sendFirst(ctx, []*pgx.QueuedQuery{{SQL: sql, Arguments: args}})
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.direct(len(args) > 0) {
		tx, err := t.begun(ctx)
		if err != nil {
			return errRow{err}
		}
		return tx.QueryRow(ctx, sql, args...)
	}
	br := t.sendFirst(ctx, []*pgx.QueuedQuery{{SQL: sql, Arguments: args}})
	return batchRow{row: br.QueryRow(), br: br}
}

func (t *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.direct(len(args) > 0) {
		tx, err := t.begun(ctx)
		if err != nil {
			return nil, err
		}
		return tx.Query(ctx, sql, args...)
	}
	br := t.sendFirst(ctx, []*pgx.QueuedQuery{{SQL: sql, Arguments: args}})
	rows, err := br.Query()
	if rows == nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, err
}

func (t *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.direct(b.Len() > 0) {
		tx, err := t.begun(ctx)
		if err != nil {
			return pgx.FailedBatchResults(b, err)
		}
		return tx.SendBatch(ctx, b)
	}
	return firstBatch{t.sendFirst(ctx, b.QueuedQueries)}
}

func (t *lazyTx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := t.begun(ctx)
	if err != nil {
		return nil, err
	}
	return tx.Begin(ctx)
}

// Commit commits; a transaction that sent nothing has nothing to commit.
// What SendLast queued goes out with the COMMIT, in one round trip (with
// BEGIN too when nothing else was sent). When one of those statements
// fails, PostgreSQL skips the rest of the round trip, COMMIT included: the
// transaction is rolled back and Commit returns that statement's error. A
// callback of theirs that fails cannot stop the COMMIT: Commit then returns
// its error, saying the transaction committed.
func (t *lazyTx) Commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	if len(t.last) > 0 {
		return t.commitWithLast(ctx)
	}
	if t.real == nil {
		t.closed = true
		return nil
	}
	err := t.real.Commit(ctx)
	t.release()
	return err
}

// commitWithLast sends the queued last statements and COMMIT in one batch.
func (t *lazyTx) commitWithLast(ctx context.Context) error {
	queries := append(t.last, &pgx.QueuedQuery{SQL: "commit"})
	t.last = nil
	if t.real == nil && len(t.ahead) > 0 {
		// What goes ahead may refuse the rest (the bus's inbox claim): its
		// answer comes before anything is committed.
		if err := t.sendFirst(ctx, nil).Close(); err != nil {
			return errors.Join(err, t.Rollback(ctx))
		}
	}
	br := t.sendFirst(ctx, queries)
	lastErr := readAll(br, queries[:len(queries)-1])
	tag, err := br.Exec() // COMMIT's
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() == "COMMIT" {
		t.release()
		if lastErr != nil {
			// Only a callback can fail while its statement succeeded: it
			// cannot undo the commit, which happened in the same round trip.
			return fmt.Errorf("pg: the transaction committed, but reading a last statement's answer failed: %w", lastErr)
		}
		return nil
	}
	if lastErr != nil {
		err = lastErr // the statement that stopped the COMMIT
	} else if err == nil {
		err = pgx.ErrTxCommitRollback
	}
	if t.real != nil && t.conn != nil && t.conn.Conn().PgConn().TxStatus() != 'I' {
		// The batch failed inside the transaction: undo it before the
		// connection goes back.
		if rerr := t.real.Rollback(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	t.release()
	return err
}

// readAll reads the results of queries, sent in br's batch, running their
// callbacks; it returns the first error.
func readAll(br pgx.BatchResults, queries []*pgx.QueuedQuery) error {
	var first error
	for _, q := range queries {
		var err error
		if q.Fn != nil {
			err = q.Fn(br)
		} else {
			_, err = br.Exec()
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// Rollback rolls back; a transaction that sent nothing has nothing to undo,
// and what SendLast queued is dropped unsent.
func (t *lazyTx) Rollback(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.last = nil
	if t.real == nil {
		t.closed = true
		return nil
	}
	err := t.real.Rollback(ctx)
	t.release()
	return err
}

// queueLast queues queries to go out with COMMIT (after any queued before).
func (t *lazyTx) queueLast(queries []*pgx.QueuedQuery) {
	t.last = append(t.last, queries...)
}

func (t *lazyTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	tx, err := t.begun(ctx)
	if err != nil {
		return 0, err
	}
	return tx.CopyFrom(ctx, table, cols, src)
}

func (t *lazyTx) LargeObjects() pgx.LargeObjects {
	tx, err := t.begun(context.Background())
	if err != nil {
		return closedTx{}.LargeObjects()
	}
	return tx.LargeObjects()
}

func (t *lazyTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	tx, err := t.begun(ctx)
	if err != nil {
		return nil, err
	}
	return tx.Prepare(ctx, name, sql)
}

func (t *lazyTx) Conn() *pgx.Conn {
	tx, err := t.begun(context.Background())
	if err != nil {
		return nil
	}
	return tx.Conn()
}

// firstBatch are the results of a caller's batch sent after what had to go
// before it (sendFirst: their results are read already); Tx is nil, as for
// any batch in a transaction.
type firstBatch struct{ pgx.BatchResults }

func (firstBatch) Tx() pgx.Tx { return nil }

// batchRow is the row of a statement sent with BEGIN: scanning it also
// closes the batch (which frees the connection for the next statement).
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchRows are the rows of a query sent with BEGIN: the batch closes with
// them (when Next has read the last row, or on Close).
type batchRows struct {
	pgx.Rows
	br   pgx.BatchResults
	once sync.Once
	err  error
}

func (r *batchRows) finish() {
	r.once.Do(func() {
		r.Rows.Close()
		r.err = r.br.Close()
	})
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.finish()
	return false
}

func (r *batchRows) Close() { r.finish() }

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// closedTx is a transaction that has ended without sending anything.
type closedTx struct{}

func (closedTx) Begin(context.Context) (pgx.Tx, error) { return nil, pgx.ErrTxClosed }
func (closedTx) Commit(context.Context) error          { return pgx.ErrTxClosed }
func (closedTx) Rollback(context.Context) error        { return pgx.ErrTxClosed }
func (closedTx) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, pgx.ErrTxClosed
}
func (closedTx) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	return pgx.FailedBatchResults(b, pgx.ErrTxClosed)
}
func (closedTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }
func (closedTx) Prepare(context.Context, string, string) (*pgconn.StatementDescription, error) {
	return nil, pgx.ErrTxClosed
}
func (closedTx) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, pgx.ErrTxClosed
}
func (closedTx) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, pgx.ErrTxClosed }
func (closedTx) QueryRow(context.Context, string, ...any) pgx.Row        { return errRow{pgx.ErrTxClosed} }
func (closedTx) Conn() *pgx.Conn                                         { return nil }
