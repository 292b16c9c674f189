package app

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// approved opens a case, lets verifier approve it and returns its id.
func (h *harness) approved(t *testing.T) string {
	t.Helper()
	res := h.open(t, nil)
	if _, err := h.app.MarkEmailOwnershipConfirmed(ctx, MarkEmailOwnershipConfirmedCommand{PartnerID: "p-1", EnrollmentID: "enr-pn",
		Email: "taro@sample.co.jp", ConfirmedAt: t0}); err != nil {
		t.Fatal(err)
	}
	task := h.companyTaskID(t)
	if _, err := h.app.ClaimTask(ctx, verifier, ClaimTaskCommand{TaskID: task}); err != nil {
		t.Fatal(err)
	}
	if d, err := h.app.Decide(ctx, verifier, DecideCommand{DecisionID: "dec-1", TaskID: task, Outcome: domain.OutcomeApprove}); err != nil || d.CaseStatus != domain.CaseApproved {
		t.Fatalf("%+v %v", d, err)
	}
	h.repo.drain()
	return res.CaseID
}

func TestRevokeAuthorization(t *testing.T) {
	operator := auth.Principal{Kind: auth.KindUser, Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}}
	ownVerifier := auth.Principal{Kind: auth.KindUser, Subject: "v-own", PartnerID: "p-1", Roles: []auth.Role{auth.RoleVerifier}}
	tests := []struct {
		name string
		p    auth.Principal
		kind apperr.Kind // zero: allowed
		code string
	}{
		{"anonymous", auth.Principal{}, apperr.KindUnauthenticated, "auth.unauthenticated"},
		{"partner admin", owner, apperr.KindForbidden, "auth.role_required"},
		{"upstream system", upstream, apperr.KindForbidden, "auth.role_required"},
		{"verifier of the partner itself", ownVerifier, apperr.KindForbidden, "verification.own_partner"},
		{"the approving verifier", verifier, apperr.KindConflict, "verification.four_eyes_required"},
		{"another verifier", second, 0, ""},
		{"operator", operator, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			caseID := h.approved(t)
			res, err := h.app.Revoke(ctx, tt.p, RevokeCommand{CaseID: caseID, DecisionID: "rev-1", Reason: "forged register extract"})
			evs := h.repo.drain()
			if tt.code != "" {
				wantCode(t, err, tt.kind, tt.code)
				if len(evs) != 0 {
					t.Fatalf("a refused revocation recorded %v", eventNames(evs))
				}
				return
			}
			if err != nil || res.Replayed || res.Case.Status != domain.CaseRevoked || res.Revocation.RevokedBy != tt.p.Subject ||
				res.Revocation.RevokedApprovalID != "dec-1" {
				t.Fatalf("%+v %v", res, err)
			}
			if countEvents(evs, "verification.case.revoked") != 1 || len(evs) != 1 {
				t.Fatalf("events %v", eventNames(evs))
			}
			again, err := h.app.Revoke(ctx, tt.p, RevokeCommand{CaseID: caseID, DecisionID: "rev-1", Reason: "forged register extract"})
			if err != nil || !again.Replayed || len(h.repo.drain()) != 0 {
				t.Fatalf("replay: %+v %v", again, err)
			}
		})
	}
}

func TestRevokeFaults(t *testing.T) {
	h := newHarness(t)
	pending := h.open(t, nil).CaseID
	_, err := h.app.Revoke(ctx, second, RevokeCommand{CaseID: pending, DecisionID: "rev-1", Reason: "r"})
	wantCode(t, err, apperr.KindConflict, "verification.case_not_approved")
	_, err = h.app.Revoke(ctx, second, RevokeCommand{CaseID: "vc-none", DecisionID: "rev-1", Reason: "r"})
	wantCode(t, err, apperr.KindNotFound, "verification.case_not_found")
	_, err = h.app.Revoke(ctx, second, RevokeCommand{CaseID: pending})
	wantCode(t, err, apperr.KindInvalid, "verification.invalid_revocation")
	if ae, _ := apperr.As(err); len(ae.Fields) != 2 {
		t.Fatalf("fields %+v", ae.Fields)
	}
}
