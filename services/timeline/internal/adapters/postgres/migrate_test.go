package postgres_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// migrationsThrough are the service's migrations up to and including
// version (its file name's number).
func migrationsThrough(t *testing.T, version string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(postgres.Migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path[:5] > version {
			return err
		}
		b, err := fs.ReadFile(postgres.Migrations, path)
		out[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(evs []domain.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// A stack recorded under the two-table layout (events plus one
// partner_events row per partner) keeps every timeline, summary and feed
// position when migration 00005 folds them into one row per event.
func TestMigrationFoldsPartnerEventsIntoEvents(t *testing.T) {
	ctx := context.Background()
	log := testkit.Log(t)
	cfg := pg.Config{AdminURL: testkit.AdminURL(), Database: testkit.Database(t), MaxConns: 4}.WithDefaults("timeline")
	if err := pg.Provision(ctx, cfg, migrationsThrough(t, "00004"), log); err != nil {
		t.Fatal(err)
	}
	p, err := pg.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)

	// What 00004's store wrote: each event, then a partner_events row per
	// partner with the event's time and feed position copied.
	type old struct {
		source, id, subject string
		seq                 int64
		at                  time.Time
		partners            []string
	}
	stored := []old{
		{"/services/registration", "a1", "PG-A1", 1, t0, []string{"PG-A1"}},
		{"/services/relationships", "rel", "PG-A1", 2, t0.Add(time.Minute), []string{"PG-A1", "PG-P9"}},
		{"/services/agreements", "ver", "AV-1", 0, t0, nil},
		{"/services/email-ownership", "b1", "PG-B2", 1, t0.Add(2 * time.Minute), []string{"PG-B2"}},
		{"/services/registration", "a3", "PG-A1", 3, t0.Add(-time.Minute), []string{"PG-A1"}}, // arrived late, sorts first
	}
	for _, e := range stored {
		if _, err := p.Exec(ctx, `INSERT INTO events (source, id, type, subject, time, partition_key, sequence, data)
			VALUES ($1, $2, 'com.partnerhub.x.happened.v1', $3, $4, $3, $5, '{}')`, e.source, e.id, e.subject, e.at, e.seq); err != nil {
			t.Fatal(err)
		}
		for _, partner := range e.partners {
			if _, err := p.Exec(ctx, `INSERT INTO partner_events (partner_id, time, source, sequence, event_id, type, tx, pos)
				SELECT $1, time, source, sequence, id, type, tx, pos FROM events WHERE source = $2 AND id = $3`, partner, e.source, e.id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := p.Exec(ctx, `INSERT INTO partner_registrants (partner_id, principal) VALUES ('PG-A1', 'crm')`); err != nil {
		t.Fatal(err)
	}

	if err := pg.Provision(ctx, cfg, postgres.Migrations, log); err != nil {
		t.Fatal(err)
	}
	var left *string
	if err := p.QueryRow(ctx, `SELECT to_regclass('partner_events')::text`).Scan(&left); err != nil || left != nil {
		t.Fatalf("partner_events after the migration: %v, %v", left, err)
	}
	var rows, further int
	if err := p.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM other_partner_events)`).Scan(&rows, &further); err != nil {
		t.Fatal(err)
	}
	if rows != len(stored) || further != 1 {
		t.Errorf("%d event rows and %d further-partner rows, want %d and 1 (the relationship's provider)", rows, further, len(stored))
	}

	s := postgres.New(p)
	// An event recorded after the migration joins the same timelines.
	later := ev("/services/registration", 4, t0.Add(3*time.Minute))
	later.ID = "a4"
	if _, _, err := s.Record(ctx, later, []string{"PG-A1"}, domain.Registrant{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for partner, want := range map[string][]string{"PG-A1": {"a3", "a1", "rel", "a4"}, "PG-P9": {"rel"}, "PG-B2": {"b1"}} {
		page, err := s.Page(ctx, partner, nil, nil, 10, true)
		if err != nil || !slices.Equal(ids(page), want) {
			t.Errorf("%s timeline = %v (%v), want %v", partner, ids(page), err, want)
		}
		testkit.Eventually(t, 10*time.Second, func() error { // other tests' write transactions hold the feed back
			feed, err := s.Feed(ctx, app.FeedQuery{Partner: partner, Limit: 10})
			if err != nil {
				return err
			}
			// Feed order is recording order: a3 was recorded after a1 and rel.
			wantFeed := slices.Clone(want)
			if partner == "PG-A1" {
				wantFeed = []string{"a1", "rel", "a3", "a4"}
			}
			if !slices.Equal(ids(feed), wantFeed) {
				return &feedError{partner, ids(feed), wantFeed}
			}
			return nil
		})
	}
	sum, err := s.Sources(ctx, "PG-A1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(sum)
	if len(sum) != 2 || sum[0].Source != "/services/registration" || sum[0].Events != 3 || sum[0].LastSequence != 4 ||
		!slices.Equal(sum[0].Gaps, []uint64{2}) || sum[1].Events != 1 || sum[1].LastSequence != 2 {
		t.Errorf("PG-A1 sources = %s", got)
	}
	if sum, err := s.Sources(ctx, "PG-P9"); err != nil || len(sum) != 1 || sum[0].Events != 1 || sum[0].LastSequence != 0 {
		t.Errorf("PG-P9 sources = %+v, %v (the relationship event is in PG-A1's partition)", sum, err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		feed, err := s.Feed(ctx, app.FeedQuery{Registrant: "crm", Limit: 10})
		if err != nil {
			return err
		}
		if want := []string{"a1", "rel", "a3", "a4"}; !slices.Equal(ids(feed), want) {
			return &feedError{"registered by crm", ids(feed), want}
		}
		return nil
	})
	// Retention deletes a migrated event with its further partner's row.
	if n, err := s.Prune(ctx, time.Now().Add(time.Hour), 100); err != nil || n != len(stored)+1 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if err := p.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM other_partner_events)`).Scan(&rows, &further); err != nil || rows+further != 0 {
		t.Errorf("after pruning everything: %d events, %d further-partner rows (%v)", rows, further, err)
	}
}

type feedError struct {
	what      string
	got, want []string
}

func (e *feedError) Error() string {
	return e.what + ": feed " + strings.Join(e.got, ",") + ", want " + strings.Join(e.want, ",")
}

// A batch is recorded in one insert: each event once however often the
// batch carries it, in the batch's feed order, on the timelines of all its
// partners.
func TestRecordAllStoresABatchOnceInOrder(t *testing.T) {
	ctx := context.Background()
	s := postgres.New(pool(t))
	a, b := ev("/services/registration", 1, t0), ev("/services/registration", 2, t0)
	rel := ev("/services/relationships", 1, t0.Add(time.Second))
	rel.Data = json.RawMessage(`{"reseller_id":"PG-A1","provider_id":"PG-P9"}`)
	stored, err := s.RecordAll(ctx, []app.Recording{
		{Event: a, Partners: []string{"PG-A1"}},
		{Event: rel, Partners: []string{"PG-P9", "PG-A1"}},
		{Event: a, Partners: []string{"PG-A1"}},
		{Event: b, Partners: []string{"PG-A1"}},
	}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var fresh []bool
	for _, x := range stored {
		fresh = append(fresh, x.Fresh)
	}
	if !slices.Equal(fresh, []bool{true, true, false, true}) {
		t.Errorf("fresh = %v, want the repeat of a not fresh", fresh)
	}
	again, err := s.RecordAll(ctx, []app.Recording{{Event: b, Partners: []string{"PG-A1"}}}, time.Time{})
	if err != nil || again[0].Fresh {
		t.Errorf("a redelivered batch: %+v, %v", again, err)
	}
	for partner, want := range map[string][]string{"PG-A1": {a.ID, b.ID, rel.ID}, "PG-P9": {rel.ID}} {
		page, err := s.Page(ctx, partner, nil, nil, 10, true)
		if err != nil || !slices.Equal(ids(page), want) {
			t.Errorf("%s timeline = %v (%v), want %v", partner, ids(page), err, want)
		}
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		feed, err := s.Feed(ctx, app.FeedQuery{Limit: 10})
		if err != nil {
			return err
		}
		if want := []string{a.ID, rel.ID, b.ID}; !slices.Equal(ids(feed), want) {
			return &feedError{"all", ids(feed), want}
		}
		return nil
	})
}
