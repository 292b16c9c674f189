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
//
// The decision is about the address, not one enrollment: the partner's
// other enrollments on the same address (each confirms the contact address
// anew, so one report may find several challenges to it) follow it in the
// same transaction — upheld, none of them is confirmed on the address or
// mails it again (domain.Ownership.RemoveAddress); dismissed, their disputes
// made by then are dismissed with it (DismissDisputeOf). Their own reviews,
// if the address's owner reported them too, are closed by the events this
// records (verification cancels an open review whose dispute ended so).
func (a *App) ApplyDisputeDecision(ctx context.Context, cmd DisputeDecisionCommand) error {
	if strings.TrimSpace(cmd.EnrollmentID) == "" || strings.TrimSpace(cmd.ChallengeID) == "" {
		return translate(domain.ErrInvalidEnrollment)
	}
	var partnerID, addr string
	err := a.d.Repo.Update(ctx, cmd.EnrollmentID, func(o *domain.Ownership) error {
		o.ApplyDisputeDecision(cmd.DisputeDecision, a.d.Clock.Now())
		for _, c := range o.Challenges() {
			if c.ID == cmd.ChallengeID && (!cmd.Upheld || c.State == domain.StateRemoved) {
				partnerID, addr = o.Ref().PartnerID, c.Address
			}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return translate(err)
	}
	if err != nil {
		return fmt.Errorf("apply dispute decision on %s: %w", cmd.EnrollmentID, err)
	}
	if addr == "" {
		return nil
	}
	ids, err := a.d.Repo.EnrollmentsByPartner(ctx, partnerID)
	if err != nil {
		return fmt.Errorf("enrollments of %s: %w", partnerID, err)
	}
	for _, id := range ids {
		if id == cmd.EnrollmentID {
			continue
		}
		err := a.d.Repo.Update(ctx, id, func(o *domain.Ownership) error {
			if cmd.Upheld {
				o.RemoveAddress(addr, cmd.DisputeDecision, a.d.Clock.Now())
			} else {
				o.DismissDisputeOf(addr, cmd.DisputeDecision, a.d.Clock.Now())
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("carry the dispute decision on %s to enrollment %s: %w", cmd.EnrollmentID, id, err)
		}
	}
	return nil
}
