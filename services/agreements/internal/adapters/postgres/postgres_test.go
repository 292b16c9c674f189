package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/pkg/timer"
	"github.com/partnerhub/onboarding/services/agreements/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/agreements/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/agreements/internal/app"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

var (
	ctx = context.Background()
	t0  = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
)

type env struct {
	pool  *pgxpool.Pool
	admin *pgxpool.Pool // superuser on the same database, for setup and inspection
	store *postgres.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cfg := pg.Config{AdminURL: testkit.AdminURL(), Database: testkit.Database(t), MaxConns: 6}.WithDefaults("agreements")
	log := testkit.Log(t)
	if err := pg.Provision(ctx, cfg, postgres.Migrations, log); err != nil {
		t.Fatal(err)
	}
	pool, err := pg.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	adminCfg := cfg
	adminCfg.URL = strings.Replace(testkit.AdminURL(), "/postgres?", "/"+cfg.Database+"?", 1)
	admin, err := pg.Connect(ctx, adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	return &env{pool: pool, admin: admin, store: postgres.New(pool, outbox.NewWriter("agreements"), events.Draft, timer.New(pool, slog.New(slog.DiscardHandler)))}
}

func (e *env) outboxTypes(t *testing.T) []string {
	t.Helper()
	rows, err := e.admin.Query(ctx, `SELECT headers->>'ce-type' FROM agreements.outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{agreementsv1.TypeVersionPublished, agreementsv1.TypeVersionRetired,
			agreementsv1.TypeAcceptanceRecorded, agreementsv1.TypeReacceptanceRequired, agreementsv1.TypeReacceptanceOverdue, agreementsv1.TypeReacceptanceCancelled,
			agreementsv1.TypeAcceptanceSuspended, agreementsv1.TypeAcceptanceReinstated} {
			if strings.Contains(s, typ) {
				out = append(out, typ)
			}
		}
	}
	return out
}

func seedVersion(t *testing.T, e *env, program domain.Program) *domain.Version {
	t.Helper()
	for _, d := range domain.SeedVersions() {
		if d.Program == string(program) {
			v, err := domain.PublishVersion(d, "seed", t0)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.Versions().Add(ctx, v); err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no seed for %s", program)
	return nil
}

// registered stores a JP partner enrolled as reseller with the given verification outcome.
func registered(t *testing.T, e *env, id string, outcome domain.VerificationOutcome) *domain.Partner {
	t.Helper()
	var out *domain.Partner
	err := e.store.Partners().Upsert(ctx, id, func(p *domain.Partner) error {
		if _, err := p.Register(domain.Registration{
			PartnerID: id, LocationID: "PL-" + id, Market: "JP", Programs: []string{"indirect_reseller"},
			Enrollments: map[string]string{"indirect_reseller": "EN-" + id}, RegisteredAt: t0,
		}); err != nil {
			return err
		}
		if outcome != domain.VerificationPending {
			if _, err := p.ApplyVerification(domain.VerificationDecision{DecisionID: "D-" + id, Outcome: outcome, DecidedAt: t0.Add(time.Hour)}, nil); err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func acceptance(t *testing.T, id string, p *domain.Partner, v *domain.Version, supersedes *domain.Acceptance) *domain.Acceptance {
	t.Helper()
	a, err := domain.RecordAcceptance(domain.AcceptanceInput{
		ID: id, Partner: p, Version: v, Supersedes: supersedes, Channel: domain.ChannelAPI,
		Acceptor: domain.Acceptor{UserID: "U1", Name: "佐藤 花子", Email: "hanako@example.co.jp", Role: "partner_admin"},
		ClientIP: "192.0.2.7", UserAgent: "Mozilla/5.0", RequestID: "req-" + id, ClientAcceptedAt: ptr(t0.Add(2 * time.Hour)),
	}, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ptr[T any](v T) *T { return &v }

func isPermissionDenied(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501" && strings.Contains(pe.Message, "permission denied")
}

// TestAcceptancesAreAppendOnly proves the runtime role can insert and read
// acceptance records but gets "permission denied" on UPDATE, DELETE and
// TRUNCATE, while its rights on other tables are intact.
func TestAcceptancesAreAppendOnly(t *testing.T) {
	e := newEnv(t)
	v := seedVersion(t, e, domain.ProgramIndirectReseller)
	p := registered(t, e, "PG-APPEND1", domain.VerificationApproved)
	if err := e.store.Acceptances().Append(ctx, acceptance(t, "A1", p, v, nil), nil); err != nil {
		t.Fatalf("runtime role cannot append: %v", err)
	}
	var role string
	if err := e.pool.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil || role != "agreements_app" {
		t.Fatalf("runtime pool is %q (%v)", role, err)
	}
	for _, stmt := range []string{
		"UPDATE acceptances SET client_ip = '203.0.113.1' WHERE id = 'A1'",
		"UPDATE acceptances SET accepted_at = accepted_at - interval '1 day'",
		"DELETE FROM acceptances WHERE id = 'A1'",
		"DELETE FROM acceptances",
		"TRUNCATE acceptances",
	} {
		if _, err := e.pool.Exec(ctx, stmt); !isPermissionDenied(err) {
			t.Errorf("%q: want permission denied, got %v", stmt, err)
		}
	}
	// The same role still updates the tables that are meant to change.
	if _, err := e.pool.Exec(ctx, "UPDATE partners SET updated_at = now() WHERE partner_id = 'PG-APPEND1'"); err != nil {
		t.Fatalf("runtime role lost UPDATE on partners: %v", err)
	}
	// Even the owner cannot rewrite evidence: the trigger refuses.
	if _, err := e.admin.Exec(ctx, "UPDATE agreements.acceptances SET client_ip = 'x'"); err == nil ||
		!strings.Contains(err.Error(), "append-only") {
		t.Fatalf("superuser update: want the append-only trigger, got %v", err)
	}
	got, err := e.store.Acceptances().Current(ctx, domain.AcceptanceKey{LocationID: "PL-PG-APPEND1", Program: "indirect_reseller", Market: "JP"})
	if err != nil || got.State().ClientIP != "192.0.2.7" {
		t.Fatalf("record changed or lost: %+v, %v", got, err)
	}
}

func TestVersionsRoundTripAndImmutability(t *testing.T) {
	e := newEnv(t)
	d := domain.VersionDraft{
		ID: "indirect_reseller-2025-07", Program: "indirect_reseller", Name: "Reseller Agreement 2025-07",
		Languages: []string{"ja", "en"}, Markets: []string{"JP", "US"}, EffectiveFrom: t0.Add(24 * time.Hour),
		TextURL: "https://agreements.partnerhub.example/texts/r-2025-07.md", TextSHA256: strings.Repeat("ab", 32),
		Policy: "requires_reacceptance", ReacceptanceWindow: 30 * 24 * time.Hour,
	}
	v, err := domain.PublishVersion(d, "op-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	want := v.State()
	repo := e.store.Versions()
	if err := repo.Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	v2, _ := domain.PublishVersion(d, "op-2", t0.Add(time.Hour))
	if err := repo.Add(ctx, v2); !errors.Is(err, domain.ErrVersionExists) {
		t.Fatalf("second add: %v, want ErrVersionExists", err)
	}
	got, err := repo.Get(ctx, d.ID)
	if err != nil || !reflect.DeepEqual(got.State(), want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v (%v)", got.State(), want, err)
	}
	if _, err := repo.Get(ctx, "nope-1"); !errors.Is(err, domain.ErrVersionNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	pending, err := repo.ListFanOutPending(ctx)
	if err != nil || len(pending) != 1 {
		t.Fatalf("fan-out pending = %d (%v)", len(pending), err)
	}
	var timers int
	if err := e.admin.QueryRow(ctx, `SELECT count(*) FROM agreements.timers WHERE kind = $1 AND key = $2`,
		postgres.TimerFanOut, d.ID).Scan(&timers); err != nil || timers != 1 {
		t.Fatalf("fan-out timer rows = %d (%v)", timers, err)
	}
	if err := repo.Update(ctx, d.ID, func(v *domain.Version) error { v.Retire("op-3", t0.Add(2*time.Hour)); return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ = repo.Get(ctx, d.ID)
	if s := got.State(); s.RetiredAt == nil || !s.RetiredAt.Equal(t0.Add(2*time.Hour)) || s.RetiredBy != "op-3" || s.FanOutPending ||
		s.TextSHA256 != want.TextSHA256 {
		t.Fatalf("after retire: %+v", s)
	}
	var due time.Time
	if err := e.admin.QueryRow(ctx, `SELECT due_at FROM agreements.timers WHERE kind = $1 AND key = $2`,
		postgres.TimerRetirement, d.ID).Scan(&due); err != nil || !due.Equal(t0.Add(2*time.Hour).Add(postgres.FanOutGrace)) {
		t.Fatalf("retirement timer due %v (%v)", due, err)
	}
	all, err := repo.ListByProgram(ctx, "indirect_reseller")
	if err != nil || len(all) != 1 {
		t.Fatalf("list = %d (%v)", len(all), err)
	}
	if types := e.outboxTypes(t); !reflect.DeepEqual(types, []string{agreementsv1.TypeVersionPublished, agreementsv1.TypeVersionRetired}) {
		t.Fatalf("outbox = %v", types)
	}
}

func TestPartnersUpsertAndLookup(t *testing.T) {
	e := newEnv(t)
	p := registered(t, e, "PG-P1", domain.VerificationApproved)
	repo := e.store.Partners()
	got, err := repo.Get(ctx, "PG-P1")
	if err != nil || !reflect.DeepEqual(got.State(), p.State()) {
		t.Fatalf("round trip:\n got %+v\nwant %+v (%v)", got.State(), p.State(), err)
	}
	byLoc, err := repo.GetByLocation(ctx, "PL-PG-P1")
	if err != nil || byLoc.ID() != "PG-P1" {
		t.Fatalf("by location: %v", err)
	}
	if _, err := repo.Get(ctx, "PG-NONE"); !errors.Is(err, domain.ErrPartnerNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	// Another partner claiming the same location id is refused.
	err = repo.Upsert(ctx, "PG-P2", func(p *domain.Partner) error {
		_, err := p.Register(domain.Registration{PartnerID: "PG-P2", LocationID: "PL-PG-P1", Market: "JP", RegisteredAt: t0})
		return err
	})
	if !errors.Is(err, domain.ErrLocationTaken) {
		t.Fatalf("location reuse: %v", err)
	}
	// A failing callback leaves nothing behind.
	if err := repo.Upsert(ctx, "PG-P3", func(*domain.Partner) error { return errors.New("boom") }); err == nil {
		t.Fatal("want the callback's error")
	}
	if _, err := repo.Get(ctx, "PG-P3"); !errors.Is(err, domain.ErrPartnerNotFound) {
		t.Fatalf("failed upsert left a row: %v", err)
	}
}

// TestConcurrentAppendsYieldOneCurrentRecord races two goroutines appending
// a first record for the same key, then two re-acceptances superseding the
// same record: exactly one wins each time.
func TestConcurrentAppendsYieldOneCurrentRecord(t *testing.T) {
	e := newEnv(t)
	v := seedVersion(t, e, domain.ProgramIndirectReseller)
	p := registered(t, e, "PG-RACE1", domain.VerificationApproved)
	repo := e.store.Acceptances()
	key := domain.AcceptanceKey{LocationID: "PL-PG-RACE1", Program: "indirect_reseller", Market: "JP"}

	race := func(a, b *domain.Acceptance) (winner string) {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, x := range []*domain.Acceptance{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = repo.Append(ctx, x, nil)
			}()
		}
		close(start)
		wg.Wait()
		switch {
		case errs[0] == nil && errors.Is(errs[1], domain.ErrAcceptanceRace):
			return a.ID()
		case errs[1] == nil && errors.Is(errs[0], domain.ErrAcceptanceRace):
			return b.ID()
		}
		t.Fatalf("want one winner and one race, got %v / %v", errs[0], errs[1])
		return ""
	}
	first := race(acceptance(t, "A1", p, v, nil), acceptance(t, "A2", p, v, nil))
	cur, err := repo.Current(ctx, key)
	if err != nil || cur.ID() != first {
		t.Fatalf("current = %v (%v), want %s", cur, err, first)
	}
	second := race(acceptance(t, "A3", p, v, cur), acceptance(t, "A4", p, v, cur))
	cur, err = repo.Current(ctx, key)
	if err != nil || cur.ID() != second || cur.State().SupersedesID != first {
		t.Fatalf("current = %+v (%v), want %s superseding %s", cur, err, second, first)
	}
	// Superseding a record that is no longer current is a lost race too.
	old, _ := repo.ListByPartner(ctx, "PG-RACE1")
	if err := repo.Append(ctx, acceptance(t, "A5", p, v, old[0]), nil); !errors.Is(err, domain.ErrAcceptanceRace) {
		t.Fatalf("stale supersede: %v", err)
	}
	all, err := repo.ListByPartner(ctx, "PG-RACE1")
	if err != nil || len(all) != 2 {
		t.Fatalf("records = %d (%v), want 2", len(all), err)
	}
	heads, err := repo.ListCurrentByProgram(ctx, "indirect_reseller")
	if err != nil || len(heads) != 1 || heads[0].ID() != second {
		t.Fatalf("heads = %v (%v)", heads, err)
	}
	want := acceptance(t, second, p, v, nil).State()
	want.SupersedesID = first
	if got := cur.State(); !reflect.DeepEqual(got, want) {
		t.Fatalf("evidence round trip:\n got %+v\nwant %+v", got, want)
	}
	if n := len(e.outboxTypes(t)); n != 1+2 { // version published + two acceptances
		t.Fatalf("outbox rows = %d, want 3 (losers write nothing)", n)
	}
}

// TestAppendRechecksApprovalUnderTheLock: an acceptance decided while the
// partner was approved is refused if a revocation committed in between.
func TestAppendRechecksApprovalUnderTheLock(t *testing.T) {
	e := newEnv(t)
	v := seedVersion(t, e, domain.ProgramIndirectReseller)
	p := registered(t, e, "PG-REV1", domain.VerificationApproved)
	a := acceptance(t, "A1", p, v, nil)
	err := e.store.Partners().Upsert(ctx, "PG-REV1", func(p *domain.Partner) error {
		_, err := p.ApplyVerification(domain.VerificationDecision{DecisionID: "D-REVOKE", Outcome: domain.VerificationRevoked, DecidedAt: t0.Add(90 * time.Minute)}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Acceptances().Append(ctx, a, nil); !errors.Is(err, domain.ErrVerificationRevoked) {
		t.Fatalf("append after revocation: %v", err)
	}
	if err := e.store.Acceptances().Append(ctx, acceptance(t, "A9", registered(t, e, "PG-NEW", domain.VerificationApproved), v, nil), nil); err != nil {
		t.Fatal(err)
	}
}

func TestRequirementsAddOnceAndTimer(t *testing.T) {
	e := newEnv(t)
	v := seedVersion(t, e, domain.ProgramIndirectReseller)
	newer, err := domain.PublishVersion(domain.VersionDraft{
		ID: "indirect_reseller-2025-09", Program: "indirect_reseller", Name: "R", Languages: []string{"en"},
		EffectiveFrom: t0, TextURL: "https://x.example/r.md", TextSHA256: strings.Repeat("cd", 32),
		Policy: "requires_reacceptance", ReacceptanceWindow: time.Hour,
	}, "op", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Versions().Add(ctx, newer); err != nil {
		t.Fatal(err)
	}
	p := registered(t, e, "PG-REQ1", domain.VerificationApproved)
	a := acceptance(t, "A1", p, v, nil)
	if err := e.store.Acceptances().Append(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	repo := e.store.Requirements()
	added, err := repo.Add(ctx, domain.NewRequirement("R1", a, newer, t0))
	if err != nil || !added {
		t.Fatalf("add: %v %v", added, err)
	}
	added, err = repo.Add(ctx, domain.NewRequirement("R2", a, newer, t0))
	if err != nil || added {
		t.Fatalf("second add for the same key and version: %v %v", added, err)
	}
	var due time.Time
	if err := e.admin.QueryRow(ctx, `SELECT due_at FROM agreements.timers WHERE kind = $1 AND key = 'R1'`,
		postgres.TimerReacceptanceDue).Scan(&due); err != nil || !due.Equal(t0.Add(time.Hour)) {
		t.Fatalf("timer due %v (%v), want %v", due, err, t0.Add(time.Hour))
	}
	key := a.Key()
	if open, err := repo.ListOpen(ctx, key); err != nil || len(open) != 1 {
		t.Fatalf("open = %d (%v)", len(open), err)
	}
	if open, err := repo.ListOpenByPartner(ctx, "PG-REQ1"); err != nil || len(open) != 1 || open[0].ID() != "R1" {
		t.Fatalf("open of the partner = %d (%v)", len(open), err)
	}
	if open, err := repo.ListOpenOfRetired(ctx); err != nil || len(open) != 0 {
		t.Fatalf("open of retired versions before the retirement = %d (%v)", len(open), err)
	}
	// ReadKey reads the same in one round trip, in a transaction too.
	for _, inTx := range []bool{false, true} {
		var ks app.KeyState
		read := func(ctx context.Context) (err error) { ks, err = e.store.Keys().ReadKey(ctx, key); return err }
		if inTx {
			err = pg.InTx(ctx, e.pool, func(ctx context.Context, _ pgx.Tx) error { return read(ctx) })
		} else {
			err = read(ctx)
		}
		if err != nil || ks.Current == nil || ks.Current.ID() != "A1" || len(ks.Open) != 1 || ks.Open[0].ID() != "R1" ||
			len(ks.Versions) != 2 || ks.Versions[0].ID() != v.ID() || ks.Versions[1].ID() != newer.ID() {
			t.Fatalf("read key (in a transaction: %v) = %+v (%v), want A1, R1 and versions %s, %s", inTx, ks, err, v.ID(), newer.ID())
		}
	}
	other := domain.AcceptanceKey{LocationID: "PL-NONE", Program: domain.ProgramPartnerNetwork, Market: "JP"}
	if ks, err := e.store.Keys().ReadKey(ctx, other); err != nil || ks.Current != nil || len(ks.Open) != 0 || len(ks.Versions) != 0 {
		t.Fatalf("read an unknown key = %+v (%v), want nothing", ks, err)
	}
	if due, err := repo.ListOpenDue(ctx, t0.Add(59*time.Minute)); err != nil || len(due) != 0 {
		t.Fatalf("due early = %d (%v)", len(due), err)
	}
	dueNow, err := repo.ListOpenDue(ctx, t0.Add(time.Hour))
	if err != nil || len(dueNow) != 1 {
		t.Fatalf("due = %d (%v)", len(dueNow), err)
	}
	for range 2 {
		if err := repo.Update(ctx, "R1", func(r *domain.Requirement) error { r.MarkOverdue(t0.Add(time.Hour)); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if due, _ := repo.ListOpenDue(ctx, t0.Add(2*time.Hour)); len(due) != 0 {
		t.Fatalf("overdue requirement still listed as due: %d", len(due))
	}
	overdue := 0
	for _, typ := range e.outboxTypes(t) {
		if typ == agreementsv1.TypeReacceptanceOverdue {
			overdue++
		}
	}
	if overdue != 1 {
		t.Fatalf("overdue events = %d, want exactly 1", overdue)
	}
	if byV, err := repo.ListOpenByVersion(ctx, newer.ID()); err != nil || len(byV) != 1 {
		t.Fatalf("by version = %d (%v)", len(byV), err)
	}
	if err := e.store.Versions().Update(ctx, newer.ID(), func(v *domain.Version) error { v.Retire("op", t0.Add(3*time.Hour)); return nil }); err != nil {
		t.Fatal(err)
	}
	if open, err := repo.ListOpenOfRetired(ctx); err != nil || len(open) != 1 || open[0].ID() != "R1" {
		t.Fatalf("open of retired versions = %d (%v)", len(open), err)
	}
	if err := repo.Update(ctx, "R1", func(r *domain.Requirement) error {
		r.Cancel(domain.CancelVersionRetired, t0.Add(3*time.Hour))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if open, err := repo.ListOpenOfRetired(ctx); err != nil || len(open) != 0 {
		t.Fatalf("open of retired versions after the cancellation = %d (%v)", len(open), err)
	}
	if n := len(e.outboxTypes(t)); e.outboxTypes(t)[n-1] != agreementsv1.TypeReacceptanceCancelled {
		t.Fatalf("outbox = %v, want the cancellation last", e.outboxTypes(t))
	}
}

// TestPendingAddDecidesInTheTransactionThatFoundTheDecision: Add keeps an
// acceptance while the partner's verification is pending; once it is
// decided, Add stores nothing and runs decided under the same lock and in
// the same transaction, whose writes commit with it (the lock is not spent
// on a rollback) or roll back on its error.
func TestPendingAddDecidesInTheTransactionThatFoundTheDecision(t *testing.T) {
	e := newEnv(t)
	v := seedVersion(t, e, domain.ProgramIndirectReseller)
	pending := func(id, partnerID string) *domain.PendingAcceptance {
		return domain.NewPendingAcceptance(domain.PendingAcceptanceState{ID: id, PartnerID: partnerID, Market: "JP", VersionID: v.ID(),
			Acceptor: domain.Acceptor{UserID: "U1", Role: "partner_admin"}, RequestedAt: t0})
	}
	stillPending := func(p *domain.Partner) bool {
		return p == nil || !p.Registered() || p.Verification().Outcome == domain.VerificationPending
	}
	count := func(sql string) int {
		var n int
		if err := e.admin.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	registered(t, e, "PG-P1", domain.VerificationPending)
	err := e.store.Pending().Add(ctx, pending("PA1", "PG-P1"), stillPending, func(context.Context, *domain.Partner) error {
		t.Error("decided ran for a partner still pending")
		return nil
	})
	if err != nil || count(`SELECT count(*) FROM agreements.pending_acceptances`) != 1 {
		t.Fatalf("kept: %v", err)
	}

	p := registered(t, e, "PG-P2", domain.VerificationApproved)
	var txid int64
	err = e.store.Pending().Add(ctx, pending("PA2", "PG-P2"), stillPending, func(ctx context.Context, got *domain.Partner) error {
		if got.Verification().Outcome != domain.VerificationApproved {
			t.Errorf("decided got the partner %+v", got.Verification())
		}
		tx, _ := pg.TxFrom(ctx)
		if err := tx.QueryRow(ctx, `SELECT txid_current()`).Scan(&txid); err != nil {
			return err
		}
		return e.store.Acceptances().Append(ctx, acceptance(t, "A2", p, v, nil), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM agreements.pending_acceptances WHERE id = 'PA2'`); n != 0 {
		t.Errorf("a pending acceptance was stored for a decided partner")
	}
	var xmin int64
	if err := e.admin.QueryRow(ctx, `SELECT xmin::text::bigint FROM agreements.acceptances WHERE id = 'A2'`).Scan(&xmin); err != nil {
		t.Fatalf("the acceptance recorded by decided: %v", err)
	}
	if xmin != txid%(1<<32) {
		t.Errorf("the acceptance was written by transaction %d, not by Add's %d", xmin, txid)
	}

	p3 := registered(t, e, "PG-P3", domain.VerificationApproved)
	refused := errors.New("refused")
	err = e.store.Pending().Add(ctx, pending("PA3", "PG-P3"), stillPending, func(ctx context.Context, _ *domain.Partner) error {
		if err := e.store.Acceptances().Append(ctx, acceptance(t, "A3", p3, v, nil), nil); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("decided's error: %v", err)
	}
	if n := count(`SELECT count(*) FROM agreements.acceptances WHERE id = 'A3'`) + count(`SELECT count(*) FROM agreements.pending_acceptances WHERE id = 'PA3'`); n != 0 {
		t.Errorf("decided failed, yet %d rows were kept", n)
	}
}

// TestRefusedAppendLeavesNothingInTheCallersTransaction: Append sends its
// checks and its insert in one round trip. In an event handler's
// transaction, which goes on (and commits) after a refusal, a refused
// acceptance must leave neither its record nor its event.
func TestRefusedAppendLeavesNothingInTheCallersTransaction(t *testing.T) {
	e := newEnv(t)
	v := seedVersion(t, e, domain.ProgramIndirectReseller)
	revoked := registered(t, e, "PG-REF1", domain.VerificationApproved)
	revokedA := acceptance(t, "A-REVOKED", revoked, v, nil)
	if err := e.store.Partners().Upsert(ctx, "PG-REF1", func(p *domain.Partner) error {
		_, err := p.ApplyVerification(domain.VerificationDecision{DecisionID: "D-REVOKE", Outcome: domain.VerificationRevoked, DecidedAt: t0.Add(90 * time.Minute)}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A partner this service never stored.
	unknown := domain.NewPartner("PG-REF2")
	if _, err := unknown.Register(domain.Registration{PartnerID: "PG-REF2", LocationID: "PL-PG-REF2", Market: "JP",
		Programs: []string{"indirect_reseller"}, Enrollments: map[string]string{"indirect_reseller": "EN-PG-REF2"}, RegisteredAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := unknown.ApplyVerification(domain.VerificationDecision{DecisionID: "D-REF2", Outcome: domain.VerificationApproved, DecidedAt: t0.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	// A record that names, as the one it supersedes, a record of another key.
	other := registered(t, e, "PG-REF3", domain.VerificationApproved)
	otherA := acceptance(t, "A-OTHER", other, v, nil)
	if err := e.store.Acceptances().Append(ctx, otherA, nil); err != nil {
		t.Fatal(err)
	}
	approved := registered(t, e, "PG-REF4", domain.VerificationApproved)

	err := pg.InTx(ctx, e.pool, func(ctx context.Context, _ pgx.Tx) error {
		if err := e.store.Acceptances().Append(ctx, revokedA, nil); !errors.Is(err, domain.ErrVerificationRevoked) {
			t.Errorf("revoked partner: %v, want ErrVerificationRevoked", err)
		}
		if err := e.store.Acceptances().Append(ctx, acceptance(t, "A-UNKNOWN", unknown, v, nil), nil); !errors.Is(err, domain.ErrPartnerNotFound) {
			t.Errorf("unknown partner: %v, want ErrPartnerNotFound", err)
		}
		if err := e.store.Acceptances().Append(ctx, acceptance(t, "A-CROSS", approved, v, otherA), nil); err == nil {
			t.Error("superseding another key's record: accepted")
		}
		return nil // the caller goes on and commits
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"PG-REF1", "PG-REF2", "PG-REF4"} {
		if got, err := e.store.Acceptances().ListByPartner(ctx, id); err != nil || len(got) != 0 {
			t.Errorf("%s: %d records (%v) after refusals, want none", id, len(got), err)
		}
	}
	if n := len(e.outboxTypes(t)); n != 1+1 { // version published + A-OTHER
		t.Errorf("outbox rows = %d, want 2 (refusals write nothing)", n)
	}
}

// TestATransactionReusesThePartnerRowItHoldsLocked: once a transaction
// holds a partner's row FOR UPDATE (Upsert, Lock), its later steps on the
// same partner neither read nor lock the row again: Get answers the row as
// the transaction last wrote it, Lock and a second Upsert send nothing to
// lock it, Append does not take it FOR SHARE. Another transaction still
// reads and locks it.
func TestATransactionReusesThePartnerRowItHoldsLocked(t *testing.T) {
	e := newEnv(t)
	v := seedVersion(t, e, domain.ProgramIndirectReseller)
	registered(t, e, "PG-TX1", domain.VerificationPending)
	registered(t, e, "PG-TX2", domain.VerificationApproved)
	statements := &testkit.Statements{}
	cfg := e.pool.Config()
	cfg.ConnConfig.Tracer = statements
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := postgres.New(pool, outbox.NewWriter("agreements"), events.Draft, timer.New(pool, slog.New(slog.DiscardHandler)))
	partnerReads := func() (n int) { // statements that read, lock or create a partner's row
		for _, sql := range append(statements.Alone(), slices.Concat(statements.Batches()...)...) {
			if strings.HasPrefix(sql, "SELECT doc FROM partners") || strings.HasPrefix(sql, "SELECT 1 FROM partners") ||
				strings.HasPrefix(sql, "INSERT INTO partners") {
				n++
			}
		}
		return n
	}
	approve := func(p *domain.Partner) error {
		_, err := p.ApplyVerification(domain.VerificationDecision{DecisionID: "D-TX1", Outcome: domain.VerificationApproved, DecidedAt: t0.Add(time.Hour)}, nil)
		return err
	}

	err = pg.InTx(ctx, pool, func(ctx context.Context, _ pgx.Tx) error {
		if err := store.Partners().Lock(ctx, "PG-TX1"); err != nil {
			return err
		}
		locked := partnerReads()
		if err := store.Partners().Upsert(ctx, "PG-TX1", approve); err != nil {
			return err
		}
		if err := store.Partners().Lock(ctx, "PG-TX1"); err != nil {
			return err
		}
		got, err := store.Partners().Get(ctx, "PG-TX1")
		if err != nil {
			return err
		}
		if got.Verification().Outcome != domain.VerificationApproved {
			t.Errorf("Get in the transaction: verification %q, want what it wrote (approved)", got.Verification().Outcome)
		}
		if err := store.Acceptances().Append(ctx, acceptance(t, "A-TX1", got, v, nil), nil); err != nil {
			return err
		}
		if n := partnerReads(); n != locked {
			t.Errorf("after Lock: %d more statements read or locked the partner's row, want 0: %q %q", n-locked, statements.Alone(), statements.Batches())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Another transaction, and a partner not locked in this one, read it.
	statements.Reset()
	err = pg.InTx(ctx, pool, func(ctx context.Context, _ pgx.Tx) error {
		if _, err := store.Partners().Get(ctx, "PG-TX1"); err != nil {
			return err
		}
		if err := store.Partners().Upsert(ctx, "PG-TX1", func(*domain.Partner) error { return nil }); err != nil {
			return err
		}
		if _, err := store.Partners().Get(ctx, "PG-TX2"); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := partnerReads(); n != 4 { // Get; Upsert's insert and lock; Get of the other partner
		t.Fatalf("a new transaction: %d statements on partners before its own lock, want 4: %q %q", n, statements.Alone(), statements.Batches())
	}
	var outcome string
	if err := e.admin.QueryRow(ctx, `SELECT doc->'verification'->>'outcome' FROM agreements.partners WHERE partner_id = 'PG-TX1'`).Scan(&outcome); err != nil || outcome != "approved" {
		t.Fatalf("stored outcome %q (%v), want approved", outcome, err)
	}
}

// TestAcceptancesAndPublicationsOfAProgramSerialize: an event handler
// records an acceptance and then, before it commits, looks for newer
// requires_reacceptance versions; a publication commits its version and
// then fans out to the current acceptances. Each could miss the other (the
// partner would escape the re-acceptance) unless they serialize on the
// program: a publication or a retirement waits for a transaction that
// appended an acceptance of its program, and a transaction that appends
// one while a publication is open waits for it and then sees its version.
func TestAcceptancesAndPublicationsOfAProgramSerialize(t *testing.T) {
	e := newEnv(t)
	v1 := seedVersion(t, e, domain.ProgramIndirectReseller)
	newer := func(id string, hours int) *domain.Version {
		v, err := domain.PublishVersion(domain.VersionDraft{
			ID: id, Program: string(domain.ProgramIndirectReseller), Name: id, Languages: []string{"ja"},
			EffectiveFrom: t0.Add(time.Duration(hours) * time.Hour), TextURL: "https://example.com/" + id + ".md",
			TextSHA256: string(domain.HashText([]byte(id))), Policy: string(domain.PolicyRequiresReacceptance),
			ReacceptanceWindow: 30 * 24 * time.Hour,
		}, "operator", t0.Add(time.Duration(hours)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	whileOpen := func(first func(ctx context.Context) error, other func() error) (bool, error) {
		return testkit.WhileOpen(t, e.pool, first, other)
	}
	appendOf := func(id string, p *domain.Partner) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			return e.store.Acceptances().Append(ctx, acceptance(t, id, p, v1, nil), nil)
		}
	}

	// 1. The handler appended first: the publication waits for its commit.
	v2 := newer("indirect_reseller-2025-07", 24)
	waited, err := whileOpen(appendOf("S1", registered(t, e, "PG-S1", domain.VerificationApproved)), func() error {
		return e.store.Versions().Add(context.Background(), v2)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !waited {
		t.Error("a version was published while a transaction that appended an acceptance of its program was open")
	}

	// 2. The publication came first: the handler waits for it, and its read
	// of the program's versions, after the append, sees the new version.
	p2 := registered(t, e, "PG-S2", domain.VerificationApproved)
	v3 := newer("indirect_reseller-2026-01", 48)
	waited, err = whileOpen(func(ctx context.Context) error { return e.store.Versions().Add(ctx, v3) }, func() error {
		return pg.InTx(context.Background(), e.pool, func(ctx context.Context, _ pgx.Tx) error {
			if err := appendOf("S2", p2)(ctx); err != nil {
				return err
			}
			all, err := e.store.Versions().ListByProgram(ctx, domain.ProgramIndirectReseller)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(all, func(v *domain.Version) bool { return v.ID() == v3.ID() }) {
				return errors.New("the handler's read after its append missed the version published before it")
			}
			return nil
		})
	})
	if err != nil {
		t.Error(err)
	}
	if !waited {
		t.Error("an acceptance was appended while a publication of its program was open")
	}

	// 3. A retirement (which then cancels the version's open requirements)
	// waits for a transaction that appended an acceptance of the program.
	waited, err = whileOpen(appendOf("S3", registered(t, e, "PG-S3", domain.VerificationApproved)), func() error {
		return e.store.Versions().Update(context.Background(), v3.ID(), func(v *domain.Version) error {
			v.Retire("operator", t0.Add(72*time.Hour))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !waited {
		t.Error("a version was retired while a transaction that appended an acceptance of its program was open")
	}
}
