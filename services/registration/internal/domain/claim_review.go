package domain

import (
	"errors"
	"time"
)

// ClaimStatus is where a duplicate claim stands, as its claimant reads it.
type ClaimStatus string

// Claim statuses: filed here; under_review once a verifier took it up;
// upheld or refused by the verifier's decision.
const (
	ClaimFiled       ClaimStatus = "filed"
	ClaimUnderReview ClaimStatus = "under_review"
	ClaimUpheld      ClaimStatus = "upheld"
	ClaimRefused     ClaimStatus = "refused"
)

// ErrClaimMismatch: a review outcome names a claim the attempt does not have.
var ErrClaimMismatch = errors.New("the review names another claim than the attempt's")

// ClaimReview is the verification service's review of a claim, as its
// events told registration.
type ClaimReview struct {
	ReviewID   string      `json:"review_id"`
	Status     ClaimStatus `json:"status"`
	DecisionID string      `json:"decision_id,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	ReasonText string      `json:"reason_text,omitempty"`
	Message    string      `json:"message,omitempty"`
	StartedAt  time.Time   `json:"started_at,omitzero"`
	DecidedAt  time.Time   `json:"decided_at,omitzero"`
}

// Status is the claim's status (filed when no review reported yet).
func (c *DuplicateClaim) Status() ClaimStatus {
	if c.Review == nil {
		return ClaimFiled
	}
	return c.Review.Status
}

// ClaimOutcome is a review fact about a claim: under_review when a verifier
// took it up; upheld or refused with the decision.
type ClaimOutcome struct {
	ClaimID    ClaimID
	ReviewID   string
	Status     ClaimStatus
	DecisionID string
	Reason     string
	ReasonText string
	Message    string
	At         time.Time
}

// ApplyClaimReview records a review fact on the attempt's claim. A decision
// is final (a late under_review or a second decision changes nothing but
// the time a verifier took the claim up, when the decision came first), so
// redelivered or reordered events are harmless; it reports whether
// anything changed. StartedAt is only ever the time a verifier took the
// claim up: a claim decided without one (verification refuses a claim
// about a closed or rejected partner itself) has none.
func (a *DuplicateAttempt) ApplyClaimReview(o ClaimOutcome) (bool, error) {
	if a.Claim == nil || a.Claim.ID != o.ClaimID {
		return false, ErrClaimMismatch
	}
	c := a.Claim
	switch o.Status {
	case ClaimUnderReview:
		if c.Review != nil {
			if !c.Review.StartedAt.IsZero() {
				return false, nil
			}
			c.Review.StartedAt = o.At // the decision came first
			return true, nil
		}
		c.Review = &ClaimReview{ReviewID: o.ReviewID, Status: ClaimUnderReview, StartedAt: o.At}
		return true, nil
	case ClaimUpheld, ClaimRefused:
		if c.Review != nil && (c.Review.Status == ClaimUpheld || c.Review.Status == ClaimRefused) {
			return false, nil
		}
		var started time.Time
		if c.Review != nil {
			started = c.Review.StartedAt
		}
		c.Review = &ClaimReview{ReviewID: o.ReviewID, Status: o.Status, DecisionID: o.DecisionID, Reason: o.Reason,
			ReasonText: o.ReasonText, Message: o.Message, StartedAt: started, DecidedAt: o.At}
		return true, nil
	}
	return false, errors.New("unknown claim status " + string(o.Status))
}
