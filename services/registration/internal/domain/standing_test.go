package domain

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// approvedPartner is an active reseller (every e-mail confirmed, approved at t0).
func approvedPartner(t *testing.T) *Partner {
	t.Helper()
	p := newTestPartner(t, network, reseller)
	if _, err := p.ApproveVerification(t0, t0); err != nil {
		t.Fatal(err)
	}
	p.PullEvents()
	return p
}

// standingEvents pulls the partner's events and keeps the standing changes.
func standingEvents(p *Partner) []PartnerStandingChanged {
	var out []PartnerStandingChanged
	for _, e := range p.PullEvents() {
		if s, ok := e.(PartnerStandingChanged); ok {
			out = append(out, s)
		}
	}
	return out
}

func wantStanding(t *testing.T, p *Partner, status PartnerStatus, reasons ...StandingReason) {
	t.Helper()
	if reasons == nil {
		reasons = []StandingReason{}
	}
	if p.Status() != status || !slices.Equal(p.Standing().Reasons(), reasons) {
		t.Fatalf("standing %s %v, want %s %v", p.Status(), p.Standing().Reasons(), status, reasons)
	}
}

func TestRevocationSuspendsUntilApprovedAgain(t *testing.T) {
	p := approvedPartner(t)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	changed, err := p.RevokeVerification("vc-1", "rev-1", "the register entry was false", t1, t1)
	if err != nil || !changed {
		t.Fatalf("revoke: %v %v", changed, err)
	}
	wantStanding(t, p, PartnerStatusSuspended, ReasonVerificationRevoked)
	evs := standingEvents(p)
	if len(evs) != 1 || evs[0].From != PartnerStatusActive || evs[0].To != PartnerStatusSuspended ||
		!slices.Equal(evs[0].Added, []StandingReason{ReasonVerificationRevoked}) || len(evs[0].Lifted) != 0 || evs[0].ChangedBy != "verification" {
		t.Fatalf("standing events %+v", evs)
	}
	if h, _ := p.Standing().Hold(ReasonVerificationRevoked); h.Ref != "rev-1" || h.Note != "the register entry was false" || !h.Since.Equal(t1) {
		t.Fatalf("hold %+v", h)
	}
	if changed, err := p.RevokeVerification("vc-1", "rev-1", "again", t1, t1); err != nil || changed || len(p.PullEvents()) != 0 {
		t.Fatalf("repeat: %v %v", changed, err)
	}
	// The re-review rejects: the partner stays suspended, no dead letter.
	if changed, err := p.RejectVerification("company_check_failed", t2); err != nil || changed {
		t.Fatalf("rejection of a revoked partner: %v %v", changed, err)
	}
	// An approval decided before the revocation lifts nothing.
	if changed, _ := p.ApproveVerification(t0.Add(30*time.Minute), t2); !changed {
		t.Fatal("a newer approval than the last applied is applied")
	}
	wantStanding(t, p, PartnerStatusSuspended, ReasonVerificationRevoked)
	if changed, err := p.ApproveVerification(t2, t2); err != nil || !changed {
		t.Fatalf("re-approval: %v %v", changed, err)
	}
	wantStanding(t, p, PartnerStatusActive)
	evs = standingEvents(p)
	if len(evs) != 1 || evs[0].From != PartnerStatusSuspended || evs[0].To != PartnerStatusActive ||
		!slices.Equal(evs[0].Lifted, []StandingReason{ReasonVerificationRevoked}) {
		t.Fatalf("reinstated: %+v", evs)
	}
	// A revocation decided before that approval arrives late: stale.
	if changed, err := p.RevokeVerification("vc-1", "rev-0", "late", t1, t2); err != nil || changed {
		t.Fatalf("stale revocation: %v %v", changed, err)
	}
	wantStanding(t, p, PartnerStatusActive)
}

func TestRevocationBeforeItsApprovalArrives(t *testing.T) {
	// The approval and the revocation come on different durables: the
	// revocation may be applied first.
	p := newTestPartner(t, network, reseller)
	p.PullEvents()
	if _, err := p.RevokeVerification("vc-1", "rev-1", "false documents", t0.Add(time.Hour), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantStanding(t, p, PartnerStatusPending, ReasonVerificationRevoked)
	if len(p.PullEvents()) != 0 {
		t.Fatal("a pending partner's standing change is not published")
	}
	if _, err := p.ApproveVerification(t0, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantStanding(t, p, PartnerStatusSuspended, ReasonVerificationRevoked)
	evs := p.PullEvents()
	if _, ok := evs[0].(PartnerActivated); !ok {
		t.Fatalf("the IDs are valid first: %+v", evs)
	}
	var st []PartnerStandingChanged
	for _, e := range evs {
		if s, ok := e.(PartnerStandingChanged); ok {
			st = append(st, s)
		}
	}
	if len(st) != 1 || st[0].From != PartnerStatusPending || st[0].To != PartnerStatusSuspended {
		t.Fatalf("standing events %+v", st)
	}
}

func TestHoldsStackAndLiftOneByOne(t *testing.T) {
	p := approvedPartner(t)
	if _, err := p.RevokeVerification("vc-1", "rev-1", "false register entry", t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PlaceHold(Hold{Reason: ReasonComplianceHold, By: "ops-1", Note: "sanctions screening"}, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantStanding(t, p, PartnerStatusSuspended, ReasonVerificationRevoked, ReasonComplianceHold)
	evs := standingEvents(p)
	if len(evs) != 2 || evs[1].From != PartnerStatusSuspended || evs[1].To != PartnerStatusSuspended ||
		!slices.Equal(evs[1].Added, []StandingReason{ReasonComplianceHold}) || evs[1].ChangedBy != "ops-1" {
		t.Fatalf("events %+v", evs)
	}
	if _, err := p.LiftHold(ReasonComplianceHold, "ops-1", "cleared", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantStanding(t, p, PartnerStatusSuspended, ReasonVerificationRevoked) // restores only what it held
	if changed, err := p.LiftHold(ReasonComplianceHold, "ops-1", "", t0.Add(3*time.Hour)); err != nil || changed {
		t.Fatalf("lifting a lifted hold: %v %v", changed, err)
	}
	if _, err := p.PlaceHold(Hold{Reason: ReasonInactivity}, t0); !errors.Is(err, ErrUnknownHold) {
		t.Fatalf("inactivity is no hold: %v", err)
	}
	if _, err := p.ApproveVerification(t0.Add(4*time.Hour), t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantStanding(t, p, PartnerStatusActive)
}

func TestInactivityAndReactivation(t *testing.T) {
	period, review := Period{Months: 18}, Period{Months: 6}
	p := approvedPartner(t)
	p.SawActivity(t0.Add(24 * time.Hour))
	if changed, _ := p.MarkInactive(period, period.After(t0)); changed {
		t.Fatal("active within the period")
	}
	lapse := period.After(t0.Add(24 * time.Hour))
	if changed, err := p.MarkInactive(period, lapse); err != nil || !changed {
		t.Fatalf("mark inactive: %v %v", changed, err)
	}
	wantStanding(t, p, PartnerStatusInactive, ReasonInactivity)
	if evs := standingEvents(p); len(evs) != 1 || evs[0].To != PartnerStatusInactive || evs[0].ChangedBy != "registration" {
		t.Fatalf("events %+v", evs)
	}
	// A hold on an inactive partner suspends it; lifting it leaves it inactive.
	p.PlaceHold(Hold{Reason: ReasonComplianceHold, By: "ops"}, lapse)
	wantStanding(t, p, PartnerStatusSuspended, ReasonComplianceHold, ReasonInactivity)
	p.LiftHold(ReasonComplianceHold, "ops", "", lapse)
	wantStanding(t, p, PartnerStatusInactive, ReasonInactivity)
	standingEvents(p)

	// Reactivated soon: active at once.
	short := lapse.Add(24 * time.Hour)
	if review, err := p.Reactivate("admin-1", review, short); err != nil || review {
		t.Fatalf("reactivate: review %v, %v", review, err)
	}
	wantStanding(t, p, PartnerStatusActive)
	if !p.LastActivityAt().Equal(short) {
		t.Fatalf("reactivation is activity: %s", p.LastActivityAt())
	}
	if _, err := p.Reactivate("admin-1", review, short); !errors.Is(err, ErrNotInactive) {
		t.Fatalf("reactivating an active partner: %v", err)
	}

	// Inactive for long: reviewed again before it is active.
	lapse2 := period.After(short)
	p.MarkInactive(period, lapse2)
	late := review.After(lapse2)
	if rv, err := p.Reactivate("admin-1", review, late); err != nil || !rv {
		t.Fatalf("reactivate after long: review %v, %v", rv, err)
	}
	wantStanding(t, p, PartnerStatusSuspended, ReasonReverificationRequired)
	evs := standingEvents(p)
	last := evs[len(evs)-1]
	if last.From != PartnerStatusInactive || last.To != PartnerStatusSuspended ||
		!slices.Equal(last.Added, []StandingReason{ReasonReverificationRequired}) || !slices.Equal(last.Lifted, []StandingReason{ReasonInactivity}) {
		t.Fatalf("reactivation event %+v", last)
	}
	if _, err := p.ApproveVerification(late.Add(time.Hour), late.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantStanding(t, p, PartnerStatusActive)
}

func TestClosure(t *testing.T) {
	if _, err := newTestPartner(t).Close(ReasonClosedByPartner, "admin-1", "leaving", t0); !errors.Is(err, ErrNotApproved) {
		t.Fatalf("closing a pending partner: %v", err)
	}
	p := approvedPartner(t)
	p.PlaceHold(Hold{Reason: ReasonComplianceHold, By: "ops"}, t0)
	standingEvents(p)
	if changed, err := p.Close(ReasonClosedByOperator, "ops-2", "fraud confirmed", t0.Add(time.Hour)); err != nil || !changed {
		t.Fatalf("close: %v %v", changed, err)
	}
	wantStanding(t, p, PartnerStatusClosed, ReasonClosedByOperator)
	if p.HoldsIdentity() {
		t.Error("a closed account still holds its company's identity keys")
	}
	if evs := standingEvents(p); len(evs) != 1 || evs[0].From != PartnerStatusSuspended || evs[0].To != PartnerStatusClosed ||
		evs[0].Note != "fraud confirmed" {
		t.Fatalf("events %+v", evs)
	}
	if changed, err := p.Close(ReasonClosedByPartner, "admin-1", "again", t0.Add(2*time.Hour)); err != nil || changed {
		t.Fatalf("closing again: %v %v", changed, err)
	}
	if _, err := p.LiftHold(ReasonComplianceHold, "ops", "", t0); !errors.Is(err, ErrPartnerClosed) {
		t.Fatalf("lift on a closed partner: %v", err)
	}
	if _, err := p.Reactivate("admin-1", Period{}, t0); !errors.Is(err, ErrPartnerClosed) {
		t.Fatalf("reactivate a closed partner: %v", err)
	}
	if changed, err := p.RevokeVerification("vc-1", "rev", "x", t0.Add(3*time.Hour), t0.Add(3*time.Hour)); err != nil || changed {
		t.Fatalf("revoke a closed partner: %v %v", changed, err)
	}
	if changed, _ := p.ApproveVerification(t0.Add(4*time.Hour), t0.Add(4*time.Hour)); changed {
		t.Fatal("an approval changes nothing on a closed partner")
	}
}

func TestResellerEnrollmentWaitsForItsOwnEmailConfirmation(t *testing.T) {
	p := newUnconfirmedPartner(t, network, reseller)
	net, _ := p.Enrollment(ProgramPartnerNetwork)
	res, _ := p.Enrollment(ProgramIndirectReseller)
	// The network confirmation is part of the verification; the reseller's is not.
	p.ConfirmEnrollmentEmail(net.ID, "taro@test-shoji.co.jp", t0, t0)
	if _, err := p.ApproveVerification(t0, t0); err != nil {
		t.Fatal(err)
	}
	if enrollmentStatus(p, ProgramPartnerNetwork) != EnrollmentActive || enrollmentStatus(p, ProgramIndirectReseller) != EnrollmentPendingEmailConfirmation {
		t.Fatalf("after approval: %s, %s", enrollmentStatus(p, ProgramPartnerNetwork), enrollmentStatus(p, ProgramIndirectReseller))
	}
	p.PullEvents()
	// The agreement may come first: it is kept, the enrollment still waits.
	loc := p.Locations()[0].ID
	if changed, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AG-1", "", t0); err != nil || !changed {
		t.Fatalf("accept while waiting: %v %v", changed, err)
	}
	if e, _ := p.Enrollment(ProgramIndirectReseller); e.Status != EnrollmentPendingEmailConfirmation || e.AgreementID != "AG-1" || e.LocationID != loc {
		t.Fatalf("enrollment %+v", e)
	}
	if changed, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AG-1", "", t0); err != nil || changed {
		t.Fatalf("repeated acceptance: %v %v", changed, err)
	}
	p.PullEvents()
	if changed, err := p.ConfirmEnrollmentEmail(res.ID, "taro@test-shoji.co.jp", t0.Add(time.Hour), t0.Add(time.Hour)); err != nil || !changed {
		t.Fatalf("confirm: %v %v", changed, err)
	}
	evs := p.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	if c := evs[0].(EnrollmentStatusChanged); c.From != EnrollmentPendingEmailConfirmation || c.To != EnrollmentActive || c.Reason != ReasonEmailConfirmed {
		t.Fatalf("status change %+v", c)
	}
	if changed, _ := p.ConfirmEnrollmentEmail(res.ID, "taro@test-shoji.co.jp", t0.Add(2*time.Hour), t0.Add(2*time.Hour)); changed {
		t.Fatal("a second confirmation changes nothing")
	}
	if _, err := p.ConfirmEnrollmentEmail("EN-0000-0000-000", "x@y.jp", t0, t0); !errors.Is(err, ErrEnrollmentNotFound) {
		t.Fatalf("unknown enrollment: %v", err)
	}

	// Confirmed after the approval, without an agreement: qualified.
	q := newUnconfirmedPartner(t, network, reseller)
	q.ApproveVerification(t0, t0)
	qr, _ := q.Enrollment(ProgramIndirectReseller)
	q.ConfirmEnrollmentEmail(qr.ID, "taro@test-shoji.co.jp", t0, t0)
	if enrollmentStatus(q, ProgramIndirectReseller) != EnrollmentQualified {
		t.Fatalf("confirmed after approval: %s", enrollmentStatus(q, ProgramIndirectReseller))
	}
}

func TestSecurityRequirementsGateTransacting(t *testing.T) {
	p := approvedPartner(t)
	pct := func(v float64) *float64 { return &v }
	if p.Security().Status != SecurityUnknown {
		t.Fatalf("before any report: %+v", p.Security())
	}
	bad := SecurityReport{Status: SecurityNoncompliant, MFAEnforcedUsersPercent: pct(62.5), MFARequestsPercent: pct(80),
		MeasuredAt: t0.Add(time.Hour), ReportedBy: "identity-platform"}
	if changed, err := p.ReportSecurity(bad, t0.Add(time.Hour)); err != nil || !changed {
		t.Fatalf("report: %v %v", changed, err)
	}
	wantStanding(t, p, PartnerStatusSuspended, ReasonMFANoncompliant)
	evs := p.PullEvents()
	if sc, ok := evs[0].(SecurityStatusChanged); !ok || sc.From != SecurityUnknown || sc.To != SecurityNoncompliant || *sc.MFAEnforcedUsersPercent != 62.5 {
		t.Fatalf("events %+v", evs)
	}
	// A report measured before the applied one is stale.
	old := SecurityReport{Status: SecurityCompliant, MeasuredAt: t0, ReportedBy: "identity-platform"}
	if changed, _ := p.ReportSecurity(old, t0.Add(2*time.Hour)); changed {
		t.Fatal("stale report applied")
	}
	good := SecurityReport{Status: SecurityCompliant, MFAEnforcedUsersPercent: pct(100), MFARequestsPercent: pct(100),
		MeasuredAt: t0.Add(3 * time.Hour), ReportedBy: "identity-platform"}
	if _, err := p.ReportSecurity(good, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantStanding(t, p, PartnerStatusActive)
	if _, err := p.ReportSecurity(SecurityReport{Status: "maybe", MeasuredAt: t0}, t0); !errors.Is(err, ErrInvalidSecurityReport) {
		t.Fatalf("invalid report: %v", err)
	}
	if _, err := p.ReportSecurity(SecurityReport{Status: SecurityCompliant, MFARequestsPercent: pct(101), MeasuredAt: t0}, t0); !errors.Is(err, ErrInvalidSecurityReport) {
		t.Fatalf("share above 100: %v", err)
	}
}

func TestSnapshotKeepsStanding(t *testing.T) {
	p := approvedPartner(t)
	p.PlaceHold(Hold{Reason: ReasonComplianceHold, By: "ops", Note: "n"}, t0)
	p.ReportSecurity(SecurityReport{Status: SecurityCompliant, MeasuredAt: t0, ReportedBy: "idp"}, t0)
	q, err := RehydratePartner(p.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if q.Status() != PartnerStatusSuspended || !slices.Equal(q.Standing().Reasons(), p.Standing().Reasons()) ||
		q.Security().Status != SecurityCompliant || !q.LastActivityAt().Equal(p.LastActivityAt()) {
		t.Fatalf("rehydrated %+v", q.Snapshot())
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]Period{"18mo": {Months: 18}, "30d": {Duration: 720 * time.Hour}, "2s": {Duration: 2 * time.Second},
		"1h30m": {Duration: 90 * time.Minute}} {
		got, err := ParsePeriod(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "18 months", "-1h", "mo"} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := (Period{Months: 18}).After(time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("18 months after 2025-01-31: %s", got)
	}
}
