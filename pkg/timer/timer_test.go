package timer_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/pkg/timer"
)

// TestFireDueFiresOnlyWhatIsDueAndIdlesWithoutATransaction: a run with
// nothing due says when the next timer is due without opening a
// transaction (the safety poll of an idle service is one read); a run
// after the due time fires the timer once, in a transaction.
func TestFireDueFiresOnlyWhatIsDueAndIdlesWithoutATransaction(t *testing.T) {
	ctx := context.Background()
	log := testkit.Log(t)
	tr := &testkit.Statements{}
	pool := testkit.ServicePool(t, "agreements", testkit.NoTables, 2, tr)

	timers := timer.New(pool, log)
	var fired atomic.Int32
	timers.Handle("reminder", func(context.Context, pgx.Tx, timer.Due) error { fired.Add(1); return nil })
	now := time.Now().UTC().Truncate(time.Millisecond)
	due := now.Add(time.Hour)
	if err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		return timers.Schedule(ctx, tx, "reminder", "PG-1", due, nil)
	}); err != nil {
		t.Fatal(err)
	}

	tr.Reset()
	next, err := timers.FireDue(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if !next.Equal(due) {
		t.Errorf("next due %s, want %s", next, due)
	}
	if alone, inBatch := tr.Begins(); alone+inBatch != 0 || fired.Load() != 0 {
		t.Errorf("with nothing due: %d transactions opened, %d fired; want none", alone+inBatch, fired.Load())
	}

	next, err = timers.FireDue(ctx, due.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if fired.Load() != 1 || !next.IsZero() {
		t.Errorf("after the due time: fired %d, next %s; want 1 and none", fired.Load(), next)
	}
	if _, err := timers.FireDue(ctx, due.Add(2*time.Second)); err != nil || fired.Load() != 1 {
		t.Errorf("fired again: %d (%v)", fired.Load(), err)
	}
}
