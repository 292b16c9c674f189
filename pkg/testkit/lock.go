package testkit

import (
	"sync/atomic"
	"testing"
	"time"
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
