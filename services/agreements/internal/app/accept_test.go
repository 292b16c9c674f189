package app

import (
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

func TestAcceptRefusals(t *testing.T) {
	future := start.Add(time.Hour)
	tests := []struct {
		name   string
		setup  func(f *fixture)
		caller auth.Principal
		cmd    AcceptCommand
		kind   apperr.Kind
		code   string
	}{
		{"after rejection", func(f *fixture) { f.register("P1", "indirect_reseller"); f.decide("P1", "D1", "rejected") }, admin("P1"),
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}, apperr.KindConflict, "agreements.verification_not_approved"},
		{"after revocation", func(f *fixture) { f.approvedReseller("P1"); f.decide("P1", "D2", "revoked") }, admin("P1"),
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}, apperr.KindConflict, "agreements.verification_revoked"},
		{"by a non-admin of the partner", func(f *fixture) { f.approvedReseller("P1") }, partnerUser("P1"),
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}, apperr.KindForbidden, CodeNotPartnerAdmin},
		{"by an operator", func(f *fixture) { f.approvedReseller("P1") }, operator,
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}, apperr.KindForbidden, CodeNotPartnerAdmin},
		{"by an admin of another partner", func(f *fixture) { f.approvedReseller("P1"); f.approvedReseller("P2") }, admin("P2"),
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}, apperr.KindNotFound, "agreements.unknown_partner"},
		{"anonymous", func(f *fixture) { f.approvedReseller("P1") }, auth.Principal{},
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}, apperr.KindUnauthenticated, "auth.unauthenticated"},
		{"unknown partner", func(f *fixture) {}, admin("P9"),
			AcceptCommand{PartnerID: "P9", Market: "JP", VersionID: resellerV1}, apperr.KindNotFound, "agreements.unknown_partner"},
		{"with a future date", func(f *fixture) { f.approvedReseller("P1") }, admin("P1"),
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1, AcceptedAt: &future}, apperr.KindInvalid, "agreements.accepted_at_in_future"},
		{"unknown version", func(f *fixture) { f.approvedReseller("P1") }, admin("P1"),
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: "indirect_reseller-1999"}, apperr.KindNotFound, "agreements.unknown_version"},
		{"retired version", func(f *fixture) {
			f.approvedReseller("P1")
			if _, err := f.app.RetireVersion.Handle(ctx, operator, RetireVersionCommand{VersionID: resellerV1}); err != nil {
				t.Fatal(err)
			}
		}, admin("P1"), AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}, apperr.KindConflict, "agreements.version_retired"},
		{"for the wrong market", func(f *fixture) { f.approvedReseller("P1") }, admin("P1"),
			AcceptCommand{PartnerID: "P1", Market: "US", VersionID: resellerV1}, apperr.KindConflict, "agreements.market_mismatch"},
		{"invalid market", func(f *fixture) { f.approvedReseller("P1") }, admin("P1"),
			AcceptCommand{PartnerID: "P1", Market: "Japan", VersionID: resellerV1}, apperr.KindInvalid, "agreements.invalid_market"},
		{"version not offered in the market", func(f *fixture) {
			f.approvedReseller("P1")
			d := draft("reseller-us", domain.PolicyAutoEffective, start, 0)
			d.Markets = []string{"US"}
			if _, err := f.app.PublishVersion.Handle(ctx, operator, PublishVersionCommand{Draft: d}); err != nil {
				t.Fatal(err)
			}
		}, admin("P1"), AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: "reseller-us"}, apperr.KindConflict, "agreements.version_not_for_market"},
		{"without a reseller enrollment", func(f *fixture) { f.register("P1"); f.decide("P1", "D1", "approved") }, admin("P1"),
			AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}, apperr.KindConflict, "agreements.no_reseller_enrollment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f)
			before := len(eventsOf[domain.AcceptanceRecorded](f.store))
			_, err := f.app.Accept.Handle(ctx, tt.caller, tt.cmd)
			wantCode(t, err, tt.kind, tt.code)
			if got := len(eventsOf[domain.AcceptanceRecorded](f.store)); got != before {
				t.Fatalf("a refused acceptance recorded %d events", got-before)
			}
		})
	}
}

func TestAcceptRecordsEvidence(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	f.clock.advance(time.Hour)
	claimed := f.clock.Now().Add(-5 * time.Minute) // the client's clock: kept, not trusted
	res, err := f.app.Accept.Handle(ctx, admin("P1"), AcceptCommand{PartnerID: "L-P1", Market: "jp", VersionID: resellerV1, AcceptedAt: &claimed})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Acceptance
	seed := domain.SeedVersions()[1]
	want := domain.AcceptanceState{
		ID: a.ID, PartnerID: "P1", LocationID: "L-P1", EnrollmentID: "E-indirect_reseller-P1",
		Program: domain.ProgramIndirectReseller, Market: "JP", VersionID: resellerV1, TextSHA256: domain.TextHash(seed.TextSHA256),
		Acceptor:   domain.Acceptor{UserID: "user-P1", Name: "Hanako Sato", Email: "hanako@example.co.jp", Role: "partner_admin"},
		AcceptedAt: f.clock.Now(), ClientAcceptedAt: a.ClientAcceptedAt, EffectiveAt: f.clock.Now(),
		ClientIP: "192.0.2.10", UserAgent: "Mozilla/5.0 test", RequestID: "req-1",
		VerificationDecisionID: "D-P1", Channel: domain.ChannelAPI,
	}
	if a != want || a.ClientAcceptedAt == nil || !a.ClientAcceptedAt.Equal(claimed) || res.Existing {
		t.Fatalf("record =\n%+v\nwant\n%+v", a, want)
	}
	evs := eventsOf[domain.AcceptanceRecorded](f.store)
	last := evs[len(evs)-1]
	if last.AcceptanceID != a.ID || last.EnrollmentID != "E-indirect_reseller-P1" || last.Program != domain.ProgramIndirectReseller ||
		last.Market != "JP" || last.VersionID != resellerV1 || last.LocationID != "L-P1" || last.PartnerID != "P1" {
		t.Fatalf("event = %+v", last)
	}
}

func TestAcceptTwiceIsIdempotent(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	first := f.mustAccept(admin("P1"), "P1", resellerV1)
	f.clock.advance(time.Hour)
	second := f.mustAccept(admin("P1"), "P1", resellerV1)
	if !second.Existing || second.Acceptance.ID != first.Acceptance.ID || first.Existing {
		t.Fatalf("first = %+v, second = %+v", first, second)
	}
	if n := len(eventsOf[domain.AcceptanceRecorded](f.store)); n != 2 { // network + reseller
		t.Fatalf("AcceptanceRecorded events = %d, want 2", n)
	}
}

func TestAcceptLosingARaceReturnsTheWinner(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	var winner AcceptanceResult
	f.store.beforeAppend = func() {
		f.store.beforeAppend = nil // the competing request appends first
		winner = f.mustAccept(admin("P1"), "P1", resellerV1)
	}
	got := f.mustAccept(admin("P1"), "P1", resellerV1)
	if !got.Existing || got.Acceptance.ID != winner.Acceptance.ID {
		t.Fatalf("got = %+v, winner = %+v", got, winner)
	}
}

func TestAcceptConcurrentlyRecordsExactlyOne(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	before := f.store.acceptanceCount()
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := f.accept(admin("P1"), "P1", resellerV1)
			ids[i], errs[i] = res.Acceptance.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("call %d: id %q err %v; want %q", i, ids[i], errs[i], ids[0])
		}
	}
	if got := f.store.acceptanceCount() - before; got != 1 {
		t.Fatalf("records = %d, want exactly 1", got)
	}
}

func TestAcceptFollowsVersionPolicy(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	first := f.mustAccept(admin("P1"), "P1", resellerV1)

	f.clock.advance(time.Hour)
	f.publish("reseller-auto", domain.PolicyAutoEffective, f.clock.Now(), 0)
	carried := f.mustAccept(admin("P1"), "P1", "reseller-auto")
	if !carried.Existing || !carried.CarriedOver || carried.Acceptance.ID != first.Acceptance.ID {
		t.Fatalf("auto_effective: %+v", carried)
	}

	f.clock.advance(time.Hour)
	pub := f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), 30*24*time.Hour)
	if pub.RequirementsCreated != 1 {
		t.Fatalf("requirements created = %d, want 1", pub.RequirementsCreated)
	}
	req := eventsOf[domain.ReacceptanceRequired](f.store)
	if len(req) != 1 || req[0].PartnerID != "P1" || req[0].CurrentAcceptanceID != first.Acceptance.ID ||
		!req[0].DueBy.Equal(f.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("ReacceptanceRequired = %+v", req)
	}
	st, err := f.app.Status.Handle(ctx, admin("P1"), StatusQuery{PartnerID: "P1", Market: "JP"})
	if err != nil || st.ReacceptanceDueBy == nil || !st.ReacceptanceDueBy.Equal(req[0].DueBy) {
		t.Fatalf("status while due = %+v, %v", st, err)
	}

	f.clock.advance(time.Hour)
	renewed := f.mustAccept(admin("P1"), "P1", "reseller-reacc")
	if renewed.Existing || renewed.Acceptance.SupersedesID != first.Acceptance.ID || renewed.Acceptance.VersionID != "reseller-reacc" {
		t.Fatalf("requires_reacceptance: %+v", renewed)
	}
	st, err = f.app.Status.Handle(ctx, admin("P1"), StatusQuery{PartnerID: "P1", Market: "JP"})
	if err != nil || st.ReacceptanceDueBy != nil || st.AcceptanceID != renewed.Acceptance.ID {
		t.Fatalf("status after re-acceptance = %+v, %v", st, err)
	}
	// The old version is still published: accepting it does not downgrade.
	old := f.mustAccept(admin("P1"), "P1", resellerV1)
	if !old.Existing || old.Acceptance.ID != renewed.Acceptance.ID {
		t.Fatalf("older version: %+v", old)
	}
	// Past the deadline nothing turns overdue: the requirement was satisfied.
	f.clock.advance(31 * 24 * time.Hour)
	if res, err := f.app.FireDueTimers.Handle(ctx, f.clock.Now()); err != nil || res.Overdue != 0 {
		t.Fatalf("timers = %+v, %v", res, err)
	}
}
