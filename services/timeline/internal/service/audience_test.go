package service_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/pkg/events"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	registrationv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	relationshipsv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
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
				// The event declares no partner-side actor (no claims):
				// the partner's side reads no subject in it.
				changedBy := any(events.Redacted)
				if p.IsStaff() {
					changedBy = "ops-1"
				}
				if data["changed_by"] != changedBy || data["to"] != "suspended" {
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

// TestEventsPublishedBeforeRound47AreReadAsNow: what round 47 kept from the
// partner's side is kept from it in the events recorded before too. A
// duplicate claim's v1 filing and refusal read as their v2 on the partner's
// side (the type and dataschema replaced, the filing's contact null, the
// refusal without the claimant), a relationship a closure ended without
// the closure's record in its reason; staff read them as published.
func TestEventsPublishedBeforeRound47AreReadAsNow(t *testing.T) {
	e := start(t)
	claimant := registrationv1.Contact{FirstName: "花子", LastName: "佐藤", Email: "hanako@example.jp", EmailDomain: "example.jp", PhoneE164: "+81312345678"}
	filed := event(srcRegistration, registrationv1.TypeDuplicateClaimFiled, reseller, 1, t0, registrationv1.DuplicateClaimFiled{ClaimID: "DC-1",
		DuplicateAttemptID: "DA-1", ExistingPartnerID: reseller, Market: "JP", MatchedOn: []string{"registration_number"},
		LegalName: registrationv1.LegalName{Raw: "株式会社サンプル商事", Normalized: "株式会社サンプル商事"}, Contact: claimant,
		Statement: "we are the company", FiledBy: "crm", FiledAt: t0})
	refused := event("/services/verification", verificationv1.TypeDuplicateClaimRefused, reseller, 1, t0.Add(time.Second),
		verificationv1.DuplicateClaimDecided{ReviewID: "RV-1", DecisionID: "D-1", ClaimID: "DC-1", DuplicateAttemptID: "DA-1",
			ExistingPartnerID: reseller, Market: "JP", Outcome: "refused", Reason: "insufficient_evidence", ReasonText: "no link shown",
			Claimant:  verificationv1.Claimant{FirstName: "花子", LastName: "佐藤", Email: "hanako@example.jp", CompanyName: "株式会社サンプル商事"},
			DecidedBy: "ver-1", DecidedAt: t0})
	ended := event(srcRelationships, relationshipsv1.TypeRelationshipEnded, reseller, 1, t0.Add(2*time.Second),
		relationshipsv1.RelationshipEnded{Parties: relationshipsv1.Parties{RelationshipID: "R1", ProviderID: provider, ResellerID: reseller,
			ResellerLocationID: "PL-RRRR-0000-001", OccurredAt: t0}, EndedBy: "reseller", EndedBySubject: "ops-1",
			Reason: "the reseller's partner account was closed (closed_by_operator): sanctions screening hit",
			Cause:  relationshipsv1.EndCauseAccountClosed})
	for _, ev := range []ce.Event{filed, refused, ended} {
		e.publish(ev)
	}
	e.settled()
	byID := func(p *auth.Principal) map[string]map[string]any {
		t.Helper()
		out := map[string]map[string]any{}
		testkit.Eventually(t, 10*time.Second, func() error {
			a := e.get("/v1/partners/"+reseller+"/timeline", p)
			for _, ev := range a.events() {
				out[ev["id"].(string)] = ev
			}
			if len(out) != 3 {
				return fmt.Errorf("%d events: %s", len(out), a.raw)
			}
			return nil
		})
		return out
	}
	data := func(ev map[string]any) map[string]any { return ev["data"].(map[string]any) }

	staff := byID(operator)
	if f := staff[filed.ID]; f["type"] != filed.Type || data(f)["contact"] == nil || data(staff[refused.ID])["claimant"] == nil ||
		data(staff[ended.ID])["reason"] != "the reseller's partner account was closed (closed_by_operator): sanctions screening hit" {
		t.Errorf("staff read the events changed: %v", staff)
	}
	side := byID(user("a-1", reseller, auth.RolePartnerAdmin))
	f, r, x := side[filed.ID], side[refused.ID], side[ended.ID]
	if f["type"] != registrationv2.TypeDuplicateClaimFiled || data(f)["contact"] != nil || data(f)["statement"] != events.Redacted {
		t.Errorf("the partner's side reads the v1 filing as %v", f)
	}
	// The feed hands on the event whole: its dataschema is v2's.
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, ev := range e.get("/v1/events?partner="+reseller, user("a-1", reseller, auth.RolePartnerAdmin)).events() {
			if ev["id"] != filed.ID {
				continue
			}
			if ev["type"] != registrationv2.TypeDuplicateClaimFiled || ev["dataschema"] != "https://schemas.partnerhub.example/registration.duplicate_claim.filed.v2.json" {
				t.Errorf("the partner's side reads the v1 filing in the feed as %v", ev)
			}
			return nil
		}
		return fmt.Errorf("the v1 filing is not in the partner's feed yet")
	})
	// A type filter naming the v2 selects the v1 the partner's side reads as
	// it, in the feed and on the timeline; staff, who read the v1 as
	// published, get what they named.
	for _, c := range []struct {
		p    *auth.Principal
		want []string
	}{{user("a-1", reseller, auth.RolePartnerAdmin), []string{filed.ID, refused.ID}}, {operator, nil}} {
		for _, path := range []string{
			"/v1/events?" + url.Values{"partner": {reseller}, "type": {registrationv2.TypeDuplicateClaimFiled, verificationv2.TypeDuplicateClaimRefused}}.Encode(),
			"/v1/partners/" + reseller + "/timeline?type=" + url.QueryEscape(registrationv2.TypeDuplicateClaimFiled),
		} {
			want := c.want
			if strings.Contains(path, "/timeline") && want != nil {
				want = want[:1]
			}
			// In the order the timeline recorded them: the two come from
			// two streams, in either order.
			got := ids(e.get(path, c.p).events())
			slices.Sort(got)
			want = slices.Sorted(slices.Values(want))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s reads %s: %v, want %v", c.p.Subject, path, got, want)
			}
		}
	}
	if _, named := data(r)["claimant"]; r["type"] != verificationv2.TypeDuplicateClaimRefused || named {
		t.Errorf("the partner's side reads the v1 refusal as %v", r)
	}
	if data(x)["reason"] != "the reseller's partner account was closed" || x["type"] != ended.Type {
		t.Errorf("the partner's side reads the relationship's end as %v", x)
	}
	for _, ev := range []map[string]any{f, r, x} {
		raw, _ := json.Marshal(ev["data"])
		if err := contract.ValidateJSON(ev["type"].(string), raw); err != nil {
			t.Errorf("%s as the partner's side reads it: %v", ev["type"], err)
		}
	}
}

// TestStaffSubjectsAreReadByStaffOnly: the partner's side — its users, its
// provider, the upstream system that registered it, their webhook
// endpoints — reads the subject of whoever acted (the actor, authid, and
// the data's members naming a principal) only when it is one of our
// services or the event's actor acting in a partner-side role (the event's
// authclaims): an operator's closure and hold, a verifier's decision, a
// relationship a closure ended (relationships relays the closer's subject)
// read without the staff subjects; the partner's administrator's closure and
// the upstream system's registration with theirs. Staff read every subject.
func TestStaffSubjectsAreReadByStaffOnly(t *testing.T) {
	e := start(t, fastRetries)
	portalHooks := newReceiver(t)
	e.register(upstreamPortal, portalHooks, map[string]any{"event_types": []string{"registration.", "verification.", "relationships."}})
	by := func(ev ce.Event, authtype, authid, roles string) ce.Event {
		ev.AuthType, ev.AuthID = authtype, authid
		if roles != "" {
			ev.Extensions = map[string]string{auth.ExtAuthClaims: `{"roles":[` + roles + `]}`}
		}
		return ev
	}
	submitted := by(event(srcRegistration, registrationv1.TypeApplicationSubmitted, reseller, 1, t0,
		registrationv1.ApplicationSubmitted{PartnerID: reseller, Market: "JP", SubmittedBy: "upstream-portal", SubmittedAt: t0}),
		"service_account", "upstream-portal", `"upstream_system"`)
	standing := func(seq uint64, changedBy string) registrationv1.PartnerStandingChanged {
		return registrationv1.PartnerStandingChanged{PartnerID: reseller, From: "active", To: "suspended", Reasons: []string{"compliance_hold"},
			Added: []string{"compliance_hold"}, Lifted: []string{}, ChangedBy: changedBy, ChangedAt: t0.Add(time.Duration(seq) * time.Second)}
	}
	held := by(event(srcRegistration, registrationv1.TypePartnerStandingChanged, reseller, 2, t0.Add(time.Second), standing(2, "ops-9")),
		"user", "ops-9", `"operator"`)
	closed := by(event(srcRegistration, registrationv1.TypePartnerStandingChanged, reseller, 3, t0.Add(2*time.Second), standing(3, "admin-1")),
		"user", "admin-1", `"partner_admin"`)
	decided := by(event("/services/verification", verificationv1.TypeDecisionRecorded, reseller, 1, t0.Add(3*time.Second),
		map[string]any{"partner_id": reseller, "verifier": "verifier-bot", "outcome": "approve"}), "service_account", "verifier-bot", `"verifier"`)
	ended := by(event(srcRelationships, relationshipsv1.TypeRelationshipEnded, reseller, 1, t0.Add(4*time.Second),
		relationshipsv1.RelationshipEnded{Parties: relationshipsv1.Parties{RelationshipID: "R1", ProviderID: provider, ResellerID: reseller,
			ResellerLocationID: "PL-RRRR-0000-001", OccurredAt: t0}, EndedBy: "reseller", EndedBySubject: "ops-9",
			Reason: "the reseller's partner account was closed", Cause: relationshipsv1.EndCauseAccountClosed}),
		"service_account", "registration", "")
	all := []ce.Event{submitted, held, closed, decided, ended}
	for _, ev := range all {
		e.publish(ev)
	}
	e.settled()

	// read is what p reads of the events on path: per event id, its actor
	// and the subject its data names.
	member := map[string]string{submitted.ID: "submitted_by", held.ID: "changed_by", closed.ID: "changed_by", decided.ID: "verifier", ended.ID: "ended_by_subject"}
	read := func(p *auth.Principal, path string, want int) map[string][2]any {
		t.Helper()
		out := map[string][2]any{}
		testkit.Eventually(t, 10*time.Second, func() error {
			a := e.get(path, p)
			clear(out)
			for _, ev := range a.events() {
				id, _ := ev["id"].(string)
				if m, ok := member[id]; ok {
					actor := ev["authid"]
					if actor == "" { // the timeline's entries carry it always
						actor = nil
					}
					out[id] = [2]any{actor, ev["data"].(map[string]any)[m]}
				}
			}
			if len(out) != want {
				return fmt.Errorf("%d of the events, want %d: %s", len(out), want, a.raw)
			}
			return nil
		})
		return out
	}
	asPublished := map[string][2]any{submitted.ID: {"upstream-portal", "upstream-portal"}, held.ID: {"ops-9", "ops-9"},
		closed.ID: {"admin-1", "admin-1"}, decided.ID: {"verifier-bot", "verifier-bot"}, ended.ID: {"registration", "ops-9"}}
	partnerSide := map[string][2]any{submitted.ID: {"upstream-portal", "upstream-portal"}, held.ID: {nil, events.Redacted},
		closed.ID: {"admin-1", "admin-1"}, decided.ID: {nil, events.Redacted}, ended.ID: {"registration", events.Redacted}}
	timeline := "/v1/partners/" + reseller + "/timeline"
	for _, c := range []struct {
		name, path string
		p          *auth.Principal
		want       map[string][2]any
	}{
		{"operator, feed", "/v1/events", operator, asPublished},
		{"verifier, timeline", timeline, user("v-1", "", auth.RoleVerifier), asPublished},
		{"the partner's administrator, timeline", timeline, user("a-1", reseller, auth.RolePartnerAdmin), partnerSide},
		{"the partner's user, feed", "/v1/events", user("u-1", reseller, auth.RolePartnerUser), partnerSide},
		{"the upstream system that registered it, feed", "/v1/events", upstreamPortal, partnerSide},
	} {
		if got := read(c.p, c.path, len(c.want)); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s reads (actor, subject) %v, want %v", c.name, got, c.want)
		}
	}
	// Where it does not read who acted, the partner's side reads the roles:
	// on the timeline and in the feed.
	for _, path := range []string{timeline, "/v1/events"} {
		claims := any("absent")
		for _, ev := range e.get(path, user("a-1", reseller, auth.RolePartnerAdmin)).events() {
			if ev["id"] == held.ID {
				claims = ev["authclaims"]
			}
		}
		if claims != `{"roles":["operator"]}` {
			t.Errorf("%s: the operator's hold reads with authclaims %v", path, claims)
		}
	}

	// The upstream system's webhook endpoint reads as the partner's side.
	portalHooks.waitFor(t, submitted.ID, held.ID, closed.ID, decided.ID, ended.ID)
	portalHooks.mu.Lock()
	defer portalHooks.mu.Unlock()
	for _, ev := range portalHooks.got {
		var data map[string]any
		if err := ev.DataAs(&data); err != nil {
			t.Fatal(err)
		}
		authid, _ := ev.Extensions()[auth.ExtAuthID]
		got := [2]any{authid, data[member[ev.ID()]]}
		if want := partnerSide[ev.ID()]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the upstream system's endpoint reads %s with (actor, subject) %v, want %v", ev.Type(), got, want)
		}
	}
}
