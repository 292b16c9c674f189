package events

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// TestEveryDomainEventMapsToAValidPayload is the contract test: each domain
// event the aggregate records maps to its published type, with the
// reseller's global ID as subject, and the JSON validates against
// schemas/<type>.json.
func TestEveryDomainEventMapsToAValidPayload(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("JST", 9*3600))
	h := domain.EventHeader{RelationshipID: "K3Q7ZL2M4N5P6R7S8T9V0W1X2Y", ProviderID: "PG-0001-0000-00Y", ResellerID: "PG-0042-0000-00R",
		ResellerLocationID: "PL-0042-0100-00P", OccurredAt: now}
	exp := now.Add(90 * 24 * time.Hour)
	cases := []struct {
		ev   domain.Event
		want string
	}{
		{domain.RequestCreated{EventHeader: h, RequestID: "REQ1", Kind: domain.RequestInitial, Market: "JP",
			Roles: []string{"customer_management", "support_agent"}, DurationDays: 365, ExpiresAt: exp, CreatedBy: "prov-admin"}, relv1.TypeRequestCreated},
		{domain.RequestAccepted{EventHeader: h, RequestID: "REQ1", Kind: domain.RequestInitial, Roles: []string{"support_agent"}, AcceptedBy: "res-admin"}, relv1.TypeRequestAccepted},
		{domain.RequestDeclined{EventHeader: h, RequestID: "REQ2", Kind: domain.RequestWiden, DeclinedBy: "res-admin", Reason: ""}, relv1.TypeRequestDeclined},
		{domain.RequestDeferred{EventHeader: h, RequestID: "REQ1", DeferredBy: "res-admin", ExpiresAt: exp}, relv1.TypeRequestDeferred},
		{domain.RequestExpired{EventHeader: h, RequestID: "REQ1", Kind: domain.RequestInitial}, relv1.TypeRequestExpired},
		{domain.RequestReminderDue{EventHeader: h, RequestID: "REQ1", ExpiresAt: exp}, relv1.TypeRequestReminderDue},
		{domain.RelationshipEnded{EventHeader: h, EndedBy: domain.SideReseller, EndedBySubject: "res-admin", Reason: "changed distributor", Cause: domain.EndChosen}, relv1.TypeRelationshipEnded},
		{domain.AccessGranted{EventHeader: h, GrantID: "GR1", Roles: []string{"helpdesk_admin", "support_agent"}, StartsAt: now,
			ExpiresAt: now.Add(365 * 24 * time.Hour), AutoExtend: true}, relv1.TypeAccessGranted},
		{domain.AccessGranted{EventHeader: h, GrantID: "GR2", Roles: []string{"full_administrator"}, StartsAt: now,
			ExpiresAt: now.Add(24 * time.Hour), Supersedes: "GR1"}, relv1.TypeAccessGranted},
		{domain.AccessExpiring{EventHeader: h, GrantID: "GR1", ExpiresAt: exp, AutoExtend: true}, relv1.TypeAccessExpiring},
		{domain.AccessExtended{EventHeader: h, GrantID: "GR1", PreviousExpiresAt: now, ExpiresAt: exp}, relv1.TypeAccessExtended},
		{domain.AccessExpired{EventHeader: h, GrantID: "GR1", ExpiresAt: now}, relv1.TypeAccessExpired},
		{domain.AccessTerminated{EventHeader: h, GrantID: "GR1", Reason: domain.TerminatedRelationshipEnded}, relv1.TypeAccessTerminated},
		{domain.AccessTerminated{EventHeader: h, GrantID: "GR1", Reason: domain.TerminatedSuperseded}, relv1.TypeAccessTerminated},
		{domain.AccessNarrowed{EventHeader: h, GrantID: "GR1", Roles: []string{"support_agent"}, Removed: []string{"helpdesk_admin"},
			NarrowedBy: domain.SideProvider, Subject: "prov-admin"}, relv1.TypeAccessNarrowed},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		d, err := ToDraft(c.ev)
		if err != nil {
			t.Fatalf("%s: %v", c.ev.EventName(), err)
		}
		if d.Type != c.want || d.Subject != "PG-0042-0000-00R" {
			t.Errorf("%s → type %s subject %s, want %s with subject PG-0042-0000-00R (the reseller)", c.ev.EventName(), d.Type, d.Subject, c.want)
		}
		contract.MustValidate(t, d.Type, d.Data)
		raw, _ := json.Marshal(d.Data)
		if !strings.Contains(string(raw), `"provider_id":"PG-0001-0000-00Y"`) || !strings.Contains(string(raw), `"occurred_at":"2026-03-02T00:00:00Z"`) {
			t.Errorf("%s payload lacks the provider or a UTC time: %s", d.Type, raw)
		}
		covered[d.Type] = true
	}
	for _, typ := range []string{relv1.TypeRequestCreated, relv1.TypeRequestAccepted, relv1.TypeRequestDeclined, relv1.TypeRequestDeferred,
		relv1.TypeRequestExpired, relv1.TypeRequestReminderDue, relv1.TypeRelationshipEnded, relv1.TypeAccessGranted, relv1.TypeAccessExpiring,
		relv1.TypeAccessExtended, relv1.TypeAccessExpired, relv1.TypeAccessTerminated, relv1.TypeAccessNarrowed} {
		if !covered[typ] {
			t.Errorf("no contract sample for %s", typ)
		}
	}
}

type strayEvent struct{ domain.EventHeader }

func (strayEvent) EventName() string { return "Stray" }

// TestUnknownDomainEventIsRefused: a new domain event without a published
// type fails the write instead of vanishing.
func TestUnknownDomainEventIsRefused(t *testing.T) {
	if _, err := ToDrafts([]domain.Event{strayEvent{domain.EventHeader{ResellerID: "PG-1"}}}); err == nil {
		t.Fatal("an unmapped domain event was accepted")
	}
}

// TestSchemasAreClosed: a payload with a field the schema does not know is
// refused (additionalProperties false), so drift is caught.
func TestSchemasAreClosed(t *testing.T) {
	err := contract.ValidateJSON(relv1.TypeRelationshipEnded, []byte(`{"relationship_id":"R1","provider_id":"PG-1","reseller_id":"PG-2",
		"reseller_location_id":"PL-2","occurred_at":"2026-03-02T00:00:00Z","ended_by":"provider","ended_by_subject":"u","reason":"r","token":"secret"}`))
	if err == nil {
		t.Fatal("an unknown field passed the schema")
	}
}
