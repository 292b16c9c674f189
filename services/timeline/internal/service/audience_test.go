package service_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/events"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relationshipsv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestStaffOnlyMembersAreReadByStaffOnly: an operator's note on a partner's
// compliance hold and a reseller's standing reasons in its provider's access
// suspension are read whole by staff (the feed, the timeline, an
// operator's webhook endpoint) and redacted on the partner's side — the
// partner's users, its provider, the upstream system that registered it,
// its webhook endpoint; nothing else of the events changes.
func TestStaffOnlyMembersAreReadByStaffOnly(t *testing.T) {
	e := start(t, fastRetries)
	portalHooks, opsHooks := newReceiver(t), newReceiver(t)
	e.register(upstreamPortal, portalHooks, map[string]any{"event_types": []string{"registration.partner."}})
	e.register(operator, opsHooks, map[string]any{"event_types": []string{"registration.partner.", "relationships.access."}})

	const note = "sanctions screening hit"
	submitted := event(srcRegistration, registrationv1.TypeApplicationSubmitted, reseller, 1, t0,
		registrationv1.ApplicationSubmitted{PartnerID: reseller, Market: "JP", SubmittedBy: "upstream-portal", SubmittedAt: t0})
	hold := event(srcRegistration, registrationv1.TypePartnerStandingChanged, reseller, 2, t0.Add(time.Second),
		registrationv1.PartnerStandingChanged{PartnerID: reseller, From: "active", To: "suspended", Reasons: []string{"compliance_hold"},
			Added: []string{"compliance_hold"}, Lifted: []string{}, ChangedBy: "ops-1", Note: note, ChangedAt: t0})
	suspended := event(srcRelationships, relationshipsv1.TypeAccessSuspended, reseller, 1, t0.Add(2*time.Second),
		map[string]any{"relationship_id": "R1", "provider_id": provider, "reseller_id": reseller, "reseller_location_id": "PL-RRRR-0000-001",
			"occurred_at": t0, "grant_id": "G1", "side": "reseller", "reasons": []string{"compliance_hold"}})
	for _, ev := range []ce.Event{submitted, hold, suspended} {
		e.publish(ev)
	}
	e.settled()

	// read is what p reads of the two events in the feed.
	read := func(p *auth.Principal, path string, want int) (note, reasons any) {
		t.Helper()
		var got []map[string]any
		testkit.Eventually(t, 10*time.Second, func() error {
			a := e.get(path, p)
			got = nil
			for _, ev := range a.events() {
				if ev["type"] == hold.Type || ev["type"] == suspended.Type {
					got = append(got, ev)
				}
			}
			if len(got) != want {
				return fmt.Errorf("%d of the events, want %d: %s", len(got), want, a.raw)
			}
			return nil
		})
		reasons = "absent"
		for _, ev := range got {
			data := ev["data"].(map[string]any)
			switch ev["type"] {
			case hold.Type:
				note = data["note"]
				if data["changed_by"] != "ops-1" || data["to"] != "suspended" {
					t.Errorf("%s: the rest of the standing change changed: %v", p.Subject, data)
				}
			case suspended.Type:
				reasons = data["reasons"]
				if data["side"] != "reseller" || data["grant_id"] != "G1" {
					t.Errorf("%s: the rest of the suspension changed: %v", p.Subject, data)
				}
			}
		}
		return note, reasons
	}
	feed := "/v1/events?" + url.Values{"type": {"registration.partner.", "relationships.access."}}.Encode()
	timeline := "/v1/partners/" + reseller + "/timeline"
	for _, c := range []struct {
		name, path string
		p          *auth.Principal
		want       int
		note       any
		reasons    any
	}{
		{"operator, feed", feed, operator, 2, note, []any{"compliance_hold"}},
		{"verifier, timeline", timeline, user("v-1", "PG-VVVV-0000-00W", auth.RoleVerifier), 2, note, []any{"compliance_hold"}},
		{"the partner's administrator, feed", feed, user("a-1", reseller, auth.RolePartnerAdmin), 2, events.Redacted, []any{}},
		{"the partner's user, timeline", timeline, user("u-1", reseller, auth.RolePartnerUser), 2, events.Redacted, []any{}},
		{"its provider, feed", feed, user("p-1", provider, auth.RoleProviderAdmin), 1, nil, []any{}},
		{"the upstream system that registered it, feed", feed, upstreamPortal, 2, events.Redacted, []any{}},
	} {
		gotNote, gotReasons := read(c.p, c.path, c.want)
		if fmt.Sprint(gotNote) != fmt.Sprint(c.note) || fmt.Sprint(gotReasons) != fmt.Sprint(c.reasons) {
			t.Errorf("%s reads note %v and reasons %v, want %v and %v", c.name, gotNote, gotReasons, c.note, c.reasons)
		}
	}

	// Webhooks: the operator's endpoint (scope all) reads as staff, the
	// upstream system's as the partner's side.
	opsHooks.waitFor(t, hold.ID, suspended.ID)
	portalHooks.waitFor(t, hold.ID)
	for _, r := range []struct {
		name  string
		hooks *receiver
		note  string
	}{{"operator's endpoint", opsHooks, note}, {"upstream system's endpoint", portalHooks, events.Redacted}} {
		r.hooks.mu.Lock()
		for _, ev := range r.hooks.got {
			var data map[string]any
			if err := ev.DataAs(&data); err != nil {
				t.Fatal(err)
			}
			if ev.ID() == hold.ID && data["note"] != r.note {
				t.Errorf("%s: note %v, want %v", r.name, data["note"], r.note)
			}
			if ev.ID() == suspended.ID && fmt.Sprint(data["reasons"]) != "[compliance_hold]" {
				t.Errorf("%s: reasons %v", r.name, data["reasons"])
			}
		}
		r.hooks.mu.Unlock()
	}
}
