package events

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

var at = time.Date(2025, 6, 2, 10, 30, 0, 0, time.UTC)

// TestPublishedPayloadsMatchSchemas maps a realistic instance of every
// domain event and validates the payload against schemas/<subject>.json.
func TestPublishedPayloadsMatchSchemas(t *testing.T) {
	hash := domain.TextHash(strings.Repeat("3f", 32))
	tests := []struct {
		ev      domain.Event
		typ     string
		subject string
	}{
		{domain.AgreementVersionPublished{
			VersionID: "indirect_reseller-2025-07", Program: "indirect_reseller", Name: "Partner Agreement for Indirect Resellers",
			Languages: []string{"en", "ja"}, Markets: []domain.Market{"JP"}, EffectiveFrom: at, TextURL: "https://agreements.partnerhub.example/texts/r.md",
			TextSHA256: hash, Policy: domain.PolicyRequiresReacceptance, ReacceptanceWindow: 30 * 24 * time.Hour, PublishedAt: at, PublishedBy: "op-1",
		}, agreementsv1.TypeVersionPublished, "indirect_reseller-2025-07"},
		{domain.AgreementVersionPublished{
			VersionID: "partner_network-2025-01", Program: "partner_network", Name: "Network Agreement", Languages: []string{"ja"},
			EffectiveFrom: at, TextURL: "https://agreements.partnerhub.example/texts/n.md", TextSHA256: hash,
			Policy: domain.PolicyAutoEffective, PublishedAt: at, PublishedBy: "system:seed",
		}, agreementsv1.TypeVersionPublished, "partner_network-2025-01"},
		{domain.AgreementVersionRetired{VersionID: "indirect_reseller-2025-01", Program: "indirect_reseller", RetiredAt: at, RetiredBy: "op-1"},
			agreementsv1.TypeVersionRetired, "indirect_reseller-2025-01"},
		{domain.AcceptanceRecorded{
			AcceptanceID: "0197a1c2-7d1e-7b7a-9e0f-1c2d3e4f5a6b", PartnerID: "PG-7K3M9Q", LocationID: "PL-7K3M9Q-01", EnrollmentID: "EN-41",
			Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2025-01", TextSHA256: hash,
			AcceptorUserID: "user-8841", AcceptorRole: "partner_admin", AcceptedAt: at, EffectiveAt: at,
			VerificationDecisionID: "DEC-77", SupersedesID: "0197a1c2-0000-7b7a-9e0f-1c2d3e4f5a6b",
		}, agreementsv1.TypeAcceptanceRecorded, "PG-7K3M9Q"},
		{domain.AcceptanceRecorded{
			AcceptanceID: "0197a1c2-7d1e-7b7a-9e0f-1c2d3e4f5a6c", PartnerID: "PG-7K3M9Q", LocationID: "PL-7K3M9Q-01",
			Program: "partner_network", Market: "JP", VersionID: "partner_network-2025-01", TextSHA256: hash,
			AcceptorUserID: "user-8841", AcceptorRole: "applicant", AcceptedAt: at, EffectiveAt: at,
		}, agreementsv1.TypeAcceptanceRecorded, "PG-7K3M9Q"},
		{domain.ReacceptanceRequired{
			RequirementID: "REQ-1", PartnerID: "PG-7K3M9Q", LocationID: "PL-7K3M9Q-01", Program: "indirect_reseller", Market: "JP",
			VersionID: "indirect_reseller-2025-07", CurrentAcceptanceID: "ACC-1", DueBy: at.Add(720 * time.Hour),
		}, agreementsv1.TypeReacceptanceRequired, "PG-7K3M9Q"},
		{domain.ReacceptanceOverdue{
			RequirementID: "REQ-1", PartnerID: "PG-7K3M9Q", LocationID: "PL-7K3M9Q-01", Program: "indirect_reseller", Market: "JP",
			VersionID: "indirect_reseller-2025-07", DueBy: at, OverdueAt: at.Add(time.Second),
		}, agreementsv1.TypeReacceptanceOverdue, "PG-7K3M9Q"},
		{domain.AcceptanceSuspended{
			AcceptanceID: "ACC-1", PartnerID: "PG-7K3M9Q", LocationID: "PL-7K3M9Q-01", Program: "indirect_reseller", Market: "JP",
			DecisionID: "DEC-78", Outcome: string(domain.VerificationRevoked), At: at,
		}, agreementsv1.TypeAcceptanceSuspended, "PG-7K3M9Q"},
		{domain.AcceptanceReinstated{
			AcceptanceID: "ACC-1", PartnerID: "PG-7K3M9Q", LocationID: "PL-7K3M9Q-01", Program: "indirect_reseller", Market: "JP",
			DecisionID: "DEC-79", At: at,
		}, agreementsv1.TypeAcceptanceReinstated, "PG-7K3M9Q"},
		{domain.AcceptanceSuspended{
			AcceptanceID: "ACC-1", PartnerID: "PG-7K3M9Q", LocationID: "PL-7K3M9Q-01", Program: "indirect_reseller", Market: "JP",
			DecisionID: "standing:0193-evt", Outcome: domain.StandingSuspended, Reasons: []string{"compliance_hold"}, At: at,
		}, agreementsv1.TypeAcceptanceSuspended, "PG-7K3M9Q"},
		{domain.AcceptanceRefused{
			PendingID: "PA-1", PartnerID: "PG-7K3M9Q", Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2025-07",
			Code: "agreements.verification_not_approved", RequestedAt: at, RefusedAt: at.Add(time.Second),
		}, agreementsv1.TypeAcceptanceRefused, "PG-7K3M9Q"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.ev.EventName(), func(t *testing.T) {
			d, err := Draft(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if d.Type != tt.typ || d.Subject != tt.subject {
				t.Fatalf("draft = %s / %s, want %s / %s", d.Type, d.Subject, tt.typ, tt.subject)
			}
			contract.MustValidate(t, d.Type, d.Data)
			seen[d.Type] = true
		})
	}
	for _, typ := range []string{agreementsv1.TypeVersionPublished, agreementsv1.TypeVersionRetired, agreementsv1.TypeAcceptanceRecorded,
		agreementsv1.TypeReacceptanceRequired, agreementsv1.TypeReacceptanceOverdue, agreementsv1.TypeAcceptanceSuspended,
		agreementsv1.TypeAcceptanceReinstated} {
		if !seen[typ] {
			t.Errorf("no contract sample for %s", typ)
		}
	}
}

func TestSchemasRejectDrift(t *testing.T) {
	// A payload missing the partner id, or with an unknown field, fails.
	if err := contract.Validate(agreementsv1.TypeAcceptanceRecorded, map[string]any{"acceptance_id": "A"}); err == nil {
		t.Fatal("incomplete payload validated")
	}
	bad := agreementsv1.AcceptanceReinstated{AcceptanceID: "A", PartnerID: "PG-1", LocationID: "PL-1", Program: "indirect_reseller",
		Market: "jp", DecisionID: "D", At: at}
	if err := contract.Validate(agreementsv1.TypeAcceptanceReinstated, bad); err == nil {
		t.Fatal("lower-case market validated")
	}
}

func TestVerificationRevokedContract(t *testing.T) {
	contract.MustValidate(t, verificationv1.TypeVerificationRevoked, verificationv1.VerificationRevoked{
		CaseID: "CASE-9", PartnerID: "PG-7K3M9Q", LocationID: "PL-7K3M9Q-01", Market: "JP", DecisionID: "DEC-80",
		RevokedApprovalID: "DEC-77", Reason: "company register extract was forged", RevokedAt: at,
	})
}

func TestDraftRefusesUnknownEvents(t *testing.T) {
	if _, err := Draft(unknownEvent{}); err == nil {
		t.Fatal("want an error for an unmapped domain event")
	}
}

type unknownEvent struct{}

func (unknownEvent) EventName() string { return "Unknown" }
