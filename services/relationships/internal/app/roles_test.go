package app

import (
	"slices"
	"testing"

	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

func TestNarrowRolesAppliesAtOnce(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.activate(CreateRequestCommand{Roles: []string{"billing_reader", "customer_management", "support_agent"}, DurationDays: 60})
	res, err := e.app.NarrowRoles(e.ctx, resellerAdmin, NarrowRolesCommand{RelationshipID: inv.RelationshipID, Roles: []string{"support_agent"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Roles, []string{"support_agent"}) || !slices.Equal(res.Removed, []string{"billing_reader", "customer_management"}) {
		t.Errorf("result = %+v", res)
	}
	e.expectEvents("AccessNarrowed")
	_, err = e.app.NarrowRoles(e.ctx, providerAdmin, NarrowRolesCommand{RelationshipID: inv.RelationshipID, Roles: []string{"support_agent", "billing_reader"}})
	wantCode(t, err, CodeNotNarrower)
	_, err = e.app.NarrowRoles(e.ctx, otherAdmin, NarrowRolesCommand{RelationshipID: inv.RelationshipID, Roles: []string{"support_agent"}})
	wantCode(t, err, CodeRelationshipNotFound)
}

func TestWideningNeedsFreshConsent(t *testing.T) {
	e := newEnv(t)
	inv, first := e.activate(CreateRequestCommand{Roles: []string{"support_agent"}, DurationDays: 60})

	_, err := e.app.RequestWiderRoles(e.ctx, resellerAdmin, RequestWiderRolesCommand{RelationshipID: inv.RelationshipID, Roles: []string{"support_agent", "helpdesk_admin"}})
	wantCode(t, err, "auth.role_required")
	_, err = e.app.RequestWiderRoles(e.ctx, providerAdmin, RequestWiderRolesCommand{RelationshipID: inv.RelationshipID, Roles: []string{"support_agent"}})
	wantCode(t, err, CodeNotWider)
	_, err = e.app.RequestWiderRoles(e.ctx, providerAdmin, RequestWiderRolesCommand{RelationshipID: inv.RelationshipID, Roles: []string{"full_administrator"}, AutoExtend: true})
	wantCode(t, err, CodeInvalidTerms)

	wide, err := e.app.RequestWiderRoles(e.ctx, providerAdmin, RequestWiderRolesCommand{RelationshipID: inv.RelationshipID, Roles: []string{"support_agent", "helpdesk_admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if wide.Token == inv.Token || wide.DurationDays != 60 {
		t.Errorf("widening result = %+v", wide)
	}
	e.expectEvents("RequestCreated")
	rel, _ := e.rels.Get(e.ctx, inv.RelationshipID)
	if rel.Grant.Roles.Has(domain.RoleHelpdeskAdmin) {
		t.Fatal("roles widened before consent")
	}
	v, err := e.app.ViewInvitation(e.ctx, resellerAdmin, wide.Token)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != domain.RequestWiden || !slices.Equal(v.CurrentRoles, []string{"support_agent"}) {
		t.Errorf("view = %+v", v)
	}
	e.at(t0.Add(day))
	g, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: wide.Token, Consent: true})
	if err != nil {
		t.Fatal(err)
	}
	if g.GrantID == first.GrantID || !slices.Equal(g.Roles, []string{"helpdesk_admin", "support_agent"}) {
		t.Errorf("grant = %+v", g)
	}
	e.expectEvents("RequestAccepted", "AccessGranted", "AccessTerminated")
}

func TestDecliningAWideningKeepsTheGrant(t *testing.T) {
	e := newEnv(t)
	inv, first := e.activate(CreateRequestCommand{Roles: []string{"support_agent"}})
	wide, err := e.app.RequestWiderRoles(e.ctx, providerAdmin, RequestWiderRolesCommand{RelationshipID: inv.RelationshipID, Roles: []string{"support_agent", "billing_reader"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.Decline(e.ctx, resellerAdmin, DeclineCommand{Token: wide.Token, Reason: "not needed"}); err != nil {
		t.Fatal(err)
	}
	rel, _ := e.rels.Get(e.ctx, inv.RelationshipID)
	if rel.State != domain.StateActive || rel.Grant.ID != first.GrantID || rel.Grant.State != domain.GrantActive {
		t.Errorf("relationship %s grant %+v", rel.State, rel.Grant)
	}
}
