package app

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

var upstream = auth.Principal{Kind: auth.KindService, Subject: "crm", Roles: []auth.Role{auth.RoleUpstreamSystem}}

func TestStatusCodes(t *testing.T) {
	signed := func(f *fixture) { f.approvedReseller("P1"); f.mustAccept(admin("P1"), "P1", resellerV1) }
	tests := []struct {
		name   string
		setup  func(f *fixture)
		caller auth.Principal
		q      StatusQuery
		kind   apperr.Kind
		code   string
	}{
		{"signed", signed, upstream, StatusQuery{PartnerID: "P1", Market: "JP"}, 0, ""},
		{"signed, asked by location id", signed, upstream, StatusQuery{PartnerID: "L-P1", Market: "jp"}, 0, ""},
		{"signed, asked by the partner itself", signed, partnerUser("P1"), StatusQuery{PartnerID: "P1", Market: "JP"}, 0, ""},
		{"network agreement signed at registration", func(f *fixture) { f.register("P1") }, upstream,
			StatusQuery{PartnerID: "P1", Market: "JP", Program: "partner_network"}, 0, ""},
		{"unknown partner", signed, upstream, StatusQuery{PartnerID: "P9", Market: "JP"}, apperr.KindNotFound, "agreements.unknown_partner"},
		{"another partner's user cannot tell", signed, partnerUser("P2"), StatusQuery{PartnerID: "P1", Market: "JP"}, apperr.KindNotFound, "agreements.unknown_partner"},
		{"partner known only from a verification event", func(f *fixture) { f.decide("P1", "D1", "approved") }, upstream,
			StatusQuery{PartnerID: "P1", Market: "JP"}, apperr.KindNotFound, "agreements.unknown_partner"},
		{"market mismatch", signed, upstream, StatusQuery{PartnerID: "P1", Market: "US"}, apperr.KindConflict, "agreements.market_mismatch"},
		{"no reseller enrollment", func(f *fixture) { f.register("P1"); f.decide("P1", "D1", "approved") }, upstream,
			StatusQuery{PartnerID: "P1", Market: "JP"}, apperr.KindConflict, "agreements.no_reseller_enrollment"},
		{"not signed", func(f *fixture) { f.approvedReseller("P1") }, upstream,
			StatusQuery{PartnerID: "P1", Market: "JP"}, apperr.KindNotFound, "agreements.not_signed"},
		{"verification revoked after acceptance", func(f *fixture) { signed(f); f.decide("P1", "D2", "revoked") }, upstream,
			StatusQuery{PartnerID: "P1", Market: "JP"}, apperr.KindConflict, "agreements.verification_revoked"},
		{"invalid market", signed, upstream, StatusQuery{PartnerID: "P1", Market: "J"}, apperr.KindInvalid, "agreements.invalid_market"},
		{"anonymous", signed, auth.Principal{}, StatusQuery{PartnerID: "P1", Market: "JP"}, apperr.KindUnauthenticated, "auth.unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f)
			res, err := f.app.Status.Handle(ctx, tt.caller, tt.q)
			if tt.code != "" {
				wantCode(t, err, tt.kind, tt.code)
				return
			}
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			if res.PartnerID != "P1" || res.LocationID != "L-P1" || res.AcceptanceID == "" || res.Market != "JP" {
				t.Fatalf("status = %+v", res)
			}
		})
	}
}

func TestReacceptanceOverdue(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	f.mustAccept(admin("P1"), "P1", resellerV1)
	window := 7 * 24 * time.Hour
	f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), window)
	due := f.clock.Now().Add(window)

	if res, err := f.app.FireDueTimers.Handle(ctx, due.Add(-time.Second)); err != nil || res.Overdue != 0 {
		t.Fatalf("before the deadline: %+v, %v", res, err)
	}
	for range 2 {
		if _, err := f.app.FireDueTimers.Handle(ctx, due.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	over := eventsOf[domain.ReacceptanceOverdue](f.store)
	if len(over) != 1 || over[0].PartnerID != "P1" || over[0].VersionID != "reseller-reacc" || !over[0].DueBy.Equal(due) {
		t.Fatalf("overdue events = %+v, want exactly one", over)
	}
	f.clock.now = due.Add(time.Minute)
	_, err := f.app.Status.Handle(ctx, upstream, StatusQuery{PartnerID: "P1", Market: "JP"})
	wantCode(t, err, apperr.KindConflict, "agreements.reacceptance_overdue")

	// A late re-acceptance still clears it.
	f.mustAccept(admin("P1"), "P1", "reseller-reacc")
	if _, err := f.app.Status.Handle(ctx, upstream, StatusQuery{PartnerID: "P1", Market: "JP"}); err != nil {
		t.Fatalf("status after late re-acceptance: %v", err)
	}
}

func TestFireDueTimersFinishesAnInterruptedFanOut(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	f.mustAccept(admin("P1"), "P1", resellerV1)
	// Simulate a crash between storing the version and creating requirements.
	v, err := domain.PublishVersion(draft("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), time.Hour), "op-1", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := (memVersions{f.store}).Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	res, err := f.app.FireDueTimers.Handle(ctx, f.clock.Now())
	if err != nil || res.FanOutsFinished != 1 || res.RequirementsCreated != 1 {
		t.Fatalf("timers = %+v, %v", res, err)
	}
	if res, _ := f.app.FireDueTimers.Handle(ctx, f.clock.Now()); res.FanOutsFinished != 0 || res.RequirementsCreated != 0 {
		t.Fatalf("second run = %+v, want nothing left", res)
	}
	if n := len(eventsOf[domain.ReacceptanceRequired](f.store)); n != 1 {
		t.Fatalf("ReacceptanceRequired events = %d", n)
	}
}

func TestFireDueTimersClosesRequirementAlreadySatisfied(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	f.mustAccept(admin("P1"), "P1", resellerV1)
	f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), time.Hour)
	// The acceptance lands but its requirement update is lost (a crash).
	f.store.mu.Lock()
	saved := append([]domain.RequirementState(nil), f.store.requirements...)
	f.store.mu.Unlock()
	f.mustAccept(admin("P1"), "P1", "reseller-reacc")
	f.store.mu.Lock()
	f.store.requirements = saved
	f.store.mu.Unlock()

	res, err := f.app.FireDueTimers.Handle(ctx, f.clock.Now().Add(2*time.Hour))
	if err != nil || res.Satisfied != 1 || res.Overdue != 0 {
		t.Fatalf("timers = %+v, %v", res, err)
	}
	if n := len(eventsOf[domain.ReacceptanceOverdue](f.store)); n != 0 {
		t.Fatalf("overdue events = %d, want 0", n)
	}
}

func TestAcceptingAnOlderVersionOwesTheNewerReacceptance(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), 24*time.Hour)
	// Nobody had accepted, so the fan-out found no one; P1 now accepts the
	// older, still published version.
	acc := f.mustAccept(admin("P1"), "P1", resellerV1)
	req := eventsOf[domain.ReacceptanceRequired](f.store)
	if len(req) != 1 || req[0].CurrentAcceptanceID != acc.Acceptance.ID || req[0].VersionID != "reseller-reacc" {
		t.Fatalf("ReacceptanceRequired = %+v", req)
	}
	st, err := f.app.Status.Handle(ctx, upstream, StatusQuery{PartnerID: "P1", Market: "JP"})
	if err != nil || st.ReacceptanceDueBy == nil {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

// An operator retires a version a partner let lapse: the requirement is
// cancelled with an event that says the earlier acceptance counts again
// (before round 45 it closed silently, and registration kept the partner's
// enrollment qualified, asking for a version nobody can accept).
func TestARetiredVersionGivesTheLapsedAcceptanceBack(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	first := f.mustAccept(admin("P1"), "P1", resellerV1)
	f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), time.Hour)
	due := f.clock.Now().Add(time.Hour)
	if res, err := f.app.FireDueTimers.Handle(ctx, due.Add(time.Minute)); err != nil || res.Overdue != 1 {
		t.Fatalf("timers = %+v, %v", res, err)
	}
	f.clock.now = due.Add(time.Hour)
	if _, err := f.app.RetireVersion.Handle(ctx, operator, RetireVersionCommand{VersionID: "reseller-reacc"}); err != nil {
		t.Fatal(err)
	}
	c := eventsOf[domain.ReacceptanceCancelled](f.store)
	if len(c) != 1 || c[0].PartnerID != "P1" || c[0].Reason != domain.CancelVersionRetired || c[0].VersionID != "reseller-reacc" ||
		c[0].CurrentAcceptanceID != first.Acceptance.ID || c[0].OverdueAt == nil {
		t.Fatalf("cancelled events = %+v, want one, after the deadline", c)
	}
	if _, err := f.app.Status.Handle(ctx, upstream, StatusQuery{PartnerID: "P1", Market: "JP"}); err != nil {
		t.Fatalf("status after the retirement: %v", err)
	}
}

// A closed partner is asked nothing: a version published after its closure
// creates no requirement for it, and its closure cancels the requirements
// open at that moment (before round 45 it was mailed to accept, then that
// it could no longer transact, and registration moved its enrollment).
func TestAClosedPartnerIsAskedToAcceptNothing(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"P1", "P2"} {
		f.approvedReseller(p)
		f.mustAccept(admin(p), p, resellerV1)
	}
	closeP := func(id string) {
		t.Helper()
		if _, err := f.app.ApplyStandingChanged.Handle(ctx, ApplyStandingChangedCommand{PartnerID: id, Status: domain.StandingClosed,
			Reasons: []string{"closed_by_partner"}, ChangedAt: f.clock.Now(), EventID: "ev-close-" + id}); err != nil {
			t.Fatal(err)
		}
	}
	closeP("P2")
	if res := f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), time.Hour); res.RequirementsCreated != 1 {
		t.Fatalf("published = %+v, want the open partner's requirement only", res)
	}
	if r := eventsOf[domain.ReacceptanceRequired](f.store); len(r) != 1 || r[0].PartnerID != "P1" {
		t.Fatalf("required events = %+v", r)
	}
	closeP("P1")
	c := eventsOf[domain.ReacceptanceCancelled](f.store)
	if len(c) != 1 || c[0].PartnerID != "P1" || c[0].Reason != domain.CancelPartnerClosed || c[0].OverdueAt != nil {
		t.Fatalf("cancelled events = %+v", c)
	}
	if res, err := f.app.FireDueTimers.Handle(ctx, f.clock.Now().Add(2*time.Hour)); err != nil || res.Overdue != 0 {
		t.Fatalf("timers = %+v, %v", res, err)
	}
	if n := len(eventsOf[domain.ReacceptanceOverdue](f.store)); n != 0 {
		t.Fatalf("overdue events = %d, want 0", n)
	}
}

// A retirement that stored the version but crashed before cancelling its
// requirements is finished by the retirement's timer: cancelled, never
// overdue, and not left due until the deadline.
func TestFireDueTimersCancelsARetiredVersionsRequirement(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	f.mustAccept(admin("P1"), "P1", resellerV1)
	f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), time.Hour)
	err := (memVersions{f.store}).Update(ctx, "reseller-reacc", func(v *domain.Version) error {
		v.Retire("op-1", f.clock.Now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The retirement's own timer, a minute later, well before the deadline.
	res, err := f.app.FireDueTimers.Handle(ctx, f.clock.Now().Add(time.Minute))
	if err != nil || res.Cancelled != 1 || res.Overdue != 0 {
		t.Fatalf("timers = %+v, %v", res, err)
	}
	if c := eventsOf[domain.ReacceptanceCancelled](f.store); len(c) != 1 || c[0].Reason != domain.CancelVersionRetired {
		t.Fatalf("cancelled events = %+v", c)
	}
	if res, err := f.app.FireDueTimers.Handle(ctx, f.clock.Now().Add(2*time.Hour)); err != nil || res.Cancelled != 0 || res.Overdue != 0 {
		t.Fatalf("at the deadline = %+v, %v", res, err)
	}
}
