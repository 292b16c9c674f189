package emailv1

import "time"

// The outcome of a "this wasn't me" dispute, after a verifier reviewed it
// (verification.email_dispute.upheld/dismissed.v1). Subject and
// partitionkey: the global partner ID.
const (
	// TypeDisputeUpheld: the address was removed from the enrollment; its
	// challenge is closed (state removed) and cannot be confirmed or
	// resent. The enrollment needs another contact address (a profile
	// change of the contact e-mail opens a new challenge). A decision is
	// about the partner's address: one event per enrollment on it (the
	// reported one, the others, one added later), naming the deciding
	// review.
	TypeDisputeUpheld = "com.partnerhub.email.dispute.upheld.v1"
	// TypeDisputeDismissed: the dispute is closed; the challenge continues
	// as before (it can be confirmed until it expires, and resent). One
	// event per enrollment whose report of the address, made by the time
	// the verifier decided, is dismissed with the decided one.
	TypeDisputeDismissed = "com.partnerhub.email.dispute.dismissed.v1"
)

// DisputeDecided is the payload of TypeDisputeUpheld and
// TypeDisputeDismissed (Reason set).
type DisputeDecided struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	ReviewID     string    `json:"review_id"`
	Address      string    `json:"address"` // the disputed (upheld: removed) address
	Outcome      string    `json:"outcome"` // upheld | dismissed
	Reason       string    `json:"reason,omitempty"`
	DecidedAt    time.Time `json:"decided_at"`
}
