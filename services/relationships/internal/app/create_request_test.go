package app

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

func TestCreateRequestRefusals(t *testing.T) {
	tests := []struct {
		name     string
		caller   auth.Principal
		cmd      CreateRequestCommand
		wantCode string
	}{
		{"valid with defaults", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"}, ""},
		{"reseller not yet active may be invited", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-Q100-0000-007"}, ""},
		{"caller without provider_admin", resellerAdmin, CreateRequestCommand{ResellerLocationID: "PL-0100-0000-00Y"}, "auth.role_required"},
		{"provider not active", idleProvider, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"}, CodeProviderNotActive},
		{"provider unknown to the projection", auth.Principal{Subject: "z", PartnerID: "PG-ZZ00-0000-002", Roles: []auth.Role{auth.RoleProviderAdmin}}, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"}, CodeProviderNotActive},
		{"target is a global ID", providerAdmin, CreateRequestCommand{ResellerLocationID: "PG-R100-0000-006"}, CodeTargetNotLocation},
		{"target in lower case, not grouped", providerAdmin, CreateRequestCommand{ResellerLocationID: "pl-r1000000006"}, ""},
		{"target with a wrong check symbol", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-007"}, CodeInvalidPartnerID},
		{"target of another kind", providerAdmin, CreateRequestCommand{ResellerLocationID: "EN-R100-0000-006"}, CodeInvalidPartnerID},
		{"target unknown", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-N0PE-0000-00S"}, CodeResellerUnknown},
		{"markets differ", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-V100-0000-003"}, CodeMarketMismatch},
		{"target is not a reseller", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-N100-0000-009"}, CodeTargetNotReseller},
		{"self", otherAdmin, CreateRequestCommand{ResellerLocationID: "PL-0100-0000-00Y"}, CodeSelfRelationship},
		{"unknown role", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006", Roles: []string{"owner"}}, CodeInvalidTerms},
		{"duration over two years", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006", DurationDays: 731}, CodeInvalidTerms},
		{"full admin with auto-extension", providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006", Roles: []string{"full_administrator"}, DurationDays: 30, AutoExtend: true}, CodeInvalidTerms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.app.CreateRequest(e.ctx, tt.caller, tt.cmd)
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != "" {
				e.expectEvents()
			} else {
				e.expectEvents("RequestCreated")
			}
		})
	}
}

func TestCreateRequestTokenAndDefaults(t *testing.T) {
	e := newEnv(t)
	res, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(res.Token)
	if err != nil || len(raw) < 16 {
		t.Fatalf("token %q: %d bytes, %v", res.Token, len(raw), err)
	}
	if !slices.Equal(res.Roles, domain.DefaultRoles().Strings()) || slices.Contains(res.Roles, "full_administrator") {
		t.Errorf("roles = %v, want the default set", res.Roles)
	}
	if res.DurationDays != domain.DefaultDurationDays || !res.ExpiresAt.Equal(t0.Add(90*day)) {
		t.Errorf("duration %d, invitation expires %v", res.DurationDays, res.ExpiresAt)
	}
	rel, _ := e.rels.Get(e.ctx, res.RelationshipID)
	if rel.Requests[0].TokenHash != sha256.Sum256(raw) {
		t.Error("stored hash is not the SHA-256 of the token")
	}
	if strings.Contains(fmt.Sprintf("%+v", rel), res.Token) {
		t.Error("token stored in clear")
	}
	evs := e.rels.takeRaw()
	if len(evs) != 1 {
		t.Fatalf("events = %d", len(evs))
	}
	if strings.Contains(fmt.Sprintf("%+v", evs[0]), res.Token) {
		t.Error("RequestCreated carries the token in clear")
	}
	rc := evs[0].(domain.RequestCreated)
	if rc.ResellerID != "PG-R" || rc.ResellerLocationID != "PL-R100-0000-006" || rc.ProviderID != "PG-P" || rc.CreatedBy != "alice" {
		t.Errorf("RequestCreated = %+v", rc)
	}
}

func TestDuplicateRequests(t *testing.T) {
	t.Run("open request", func(t *testing.T) {
		e := newEnv(t)
		e.invite(CreateRequestCommand{})
		_, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006", Roles: []string{"billing_reader"}})
		wantCode(t, err, CodeRequestPending)
	})
	t.Run("deferred request is still open", func(t *testing.T) {
		e := newEnv(t)
		inv := e.invite(CreateRequestCommand{})
		if _, err := e.app.Defer(e.ctx, resellerAdmin, inv.Token); err != nil {
			t.Fatal(err)
		}
		_, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"})
		wantCode(t, err, CodeRequestPending)
	})
	t.Run("active relationship", func(t *testing.T) {
		e := newEnv(t)
		e.activate(CreateRequestCommand{})
		_, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"})
		wantCode(t, err, CodeRelationshipExists)
	})
	t.Run("after decline a new request is fine", func(t *testing.T) {
		e := newEnv(t)
		inv := e.invite(CreateRequestCommand{})
		if err := e.app.Decline(e.ctx, resellerAdmin, DeclineCommand{Token: inv.Token}); err != nil {
			t.Fatal(err)
		}
		_, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"})
		wantCode(t, err, "")
	})
	t.Run("past-expiry request not yet expired by the poller", func(t *testing.T) {
		e := newEnv(t)
		old := e.invite(CreateRequestCommand{})
		e.at(t0.Add(90 * day))
		if _, err := e.app.CreateRequest(e.ctx, providerAdmin, CreateRequestCommand{ResellerLocationID: "PL-R100-0000-006"}); err != nil {
			t.Fatalf("lagging timer blocked a new request: %v", err)
		}
		e.expectEvents("RequestExpired", "RequestCreated")
		rel, _ := e.rels.Get(e.ctx, old.RelationshipID)
		if rel.State != domain.StateLapsed {
			t.Errorf("old relationship state = %s", rel.State)
		}
	})
	t.Run("repository refuses a racing duplicate", func(t *testing.T) {
		e := newEnv(t)
		inv := e.invite(CreateRequestCommand{})
		rel, _ := e.rels.Get(e.ctx, inv.RelationshipID)
		rel.ID = "racer"
		wantCode(t, mapErr(e.rels.Add(e.ctx, rel)), CodeRequestPending)
	})
}
