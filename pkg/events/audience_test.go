package events_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/pkg/events"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	registrationv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	relationshipsv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
)

// The schemas mark exactly the members the declaration lists as staff-only:
// what integrators read in the contract is what the timeline redacts.
func TestTheSchemasMarkTheStaffOnlyMembers(t *testing.T) {
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "schemas", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas: %v", err)
	}
	var marked []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Properties map[string]map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, p := range s.Properties {
			switch a := p["x-audience"]; a {
			case nil:
			case "staff":
				marked = append(marked, strings.TrimSuffix(filepath.Base(f), ".json")+":"+name)
			default:
				t.Errorf("%s: %s has x-audience %v (only \"staff\" is known)", f, name, a)
			}
		}
	}
	var declared []string
	for _, typ := range events.StaffOnlyTypes() {
		for _, name := range events.StaffOnly(typ) {
			declared = append(declared, ce.Topic(typ)+":"+name)
		}
	}
	slices.Sort(marked)
	slices.Sort(declared)
	if len(declared) == 0 || !slices.Equal(marked, declared) {
		t.Fatalf("schemas mark %q as staff-only, the declaration lists %q", marked, declared)
	}
}

// The partner's side reads each staff-only member redacted — a text
// "[redacted]", a list empty — and the event still matches its schema;
// every other member, and every other type, is unchanged.
func TestThePartnerSideReadsStaffOnlyMembersRedacted(t *testing.T) {
	standing := []byte(`{"partner_id":"PG-1H25-YF0S-HJB","from":"active","to":"suspended","reasons":["compliance_hold"],` +
		`"added":["compliance_hold"],"lifted":[],"changed_by":"ops-1","note":"sanctions screening hit","changed_at":"2026-12-06T10:00:00Z"}`)
	got := events.ForPartnerSide(registrationv1.TypePartnerStandingChanged, standing)
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if m["note"] != events.Redacted || m["changed_by"] != "ops-1" || m["to"] != "suspended" ||
		fmt.Sprint(m["reasons"]) != "[compliance_hold]" {
		t.Fatalf("standing change for the partner's side: %s", got)
	}
	if err := contract.ValidateJSON(registrationv1.TypePartnerStandingChanged, got); err != nil {
		t.Fatal(err)
	}

	suspended := []byte(`{"relationship_id":"R1","provider_id":"PG-1H25-YF0S-HJB","reseller_id":"PG-0000-0000-000",` +
		`"reseller_location_id":"PL-0000-0000-000","occurred_at":"2026-12-06T10:00:00Z","grant_id":"G1","side":"reseller","reasons":["compliance_hold"]}`)
	got = events.ForPartnerSide(relationshipsv1.TypeAccessSuspended, suspended)
	m = nil
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if r, ok := m["reasons"].([]any); !ok || len(r) != 0 || m["side"] != "reseller" {
		t.Fatalf("access suspension for the partner's side: %s", got)
	}
	if err := contract.ValidateJSON(relationshipsv1.TypeAccessSuspended, got); err != nil {
		t.Fatal(err)
	}

	// A duplicate claim's statement is the claimant's, to the verifiers.
	claim := []byte(`{"claim_id":"DC-1","existing_partner_id":"PG-1H25-YF0S-HJB","statement":"we are the registered company"}`)
	got = events.ForPartnerSide(registrationv1.TypeDuplicateClaimFiled, claim)
	m = nil
	if err := json.Unmarshal(got, &m); err != nil || m["statement"] != events.Redacted || m["claim_id"] != "DC-1" {
		t.Fatalf("duplicate claim for the partner's side: %s (%v)", got, err)
	}

	// Since round 47 (v2) the claimant's contact too: null, as the schema
	// allows; the refusal no longer names the claimant at all.
	filed := []byte(`{"claim_id":"DC-1","duplicate_attempt_id":"DA-1","existing_partner_id":"PG-1H25-YF0S-HJB","market":"JP",` +
		`"matched_on":["registration_number"],"legal_name":{"raw":"株式会社サンプル商事","normalized":"株式会社サンプル商事"},` +
		`"contact":{"first_name":"花子","last_name":"佐藤","email":"hanako@example.jp","email_domain":"example.jp","phone_e164":"+81312345678"},` +
		`"statement":"we are the registered company","filed_by":"crm","filed_at":"2026-12-07T10:00:00Z"}`)
	if err := contract.ValidateJSON(registrationv2.TypeDuplicateClaimFiled, filed); err != nil {
		t.Fatal(err)
	}
	got = events.ForPartnerSide(registrationv2.TypeDuplicateClaimFiled, filed)
	m = nil
	if err := json.Unmarshal(got, &m); err != nil || m["statement"] != events.Redacted || m["contact"] != nil || m["claim_id"] != "DC-1" ||
		strings.Contains(string(got), "hanako") {
		t.Fatalf("filed claim v2 for the partner's side: %s (%v)", got, err)
	}
	if err := contract.ValidateJSON(registrationv2.TypeDuplicateClaimFiled, got); err != nil {
		t.Fatal(err)
	}

	// Without the member, of another type, or not an object: unchanged.
	noNote := []byte(`{"partner_id":"PG-1H25-YF0S-HJB","to":"active"}`)
	for _, c := range []struct {
		typ  string
		data []byte
	}{
		{registrationv1.TypePartnerStandingChanged, noNote},
		{registrationv1.TypePartnerActivated, standing},
		{registrationv1.TypePartnerStandingChanged, []byte(`"note"`)},
		{registrationv1.TypePartnerStandingChanged, nil},
	} {
		if out := events.ForPartnerSide(c.typ, c.data); string(out) != string(c.data) {
			t.Fatalf("%s %s changed to %s", c.typ, c.data, out)
		}
	}
}

// FuzzForPartnerSide: whatever a producer's data holds, the partner's side
// never reads a staff-only member's value, reads every other member as it
// was, and data that is no JSON object passes unchanged; nothing panics.
func FuzzForPartnerSide(f *testing.F) {
	f.Add(`{"note":"sanctions screening hit","to":"suspended","reasons":["compliance_hold"]}`)
	f.Add(`{"note":{"nested":"words"},"note":"twice"}`)
	f.Add(`{"note":  "x" , "changed_by":"ops-1"}`)
	f.Add(`["note"]`)
	f.Add(`"note"`)
	f.Add(`{"note":null}`)
	f.Add(`{`)
	typ := registrationv1.TypePartnerStandingChanged
	f.Fuzz(func(t *testing.T, data string) {
		out := events.ForPartnerSide(typ, []byte(data))
		var in map[string]any
		if json.Unmarshal([]byte(data), &in) != nil {
			if string(out) != data {
				t.Fatalf("not an object %q, changed to %q", data, out)
			}
			return
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q became %q: %v", data, out, err)
		}
		if len(got) != len(in) {
			t.Fatalf("%q became %q: members %d, want %d", data, out, len(got), len(in))
		}
		for name, v := range in {
			w, ok := got[name]
			if !ok {
				t.Fatalf("%q lost %s", data, name)
			}
			if !slices.Contains(events.StaffOnly(typ), name) {
				if fmt.Sprintf("%#v", w) != fmt.Sprintf("%#v", v) {
					t.Fatalf("%q changed %s to %#v", data, name, w)
				}
				continue
			}
			switch w := w.(type) {
			case string:
				if w != events.Redacted {
					t.Fatalf("%q: staff-only %s reads %q", data, name, w)
				}
			case []any:
				if len(w) != 0 {
					t.Fatalf("%q: staff-only %s reads %v", data, name, w)
				}
			case nil:
			default:
				t.Fatalf("%q: staff-only %s reads %#v", data, name, w)
			}
		}
	})
}

// Events published before round 47 read as published now: a v1 claim
// filing as v2 (data as it stands, then redacted as v2's), a v1 refusal as
// v2 without the claimant, a closure-ended relationship without the
// closure's record in its reason; a reason its side wrote, one already
// plain, and every other type are unchanged (the same slice).
func TestEventsPublishedBeforeReadAsPublishedNow(t *testing.T) {
	filed := []byte(`{"claim_id":"DC-1","contact":{"first_name":"花子"}}`)
	if typ, got := events.AsPublishedNow(registrationv1.TypeDuplicateClaimFiled, filed); typ != registrationv2.TypeDuplicateClaimFiled || string(got) != string(filed) {
		t.Fatalf("v1 filing read as %s %s", typ, got)
	}
	refused := []byte(`{"claim_id":"DC-1","reason":"insufficient_evidence","claimant":{"first_name":"花子","email":"hanako@example.jp"}}`)
	typ, got := events.AsPublishedNow(verificationv1.TypeDuplicateClaimRefused, refused)
	if typ != verificationv2.TypeDuplicateClaimRefused || strings.Contains(string(got), "claimant") || !strings.Contains(string(got), `"reason":"insufficient_evidence"`) {
		t.Fatalf("v1 refusal read as %s %s", typ, got)
	}
	ended := func(cause, endedBy, reason string) []byte {
		b, _ := json.Marshal(map[string]string{"relationship_id": "R1", "cause": cause, "ended_by": endedBy, "reason": reason})
		return b
	}
	for _, c := range []struct {
		in   []byte
		want string // the reason read; "" unchanged
	}{
		{ended("account_closed", "reseller", "the reseller's partner account was closed (closed_by_operator): sanctions hit"), "the reseller's partner account was closed"},
		{ended("account_closed", "provider", "the provider's partner account was closed: moving on"), "the provider's partner account was closed"},
		{ended("account_closed", "provider", "the provider's partner account was closed"), ""},
		{ended("chosen", "reseller", "the reseller's partner account was closed (not really): our words"), ""},
		{ended("account_closed", "reseller", "the provider's partner account was closed (x)"), ""},
	} {
		typ, got := events.AsPublishedNow(relationshipsv1.TypeRelationshipEnded, c.in)
		var m map[string]string
		_ = json.Unmarshal(got, &m)
		switch {
		case typ != relationshipsv1.TypeRelationshipEnded:
			t.Errorf("%s read as %s", c.in, typ)
		case c.want == "" && string(got) != string(c.in):
			t.Errorf("%s changed to %s", c.in, got)
		case c.want != "" && (m["reason"] != c.want || m["relationship_id"] != "R1"):
			t.Errorf("%s read as %s, want the reason %q", c.in, got, c.want)
		}
	}
	if typ, got := events.AsPublishedNow(registrationv1.TypePartnerActivated, filed); typ != registrationv1.TypePartnerActivated || string(got) != string(filed) {
		t.Fatalf("another type read as %s %s", typ, got)
	}
}
