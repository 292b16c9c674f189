package auth

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

func TestMFAPolicy(t *testing.T) {
	admin := Principal{Subject: "u1", PartnerID: "PG-1", Roles: []Role{RolePartnerAdmin}, AMR: []string{"pwd"}}
	withMFA := admin
	withMFA.AMR = []string{"pwd", "mfa"}
	on, off := MFAPolicy{Required: true}, MFAPolicy{}
	if err := on.Require(withMFA, "accept_agreement"); err != nil {
		t.Fatalf("mfa token refused: %v", err)
	}
	if err := off.Require(admin, "accept_agreement"); err != nil {
		t.Fatalf("policy off, refused: %v", err)
	}
	err := on.Require(admin, "accept_agreement")
	ae, ok := apperr.As(err)
	if !ok || ae.Code != CodeMFARequired || ae.Kind != apperr.KindForbidden || ae.Details["action"] != "accept_agreement" {
		t.Fatalf("password-only token: %v", err)
	}
}
