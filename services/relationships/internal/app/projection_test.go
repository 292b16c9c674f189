package app

import (
	"errors"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

var errBoom = errors.New("boom")

func TestReplayedProjectionEvents(t *testing.T) {
	e := newEnv(t)
	if e.register("PG-P", "JP", t0.Add(-48*time.Hour)) {
		t.Error("replayed registration reported a change")
	}
	if e.enroll("PG-P", domain.ProgramIndirectProvider, domain.EnrollmentActive, t0.Add(-24*time.Hour)) {
		t.Error("replayed enrollment reported a change")
	}
	// A stale "qualified" delivered late must not undo the activation.
	if e.enroll("PG-P", domain.ProgramIndirectProvider, domain.EnrollmentQualified, t0.Add(-36*time.Hour)) {
		t.Error("stale enrollment fact applied")
	}
	if _, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"}); err != nil {
		t.Fatalf("provider no longer active after replays: %v", err)
	}
}

func TestEnrollmentBeforeRegistration(t *testing.T) {
	e := newEnv(t)
	e.enroll("PG-NEW0-0000-00K", domain.ProgramIndirectReseller, domain.EnrollmentActive, t0)
	_, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-NEW1-0000-00H"})
	wantCode(t, err, CodeResellerUnknown)
	e.register("PG-NEW0-0000-00K", "JP", t0, "PL-NEW1-0000-00H")
	if _, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-NEW1-0000-00H"}); err != nil {
		t.Fatalf("partner complete after both facts, still refused: %v", err)
	}
}

func TestProjectionInputs(t *testing.T) {
	e := newEnv(t)
	user := auth.Principal{Kind: auth.KindUser, Subject: "u", PartnerID: "PG-R", Roles: []auth.Role{auth.RolePartnerAdmin}}
	_, err := e.app.ApplyPartnerRegistered(e.ctx, user, PartnerRegistered{PartnerID: "PG-R", Market: "JP", LegalName: "x", OccurredAt: t0})
	wantCode(t, err, "auth.role_required")
	_, err = e.app.ApplyEnrollmentStatusChanged(e.ctx, auth.Principal{}, EnrollmentStatusChanged{PartnerID: "PG-R"})
	wantCode(t, err, "auth.unauthenticated")

	_, err = e.app.ApplyPartnerRegistered(e.ctx, bus, PartnerRegistered{PartnerID: "PG-R", Market: "US", LegalName: "x", OccurredAt: t0})
	wantCode(t, err, CodeMarketChanged)
	_, err = e.app.ApplyPartnerRegistered(e.ctx, bus, PartnerRegistered{PartnerID: "PL-R100-0000-006", Market: "JP", LegalName: "x", OccurredAt: t0})
	wantCode(t, err, CodeInvalidEvent)
	_, err = e.app.ApplyEnrollmentStatusChanged(e.ctx, bus, EnrollmentStatusChanged{PartnerID: "PG-R", Program: "indirect_reseller", Status: "", OccurredAt: t0})
	wantCode(t, err, CodeInvalidEvent)

	changed, err := e.app.ApplyEnrollmentStatusChanged(e.ctx, bus, EnrollmentStatusChanged{PartnerID: "PG-R", Program: "partner_network", Status: "active", OccurredAt: t0})
	if err != nil || changed {
		t.Errorf("untracked program: changed=%v err=%v", changed, err)
	}
	// A status this service does not know is kept, and is not "active".
	if !e.enroll("PG-R", domain.ProgramIndirectReseller, "suspended", t0) {
		t.Fatal("new status not applied")
	}
	inv := e.invite(CreateRequestCommand{})
	_, err = e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token, Consent: true})
	wantCode(t, err, CodeResellerNotActive)
}
