package timer_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/pkg/timer"
)

// begins counts the transactions a pool opens.
type begins struct{ n atomic.Int32 }

func (b *begins) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.EqualFold(strings.TrimSpace(d.SQL), "begin") || strings.HasPrefix(strings.ToLower(strings.TrimSpace(d.SQL)), "begin ") {
		b.n.Add(1)
	}
	return ctx
}

func (b *begins) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestFireDueFiresOnlyWhatIsDueAndIdlesWithoutATransaction: a run with
// nothing due says when the next timer is due without opening a
// transaction (the safety poll of an idle service is one read); a run
// after the due time fires the timer once, in a transaction.
func TestFireDueFiresOnlyWhatIsDueAndIdlesWithoutATransaction(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := pg.Config{AdminURL: testkit.AdminURL(), Database: testkit.Database(t), MaxConns: 2}.WithDefaults("agreements")
	if err := pg.Provision(ctx, c, fstest.MapFS{"00001_none.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}, log); err != nil {
		t.Fatal(err)
	}
	base, err := pg.Connect(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	cfg := base.Config()
	base.Close()
	tr := &begins{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

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

	tr.n.Store(0)
	next, err := timers.FireDue(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if !next.Equal(due) {
		t.Errorf("next due %s, want %s", next, due)
	}
	if n := tr.n.Load(); n != 0 || fired.Load() != 0 {
		t.Errorf("with nothing due: %d transactions opened, %d fired; want none", n, fired.Load())
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
