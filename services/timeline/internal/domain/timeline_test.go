package domain_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

func TestPartnersOf(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		data    string
		want    []string
	}{
		{"subject only", "PG-AAAA-BBBB-CCC", `{"enrollment_id":"EN-1"}`, []string{"PG-AAAA-BBBB-CCC"}},
		{"relationship: reseller subject and provider in the data", "PG-RRRR-0000-001",
			`{"relationship_id":"R1","provider_id":"PG-PPPP-0000-001","reseller_id":"PG-RRRR-0000-001"}`,
			[]string{"PG-PPPP-0000-001", "PG-RRRR-0000-001"}},
		{"a new *_partner_id member", "PG-A1", `{"referring_partner_id":"PG-B2"}`, []string{"PG-A1", "PG-B2"}},
		{"agreement version: no partner", "AV-2026-01", `{"version_id":"AV-2026-01","program":"indirect_reseller"}`, nil},
		{"rejected intake: no partner", "01a2000b-560d-7cda-8f2f-230b834e919f", `{"intake_event_id":"x","code":"bad"}`, nil},
		{"location ids are not partners", "PL-AAAA-BBBB-CCC", `{"partner_id":"PL-AAAA"}`, nil},
		{"non-string and non-object data", "PG-A1", `[1,2]`, []string{"PG-A1"}},
		{"no data", "PG-A1", ``, []string{"PG-A1"}},
		{"unrelated members are ignored", "X", `{"created_by":"PG-A1","partner_id":7}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.PartnersOf(tt.subject, []byte(tt.data)); !slices.Equal(got, tt.want) {
				t.Errorf("PartnersOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	data := []byte(`{"partner_id":"PG-A1","sealed_secret":"c2VjcmV0","recipient":"a@b.example"}`)
	var got map[string]any
	if err := json.Unmarshal(domain.Redacted("restricted", data), &got); err != nil {
		t.Fatal(err)
	}
	if got["sealed_secret"] != "[redacted]" || got["partner_id"] != "PG-A1" {
		t.Errorf("redacted = %v", got)
	}
	if string(domain.Redacted("", data)) != string(data) {
		t.Error("unclassified data changed")
	}
}

// TestARedactedEventStillMatchesItsSchema: the feed and webhooks list a
// restricted event with its dataschema; a reader that validates the data
// against that schema must not refuse the redacted copy.
func TestARedactedEventStillMatchesItsSchema(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 22, 45, 4, 0, time.UTC)
	data, err := json.Marshal(emailv1.VerificationMailRequested{PartnerID: "PG-ERXH-RQPF-YJ3", EnrollmentID: "EN-6M5Q-M2VA-H7Q",
		Program: "partner_network", ChallengeID: "53047095-27ed-4f88-b236-d3c63d3fb39c", Recipient: "ichiro@sample-shoji.co.jp",
		ContactName: "鈴木 一郎", Language: "ja", Market: "JP", TemplateID: "email_ownership.verify.v1", ExpiresAt: t0.Add(72 * time.Hour),
		SealedSecret: make([]byte, 80), RequestedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := contract.ValidateJSON(emailv1.TypeVerificationMailRequested, data); err != nil {
		t.Fatalf("the event as published: %v", err)
	}
	if err := contract.ValidateJSON(emailv1.TypeVerificationMailRequested, domain.Redacted("restricted", data)); err != nil {
		t.Errorf("the event as the feed lists it: %v", err)
	}
}

func TestGaps(t *testing.T) {
	tests := []struct {
		seqs      []uint64
		max       int
		want      []uint64
		truncated bool
	}{
		{nil, 10, nil, false},
		{[]uint64{1, 2, 3}, 10, nil, false},
		{[]uint64{3, 1, 1, 5}, 10, []uint64{2, 4}, false},
		{[]uint64{0, 2}, 10, []uint64{1}, false},
		{[]uint64{10}, 3, []uint64{1, 2, 3}, true},
		{[]uint64{4}, 3, []uint64{1, 2, 3}, false},
	}
	for _, tt := range tests {
		got, tr := domain.Gaps(tt.seqs, tt.max)
		if !slices.Equal(got, tt.want) || tr != tt.truncated {
			t.Errorf("Gaps(%v, %d) = %v, %v; want %v, %v", tt.seqs, tt.max, got, tr, tt.want, tt.truncated)
		}
	}
}

func TestCursorRoundTripAndRejects(t *testing.T) {
	p := domain.Position{Time: time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC), Source: "/services/registration", Sequence: 7, ID: "e1"}
	got, err := domain.ParseCursor(p.Cursor())
	if err != nil || !got.Time.Equal(p.Time) || got.Source != p.Source || got.Sequence != 7 || got.ID != "e1" {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	for _, bad := range []string{"%%%", "bm9wZQ", p.Cursor() + "x", "eyJ0IjoiMjAyNi0wMy0wMlQwOTowMDowMFoifQ"} {
		if _, err := domain.ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}
