package app

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// TestAcceptanceBeforeTheApprovalArrivesIsKept: registration says
// qualified, agreements has not heard the approval yet: the acceptance is
// kept (not refused), then recorded with the time it was made.
func TestAcceptanceBeforeTheApprovalArrivesIsKept(t *testing.T) {
	f := newFixture(t)
	f.register("P1", "indirect_reseller")
	made := f.clock.Now()
	res, err := f.app.Accept.Handle(ctx, admin("P1"), AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1})
	if err != nil || res.Pending == nil || res.Pending.Status != domain.PendingOpen {
		t.Fatalf("accept before the approval: %+v %v", res, err)
	}
	if n := len(eventsOf[domain.AcceptanceRecorded](f.store)); n != 1 { // the network affirmation only
		t.Fatalf("%d acceptances recorded", n)
	}
	f.clock.advance(time.Minute)
	if err := f.app.CompletePending.Handle(ctx, "P1"); err != nil {
		t.Fatal(err) // still pending here: nothing happens
	}
	f.decide("P1", "D1", "approved")
	if err := f.app.CompletePending.Handle(ctx, "P1"); err != nil {
		t.Fatal(err)
	}
	recs := eventsOf[domain.AcceptanceRecorded](f.store)
	last := recs[len(recs)-1]
	if len(recs) != 2 || last.Program != domain.ProgramIndirectReseller || !last.AcceptedAt.Equal(made) || last.VerificationDecisionID != "D1" ||
		last.AcceptorUserID != "user-P1" {
		t.Fatalf("recorded %+v", last)
	}
	list, _ := f.app.ListSigned.Handle(ctx, admin("P1"), ListSignedQuery{PartnerID: "P1"})
	if len(list.Pending) != 1 || list.Pending[0].Status != domain.PendingRecorded || list.Pending[0].AcceptanceID != last.AcceptanceID {
		t.Fatalf("pending list %+v", list.Pending)
	}
	if err := f.app.CompletePending.Handle(ctx, "P1"); err != nil || len(eventsOf[domain.AcceptanceRecorded](f.store)) != 2 {
		t.Fatalf("completing twice: %v", err)
	}
}

// TestAnApprovalArrivingWhileTheAcceptanceIsKeptRecordsIt: the request read
// the partner as pending, and the approval was applied before the
// acceptance could be kept: it is recorded at once (one transaction, under
// the lock that found the approval), not kept pending.
func TestAnApprovalArrivingWhileTheAcceptanceIsKeptRecordsIt(t *testing.T) {
	f := newFixture(t)
	f.register("P1", "indirect_reseller")
	f.store.beforePendingAdd = func() {
		f.store.beforePendingAdd = nil
		f.decide("P1", "D1", "approved")
	}
	res, err := f.app.Accept.Handle(ctx, admin("P1"), AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1})
	if err != nil || res.Pending != nil || res.Acceptance.ID == "" || res.Acceptance.VerificationDecisionID != "D1" {
		t.Fatalf("accept as the approval arrives: %+v %v", res, err)
	}
	if n := len(f.store.pending); n != 0 {
		t.Errorf("%d pending acceptances kept for an approved partner", n)
	}
	if recs := eventsOf[domain.AcceptanceRecorded](f.store); len(recs) != 2 || recs[1].Program != domain.ProgramIndirectReseller {
		t.Errorf("recorded %+v", recs)
	}
}

// TestPendingAcceptanceOfAnUnknownPartnerAndARejection: the partner's own
// administrator may accept before this service even heard of the partner
// (its token names it); a rejection refuses the kept acceptance.
func TestPendingAcceptanceOfAnUnknownPartnerAndARejection(t *testing.T) {
	f := newFixture(t)
	res, err := f.app.Accept.Handle(ctx, admin("PG-NEW1"), AcceptCommand{PartnerID: "PG-NEW1", Market: "JP", VersionID: resellerV1})
	if err != nil || res.Pending == nil {
		t.Fatalf("unknown partner: %+v %v", res, err)
	}
	_, err = f.app.Accept.Handle(ctx, admin("PG-OTHER"), AcceptCommand{PartnerID: "PG-NEW1", Market: "JP", VersionID: resellerV1})
	wantCode(t, err, apperr.KindNotFound, "agreements.unknown_partner")
	f.register("PG-NEW1", "indirect_reseller")
	f.decide("PG-NEW1", "D9", "rejected")
	if err := f.app.CompletePending.Handle(ctx, "PG-NEW1"); err != nil {
		t.Fatal(err)
	}
	refused := eventsOf[domain.AcceptanceRefused](f.store)
	if len(refused) != 1 || refused[0].Code != domain.ErrVerificationNotApproved.Code || refused[0].Program != domain.ProgramIndirectReseller {
		t.Fatalf("refused %+v", refused)
	}
	// A rejected partner is refused at once.
	_, err = f.app.Accept.Handle(ctx, admin("PG-NEW1"), AcceptCommand{PartnerID: "PG-NEW1", Market: "JP", VersionID: resellerV1})
	wantCode(t, err, apperr.KindConflict, "agreements.verification_not_approved")
}

// TestStandingSuspendsAndReinstatesAcceptances: a partner that leaves good
// standing has its acceptances suspended once (already suspended by a
// revocation: no second event), accepts nothing, and is reinstated when
// active again.
func TestStandingSuspendsAndReinstatesAcceptances(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	acc, err := f.app.Accept.Handle(ctx, admin("P1"), AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1})
	if err != nil {
		t.Fatal(err)
	}
	standing := func(status, eventID string, at time.Time, reasons ...string) {
		t.Helper()
		if _, err := f.app.ApplyStandingChanged.Handle(ctx, ApplyStandingChangedCommand{PartnerID: "P1", Status: status,
			Reasons: reasons, ChangedAt: at, EventID: eventID}); err != nil {
			t.Fatal(err)
		}
	}
	standing("suspended", "ev-1", start.Add(time.Hour), "compliance_hold")
	sus := eventsOf[domain.AcceptanceSuspended](f.store)
	if len(sus) != 1 || sus[0].AcceptanceID != acc.Acceptance.ID || sus[0].Outcome != "suspended" || sus[0].DecisionID != "standing:ev-1" ||
		sus[0].Reasons[0] != "compliance_hold" {
		t.Fatalf("suspended %+v", sus)
	}
	_, err = f.app.Accept.Handle(ctx, admin("P1"), AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1})
	wantCode(t, err, apperr.KindConflict, "agreements.partner_not_in_good_standing")
	if ae, _ := apperr.As(err); ae.Details["standing"] != "suspended" {
		t.Fatalf("details %+v", ae.Details)
	}
	_, err = f.app.Status.Handle(ctx, admin("P1"), StatusQuery{PartnerID: "P1", Market: "JP"})
	wantCode(t, err, apperr.KindConflict, "agreements.partner_not_in_good_standing")
	standing("suspended", "ev-0", start.Add(30*time.Minute), "stale") // older: ignored
	standing("inactive", "ev-2", start.Add(2*time.Hour), "inactivity")
	if n := len(eventsOf[domain.AcceptanceSuspended](f.store)); n != 1 {
		t.Fatalf("still suspended: no second event, got %d", n)
	}
	standing("active", "ev-3", start.Add(3*time.Hour))
	re := eventsOf[domain.AcceptanceReinstated](f.store)
	if len(re) != 1 || re[0].DecisionID != "standing:ev-3" {
		t.Fatalf("reinstated %+v", re)
	}
	if _, err := f.app.Status.Handle(ctx, admin("P1"), StatusQuery{PartnerID: "P1", Market: "JP"}); err != nil {
		t.Fatalf("status after reinstatement: %v", err)
	}
}

func TestAcceptNeedsMFA(t *testing.T) {
	f := newFixture(t)
	d := f.store.deps(f.clock)
	d.MFA = auth.MFAPolicy{Required: true}
	f.app = New(d)
	f.approvedReseller("P1")
	_, err := f.app.Accept.Handle(ctx, admin("P1"), AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1})
	wantCode(t, err, apperr.KindForbidden, auth.CodeMFARequired)
	withMFA := admin("P1")
	withMFA.AMR = []string{"pwd", "mfa"}
	if _, err := f.app.Accept.Handle(ctx, withMFA, AcceptCommand{PartnerID: "P1", Market: "JP", VersionID: resellerV1}); err != nil {
		t.Fatal(err)
	}
}
