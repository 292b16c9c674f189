package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC)
)

func rules() domain.Rules {
	return domain.Rules{Policy: domain.DefaultPolicy(), Calendar: domain.JapanCalendar()}
}

func setup(t *testing.T) (*postgres.Repository, *pgxpool.Pool) {
	t.Helper()
	pool := testkit.ServicePool(t, "verification", postgres.Migrations, 8, nil)
	return postgres.New(pool, outbox.NewWriter("verification"), events.ToDrafts), pool
}

func newCase(t *testing.T, id, partner string) *domain.Case {
	t.Helper()
	c, err := domain.Open(id, domain.OpenInput{PartnerID: partner, LocationID: "PL-" + partner[3:] + "-01", Market: "JP",
		Facts:       domain.CompanyFacts{LegalName: "株式会社サンプル商事", Address: domain.Address{Line1: "丸の内5-2-3", City: "千代田区", Prefecture: "東京都"}},
		Contact:     domain.Contact{Email: "taro@sample.co.jp"},
		Website:     "sample.co.jp",
		Enrollments: []domain.Enrollment{{ID: "EN-" + id, Program: domain.ProgramPartnerNetwork}},
	}, domain.NewPreCheck(domain.RegistryMatch{Result: domain.MatchFound}, nil, t0), t0, rules())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAddGetAndUniquePartner(t *testing.T) {
	repo, pool := setup(t)
	c := newCase(t, "vc-a", "PG-AAA1")
	pending := len(c.PullEvents())
	c = newCase(t, "vc-a", "PG-AAA1")
	if err := repo.Add(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != pending || n == 0 {
		t.Fatalf("outbox rows %d, want the %d recorded events", n, pending)
	}
	got, err := repo.Get(ctx, "vc-a")
	if err != nil || got.PartnerID != "PG-AAA1" || len(got.Tasks) != 1 || got.Check(domain.CheckCompany).PreCheck == nil {
		t.Fatalf("get: %+v %v", got, err)
	}
	byPartner, err := repo.GetByPartner(ctx, "PG-AAA1")
	if err != nil || byPartner.ID != "vc-a" {
		t.Fatalf("by partner: %v %v", byPartner, err)
	}
	if _, err := repo.Get(ctx, "vc-x"); !errors.Is(err, domain.ErrCaseNotFound) {
		t.Fatalf("missing case: %v", err)
	}
	if err := repo.Add(ctx, newCase(t, "vc-b", "PG-AAA1")); !errors.Is(err, domain.ErrCaseExists) {
		t.Fatalf("second case for the partner: %v", err)
	}
	// Inside a caller's transaction (an event handler's inbox) the refusal
	// must leave the transaction usable.
	err = pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := repo.Add(ctx, newCase(t, "vc-c", "PG-AAA1")); !errors.Is(err, domain.ErrCaseExists) {
			return fmt.Errorf("want ErrCaseExists, got %v", err)
		}
		_, err := repo.GetByPartner(ctx, "PG-AAA1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	task := got.Tasks[0].ID
	var updated string
	if err := repo.UpdateByTask(ctx, task, func(c *domain.Case) error { updated = c.ID; return nil }); err != nil || updated != "vc-a" {
		t.Fatalf("update by task: %q %v", updated, err)
	}
	if err := repo.UpdateByTask(ctx, "vc-a-t99", func(*domain.Case) error { return nil }); !errors.Is(err, domain.ErrTaskNotFound) {
		t.Fatalf("unknown task: %v", err)
	}
	// Found and locked by one statement: the update does not read the case
	// while another transaction holds its lock.
	testkit.WaitsForLock(t, func(locked func(), release <-chan struct{}) error {
		return repo.Update(ctx, "vc-a", func(*domain.Case) error { locked(); <-release; return nil })
	}, func(entered func()) error {
		return repo.UpdateByTask(ctx, task, func(*domain.Case) error { entered(); return nil })
	})
}

func TestUpdateStoresNothingWhenFnFails(t *testing.T) {
	repo, pool := setup(t)
	if err := repo.Add(ctx, newCase(t, "vc-a", "PG-AAA1")); err != nil {
		t.Fatal(err)
	}
	before := count(t, pool, `SELECT count(*) FROM outbox`)
	boom := errors.New("refused")
	err := repo.Update(ctx, "vc-a", func(c *domain.Case) error {
		if _, err := c.Claim(c.Tasks[0].ID, "v1", "", t0, rules()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	c, _ := repo.Get(ctx, "vc-a")
	if c.Tasks[0].ClaimedBy != "" || count(t, pool, `SELECT count(*) FROM outbox`) != before ||
		count(t, pool, `SELECT count(*) FROM review_tasks WHERE claimed_by <> ''`) != 0 {
		t.Fatal("a failed update stored state or events")
	}
	if err := repo.Update(ctx, "vc-x", func(*domain.Case) error { return nil }); !errors.Is(err, domain.ErrCaseNotFound) {
		t.Fatalf("update of a missing case: %v", err)
	}
}

// TestUpdateLocksTheRow: concurrent updates of one case must serialise; a
// lost update would leave Seq short.
func TestUpdateLocksTheRow(t *testing.T) {
	repo, _ := setup(t)
	if err := repo.Add(ctx, newCase(t, "vc-a", "PG-AAA1")); err != nil {
		t.Fatal(err)
	}
	start, _ := repo.Get(ctx, "vc-a")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- repo.Update(ctx, "vc-a", func(c *domain.Case) error { c.Seq++; return nil })
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	end, _ := repo.Get(ctx, "vc-a")
	if end.Seq != start.Seq+n {
		t.Fatalf("seq %d, want %d: updates were lost", end.Seq, start.Seq+n)
	}
}

func TestTaskQueueAndDueCases(t *testing.T) {
	repo, _ := setup(t)
	for i, p := range []string{"PG-AAA1", "PG-BBB2", "PG-CCC3"} {
		c := newCase(t, fmt.Sprintf("vc-%d", i), p)
		if err := repo.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// vc-0's task is claimed until t0+30m.
	if err := repo.Update(ctx, "vc-0", func(c *domain.Case) error {
		_, err := c.Claim(c.Tasks[0].ID, "v1", "", t0, rules())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	list := func(f app.TaskFilter, now time.Time) []string {
		t.Helper()
		f.Limit = 10
		got, err := repo.ListTasks(ctx, f, now)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range got {
			if s.Task.ID == "" || s.PartnerID == "" || s.Task.Content.PartnerID != s.PartnerID {
				t.Fatalf("incomplete summary %+v", s)
			}
			ids = append(ids, s.CaseID)
		}
		return ids
	}
	tests := []struct {
		name string
		f    app.TaskFilter
		now  time.Time
		want int
	}{
		{"all open", app.TaskFilter{}, t0, 3},
		{"unclaimed while the lease lives", app.TaskFilter{Unclaimed: true}, t0.Add(time.Minute), 2},
		{"unclaimed after the lease expired", app.TaskFilter{Unclaimed: true}, t0.Add(time.Hour), 3},
		{"excluding the verifier's own partner", app.TaskFilter{ExcludePartnerID: "PG-BBB2"}, t0, 2},
		{"by check", app.TaskFilter{Check: domain.CheckEmployment}, t0, 0},
		{"by market", app.TaskFilter{Market: "US"}, t0, 0},
		{"decided", app.TaskFilter{Status: domain.TaskDecided}, t0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.f, tt.now); len(got) != tt.want {
				t.Fatalf("got %v, want %d", got, tt.want)
			}
		})
	}
	// A page starts after the position it is given: one task at a time, the
	// three come in the order of the whole list (equal due times too: then
	// by task id), each once.
	whole := list(app.TaskFilter{}, t0)
	var paged []string
	var after *page.Position
	for range 5 {
		got, err := repo.ListTasks(ctx, app.TaskFilter{Limit: 1, After: after}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		paged = append(paged, got[0].CaseID)
		after = &page.Position{At: got[0].Task.DueAt, ID: got[0].Task.ID}
	}
	if !slices.Equal(paged, whole) {
		t.Fatalf("paged one at a time: %v, the whole list: %v", paged, whole)
	}
	due, err := repo.DueCaseIDs(ctx, t0.Add(31*time.Minute), 10)
	if err != nil || len(due) != 1 || due[0] != "vc-0" {
		t.Fatalf("due at lease expiry: %v %v", due, err)
	}
	if due, _ := repo.DueCaseIDs(ctx, t0.Add(time.Minute), 10); len(due) != 0 {
		t.Fatalf("nothing is due before the lease expires: %v", due)
	}
}

// UpdateByPartner finds and locks the case of a partner in one statement:
// concurrent updates by partner serialise like updates by id.
func TestUpdateByPartnerLocksThePartnersCase(t *testing.T) {
	repo, _ := setup(t)
	if err := repo.Add(ctx, newCase(t, "vc-a", "PG-AAA1")); err != nil {
		t.Fatal(err)
	}
	if err := repo.Add(ctx, newCase(t, "vc-b", "PG-BBB2")); err != nil {
		t.Fatal(err)
	}
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- repo.UpdateByPartner(ctx, "PG-BBB2", func(c *domain.Case) error {
				if c.ID != "vc-b" {
					return errors.New("another partner's case: " + c.ID)
				}
				c.Seq++
				return nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, _ := repo.Get(ctx, "vc-a")
	b, _ := repo.Get(ctx, "vc-b")
	start := newCase(t, "vc-b", "PG-BBB2")
	if b.Seq != start.Seq+n || a.Seq != start.Seq {
		t.Fatalf("seq %d and %d: want %d updates of the partner's case only", a.Seq, b.Seq, n)
	}
	if err := repo.UpdateByPartner(ctx, "PG-XXX9", func(*domain.Case) error { return nil }); !errors.Is(err, domain.ErrCaseNotFound) {
		t.Fatalf("update of a partner without a case: %v", err)
	}
}

// The case is stored as the text the service wrote (JSON, not JSONB, which
// Postgres would parse on each write and print on each read) and, on a
// server built with LZ4, compressed with it rather than pglz.
func TestCaseDocumentIsStoredAsWritten(t *testing.T) {
	repo, pool := setup(t)
	c := newCase(t, "vc-doc", "PG-DOC1")
	// Enough history to pass the 2 KB at which Postgres compresses a row.
	for i := range 12 {
		c.Decisions = append(c.Decisions, &domain.Decision{ID: fmt.Sprintf("d-%02d", i), InternalNote: strings.Repeat("審査メモ ", 20)})
	}
	if err := repo.Add(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := repo.Update(ctx, "vc-doc", func(*domain.Case) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var typ, text string
	var method *string
	var lz4 bool
	if err := pool.QueryRow(ctx, `SELECT pg_typeof(doc)::text, doc::text, pg_column_compression(doc),
		EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))
		FROM cases WHERE id = 'vc-doc'`).Scan(&typ, &text, &method, &lz4); err != nil {
		t.Fatal(err)
	}
	if typ != "json" {
		t.Fatalf("doc is %s, want json", typ)
	}
	if text != string(want) {
		t.Fatalf("stored %.200s…, want the marshalled case %.200s…", text, want)
	}
	switch {
	case method == nil:
		t.Fatalf("a %d-byte case was not compressed", len(text))
	case lz4 && *method != "lz4":
		t.Fatalf("compressed with %s, want lz4", *method)
	}
}

// TestUpdateWritesOnlyChangedTasks: a change of the case that leaves its
// tasks as they are does not rewrite their rows (a new row version each,
// with its WAL); a change of a task does.
func TestUpdateWritesOnlyChangedTasks(t *testing.T) {
	repo, pool := setup(t)
	if err := repo.Add(ctx, newCase(t, "vc-a", "PG-AAA1")); err != nil {
		t.Fatal(err)
	}
	version := func() string {
		t.Helper()
		var xmin string
		if err := pool.QueryRow(ctx, `SELECT xmin::text FROM review_tasks WHERE case_id = 'vc-a'`).Scan(&xmin); err != nil {
			t.Fatal(err)
		}
		return xmin
	}
	added := version()
	if err := repo.Update(ctx, "vc-a", func(c *domain.Case) error { c.Seq++; return nil }); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != added {
		t.Fatalf("an update that left the task alone rewrote its row (xmin %s -> %s)", added, v)
	}
	if err := repo.Update(ctx, "vc-a", func(c *domain.Case) error {
		_, err := c.Claim(c.Tasks[0].ID, "v1", "", t0, rules())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if v := version(); v == added {
		t.Fatal("a claim did not write the task's row")
	}
	if n := count(t, pool, `SELECT count(*) FROM review_tasks WHERE claimed_by = 'v1'`); n != 1 {
		t.Fatalf("%d claimed task rows, want 1", n)
	}
}

// TestReviewTaskDocumentsCompressWithLZ4: a review task's row (its
// document about 1.7 KB) passes the 2 KB at which a row is compressed.
func TestReviewTaskDocumentsCompressWithLZ4(t *testing.T) {
	_, pool := setup(t)
	testkit.CompressesWithLZ4(t, pool, "review_tasks", "task")
}
