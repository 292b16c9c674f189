package events_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/pkg/events"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	registrationv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	relationshipsv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
)

// The schemas mark exactly the members the declarations list: as staff-only
// ("x-audience": "staff", top-level) and as naming a principal
// ("x-audience": "principal", also a member of a list's objects): what
// integrators read in the contract is what the timeline redacts.
func TestTheSchemasMarkTheStaffOnlyMembers(t *testing.T) {
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "schemas", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas: %v", err)
	}
	marked := map[string][]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s schemaNode
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		topic := strings.TrimSuffix(filepath.Base(f), ".json")
		s.marks(t, topic, "", marked)
	}
	declared := map[string][]string{}
	for _, typ := range events.StaffOnlyTypes() {
		for _, name := range events.StaffOnly(typ) {
			declared["staff"] = append(declared["staff"], ce.Topic(typ)+":"+name)
		}
	}
	for _, typ := range events.PrincipalTypes() {
		for _, path := range events.Principals(typ) {
			declared["principal"] = append(declared["principal"], ce.Topic(typ)+":"+path)
		}
	}
	for _, audience := range []string{"staff", "principal"} {
		slices.Sort(marked[audience])
		slices.Sort(declared[audience])
		if len(declared[audience]) == 0 || !slices.Equal(marked[audience], declared[audience]) {
			t.Errorf("schemas mark %q as %s, the declaration lists %q", marked[audience], audience, declared[audience])
		}
	}
}

// schemaNode is what the audience test reads of a JSON schema.
type schemaNode struct {
	Properties map[string]schemaNode `json:"properties"`
	Items      *schemaNode           `json:"items"`
	Audience   any                   `json:"x-audience"`
}

// marks adds the members under n (at path) marked with an audience.
func (n schemaNode) marks(t *testing.T, topic, path string, marked map[string][]string) {
	for name, p := range n.Properties {
		at := path + name
		switch a := p.Audience; a {
		case nil:
		case "staff":
			if path != "" {
				t.Errorf("%s: %s is staff-only below the top level (ForPartnerSide redacts top-level members)", topic, at)
			}
			marked["staff"] = append(marked["staff"], topic+":"+at)
		case "principal":
			marked["principal"] = append(marked["principal"], topic+":"+at)
		default:
			t.Errorf("%s: %s has x-audience %v (only \"staff\" and \"principal\" are known)", topic, at, a)
		}
		p.marks(t, topic, at+".", marked)
		if p.Items != nil {
			p.Items.marks(t, topic, at+"[].", marked)
		}
	}
}

// Every member whose name says it names who acted (…_by, …_by_subject,
// verifier, …_user_id) is declared: staff-only, naming a principal, or
// shown as one of a few that name something else (listed here).
func TestEveryMemberNamingWhoActedIsDeclared(t *testing.T) {
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "schemas", "*.json"))
	notAPrincipal := map[string]bool{"due_by": true, "ended_by": true, "narrowed_by": true, "by": true}
	looksLikeOne := regexp.MustCompile(`(_by|_by_subject|^verifier|_user_id)$`)
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		var s schemaNode
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var walk func(n schemaNode, path string)
		walk = func(n schemaNode, path string) {
			for name, p := range n.Properties {
				if looksLikeOne.MatchString(name) && !notAPrincipal[name] && p.Audience == nil {
					t.Errorf("%s: %s%s names who acted but has no x-audience", filepath.Base(f), path, name)
				}
				walk(p, path+name+".")
				if p.Items != nil {
					walk(*p.Items, path+name+"[].")
				}
			}
		}
		walk(s, "")
	}
}

// The partner's side reads each staff-only member redacted — a text
// "[redacted]", a list empty — and the event still matches its schema;
// every other member, and every other type, is unchanged.
func TestThePartnerSideReadsStaffOnlyMembersRedacted(t *testing.T) {
	standing := []byte(`{"partner_id":"PG-1H25-YF0S-HJB","from":"active","to":"suspended","reasons":["compliance_hold"],` +
		`"added":["compliance_hold"],"lifted":[],"changed_by":"ops-1","note":"sanctions screening hit","changed_at":"2026-12-06T10:00:00Z"}`)
	got := events.ForPartnerSide(registrationv1.TypePartnerStandingChanged, standing, shownIf("ops-1"))
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
	got = events.ForPartnerSide(relationshipsv1.TypeAccessSuspended, suspended, shownIf())
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
	got = events.ForPartnerSide(registrationv1.TypeDuplicateClaimFiled, claim, shownIf())
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
	got = events.ForPartnerSide(registrationv2.TypeDuplicateClaimFiled, filed, shownIf("crm"))
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
		{registrationv1.TypePartnerStandingChanged, []byte(`{"partner_id":"PG-1H25-YF0S-HJB","changed_by":""}`)},
		{registrationv1.TypePartnerActivated, standing},
		{registrationv1.TypePartnerStandingChanged, []byte(`"note"`)},
		{registrationv1.TypePartnerStandingChanged, nil},
	} {
		if out := events.ForPartnerSide(c.typ, c.data, shownIf()); string(out) != string(c.data) {
			t.Fatalf("%s %s changed to %s", c.typ, c.data, out)
		}
	}
}

// shownIf answers whether a subject is one of subjects: the principals the
// partner's side may read.
func shownIf(subjects ...string) func(string) bool {
	return func(s string) bool { return slices.Contains(subjects, s) }
}

// The partner's side reads a member naming a principal only where the
// reader allows the subject (the event's own partner-side actor, or one of
// our services): a staff subject reads Redacted, at the top level and in
// each object of a list (a profile change's checks), the event still
// matching its schema; an allowed subject and every other member are
// unchanged.
func TestThePartnerSideReadsStaffSubjectsRedacted(t *testing.T) {
	standing := []byte(`{"partner_id":"PG-1H25-YF0S-HJB","from":"active","to":"closed","reasons":["closed_by_operator"],` +
		`"added":["closed_by_operator"],"lifted":[],"changed_by":"ops-1","changed_at":"2026-12-06T10:00:00Z"}`)
	if got := events.ForPartnerSide(registrationv1.TypePartnerStandingChanged, standing, shownIf("admin-1", "verification")); !strings.Contains(string(got), `"changed_by":"`+events.Redacted+`"`) ||
		strings.Contains(string(got), "ops-1") || !strings.Contains(string(got), `"to":"closed"`) {
		t.Fatalf("an operator's closure for the partner's side: %s", got)
	} else if err := contract.ValidateJSON(registrationv1.TypePartnerStandingChanged, got); err != nil {
		t.Fatal(err)
	}
	rejected := []byte(`{"partner_id":"PG-1H25-YF0S-HJB","change_number":2,"market":"JP","check":"company","reason":"no match","checks":[` +
		`{"check":"company","state":"failed","decided_by":"verifier-7","decided_at":"2026-12-06T10:00:00Z","reason":"no match"},` +
		`{"check":"email_ownership","state":"passed","decided_by":"email-ownership","decided_at":"2026-12-06T09:00:00Z"}],` +
		`"rejected_by":"verifier-7","rejected_at":"2026-12-06T10:00:00Z"}`)
	got := events.ForPartnerSide(registrationv1.TypeProfileChangeRejected, rejected, shownIf("email-ownership"))
	var r struct {
		Number int `json:"change_number"`
		Checks []struct {
			Check string `json:"check"`
		} `json:"checks"`
		RejectedBy string `json:"rejected_by"`
	}
	if err := json.Unmarshal(got, &r); err != nil || strings.Contains(string(got), "verifier-7") || r.RejectedBy != events.Redacted ||
		len(r.Checks) != 2 || r.Checks[0].Check != "company" || r.Number != 2 || !strings.Contains(string(got), `"decided_by":"email-ownership"`) {
		t.Fatalf("a verifier's rejection for the partner's side: %s (%v)", got, err)
	}
	if err := contract.ValidateJSON(registrationv1.TypeProfileChangeRejected, got); err != nil {
		t.Fatal(err)
	}
	if got := events.ForPartnerSide(registrationv1.TypeProfileChangeRejected, rejected, shownIf("email-ownership", "verifier-7")); string(got) != string(rejected) {
		t.Fatalf("every subject allowed, changed to %s", got)
	}
	for _, data := range []string{`{"checks":"x"}`, `{"checks":[1,"a",null,{"decided_by":3}]}`, `{"rejected_by":null}`} {
		if got := events.ForPartnerSide(registrationv1.TypeProfileChangeRejected, []byte(data), shownIf()); string(got) != data {
			t.Errorf("%s changed to %s", data, got)
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
	f.Add(`{"changed_by":"ops-2","to":"closed"}`)
	f.Add(`["note"]`)
	f.Add(`"note"`)
	f.Add(`{"note":null}`)
	f.Add(`{`)
	typ := registrationv1.TypePartnerStandingChanged
	f.Fuzz(func(t *testing.T, data string) {
		out := events.ForPartnerSide(typ, []byte(data), shownIf("ops-1"))
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
			if subject, ok := v.(string); ok && slices.Contains(events.Principals(typ), name) && subject != "" && subject != "ops-1" {
				if w != events.Redacted {
					t.Fatalf("%q: %s names %q, not shown, and reads %#v", data, name, subject, w)
				}
				continue
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

// A service's answers show staff every subject, and the partner's side our
// services', its registrant's and its own only.
func TestSubjectsShownToTheReader(t *testing.T) {
	admin := auth.Principal{Subject: "admin-1", PartnerID: "PG-1", Roles: []auth.Role{auth.RolePartnerAdmin}}
	for _, c := range []struct {
		p       auth.Principal
		subject string
		shown   bool
	}{
		{auth.Principal{Subject: "op-1", Roles: []auth.Role{auth.RoleOperator}}, "ver-9", true},
		{auth.Principal{Subject: "v-1", Roles: []auth.Role{auth.RoleVerifier}}, "admin-2", true},
		{admin, "admin-1", true},
		{admin, "upstream-portal", true},
		{admin, "verification", true},
		{admin, "op-1", false},
		{admin, "admin-2", false},
		{admin, "", false},
		{auth.Principal{Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}, "upstream-portal", true},
	} {
		if got := events.SubjectsShownTo(c.p, "upstream-portal")(c.subject); got != c.shown {
			t.Errorf("%s reads %q: %v, want %v", c.p.Subject, c.subject, got, c.shown)
		}
	}
	s := "op-1"
	events.HideSubject(&s, events.SubjectsShownTo(admin, ""))
	empty := ""
	events.HideSubject(&empty, events.SubjectsShownTo(admin, ""))
	if s != events.Redacted || empty != "" {
		t.Fatalf("hidden %q and %q", s, empty)
	}
}

// A filter naming a type the partner's side reads events published before
// as (a v2) selects those too; a prefix or another type does not change.
func TestTypeFiltersAsReadNow(t *testing.T) {
	v2 := []string{registrationv2.TypeDuplicateClaimFiled}
	if got := events.AsReadNow(v2); !slices.Equal(got, []string{registrationv2.TypeDuplicateClaimFiled, registrationv1.TypeDuplicateClaimFiled}) ||
		len(v2) != 1 {
		t.Fatalf("filters %v read as %v", v2, got)
	}
	for _, f := range [][]string{nil, {"com.partnerhub.registration.duplicate_claim."}, {registrationv1.TypeDuplicateClaimFiled},
		{registrationv2.TypeDuplicateClaimFiled, registrationv1.TypeDuplicateClaimFiled}} {
		if got := events.AsReadNow(f); !slices.Equal(got, f) {
			t.Errorf("filters %v read as %v", f, got)
		}
	}
	// Every type AsPublishedNow renames is one AsReadNow widens to.
	for _, before := range []string{registrationv1.TypeDuplicateClaimFiled, verificationv1.TypeDuplicateClaimRefused} {
		now, _ := events.AsPublishedNow(before, []byte(`{}`))
		if got := events.AsReadNow([]string{now}); !slices.Contains(got, before) {
			t.Errorf("a filter on %s reads as %v, without %s", now, got, before)
		}
	}
}
