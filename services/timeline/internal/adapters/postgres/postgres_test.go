package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

func pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	p := testkit.ServicePool(t, "timeline", postgres.Migrations, 8, nil)
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
			ok, _, err := s.Record(ctx, e, []string{"PG-A1", "PG-B2"}, domain.Registrant{}, time.Time{})
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
		page, err := s.Page(ctx, p, nil, nil, 10, true)
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
			if _, _, err := s.Record(ctx, e, []string{"PG-A1"}, domain.Registrant{}, time.Time{}); err != nil {
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
		page, err := s.Page(ctx, "PG-A1", after, nil, 4, true)
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
		if _, _, err := s.Record(ctx, ev("/services/registration", seq, t0), []string{"PG-A1"}, domain.Registrant{}, time.Time{}); err != nil {
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

// The feed serves a transaction's events only once every transaction that
// began before it has ended: an event recorded by a slow transaction is
// never skipped by a reader whose cursor is past a quicker one.
func TestFeedNeverServesBehindTheCursor(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	s := postgres.New(p)
	slow, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx) //nolint:errcheck
	if _, _, err := s.Record(pg.WithTx(ctx, slow), ev("/services/a", 1, t0), []string{"PG-A1"}, domain.Registrant{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	quick := ev("/services/b", 1, t0)
	quick.Subject, quick.PartitionKey = "PG-B2", "PG-B2" // one partition's events are recorded one at a time
	if _, _, err := s.Record(ctx, quick, []string{"PG-B2"}, domain.Registrant{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ids := func(after domain.FeedPosition) ([]string, domain.FeedPosition) {
		t.Helper()
		evs, err := s.Feed(ctx, app.FeedQuery{After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
			after = e.Feed
		}
		return out, after
	}
	if got, _ := ids(domain.FeedPosition{}); len(got) != 0 {
		t.Fatalf("feed while an older transaction runs = %v, want nothing yet", got)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Any write transaction of the cluster that began earlier holds the
	// feed back too (other tests', here): wait for them to end.
	var got []string
	var cursor domain.FeedPosition
	testkit.Eventually(t, 10*time.Second, func() error {
		if got, cursor = ids(domain.FeedPosition{}); len(got) < 2 {
			return fmt.Errorf("feed = %v so far", got)
		}
		return nil
	})
	if !slices.Equal(got, []string{"/services/a-1", "/services/b-1"}) {
		t.Fatalf("feed = %v, want the slow transaction's event first", got)
	}
	if more, _ := ids(cursor); len(more) != 0 {
		t.Errorf("after the last cursor: %v", more)
	}
}

func TestFeedFilters(t *testing.T) {
	ctx := context.Background()
	s := postgres.New(pool(t))
	record := func(e domain.Event, partners []string) {
		t.Helper()
		if _, _, err := s.Record(ctx, e, partners, domain.RegistrantOf(e), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	submitted := domain.Event{ID: "s1", Source: "/services/registration", Type: domain.TypeApplicationSubmitted, Subject: "PG-A1",
		Time: t0, AuthType: "service_account", AuthID: "crm", Data: json.RawMessage(`{"partner_id":"PG-A1","submitted_by":"crm"}`)}
	record(submitted, []string{"PG-A1"})
	other := domain.Event{ID: "s2", Source: "/services/registration", Type: domain.TypeApplicationSubmitted, Subject: "PG-B2",
		Time: t0, AuthType: "service_account", AuthID: "portal", Data: json.RawMessage(`{"partner_id":"PG-B2","submitted_by":"portal"}`)}
	record(other, []string{"PG-B2"})
	mail := ev("/services/email-ownership", 1, t0)
	mail.Type = "com.partnerhub.email.ownership.confirmed.v1"
	record(mail, []string{"PG-A1"})
	rejected := domain.Event{ID: "r1", Source: "/services/registration", Type: "com.partnerhub.registration.application.rejected.v1",
		Subject: "intake-7", Time: t0, AuthType: "service_account", AuthID: "crm", DataSchema: "https://x/s.json",
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Extensions: map[string]string{"custom": "v"}}
	record(rejected, nil)
	version := domain.Event{ID: "v1", Source: "/services/agreements", Type: "com.partnerhub.agreements.version.published.v1", Subject: "AV-1", Time: t0}
	record(version, nil)

	for _, tt := range []struct {
		name string
		q    app.FeedQuery
		want []string
	}{
		{"staff: everything in recording order", app.FeedQuery{}, []string{"s1", "s2", mail.ID, "r1", "v1"}},
		{"one partner", app.FeedQuery{Partner: "PG-A1"}, []string{"s1", mail.ID}},
		{"the partners a principal registered, and what it caused", app.FeedQuery{Registrant: "crm"}, []string{"s1", mail.ID, "r1"}},
		{"another principal", app.FeedQuery{Registrant: "portal"}, []string{"s2"}},
		{"types", app.FeedQuery{TypePrefixes: []string{"com.partnerhub.registration.application.r", "com.partnerhub.email."}}, []string{mail.ID, "r1"}},
		{"types within a partner", app.FeedQuery{Partner: "PG-A1", TypePrefixes: []string{"com.partnerhub.email."}}, []string{mail.ID}},
	} {
		tt.q.Limit = 10
		testkit.Eventually(t, 10*time.Second, func() error { // other tests' write transactions hold the feed back
			evs, err := s.Feed(ctx, tt.q)
			if err != nil {
				return err
			}
			var got []string
			for _, e := range evs {
				got = append(got, e.ID)
			}
			if !slices.Equal(got, tt.want) {
				return fmt.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
			return nil
		})
	}
	evs, err := s.Feed(ctx, app.FeedQuery{Registrant: "crm", TypePrefixes: []string{"com.partnerhub.registration.application.rejected."}, Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("rejection: %v %v", evs, err)
	}
	if got := evs[0]; got.DataSchema != rejected.DataSchema || got.TraceParent != rejected.TraceParent || got.Extensions["custom"] != "v" || got.Feed.Tx == 0 {
		t.Errorf("stored attributes %+v", got)
	}
	if by, err := s.RegisteredBy(ctx, "PG-A1"); err != nil || by != "crm" {
		t.Errorf("registrant of PG-A1 = %q, %v", by, err)
	}
}

// Retention deletes old events with their index rows and dead letters; the
// sequences it deleted are not reported as gaps.
func TestPruneKeepsSequencesWithoutGaps(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	s := postgres.New(p)
	for seq := uint64(1); seq <= 4; seq++ {
		if _, _, err := s.Record(ctx, ev("/services/registration", seq, t0.Add(time.Duration(seq)*time.Minute)), []string{"PG-A1"}, domain.Registrant{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	old := domain.Event{ID: "/services/registration-1", Source: "/services/registration", Type: "com.partnerhub.x.happened.v1", Subject: "PG-A1",
		PartitionKey: "PG-A1", Sequence: 1, Time: t0, DeadLetter: &domain.DeadLetter{Code: "c", Service: "agreements", Handler: "h"}}
	if _, err := s.RecordDeadLetter(ctx, old, []string{"PG-A1"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `UPDATE events SET recorded_at = now() - interval '100 days' WHERE sequence <= 2;
		UPDATE dead_letters SET recorded_at = now() - interval '100 days'`); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, time.Now().Add(-90*24*time.Hour), 1)
	if err != nil || n != 1 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	if n, err = s.Prune(ctx, time.Now().Add(-90*24*time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	page, err := s.Page(ctx, "PG-A1", nil, nil, 10, true)
	if err != nil || len(page) != 2 || page[0].Sequence != 3 {
		t.Fatalf("timeline after retention: %+v, %v", page, err)
	}
	sum, err := s.Sources(ctx, "PG-A1")
	if err != nil || len(sum) != 1 || sum[0].Events != 2 || sum[0].LastSequence != 4 || len(sum[0].Gaps) != 0 {
		t.Fatalf("sources after retention: %+v, %v", sum, err)
	}
	if n, err = s.Prune(ctx, time.Now().Add(-90*24*time.Hour), 100); err != nil || n != 0 {
		t.Fatalf("nothing left to prune: %d, %v", n, err)
	}
}

// TestADeadLetterCountsOnlyALaterRefusal: the same dead letter delivered
// again (its time), or one whose time is not known, changes nothing; a later
// one by the same handler counts and takes its reason, where the first was.
func TestADeadLetterCountsOnlyALaterRefusal(t *testing.T) {
	ctx := context.Background()
	s := postgres.New(pool(t))
	refused := func(at time.Time, reason string) domain.Event {
		return domain.Event{ID: "e-dl", Source: "/services/agreements", Type: "com.partnerhub.x.happened.v1", Subject: "PG-A1",
			PartitionKey: "PG-A1", Sequence: 1, Time: at, DeadLetter: &domain.DeadLetter{Code: "c", Reason: reason, Service: "registration", Handler: "h"}}
	}
	for _, step := range []struct {
		name      string
		at        time.Time
		timeKnown bool
		want      int
	}{
		{"first", t0, true, 1},
		{"the same, delivered again", t0, true, 0},
		{"a later time not known (arrival)", t0.Add(time.Hour), false, 0},
		{"refused again later", t0.Add(time.Hour), true, 2},
		{"that one delivered again", t0.Add(time.Hour), true, 0},
	} {
		got, err := s.RecordDeadLetter(ctx, refused(step.at, step.name), []string{"PG-A1"}, step.timeKnown)
		if err != nil || got != step.want {
			t.Fatalf("%s: %d, %v; want %d", step.name, got, err, step.want)
		}
	}
	page, err := s.Page(ctx, "PG-A1", nil, nil, 10, true)
	if err != nil || len(page) != 1 {
		t.Fatalf("page %+v, %v", page, err)
	}
	if dl := page[0].DeadLetter; dl == nil || dl.Times != 2 || !dl.LastAt.Equal(t0.Add(time.Hour)) || dl.Reason != "refused again later" || !page[0].Time.Equal(t0) {
		t.Errorf("entry at %v: %+v", page[0].Time, dl)
	}
}

// TestEventRowsCompressWithLZ4: the largest events' rows (their data with
// their extensions, over about 2 KB) are compressed at their insert.
func TestEventRowsCompressWithLZ4(t *testing.T) {
	testkit.CompressesWithLZ4(t, testkit.ServicePool(t, "timeline", postgres.Migrations, 2, nil), "events", "data", "extensions")
}
