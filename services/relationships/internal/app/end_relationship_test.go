package app

import (
	"sync"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

func TestEndRelationship(t *testing.T) {
	tests := []struct {
		name     string
		caller   auth.Principal
		reason   string
		wantCode string
		wantSide domain.Side
	}{
		{"reseller admin", resellerAdmin, "we changed distributor", "", domain.SideReseller},
		{"provider admin", providerAdmin, "reseller stopped paying", "", domain.SideProvider},
		{"reason required", providerAdmin, " ", CodeInvalidReason, ""},
		{"a stranger learns nothing", otherAdmin, "x", CodeRelationshipNotFound, ""},
		{"operator is no party", operator, "x", "auth.role_required", ""},
		{"reseller user lacks the role", resellerUser, "x", "auth.role_required", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			inv, _ := e.activate(CreateRequestCommand{})
			res, err := e.app.EndRelationship(e.ctx, tt.caller, EndRelationshipCommand{RelationshipID: inv.RelationshipID, Reason: tt.reason})
			wantCode(t, err, tt.wantCode)
			if err != nil {
				e.expectEvents()
				return
			}
			if res.EndedBy != tt.wantSide || res.AlreadyEnded || res.Reason != tt.reason {
				t.Errorf("result = %+v", res)
			}
			e.expectEvents("RelationshipEnded", "AccessTerminated")
			rel, _ := e.rels.Get(e.ctx, inv.RelationshipID)
			if rel.Grant.State != domain.GrantTerminated {
				t.Errorf("grant state = %s", rel.Grant.State)
			}
		})
	}
}

func TestBothSidesEndAtOnce(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.activate(CreateRequestCommand{})
	callers := []auth.Principal{resellerAdmin, providerAdmin, resellerAdmin, providerAdmin}
	results := make([]EndRelationshipResult, len(callers))
	errs := make([]error, len(callers))
	var wg sync.WaitGroup
	for i, p := range callers {
		wg.Go(func() {
			results[i], errs[i] = e.app.EndRelationship(e.ctx, p, EndRelationshipCommand{RelationshipID: inv.RelationshipID, Reason: string(p.Subject) + " ends"})
		})
	}
	wg.Wait()
	first := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if !results[i].AlreadyEnded {
			first++
		}
	}
	if first != 1 {
		t.Errorf("%d calls ended the relationship, want exactly 1", first)
	}
	e.expectEvents("RelationshipEnded", "AccessTerminated")
	rel, _ := e.rels.Get(e.ctx, inv.RelationshipID)
	for i, r := range results {
		if r.EndedBy != rel.EndedBy || r.Reason != rel.EndReason {
			t.Errorf("caller %d sees %+v, stored end is %s/%q", i, r, rel.EndedBy, rel.EndReason)
		}
	}
}

func TestEndingAProposalIsRefused(t *testing.T) {
	e := newEnv(t)
	inv := e.invite(CreateRequestCommand{})
	_, err := e.app.EndRelationship(e.ctx, providerAdmin, EndRelationshipCommand{RelationshipID: inv.RelationshipID, Reason: "oops"})
	wantCode(t, err, CodeRelationshipNotActive)
}
