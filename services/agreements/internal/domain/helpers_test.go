package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

func validDraft() VersionDraft {
	return VersionDraft{
		ID: "indirect_reseller-2025-06", Program: "indirect_reseller", Name: "Reseller agreement",
		Languages: []string{"en", "ja"}, Markets: []string{"jp"}, EffectiveFrom: t0,
		TextURL: "https://example.test/r.md", TextSHA256: strings.Repeat("ab", 32), Policy: "auto_effective",
	}
}

func mustVersion(t *testing.T, mut func(*VersionDraft)) *Version {
	t.Helper()
	d := validDraft()
	if mut != nil {
		mut(&d)
	}
	v, err := PublishVersion(d, "op-1", t0)
	if err != nil {
		t.Fatalf("PublishVersion: %v", err)
	}
	v.PullEvents()
	return v
}

func registeredPartner(t *testing.T, outcome VerificationOutcome) *Partner {
	t.Helper()
	p := NewPartner("P1")
	if _, err := p.Register(Registration{
		PartnerID: "P1", LocationID: "L1", Market: "JP", Programs: []string{"indirect_reseller"},
		Enrollments: map[string]string{"indirect_reseller": "E1"}, RegisteredAt: t0,
	}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if outcome != VerificationPending {
		if _, err := p.ApplyVerification(VerificationDecision{DecisionID: "D1", Outcome: outcome, DecidedAt: t0}, nil); err != nil {
			t.Fatalf("ApplyVerification: %v", err)
		}
	}
	return p
}

func assertIs(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}
