package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"reflect"
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
	"github.com/partnerhub/onboarding/services/relationships/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/relationships/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	p := testkit.ServicePool(t, "relationships", postgres.Migrations, 6, nil)
	return p
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func partner(id, loc string, program domain.Program) domain.Partner {
	return domain.Partner{ID: id, LocationIDs: []string{loc}, Market: "JP", LegalName: id + " K.K.",
		Address:    domain.Address{Line1: "1-2-3 Marunouchi", City: "Chiyoda-ku", Region: "Tokyo", PostalCode: "100-0005", Country: "JP"},
		Registered: true, RegisteredAt: t0,
		Enrollments: map[domain.Program]domain.Enrollment{program: {Program: program, Status: domain.EnrollmentActive, ChangedAt: t0}}}
}

func TestPartnersUpsertAndGet(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewPartners(pool(t))
	want := partner("PG-P100-0000-008", "PL-P100-0000-008", domain.ProgramIndirectProvider)
	if err := s.Upsert(ctx, "PG-P100-0000-008", func(p *domain.Partner) error { *p = want; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"PG-P100-0000-008", "PL-P100-0000-008"} {
		got, err := s.Get(ctx, id)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Get(%s) = %+v, %v; want %+v", id, got, err, want)
		}
	}
	if _, err := s.Get(ctx, "PL-N0PE-0000-00S"); !errors.Is(err, domain.ErrPartnerNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
	// A failing fn saves nothing, not even the empty row.
	boom := errors.New("boom")
	if err := s.Upsert(ctx, "PG-P200-0000-006", func(*domain.Partner) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error not returned: %v", err)
	}
	if _, err := s.Get(ctx, "PG-P200-0000-006"); !errors.Is(err, domain.ErrPartnerNotFound) {
		t.Fatalf("failed upsert left a partner: %v", err)
	}
	// A location cannot move to another partner.
	err := s.Upsert(ctx, "PG-P300-0000-004", func(p *domain.Partner) error {
		*p = partner("PG-P300-0000-004", "PL-P100-0000-008", domain.ProgramIndirectReseller)
		return nil
	})
	if !errors.Is(err, domain.ErrInvalidPartner) {
		t.Fatalf("stolen location: %v", err)
	}
}

type fixture struct {
	pool *pgxpool.Pool
	rels *postgres.Relationships
	pol  domain.Policy
}

func newFixture(t *testing.T) fixture {
	p := pool(t)
	return fixture{pool: p, rels: postgres.NewRelationships(p, outbox.NewWriter("relationships"), events.ToDrafts), pol: domain.DefaultPolicy()}
}

func (f fixture) proposal(t *testing.T, provider, reseller string) (*domain.Relationship, domain.TokenHash) {
	t.Helper()
	_, h, err := domain.NewInvitationToken(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	terms, err := domain.NewAccessTerms(domain.DefaultRoles(), 30, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := domain.NewProposal(domain.Proposal{
		RelationshipID: rand.Text(), RequestID: rand.Text(), Provider: partner(provider, "PL-"+provider[3:], domain.ProgramIndirectProvider),
		Reseller: partner(reseller, "PL-"+reseller[3:], domain.ProgramIndirectReseller), ResellerLocationID: "PL-" + reseller[3:],
		Terms: terms, TokenHash: h, CreatedBy: "prov-admin", Now: t0,
	}, f.pol)
	if err != nil {
		t.Fatal(err)
	}
	return r, h
}

func (f fixture) outboxCount(t *testing.T, eventType string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE headers->>'ce-type' LIKE '%' || $1 || '%'`, eventType).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRelationshipsStoreAndConstraints(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r, h := f.proposal(t, "PG-P100-0000-008", "PG-R100-0000-006")
	id := r.ID
	if err := f.rels.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n := f.outboxCount(t, "relationships.request.created.v1"); n != 1 {
		t.Fatalf("request.created outbox rows: %d", n)
	}
	got, err := f.rels.Get(ctx, id)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip:\n got %+v (%v)\nwant %+v", got, err, r)
	}
	if gotID, err := f.rels.IDByTokenHash(ctx, h); err != nil || gotID != id {
		t.Fatalf("IDByTokenHash = %q, %v", gotID, err)
	}
	if _, err := f.rels.IDByTokenHash(ctx, domain.TokenHash{1}); !errors.Is(err, domain.ErrInvitationUnknown) {
		t.Fatalf("unknown hash: %v", err)
	}
	if open, err := f.rels.Open(ctx, "PG-P100-0000-008", "PG-R100-0000-006"); err != nil || open.ID != id {
		t.Fatalf("Open: %v", err)
	}

	// The partial unique index: one open relationship per pair.
	dup, _ := f.proposal(t, "PG-P100-0000-008", "PG-R100-0000-006")
	if err := f.rels.Add(ctx, dup); !errors.Is(err, domain.ErrRequestPending) {
		t.Fatalf("second proposal: %v", err)
	}
	if err := f.rels.Update(ctx, id, func(r *domain.Relationship) error { return r.Accept(h, "res-admin", "GR1", t0, f.pol) }); err != nil {
		t.Fatal(err)
	}
	if err := f.rels.Add(ctx, dup); !errors.Is(err, domain.ErrRelationshipExists) {
		t.Fatalf("proposal beside an active one: %v", err)
	}
	other, _ := f.proposal(t, "PG-P100-0000-008", "PG-R200-0000-004")
	if err := f.rels.Add(ctx, other); err != nil {
		t.Fatalf("another reseller: %v", err)
	}
	if l, err := f.rels.ListByProvider(ctx, "PG-P100-0000-008"); err != nil || len(l) != 2 {
		t.Fatalf("ListByProvider: %d, %v", len(l), err)
	}
	if l, err := f.rels.ListByReseller(ctx, "PG-R100-0000-006"); err != nil || len(l) != 1 || l[0].State != domain.StateActive || l[0].Grant == nil {
		t.Fatalf("ListByReseller: %v", err)
	}

	// A failing callback rolls back: no state change, no event.
	boom := errors.New("boom")
	if err := f.rels.Update(ctx, id, func(r *domain.Relationship) error {
		if _, err := r.End(domain.SideProvider, "p", "bye", t0); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update error: %v", err)
	}
	if n := f.outboxCount(t, "relationships.relationship.ended.v1"); n != 0 {
		t.Fatalf("rolled-back end left %d events", n)
	}
	if _, err := f.rels.Get(ctx, "nope"); !errors.Is(err, domain.ErrRelationshipNotFound) {
		t.Fatalf("Get unknown: %v", err)
	}
	if err := f.rels.Update(ctx, "nope", func(*domain.Relationship) error { return nil }); !errors.Is(err, domain.ErrRelationshipNotFound) {
		t.Fatalf("Update unknown: %v", err)
	}
}

// TestListPageFollowsTheListingsOrder: one relationship a page, the pages
// give the listing's order (newest first, equal times by id), the closed
// ones only when asked for, each once.
func TestListPageFollowsTheListingsOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const provider = "PG-P100-0000-008"
	var ended string
	for i, reseller := range []string{"PG-R100-0000-006", "PG-R200-0000-004", "PG-R300-0000-002"} {
		r, h := f.proposal(t, provider, reseller)
		if err := f.rels.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			ended = r.ID
			if err := f.rels.Update(ctx, r.ID, func(r *domain.Relationship) error {
				if err := r.Accept(h, "res-admin", "GR1", t0, f.pol); err != nil {
					return err
				}
				_, err := r.End(domain.SideProvider, "p", "bye", t0)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := f.rels.ListByProvider(ctx, provider)
	if err != nil || len(all) != 3 {
		t.Fatalf("ListByProvider: %d, %v", len(all), err)
	}
	for _, closed := range []bool{false, true} {
		var want, got []string
		for _, r := range all {
			if closed || r.ID != ended {
				want = append(want, r.ID)
			}
		}
		var after *page.Position
		for range 5 {
			page, next, err := f.rels.ListPage(ctx, app.RelationshipPage{Side: domain.SideProvider, PartnerID: provider, IncludeClosed: closed, After: after, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				got = append(got, r.ID)
			}
			if next == nil {
				break
			}
			after = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("include closed %v: pages gave %v, want %v", closed, got, want)
		}
	}
}

// TestDueIDsFollowNextDue: the next_due_at column drives the poller.
func TestDueIDsFollowNextDue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r, _ := f.proposal(t, "PG-P100-0000-008", "PG-R100-0000-006")
	remind := r.Requests[0].RemindAt
	if err := f.rels.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	if ids, err := f.rels.DueIDs(ctx, remind.Add(-time.Nanosecond), 10); err != nil || len(ids) != 0 {
		t.Fatalf("due before the reminder: %v %v", ids, err)
	}
	ids, err := f.rels.DueIDs(ctx, remind, 10)
	if err != nil || len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("due at the reminder: %v %v", ids, err)
	}
	if err := f.rels.Update(ctx, r.ID, func(r *domain.Relationship) error { r.Tick(remind, f.pol); return nil }); err != nil {
		t.Fatal(err)
	}
	if ids, _ := f.rels.DueIDs(ctx, remind, 10); len(ids) != 0 {
		t.Fatalf("still due after the reminder fired: %v", ids)
	}
	if n := f.outboxCount(t, "relationships.request.reminder_due.v1"); n != 1 {
		t.Fatalf("reminder events: %d", n)
	}
}

// TestConcurrentEndsYieldOneEvent: the row lock in Update serialises two
// ends of one relationship; exactly one RelationshipEnded is written.
func TestConcurrentEndsYieldOneEvent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r, h := f.proposal(t, "PG-P100-0000-008", "PG-R100-0000-006")
	if err := f.rels.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := f.rels.Update(ctx, r.ID, func(r *domain.Relationship) error { return r.Accept(h, "res-admin", "GR1", t0, f.pol) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, side := range []domain.Side{domain.SideProvider, domain.SideReseller} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.rels.Update(ctx, r.ID, func(r *domain.Relationship) error {
				_, err := r.End(side, string(side)+"-admin", "bye", t0)
				return err
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := f.outboxCount(t, "relationships.relationship.ended.v1"); n != 1 {
		t.Fatalf("relationship.ended written %d times, want 1", n)
	}
}

// TestUpsertsOfOnePartnerInATransactionLockItOnce: the projection's batch
// transaction handles several events of one partner; the first Upsert
// creates and locks the row, the next ones use it as the transaction wrote
// it (the result is the same as upserting in separate transactions).
func TestUpsertsOfOnePartnerInATransactionLockItOnce(t *testing.T) {
	ctx := context.Background()
	p, statements := testkit.TracedServicePool(t, "relationships", postgres.Migrations, 4)
	s := postgres.NewPartners(p)
	want := partner("PG-TX10-0000-00A", "PL-TX10-0000-00A", domain.ProgramIndirectReseller)
	err := pg.InTx(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
		if err := s.Upsert(ctx, "PG-TX10-0000-00A", func(pt *domain.Partner) error { *pt = want; return nil }); err != nil {
			return err
		}
		for _, status := range []domain.EnrollmentStatus{domain.EnrollmentQualified, domain.EnrollmentActive} {
			if err := s.Upsert(ctx, "PG-TX10-0000-00A", func(pt *domain.Partner) error {
				if !reflect.DeepEqual(pt.LocationIDs, want.LocationIDs) {
					t.Errorf("the second upsert saw %+v", *pt)
				}
				e := pt.Enrollments[domain.ProgramIndirectReseller]
				e.Status = status
				pt.Enrollments[domain.ProgramIndirectReseller] = e
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	locks := 0
	for _, sql := range append(statements.Alone(), slices.Concat(statements.Batches()...)...) {
		if strings.HasPrefix(sql, "SELECT doc, version FROM partners") {
			locks++
		}
	}
	if locks != 1 {
		t.Fatalf("three upserts of one partner in one transaction locked and read its row %d times, want 1", locks)
	}
	got, err := s.Get(ctx, "PG-TX10-0000-00A")
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := p.QueryRow(ctx, `SELECT version FROM partners WHERE id = 'PG-TX10-0000-00A'`).Scan(&version); err != nil || version != 3 {
		t.Fatalf("version %d (%v), want 3", version, err)
	}
	if e := got.Enrollments[domain.ProgramIndirectReseller]; e.Status != domain.EnrollmentActive || !reflect.DeepEqual(got.LocationIDs, want.LocationIDs) {
		t.Fatalf("stored %+v", got)
	}
}
