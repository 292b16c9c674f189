package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	cfg := pg.Config{AdminURL: testkit.AdminURL(), Database: testkit.Database(t), MaxConns: 8}.WithDefaults("timeline")
	if err := pg.Provision(ctx, cfg, postgres.Migrations, slog.New(slog.NewJSONHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	p, err := pg.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func ev(source string, seq uint64, at time.Time) domain.Event {
	return domain.Event{ID: fmt.Sprintf("%s-%d", source, seq), Source: source, Type: "com.partnerhub.x.happened.v1",
		Subject: "PG-A1", PartitionKey: "PG-A1", Sequence: seq, Time: at, Data: json.RawMessage(`{"partner_id":"PG-A1"}`)}
}

// Two replicas handling one event at once (a redelivery after the ack
// wait): exactly one stores it.
func TestRecordIsOncePerSourceAndIDUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s := postgres.New(pool(t))
	e := ev("/services/registration", 1, t0)
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Record(ctx, e, []string{"PG-A1", "PG-B2"})
			if err != nil {
				t.Error(err)
			}
			if ok {
				fresh.Add(1)
			}
		}()
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("%d replicas stored the event, want 1", fresh.Load())
	}
	for _, p := range []string{"PG-A1", "PG-B2"} {
		page, err := s.Page(ctx, p, nil, nil, 10)
		if err != nil || len(page) != 1 || page[0].ID != e.ID {
			t.Errorf("%s timeline = %+v, %v", p, page, err)
		}
	}
}

// Keyset pages at microsecond ties: the cursor of the last event of a page
// starts the next one exactly after it, even for nanosecond event times
// (Postgres keeps microseconds).
func TestPagesAcrossTiesAndNanoseconds(t *testing.T) {
	ctx := context.Background()
	s := postgres.New(pool(t))
	at := t0.Add(123456789 * time.Nanosecond)
	var want []string
	for _, src := range []string{"/services/b", "/services/a"} {
		for seq := uint64(3); seq >= 1; seq-- {
			e := ev(src, seq, at)
			if _, err := s.Record(ctx, e, []string{"PG-A1"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, src := range []string{"/services/a", "/services/b"} {
		for seq := 1; seq <= 3; seq++ {
			want = append(want, fmt.Sprintf("%s-%d", src, seq))
		}
	}
	var got []string
	var after *domain.Position
	for {
		page, err := s.Page(ctx, "PG-A1", after, nil, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			got = append(got, e.ID)
		}
		if len(page) < 4 {
			break
		}
		p, err := domain.ParseCursor(domain.PositionOf(page[len(page)-1]).Cursor())
		if err != nil {
			t.Fatal(err)
		}
		after = &p
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages\n got %q\nwant %q", got, want)
	}
}

func TestSourcesCapsGaps(t *testing.T) {
	ctx := context.Background()
	s := postgres.New(pool(t))
	for _, seq := range []uint64{1, 500} {
		if _, err := s.Record(ctx, ev("/services/registration", seq, t0), []string{"PG-A1"}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := s.Sources(ctx, "PG-A1")
	if err != nil || len(sum) != 1 {
		t.Fatalf("Sources = %+v, %v", sum, err)
	}
	got := sum[0]
	if got.Events != 2 || got.LastSequence != 500 || len(got.Gaps) != domain.MaxGaps || got.Gaps[0] != 2 || !got.GapsTruncated {
		t.Errorf("summary = events %d last %d gaps %d (first %d) truncated %v", got.Events, got.LastSequence, len(got.Gaps), got.Gaps[0], got.GapsTruncated)
	}
	if sum, err := s.Sources(ctx, "PG-NOBODY"); err != nil || len(sum) != 0 {
		t.Errorf("unknown partner: %+v, %v", sum, err)
	}
}
