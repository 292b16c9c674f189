// Package emailv1 is what the e-mail ownership service publishes on the
// EMAIL stream. Subject and partitionkey are the global partner ID; the
// enrollment is in the payload.
package emailv1

import "time"

// Event types consumed by other services. The e-mail ownership service adds
// the rest of its catalog (challenge opened/expired/disputed/locked,
// verification mail requested) here.
const (
	TypeOwnershipConfirmed = "com.partnerhub.email.ownership.confirmed.v1"
)

// OwnershipConfirmed: the contact proved control of Address for one
// enrollment (each enrollment confirms separately).
type OwnershipConfirmed struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	Address      string    `json:"address"`
	Method       string    `json:"method"` // link or code
	ConfirmedAt  time.Time `json:"confirmed_at"`
}
