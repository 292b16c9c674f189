package app

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/events"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// activePartner is an approved reseller whose e-mails are confirmed.
func (h *harness) activePartner(t *testing.T) RegistrationView {
	t.Helper()
	v := h.submit(t)
	h.confirmAll(t, v)
	if _, err := h.app.ApplyVerificationApproved(context.Background(), verifier, VerificationApproved{PartnerID: string(v.PartnerID)}); err != nil {
		t.Fatal(err)
	}
	h.repo.pullOutbox()
	return v
}

func kinds(v RequirementsView) []string {
	var out []string
	for _, r := range v.Requirements {
		out = append(out, r.Kind+":"+r.Reason)
	}
	return out
}

func TestStandingUseCasesWhoMay(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.activePartner(t)
	id := string(v.PartnerID)
	stranger := adminOf("PG-0000-0000-000")
	user := auth.Principal{Subject: "u", PartnerID: id, Roles: []auth.Role{auth.RolePartnerUser}}

	_, err := h.app.PlaceComplianceHold(ctx, adminOf(v.PartnerID), ComplianceHoldCmd{PartnerID: id, Note: "x"})
	wantAppErr(t, err, apperr.KindForbidden, "auth.role_required")
	_, err = h.app.PlaceComplianceHold(ctx, operator, ComplianceHoldCmd{PartnerID: id, Note: " "})
	wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	_, err = h.app.ClosePartner(ctx, user, ClosePartnerCmd{PartnerID: id, Note: "bye"})
	wantAppErr(t, err, apperr.KindForbidden, "auth.role_required")
	_, err = h.app.ClosePartner(ctx, stranger, ClosePartnerCmd{PartnerID: id, Note: "bye"})
	wantAppErr(t, err, apperr.KindNotFound, CodePartnerNotFound)
	_, err = h.app.ReactivatePartner(ctx, adminOf(v.PartnerID), id)
	wantAppErr(t, err, apperr.KindConflict, CodeNotInactive)
	_, err = h.app.ReportSecurityStatus(ctx, adminOf(v.PartnerID), SecurityReportCmd{PartnerID: id, Status: "compliant"})
	wantAppErr(t, err, apperr.KindForbidden, "auth.role_required")
	_, err = h.app.ReportSecurityStatus(ctx, upstream, SecurityReportCmd{PartnerID: id, Status: "sometimes"})
	wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	_, err = h.app.GetSecurityStatus(ctx, stranger, id)
	wantAppErr(t, err, apperr.KindNotFound, CodePartnerNotFound)
	_, err = h.app.EnrollmentRequirements(ctx, user, id, "indirect_provider")
	wantAppErr(t, err, apperr.KindNotFound, CodeEnrollmentNotFound)

	// The partner's own administrator closes it: closed_by_partner.
	res, err := h.app.ClosePartner(ctx, adminOf(v.PartnerID), ClosePartnerCmd{PartnerID: id, Note: "we stop reselling"})
	if err != nil || !res.Changed || res.Partner.Status != domain.PartnerStatusClosed ||
		!slices.Equal(res.Partner.Standing.Reasons, []domain.StandingReason{domain.ReasonClosedByPartner}) {
		t.Fatalf("close: %+v %v", res, err)
	}
	_, err = h.app.PlaceComplianceHold(ctx, operator, ComplianceHoldCmd{PartnerID: id, Note: "x"})
	wantAppErr(t, err, apperr.KindConflict, CodePartnerClosed)
	p := h.submit2(t)
	_, err = h.app.ClosePartner(ctx, operator, ClosePartnerCmd{PartnerID: string(p.PartnerID), Note: "spam"})
	wantAppErr(t, err, apperr.KindConflict, CodeNotYetApproved)
}

// submit2 registers a second company (another identity).
func (h *harness) submit2(t *testing.T) RegistrationView {
	t.Helper()
	in := input()
	in.Company.LegalName = "株式会社ほかの会社"
	in.Company.RegistrationNumber = nil
	in.Company.Address.Line1 = "芝浦3-4-1"
	v, err := h.app.SubmitRegistration(context.Background(), upstream, in)
	if err != nil {
		t.Fatal(err)
	}
	h.repo.pullOutbox()
	return v
}

func TestRequirementsView(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id := string(v.PartnerID)
	admin := adminOf(v.PartnerID)

	// Pending: the e-mails, the review and the agreement.
	got, err := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"email_confirmation:", "verification_review:", "agreement:"}; !slices.Equal(kinds(got), want) || got.CanTransact {
		t.Fatalf("pending: %v", kinds(got))
	}
	// Verification asks for documents, with a deadline.
	due := t0.Add(10 * 24 * time.Hour)
	if err := h.app.ApplyDocumentsRequested(ctx, verifier, DocumentsDue{PartnerID: v.PartnerID, Check: "employment", Reason: "email_domain_unverified",
		AcceptedDocuments: []string{"domain_invoice"}, DueAt: due, DomainProof: &DomainProof{Domain: "test-shoji.co.jp",
			DNSTXTName: "_partnerhub-verification.test-shoji.co.jp", DNSTXTValue: "partnerhub-verification=abc", HTTPURL: "https://test-shoji.co.jp/.well-known/partnerhub-verification.txt",
			HTTPBody: "partnerhub-verification=abc"}}); err != nil {
		t.Fatal(err)
	}
	got, _ = h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	docs := got.Requirements[1]
	if docs.Kind != RequirementDocuments || !docs.DueAt.Equal(due) || docs.Party != PartyPartner || len(docs.Cures) != 2 || docs.Cures[1].Action != "prove_domain" {
		t.Fatalf("documents requirement %+v", docs)
	}
	if err := h.app.ApplyDocumentsSatisfied(ctx, verifier, id, "employment"); err != nil {
		t.Fatal(err)
	}
	h.confirmAll(t, v)
	h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: id})
	got, _ = h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if want := []string{"agreement:"}; !slices.Equal(kinds(got), want) || got.EnrollmentStatus != domain.EnrollmentQualified {
		t.Fatalf("qualified: %v %s", kinds(got), got.EnrollmentStatus)
	}
	if _, err := h.app.ApplyAgreementAccepted(ctx, operator, AgreementAccepted{PartnerID: id, Program: "indirect_reseller",
		LocationID: string(v.LocationID), AgreementID: "AC-1"}); err != nil {
		t.Fatal(err)
	}
	got, _ = h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if len(got.Requirements) != 0 || !got.CanTransact {
		t.Fatalf("active: %+v", got)
	}
	// Standing reasons are requirements too, each with its cure.
	h.app.PlaceComplianceHold(ctx, operator, ComplianceHoldCmd{PartnerID: id, Note: "screening"})
	h.app.ReportSecurityStatus(ctx, upstream, SecurityReportCmd{PartnerID: id, Status: "noncompliant", MeasuredAt: &t0})
	got, _ = h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if want := []string{"standing:compliance_hold", "security_requirements:mfa_noncompliant"}; !slices.Equal(kinds(got), want) || got.CanTransact ||
		got.PartnerStatus != domain.PartnerStatusSuspended || got.Requirements[0].Party != PartyOperator {
		t.Fatalf("held: %v", kinds(got))
	}
	sec, err := h.app.GetSecurityStatus(ctx, admin, id)
	if err != nil || sec.Status != domain.SecurityNoncompliant || !sec.Gating || sec.ReportedBy != "signup-portal" {
		t.Fatalf("security view %+v %v", sec, err)
	}
}

func TestResellerEmailGateInTheView(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id := string(v.PartnerID)
	// Only the network enrollment's mail was opened.
	h.app.ApplyEmailConfirmed(ctx, operator, EmailConfirmed{PartnerID: id, EnrollmentID: string(v.Enrollments[0].ID), Address: "a@test-shoji.co.jp"})
	h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: id})
	got, _ := h.app.EnrollmentRequirements(ctx, adminOf(v.PartnerID), id, "indirect_reseller")
	if got.EnrollmentStatus != domain.EnrollmentPendingEmailConfirmation || kinds(got)[0] != "email_confirmation:" {
		t.Fatalf("reseller view: %s %v", got.EnrollmentStatus, kinds(got))
	}
	net, _ := h.app.EnrollmentRequirements(ctx, adminOf(v.PartnerID), id, "partner_network")
	if !net.CanTransact {
		t.Fatalf("network view: %+v", net)
	}
}

func TestMarkInactivePartnersAndReactivation(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	h.app.Standing = StandingPolicy{InactivityPeriod: domain.Period{Months: 18}, ReactivationReviewAfter: domain.Period{Months: 6}, Batch: 10}
	v := h.activePartner(t)
	id := string(v.PartnerID)
	next, err := h.app.MarkInactivePartners(ctx, t0)
	if err != nil || !next.Equal(domain.Period{Months: 18}.After(t0.Truncate(time.Microsecond))) {
		t.Fatalf("next due %s %v", next, err)
	}
	// A partner user's request is activity.
	h.clock.t = t0.Add(30 * 24 * time.Hour)
	if err := h.app.RecordActivity(ctx, adminOf(v.PartnerID)); err != nil {
		t.Fatal(err)
	}
	h.clock.t = domain.Period{Months: 18}.After(t0)
	h.app.MarkInactivePartners(ctx, h.clock.t)
	if p, _ := h.app.GetPartner(ctx, operator, id); p.Status != domain.PartnerStatusActive {
		t.Fatalf("recently active partner became %s", p.Status)
	}
	h.clock.t = domain.Period{Months: 18}.After(t0.Add(30 * 24 * time.Hour))
	if _, err := h.app.MarkInactivePartners(ctx, h.clock.t); err != nil {
		t.Fatal(err)
	}
	p, _ := h.app.GetPartner(ctx, operator, id)
	if p.Status != domain.PartnerStatusInactive {
		t.Fatalf("idle partner is %s", p.Status)
	}
	if st := eventsOf[domain.PartnerStandingChanged](h.repo.pullOutbox()); len(st) != 1 || st[0].To != domain.PartnerStatusInactive {
		t.Fatalf("events %+v", st)
	}
	h.clock.t = h.clock.t.Add(24 * time.Hour)
	res, err := h.app.ReactivatePartner(ctx, adminOf(v.PartnerID), id)
	if err != nil || res.ReviewRequired || res.Partner.Status != domain.PartnerStatusActive {
		t.Fatalf("reactivate: %+v %v", res, err)
	}
}

// Staff notes on a partner's standing — an operator's on a compliance hold
// or a closure, the revoking verifier's reason — are read by staff only:
// the partner's users and the upstream system that registered it read the
// reasons, who placed them and since when, in the partner view, the answer
// to their own change and the requirements view, without the words.
func TestStaffNotesAreReadByStaffOnly(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.activePartner(t)
	id := string(v.PartnerID)
	const holdNote, revocationReason, closureNote = "sanctions screening hit", "the register extract was forged", "fraud confirmed"
	if _, err := h.app.PlaceComplianceHold(ctx, operator, ComplianceHoldCmd{PartnerID: id, Note: holdNote}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.ApplyVerificationRevoked(ctx, verifier, VerificationRevoked{PartnerID: id, CaseID: "vc-1", DecisionID: "rv-1", Reason: revocationReason, RevokedAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	notes := func(p auth.Principal) (holds []string, descriptions []string) {
		t.Helper()
		pv, err := h.app.GetPartner(ctx, p, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, hd := range pv.Standing.Holds {
			holds = append(holds, string(hd.Reason)+"="+hd.Note)
			if hd.By == "" || hd.Since.IsZero() {
				t.Fatalf("hold %+v lost who or since", hd)
			}
		}
		rv, err := h.app.EnrollmentRequirements(ctx, p, id, "indirect_reseller")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rv.Requirements {
			descriptions = append(descriptions, r.Description)
		}
		return holds, descriptions
	}
	user := auth.Principal{Subject: "u", PartnerID: id, Roles: []auth.Role{auth.RolePartnerUser}}
	for _, p := range []auth.Principal{operator, verifier} {
		holds, descs := notes(p)
		if !slices.Equal(holds, []string{"compliance_hold=" + holdNote, "verification_revoked=" + revocationReason}) {
			t.Fatalf("%s reads holds %q", p.Subject, holds)
		}
		if all := strings.Join(descs, "|"); !strings.Contains(all, holdNote) || !strings.Contains(all, revocationReason) {
			t.Fatalf("%s reads requirements %q", p.Subject, descs)
		}
	}
	for _, p := range []auth.Principal{adminOf(v.PartnerID), user, upstream} {
		holds, descs := notes(p)
		if !slices.Equal(holds, []string{"compliance_hold=", "verification_revoked="}) {
			t.Fatalf("%s reads holds %q", p.Subject, holds)
		}
		if all := strings.Join(descs, "|"); strings.Contains(all, holdNote) || strings.Contains(all, revocationReason) ||
			!strings.Contains(all, "an operator placed a compliance hold") || !strings.Contains(all, "verification withdrew its approval;") {
			t.Fatalf("%s reads requirements %q", p.Subject, descs)
		}
	}
	// The answer to the partner's own change is its view too.
	res, err := h.app.ClosePartner(ctx, adminOf(v.PartnerID), ClosePartnerCmd{PartnerID: id, Note: "we stop reselling"})
	if err != nil {
		t.Fatal(err)
	}
	for _, hd := range res.Partner.Standing.Holds {
		if hd.Note != "" {
			t.Fatalf("the closing administrator reads hold %+v", hd)
		}
	}
	if c := res.Partner.Standing.Closure; c == nil || c.Note != "we stop reselling" {
		t.Fatalf("the partner's own closure note: %+v", c)
	}
	// An operator's closure note is staff's.
	other := h.submit2(t)
	h.confirmAll(t, other)
	if _, err := h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: string(other.PartnerID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.ClosePartner(ctx, operator, ClosePartnerCmd{PartnerID: string(other.PartnerID), Note: closureNote}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    auth.Principal
		want string
	}{{operator, closureNote}, {adminOf(other.PartnerID), ""}} {
		pv, err := h.app.GetPartner(ctx, c.p, string(other.PartnerID))
		if err != nil || pv.Standing.Closure == nil || pv.Standing.Closure.Note != c.want ||
			pv.Standing.Closure.Reason != domain.ReasonClosedByOperator {
			t.Fatalf("%s reads closure %+v (%v), want note %q", c.p.Subject, pv.Standing.Closure, err, c.want)
		}
	}
}

// The subjects of whoever acted on a partner are read by staff; the
// partner's side reads our services', the upstream system's that
// registered the partner and its own, not an operator's: who placed a
// compliance hold, closed the partner, requested a profile change or
// reported its security status reads "[redacted]" when an operator did.
func TestStaffSubjectsAreReadByStaffOnly(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.activePartner(t)
	id := string(v.PartnerID)
	if _, err := h.app.PlaceComplianceHold(ctx, operator, ComplianceHoldCmd{PartnerID: id, Note: "check"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.ReportSecurityStatus(ctx, operator, SecurityReportCmd{PartnerID: id, Status: "compliant"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.RequestProfileChange(ctx, operator, RequestProfileChangeCmd{PartnerID: id,
		Change: domain.ProfileChangeInput{Website: ptr("https://www.example-renamed.co.jp")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.ClosePartner(ctx, operator, ClosePartnerCmd{PartnerID: id, Note: "fraud"}); err != nil {
		t.Fatal(err)
	}
	// subjects is who p reads as having held, reported, requested, closed.
	subjects := func(p auth.Principal) string {
		t.Helper()
		pv, err := h.app.GetPartner(ctx, p, id)
		if err != nil {
			t.Fatal(err)
		}
		sv, err := h.app.GetSecurityStatus(ctx, p, id)
		if err != nil {
			t.Fatal(err)
		}
		prof, err := h.app.GetProfile(ctx, p, id)
		if err != nil || prof.Change == nil || pv.Standing.Closure == nil || len(pv.Standing.Holds) == 0 {
			t.Fatalf("%s reads %+v, %+v (%v)", p.Subject, pv.Standing, prof.Change, err)
		}
		return pv.Standing.Holds[0].By + " " + sv.ReportedBy + " " + prof.Change.RequestedBy + " " + pv.Standing.Closure.By
	}
	if got := subjects(operator); got != "op-1 op-1 op-1 op-1" {
		t.Errorf("an operator reads %q", got)
	}
	r := events.Redacted
	for _, p := range []auth.Principal{adminOf(v.PartnerID), upstream, {Subject: "u", PartnerID: id, Roles: []auth.Role{auth.RolePartnerUser}}} {
		if got, want := subjects(p), r+" "+r+" "+r+" "+r; got != want {
			t.Errorf("%s reads %q, want %q", p.Subject, got, want)
		}
	}

	// The upstream system's own report, and the partner's administrator's own
	// profile change, read as theirs.
	other := h.submit2(t)
	h.confirmAll(t, other)
	oid := string(other.PartnerID)
	if _, err := h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: oid}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.ReportSecurityStatus(ctx, upstream, SecurityReportCmd{PartnerID: oid, Status: "compliant"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.RequestProfileChange(ctx, adminOf(other.PartnerID), RequestProfileChangeCmd{PartnerID: oid,
		Change: domain.ProfileChangeInput{Website: ptr("https://www.example-other.co.jp")}}); err != nil {
		t.Fatal(err)
	}
	sv, err := h.app.GetSecurityStatus(ctx, adminOf(other.PartnerID), oid)
	if err != nil || sv.ReportedBy != upstream.Subject {
		t.Errorf("the administrator reads the registrant's report by %q (%v)", sv.ReportedBy, err)
	}
	prof, err := h.app.GetProfile(ctx, adminOf(other.PartnerID), oid)
	if err != nil || prof.Change == nil || prof.Change.RequestedBy != adminOf(other.PartnerID).Subject {
		t.Errorf("the administrator reads its own change as requested by %+v (%v)", prof.Change, err)
	}
	// A closure by the partner's own administrator names it to the
	// partner's other users (the reason says who closed).
	if _, err := h.app.ClosePartner(ctx, adminOf(other.PartnerID), ClosePartnerCmd{PartnerID: oid, Note: "we stop"}); err != nil {
		t.Fatal(err)
	}
	pv, err := h.app.GetPartner(ctx, auth.Principal{Subject: "u2", PartnerID: oid, Roles: []auth.Role{auth.RolePartnerUser}}, oid)
	if err != nil || pv.Standing.Closure == nil || pv.Standing.Closure.By != adminOf(other.PartnerID).Subject {
		t.Errorf("a user of the partner reads its administrator's closure as %+v (%v)", pv.Standing.Closure, err)
	}
}
