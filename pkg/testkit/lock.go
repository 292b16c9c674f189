package testkit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
)

// WaitsForLock checks that a change finds and locks its row in one
// statement: hold runs a transaction that takes the row's lock, calls locked
// once it holds it and keeps it until release is closed; try runs the
// change under test, which must call entered only once it holds the lock.
// It fails when try enters while hold still holds the lock, or does not
// succeed after it is released.
func WaitsForLock(tb testing.TB, hold func(locked func(), release <-chan struct{}) error, try func(entered func()) error) {
	tb.Helper()
	locked, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() { held <- hold(func() { close(locked) }, release) }()
	select {
	case <-locked:
	case err := <-held:
		tb.Fatalf("the lock holder ended before it held the lock: %v", err)
	}
	var in atomic.Bool
	done := make(chan error, 1)
	go func() { done <- try(func() { in.Store(true) }) }()
	time.Sleep(300 * time.Millisecond)
	early := in.Load()
	close(release)
	if err := <-held; err != nil {
		tb.Errorf("lock holder: %v", err)
	}
	if early {
		tb.Fatal("the change read the row while another transaction held its lock")
	}
	if err := <-done; err != nil || !in.Load() {
		tb.Fatalf("the change after the lock was released: %v (entered %v)", err, in.Load())
	}
}

// WhileOpen runs first in a transaction on pool and, while that transaction
// is open, other in another goroutine. It reports whether other waited for
// a lock (a backend of pool's database waited for one before other ended),
// and other's error once the transaction ended. pool needs a connection
// for the transaction, one for the check and what other uses.
func WhileOpen(tb testing.TB, pool *pgxpool.Pool, first func(ctx context.Context) error, other func() error) (bool, error) {
	tb.Helper()
	ctx := context.Background()
	done := make(chan error, 1)
	var waited bool
	err := pg.InTx(ctx, pool, func(ctx context.Context, _ pgx.Tx) error {
		if err := first(ctx); err != nil {
			return err
		}
		go func() { done <- other() }()
		waited = waitingForLock(tb, pool, done)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return waited, <-done
}

// waitingForLock reports true once a backend of pool's database waits for
// a lock; false when done ends first (its result is put back).
func waitingForLock(tb testing.TB, pool *pgxpool.Pool, done chan error) bool {
	for {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
			WHERE s.datname = current_database() AND NOT l.granted`).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		if n > 0 {
			return true
		}
		select {
		case err := <-done:
			done <- err
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}
