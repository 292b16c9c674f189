package verificationv1

import "time"

// TypeVerificationRevoked is published when an approval is withdrawn after
// the fact (e.g. the company register or an uploaded document turned out to
// be false). Consumers treat the partner as no longer approved.
const TypeVerificationRevoked = "com.partnerhub.verification.case.revoked.v1"

// VerificationRevoked: a reviewer withdrew an earlier approval. DecisionID is
// the revoking decision; RevokedApprovalID the approval it withdraws.
type VerificationRevoked struct {
	CaseID            string    `json:"case_id"`
	PartnerID         string    `json:"partner_id"`
	LocationID        string    `json:"location_id"`
	Market            string    `json:"market"`
	DecisionID        string    `json:"decision_id"`
	RevokedApprovalID string    `json:"revoked_approval_id,omitempty"`
	Reason            string    `json:"reason"`
	RevokedAt         time.Time `json:"revoked_at"`
}
