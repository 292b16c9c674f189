package app

import (
	"context"
	"github.com/partnerhub/onboarding/pkg/ids"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

func adminOf(id domain.PartnerID) auth.Principal {
	return auth.Principal{Kind: auth.KindUser, Subject: "admin-" + string(id), PartnerID: string(id), Roles: []auth.Role{auth.RolePartnerAdmin}}
}

func statusOf(v PartnerView, program domain.Program) domain.EnrollmentStatus {
	for _, e := range v.Enrollments {
		if e.Program == program {
			return e.Status
		}
	}
	return ""
}

func TestApplyVerificationApproved(t *testing.T) {
	h := newHarness()
	v := h.submit(t)
	h.confirmAll(t, v)
	ctx := context.Background()
	res, err := h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: string(v.PartnerID)})
	if err != nil || !res.Changed {
		t.Fatalf("approve: %+v %v", res, err)
	}
	if res.Partner.Status != domain.PartnerStatusActive || res.Partner.Locations[0].Status != domain.LocationStatusActive ||
		statusOf(res.Partner, domain.ProgramPartnerNetwork) != domain.EnrollmentActive ||
		statusOf(res.Partner, domain.ProgramIndirectReseller) != domain.EnrollmentQualified {
		t.Fatalf("partner %+v", res.Partner)
	}
	evs := h.repo.pullOutbox()
	if len(eventsOf[domain.PartnerActivated](evs)) != 1 || len(eventsOf[domain.EnrollmentStatusChanged](evs)) != 2 {
		t.Fatalf("outbox %+v", evs)
	}
	// redelivery
	res, err = h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: string(v.PartnerID)})
	if err != nil || res.Changed || len(h.repo.pullOutbox()) != 0 {
		t.Fatalf("repeat approval must be a silent no-op: %+v %v", res, err)
	}
	// stored, not only returned
	got, _ := h.app.GetPartner(ctx, operator, string(v.PartnerID))
	if got.Status != domain.PartnerStatusActive {
		t.Fatalf("stored status %s", got.Status)
	}
	_, err = h.app.ApplyVerificationRejected(ctx, verifier, VerificationRejected{PartnerID: string(v.PartnerID), Reason: "late"})
	wantAppErr(t, err, apperr.KindConflict, CodeVerificationDecided)
}

func TestLifecycleRefusals(t *testing.T) {
	ctx := context.Background()
	unknown, _ := ids.Format(ids.Partner, "ZZZZZZZZZZ")
	tests := []struct {
		name string
		call func(h *harness, v RegistrationView) error
		kind apperr.Kind
		code string
	}{
		{"approve: partner admin may not", func(h *harness, v RegistrationView) error {
			_, err := h.app.ApplyVerificationApproved(ctx, adminOf(v.PartnerID), VerificationApproved{PartnerID: string(v.PartnerID)})
			return err
		}, apperr.KindForbidden, "auth.role_required"},
		{"approve: unknown partner", func(h *harness, _ RegistrationView) error {
			_, err := h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: unknown})
			return err
		}, apperr.KindNotFound, CodePartnerNotFound},
		{"approve: malformed id", func(h *harness, _ RegistrationView) error {
			_, err := h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: "PG-nonsense"})
			return err
		}, apperr.KindInvalid, CodeInvalidID},
		{"approve: location id as partner id", func(h *harness, v RegistrationView) error {
			_, err := h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: string(v.LocationID)})
			return err
		}, apperr.KindInvalid, CodeIDKindMismatch},
		{"reject: reason required", func(h *harness, v RegistrationView) error {
			_, err := h.app.ApplyVerificationRejected(ctx, verifier, VerificationRejected{PartnerID: string(v.PartnerID)})
			return err
		}, apperr.KindInvalid, CodeInvalidInput},
		{"agreement before approval", func(h *harness, v RegistrationView) error {
			_, err := h.app.ApplyAgreementAccepted(ctx, operator, AgreementAccepted{PartnerID: string(v.PartnerID), Program: "indirect_reseller", LocationID: string(v.LocationID)})
			return err
		}, apperr.KindConflict, CodeNotYetApproved},
		{"agreement after rejection", func(h *harness, v RegistrationView) error {
			h.app.ApplyVerificationRejected(ctx, verifier, VerificationRejected{string(v.PartnerID), "company_check_failed"})
			h.repo.pullOutbox()
			_, err := h.app.ApplyAgreementAccepted(ctx, operator, AgreementAccepted{PartnerID: string(v.PartnerID), Program: "indirect_reseller"})
			return err
		}, apperr.KindConflict, CodeIllegalTransition},
		{"agreement for unknown program", func(h *harness, v RegistrationView) error {
			_, err := h.app.ApplyAgreementAccepted(ctx, operator, AgreementAccepted{PartnerID: string(v.PartnerID), Program: "direct"})
			return err
		}, apperr.KindInvalid, CodeInvalidInput},
		{"agreement for a program not enrolled", func(h *harness, v RegistrationView) error {
			h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: string(v.PartnerID)})
			h.repo.pullOutbox()
			_, err := h.app.ApplyAgreementAccepted(ctx, operator, AgreementAccepted{PartnerID: string(v.PartnerID), Program: "indirect_provider"})
			return err
		}, apperr.KindConflict, CodeNotEnrolled},
		{"reseller agreement without location", func(h *harness, v RegistrationView) error {
			h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: string(v.PartnerID)})
			h.repo.pullOutbox()
			_, err := h.app.ApplyAgreementAccepted(ctx, operator, AgreementAccepted{PartnerID: string(v.PartnerID), Program: "indirect_reseller"})
			return err
		}, apperr.KindInvalid, CodeLocationRequired},
		{"agreement: verifier may not", func(h *harness, v RegistrationView) error {
			_, err := h.app.ApplyAgreementAccepted(ctx, verifier, AgreementAccepted{PartnerID: string(v.PartnerID), Program: "indirect_reseller"})
			return err
		}, apperr.KindForbidden, "auth.role_required"},
		{"link: pending location", func(h *harness, v RegistrationView) error {
			_, err := h.app.LinkLocationToEnrollment(ctx, adminOf(v.PartnerID), LinkLocationCmd{PartnerID: string(v.PartnerID), LocationID: string(v.LocationID)})
			return err
		}, apperr.KindConflict, CodeLocationNotActive},
		{"link: another partner's admin sees nothing", func(h *harness, v RegistrationView) error {
			other, _ := ids.Format(ids.Partner, "YYYYYYYYYY")
			_, err := h.app.LinkLocationToEnrollment(ctx, adminOf(domain.PartnerID(other)), LinkLocationCmd{PartnerID: string(v.PartnerID), LocationID: string(v.LocationID)})
			return err
		}, apperr.KindNotFound, CodePartnerNotFound},
		{"link: global id as location id", func(h *harness, v RegistrationView) error {
			_, err := h.app.LinkLocationToEnrollment(ctx, operator, LinkLocationCmd{PartnerID: string(v.PartnerID), LocationID: string(v.PartnerID)})
			return err
		}, apperr.KindInvalid, CodeIDKindMismatch},
		{"link: partner network", func(h *harness, v RegistrationView) error {
			_, err := h.app.LinkLocationToEnrollment(ctx, operator, LinkLocationCmd{PartnerID: string(v.PartnerID), Program: "partner_network", LocationID: string(v.LocationID)})
			return err
		}, apperr.KindInvalid, CodeProgramTakesNoLocation},
		{"link: unknown location", func(h *harness, v RegistrationView) error {
			loc, _ := ids.Format(ids.Location, "ZZZZZZZZZZ")
			_, err := h.app.LinkLocationToEnrollment(ctx, operator, LinkLocationCmd{PartnerID: string(v.PartnerID), LocationID: loc})
			return err
		}, apperr.KindNotFound, CodeLocationNotFound},
		{"market change", func(h *harness, v RegistrationView) error {
			_, err := h.app.ChangeMarket(ctx, upstream, ChangeMarketCmd{PartnerID: string(v.PartnerID), Market: "US"})
			return err
		}, apperr.KindConflict, CodeMarketImmutable},
		{"market change to an invalid country", func(h *harness, v RegistrationView) error {
			_, err := h.app.ChangeMarket(ctx, upstream, ChangeMarketCmd{PartnerID: string(v.PartnerID), Market: "XX"})
			return err
		}, apperr.KindInvalid, CodeInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			v := h.submit(t)
			before := h.repo.partners[v.PartnerID]
			wantAppErr(t, tt.call(h, v), tt.kind, tt.code)
			if len(h.repo.pullOutbox()) != 0 {
				t.Error("a refused change emits nothing")
			}
			if tt.name == "market change" && h.repo.partners[v.PartnerID].Market != before.Market {
				t.Error("market changed")
			}
		})
	}
}

func TestResellerLifecycleToActive(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	h.confirmAll(t, v)
	id := string(v.PartnerID)
	if _, err := h.app.ApplyVerificationApproved(ctx, verifier, VerificationApproved{PartnerID: id}); err != nil {
		t.Fatal(err)
	}
	h.repo.pullOutbox()
	res, err := h.app.LinkLocationToEnrollment(ctx, adminOf(v.PartnerID), LinkLocationCmd{PartnerID: id, LocationID: string(v.LocationID)})
	if err != nil || !res.Changed {
		t.Fatalf("link: %+v %v", res, err)
	}
	if l := eventsOf[domain.EnrollmentLocationLinked](h.repo.pullOutbox()); len(l) != 1 || l[0].LocationID != v.LocationID {
		t.Fatalf("link events %+v", l)
	}
	res, err = h.app.ApplyAgreementAccepted(ctx, operator, AgreementAccepted{PartnerID: id, Program: "indirect_reseller", AgreementID: "PA-RESELLER-2026"})
	if err != nil || !res.Changed || statusOf(res.Partner, domain.ProgramIndirectReseller) != domain.EnrollmentActive {
		t.Fatalf("accept: %+v %v", res, err)
	}
	ch := eventsOf[domain.EnrollmentStatusChanged](h.repo.pullOutbox())
	if len(ch) != 1 || ch[0].From != domain.EnrollmentQualified || ch[0].To != domain.EnrollmentActive ||
		ch[0].LocationID != v.LocationID || ch[0].AgreementID != "PA-RESELLER-2026" {
		t.Fatalf("status events %+v", ch)
	}
	res, err = h.app.ApplyAgreementAccepted(ctx, operator, AgreementAccepted{PartnerID: id, Program: "indirect_reseller", LocationID: string(v.LocationID)})
	if err != nil || res.Changed || len(h.repo.pullOutbox()) != 0 {
		t.Fatalf("repeat must be a no-op: %+v %v", res, err)
	}
	res, err = h.app.ChangeMarket(ctx, adminOf(v.PartnerID), ChangeMarketCmd{PartnerID: id, Market: "jp"})
	if err != nil || res.Changed {
		t.Fatalf("same market must be a no-op: %+v %v", res, err)
	}
}

func TestApplyVerificationRejectedKeepsReason(t *testing.T) {
	h := newHarness()
	v := h.submit(t)
	res, err := h.app.ApplyVerificationRejected(context.Background(), operator, VerificationRejected{PartnerID: string(v.PartnerID), Reason: "employment_check_failed"})
	if err != nil || !res.Changed || res.Partner.Status != domain.PartnerStatusRejected || res.Partner.RejectionReason != "employment_check_failed" {
		t.Fatalf("reject: %+v %v", res, err)
	}
	for _, e := range res.Partner.Enrollments {
		if e.Status != domain.EnrollmentRejected || e.RejectionReason != "employment_check_failed" {
			t.Errorf("enrollment %+v", e)
		}
	}
	evs := h.repo.pullOutbox()
	if r := eventsOf[domain.PartnerRejected](evs); len(r) != 1 || r[0].Reason != "employment_check_failed" {
		t.Fatalf("events %+v", evs)
	}
}

func TestGetRegistrationAndPartner(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id := string(v.PartnerID)
	other, _ := ids.Format(ids.Partner, "YYYYYYYYYY")
	user := auth.Principal{Subject: "u1", PartnerID: id, Roles: []auth.Role{auth.RolePartnerUser}}
	stranger := auth.Principal{Subject: "u2", PartnerID: other, Roles: []auth.Role{auth.RolePartnerAdmin}}

	for _, p := range []auth.Principal{user, operator, verifier, upstream} {
		r, err := h.app.GetRegistration(ctx, p, id)
		if err != nil || r.PartnerID != v.PartnerID || r.Submitted.Company.LegalName != "（株）テスト商事" || r.Normalized.Contact.EmailDomain != "test-shoji.co.jp" {
			t.Errorf("%s: %+v %v", p.Subject, r.PartnerView, err)
		}
		pv, err := h.app.GetPartner(ctx, p, id)
		if err != nil || pv.PartnerID != v.PartnerID || pv.LegalName != "株式会社テスト商事" {
			t.Errorf("%s: %+v %v", p.Subject, pv, err)
		}
	}
	// another partner's user gets exactly what a missing partner gives
	_, errStranger := h.app.GetPartner(ctx, stranger, id)
	wantAppErr(t, errStranger, apperr.KindNotFound, CodePartnerNotFound)
	_, errMissing := h.app.GetPartner(ctx, operator, other)
	wantAppErr(t, errMissing, apperr.KindNotFound, CodePartnerNotFound)
	_, err := h.app.GetRegistration(ctx, auth.Principal{}, id)
	if apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Errorf("anonymous: %v", err)
	}
}
