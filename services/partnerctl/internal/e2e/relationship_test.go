package e2e_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// relationshipList is GET /v1/{provider,reseller}/relationships.
type relationshipList struct {
	Relationships []relationshipItem `json:"relationships"`
}

type relationshipItem struct {
	RelationshipID string `json:"relationship_id"`
	State          string `json:"state"`
	ProviderID     string `json:"provider_id"`
	ResellerID     string `json:"reseller_id"`
	EndedBy        string `json:"ended_by"`
	EndedAt        string `json:"ended_at"`
	Grant          *struct {
		GrantID string   `json:"grant_id"`
		State   string   `json:"state"`
		Roles   []string `json:"roles"`
	} `json:"grant"`
}

// testResellerEndsRelationship: a reseller and a provider are onboarded, the
// provider invites, the reseller's administrator authorises and later ends
// the relationship: the grant is terminated at once, both sides see the
// relationship ended by the reseller, and ending it again changes nothing.
func testResellerEndsRelationship(t *testing.T, s *e2e.Stack) {
	var reseller, provider registered
	t.Run("onboard", func(t *testing.T) {
		t.Run("reseller", func(t *testing.T) { t.Parallel(); reseller = onboard(t, s, naniwa, "indirect_reseller") })
		t.Run("provider", func(t *testing.T) { t.Parallel(); provider = onboard(t, s, meijo, "indirect_provider") })
	})
	if t.Failed() {
		return
	}
	logOnFailure(t, s, reseller.PartnerID)
	rel := s.URL("relationships")
	padm := s.Token(auth.Principal{Subject: "provider-admin-meijo", PartnerID: provider.PartnerID, Roles: []auth.Role{auth.RoleProviderAdmin}})
	radm := s.Token(partnerAdmin(reseller.PartnerID, "reseller-admin-naniwa"))
	var req struct {
		RelationshipID string   `json:"relationship_id"`
		InvitationURL  string   `json:"invitation_url"`
		Roles          []string `json:"roles"`
	}
	// The relationships service learns that both are active from
	// registration's events, a moment after registration's API shows it.
	e2e.Eventually(t, 10*time.Second, "relationships to see both partners active", func() error {
		r := s.Do(t, "POST", rel+"/v1/relationship-requests", padm, map[string]any{"reseller_location_id": reseller.LocationID})
		switch {
		case r.Status == http.StatusCreated:
			r.JSON(t, &req)
			return nil
		case r.Problem != nil && slices.Contains([]string{"relationships.provider_not_active", "relationships.reseller_not_active",
			"relationships.reseller_unknown"}, r.Problem.Code):
			return errors.New(r.String())
		}
		t.Fatalf("invite: %s", r)
		return nil
	})
	_, token, ok := strings.Cut(req.InvitationURL, "#token=")
	if !ok || req.RelationshipID == "" {
		t.Fatalf("request %+v", req)
	}
	var grant struct {
		RelationshipID string   `json:"relationship_id"`
		GrantID        string   `json:"grant_id"`
		Roles          []string `json:"roles"`
	}
	s.Call(t, "POST", rel+"/v1/invitation/authorise", radm, map[string]any{"token": token, "consent": true}, http.StatusOK, &grant)
	granted := decodeData[relv1.AccessGranted](t, s.Events.WaitFor(t, relv1.TypeAccessGranted, reseller.PartnerID))
	if granted.GrantID != grant.GrantID || granted.RelationshipID != req.RelationshipID || granted.ProviderID != provider.PartnerID {
		t.Fatalf("access granted %+v, authorise answered %+v", granted, grant)
	}

	// The provider may not act as the reseller's administrator, nor may a stranger end it.
	stranger := s.Token(partnerAdmin(provider.PartnerID, "stranger"))
	if r := s.Do(t, "POST", rel+"/v1/relationships/"+req.RelationshipID+"/end", stranger, map[string]any{"reason": "x"}); r.Status != http.StatusNotFound {
		t.Fatalf("a partner_admin of the provider ending the reseller's relationship: %s", r)
	}
	e2e.WantProblem(t, s.Do(t, "POST", rel+"/v1/relationships/"+req.RelationshipID+"/end", radm, map[string]any{"reason": " "}),
		http.StatusUnprocessableEntity, "relationships.invalid_reason")

	var ended struct {
		RelationshipID string `json:"relationship_id"`
		EndedBy        string `json:"ended_by"`
		Reason         string `json:"reason"`
		AlreadyEnded   bool   `json:"already_ended"`
	}
	reason := "販売契約を終了しました"
	endRes := s.Call(t, "POST", rel+"/v1/relationships/"+req.RelationshipID+"/end", radm, map[string]any{"reason": reason}, http.StatusOK, &ended)
	if ended.RelationshipID != req.RelationshipID || ended.EndedBy != "reseller" || ended.Reason != reason || ended.AlreadyEnded {
		t.Fatalf("end answered %+v", ended)
	}
	endedEv := s.Events.WaitFor(t, relv1.TypeRelationshipEnded, reseller.PartnerID)
	termEv := s.Events.WaitFor(t, relv1.TypeAccessTerminated, reseller.PartnerID)
	e := decodeData[relv1.RelationshipEnded](t, endedEv)
	term := decodeData[relv1.AccessTerminated](t, termEv)
	if e.RelationshipID != req.RelationshipID || e.EndedBy != "reseller" || e.EndedBySubject != "reseller-admin-naniwa" || e.Reason != reason || e.Cause != relv1.EndCauseChosen ||
		e.ProviderID != provider.PartnerID || e.ResellerID != reseller.PartnerID || endedEv.AuthID != "reseller-admin-naniwa" {
		t.Fatalf("relationship ended %s %+v", endedEv, e)
	}
	if term.GrantID != grant.GrantID || term.Reason != "relationship_ended" || term.RelationshipID != req.RelationshipID {
		t.Fatalf("access terminated %+v", term)
	}
	// One transaction: ended then terminated, consecutive in the reseller's sequence.
	if termEv.Sequence != endedEv.Sequence+1 {
		t.Fatalf("ended %s, terminated %s", endedEv, termEv)
	}
	// One conversation: both carry the request's id as their correlation id.
	if rid := endRes.Header.Get("X-Request-Id"); rid == "" || endedEv.CorrelationID != rid || termEv.CorrelationID != rid {
		t.Fatalf("correlation ids: request %q, ended %q, terminated %q", rid, endedEv.CorrelationID, termEv.CorrelationID)
	}
	wantTopics(t, s, "RELATIONSHIPS", reseller.PartnerID, "relationships.request.created", "relationships.request.accepted",
		"relationships.access.granted", "relationships.relationship.ended", "relationships.access.terminated")
	// The reseller's own lifecycle before it: approved, qualified, its
	// location linked to the reseller enrollment, active after the agreement.
	wantTopics(t, s, "REGISTRATION", reseller.PartnerID, "registration.application.submitted", "registration.partner.activated",
		"registration.enrollment.status_changed", "registration.enrollment.status_changed",
		"registration.enrollment.location_linked", "registration.enrollment.status_changed")
	if got, want := enrollmentChanges(t, s, reseller.PartnerID), []string{"partner_network:pending_verification→active",
		"indirect_reseller:pending_verification→qualified", "indirect_reseller:qualified→active"}; !slices.Equal(got, want) {
		t.Fatalf("reseller enrollment changes %v, want %v", got, want)
	}
	wantTopics(t, s, "AGREEMENTS", reseller.PartnerID, "agreements.acceptance.recorded", "agreements.acceptance.recorded")

	// Both sides see it ended by the reseller with the grant terminated; the
	// default listing shows only live relationships.
	for _, side := range []struct{ path, tok string }{{"/v1/reseller/relationships", radm}, {"/v1/provider/relationships", padm}} {
		var all, live relationshipList
		s.Call(t, "GET", rel+side.path+"?include_closed=true", side.tok, nil, http.StatusOK, &all)
		if len(all.Relationships) != 1 {
			t.Fatalf("%s: %+v", side.path, all)
		}
		got := all.Relationships[0]
		if got.RelationshipID != req.RelationshipID || got.State != "ended" || got.EndedBy != "reseller" || got.EndedAt == "" ||
			got.Grant == nil || got.Grant.GrantID != grant.GrantID || got.Grant.State != "terminated" {
			t.Fatalf("%s: %+v (grant %+v)", side.path, got, got.Grant)
		}
		s.Call(t, "GET", rel+side.path, side.tok, nil, http.StatusOK, &live)
		if len(live.Relationships) != 0 {
			t.Fatalf("%s without include_closed lists %+v", side.path, live)
		}
	}

	// Ending again (the provider's administrator this time) changes nothing.
	s.Call(t, "POST", rel+"/v1/relationships/"+req.RelationshipID+"/end", padm, map[string]any{"reason": "duplicate click"}, http.StatusOK, &ended)
	if !ended.AlreadyEnded || ended.EndedBy != "reseller" || ended.Reason != reason {
		t.Fatalf("second end answered %+v", ended)
	}
	atEnd(func(t *testing.T) {
		if n := len(s.Events.Of(relv1.TypeRelationshipEnded, reseller.PartnerID)); n != 1 {
			t.Errorf("%d relationship ended events for %s, want 1", n, reseller.PartnerID)
		}
		if n := len(s.Events.Of(relv1.TypeAccessTerminated, reseller.PartnerID)); n != 1 {
			t.Errorf("%d access terminated events for %s, want 1", n, reseller.PartnerID)
		}
	})
}
