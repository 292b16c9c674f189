package pg_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// proxy stands between a pool and the test database, so that the test can
// take the database away (nothing listens: connections refused, every
// open one cut) and bring it back on the same address, as a restart does.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.up("127.0.0.1:0")
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

// cut closes every connection through the proxy.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// down stops listening and cuts every connection.
func (p *proxy) down() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.cut()
}

func (p *proxy) back() { p.up(p.addr) }

// proxiedPool is tablePool reached through a proxy, checking its
// connections as the platform's pools do (pg.CheckConnections).
func proxiedPool(t *testing.T) (*pgxpool.Pool, *proxy) {
	t.Helper()
	u, err := url.Parse(testkit.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	pool := tablePool(t, p.addr, func(cfg *pgxpool.Config) { cfg.ShouldPing = pg.CheckConnections })
	return pool, p
}

func insert(ctx context.Context, pool *pgxpool.Pool, id int) error {
	return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t (id, v) VALUES ($1, 'x')`, id)
		return err
	})
}

// A write that finds the database away waits for it, within
// pg.DatabaseHold, and is made when it is back, once.
func TestAWriteWaitsForADatabaseThatComesBack(t *testing.T) {
	pool, p := proxiedPool(t)
	p.down()
	time.AfterFunc(400*time.Millisecond, p.back)
	start := time.Now()
	if err := insert(context.Background(), pool, 1); err != nil {
		t.Fatalf("the write failed instead of waiting for the database: %v", err)
	}
	if took := time.Since(start); took < 400*time.Millisecond || took > pg.DatabaseHold {
		t.Fatalf("the write took %v; want from the database's return (400ms) to the hold (%v)", took, pg.DatabaseHold)
	}
	if n := count(t, pool); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// The pool's connections closed under it (a restart that the pool did not
// see: the database answers again at once) are replaced, not a failure.
func TestAWriteOnAConnectionTheDatabaseClosedGoesOnAnother(t *testing.T) {
	pool, p := proxiedPool(t)
	for i := range 3 { // connections in the pool, open
		if err := insert(context.Background(), pool, 10+i); err != nil {
			t.Fatal(err)
		}
	}
	p.cut()
	if err := insert(context.Background(), pool, 20); err != nil {
		t.Fatalf("the write failed on a closed connection: %v", err)
	}
	// One that sends its only statement with COMMIT, BEGIN included, too:
	// the connections it is given are checked now.
	p.cut()
	err := pg.InTx(context.Background(), pool, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO t (id, v) VALUES (21, 'x')`)
		return pg.SendLast(ctx, tx, b)
	})
	if err != nil {
		t.Fatalf("the write with its COMMIT failed on a closed connection: %v", err)
	}
	if n := count(t, pool); n != 5 {
		t.Fatalf("%d rows, want 5", n)
	}
}

// A database away for longer than the hold fails the write with an error
// that says so (a 503), after the hold and not before.
func TestADatabaseAwayLongerThanTheHoldFailsTheWrite(t *testing.T) {
	pool, p := proxiedPool(t)
	old := pg.DatabaseHold
	pg.DatabaseHold = 300 * time.Millisecond
	t.Cleanup(func() { pg.DatabaseHold = old })
	p.down()
	start := time.Now()
	err := insert(context.Background(), pool, 1)
	if err == nil || !pg.Unavailable(err) {
		t.Fatalf("err = %v, want the database unavailable", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > time.Second {
		t.Fatalf("failed after %v; want about the hold (300ms)", took)
	}
	// A caller that gives up meanwhile is not held.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	pg.DatabaseHold = 5 * time.Second
	start = time.Now()
	if err := insert(ctx, pool, 2); err == nil {
		t.Fatal("the write succeeded with the database away")
	} else if took := time.Since(start); took > time.Second {
		t.Fatalf("a canceled write waited %v (%v)", took, errors.Unwrap(err))
	}
}

// A read outside a transaction (pg.Q) waits for the database too, when it
// needs a new connection: a row, rows, and a batch of reads. (One sent on
// a pooled connection that the database closed fails, as a statement
// outside a transaction may have been a write; it has the pool check the
// connections it hands out from then on.)
func TestAReadWaitsForADatabaseThatComesBack(t *testing.T) {
	pool, p := proxiedPool(t)
	if err := insert(context.Background(), pool, 1); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := pg.Q(ctx, pool)
	reads := map[string]func() error{
		"row": func() error {
			var n int
			return q.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n)
		},
		"rows": func() error {
			rows, err := q.Query(ctx, `SELECT id FROM t`)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
			if err == nil && len(ids) != 1 {
				err = errors.New("want one row")
			}
			return err
		},
		"batch": func() error {
			b := &pgx.Batch{}
			var n int
			b.Queue(`SELECT count(*) FROM t`).QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
			return q.SendBatch(ctx, b).Close()
		},
	}
	for name, read := range reads {
		p.down()
		pool.Reset()
		time.AfterFunc(300*time.Millisecond, p.back)
		start := time.Now()
		if err := read(); err != nil {
			t.Fatalf("%s: the read failed instead of waiting for the database: %v", name, err)
		}
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Fatalf("%s: answered after %v, before the database was back", name, took)
		}
	}
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still held", n)
	}
}

// AwaitDatabase answers as soon as the database takes a connection again
// (one watch per pool tries every 50 ms), and not before.
func TestAwaitDatabaseAnswersWhenTheDatabaseIsBack(t *testing.T) {
	pool, p := proxiedPool(t)
	p.down()
	pool.Reset()
	time.AfterFunc(300*time.Millisecond, p.back)
	start := time.Now()
	if !pg.AwaitDatabase(context.Background(), pool, 2*time.Second) {
		t.Fatal("AwaitDatabase gave up with the database back")
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 600*time.Millisecond {
		t.Fatalf("answered after %v; want soon after the database's return (300ms)", took)
	}
	p.down()
	pool.Reset()
	if pg.AwaitDatabase(context.Background(), pool, 200*time.Millisecond) {
		t.Fatal("AwaitDatabase answered with the database away")
	}
}
