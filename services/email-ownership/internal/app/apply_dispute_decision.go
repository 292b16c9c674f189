package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// CodeAddressRemoved: the challenge's address was removed from the
// enrollment after a verifier upheld its dispute.
const CodeAddressRemoved = "emailownership.address_removed"

// DisputeDecisionCommand is verification's decision on a dispute.
type DisputeDecisionCommand struct {
	EnrollmentID string
	domain.DisputeDecision
}

// ApplyDisputeDecision closes the dispute of a challenge as a verifier
// decided it: upheld removes the address from the enrollment (the challenge
// can no longer be confirmed or resent), dismissed lets the challenge
// continue. A decision on a dispute that a confirmation already withdrew,
// or a replay, changes nothing. Internal trigger (verification's events):
// no principal. An unknown enrollment is permanent (dead-lettered).
func (a *App) ApplyDisputeDecision(ctx context.Context, cmd DisputeDecisionCommand) error {
	if strings.TrimSpace(cmd.EnrollmentID) == "" || strings.TrimSpace(cmd.ChallengeID) == "" {
		return translate(domain.ErrInvalidEnrollment)
	}
	err := a.d.Repo.Update(ctx, cmd.EnrollmentID, func(o *domain.Ownership) error {
		o.ApplyDisputeDecision(cmd.DisputeDecision, a.d.Clock.Now())
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return translate(err)
	}
	if err != nil {
		return fmt.Errorf("apply dispute decision on %s: %w", cmd.EnrollmentID, err)
	}
	return nil
}
