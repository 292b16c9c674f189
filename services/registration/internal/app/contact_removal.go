package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// RequirementContactRemoved: a reviewer upheld a "this wasn't me" dispute
// of the enrollment's contact address; the address was removed from the
// enrollment, which cannot proceed on it.
const RequirementContactRemoved = "contact_email_removed"

// ContactRemoval is email-ownership's upheld dispute of an enrollment's
// contact address, as registration keeps it for the requirements view.
type ContactRemoval struct {
	PartnerID    domain.PartnerID
	EnrollmentID domain.EnrollmentID
	ChallengeID  string
	Address      string
	RemovedAt    time.Time
}

// ContactRemovals is registration's read model of removed contact
// addresses (fed by email.dispute.upheld.v1). A removal counts while the
// partner's contact address is still the removed one: a changed contact
// address ends it without another event.
type ContactRemovals interface {
	SaveContactRemoval(ctx context.Context, r ContactRemoval) error
	// ContactRemoval is the enrollment's removal, or nil.
	ContactRemoval(ctx context.Context, id domain.EnrollmentID) (*ContactRemoval, error)
}

// RecordContactRemoved keeps an upheld dispute of an enrollment's address.
// The least invasive reaction: the partner's standing and the enrollment's
// status do not change (the enrollment simply cannot be confirmed on that
// address, so it waits, as for any unconfirmed address); the requirements
// view names the cause and the cure. Internal trigger.
func (a *App) RecordContactRemoved(ctx context.Context, r ContactRemoval) error {
	if err := a.repo.SaveContactRemoval(ctx, r); err != nil {
		return fmt.Errorf("record removed contact of %s: %w", r.EnrollmentID, err)
	}
	return nil
}

// withContactRemoval replaces the e-mail confirmation requirement of an
// enrollment whose address (still the partner's contact address) was
// removed: confirming or resending cannot cure it, another address can.
func (a *App) withContactRemoval(ctx context.Context, v *RequirementsView, contactEmail string) error {
	r, err := a.repo.ContactRemoval(ctx, v.EnrollmentID)
	if err != nil || r == nil || !strings.EqualFold(r.Address, contactEmail) {
		return err
	}
	cure := "change the primary contact's e-mail address (a profile change); every enrollment still to be confirmed gets a confirmation mail to the new address"
	if v.PartnerStatus == domain.PartnerStatusPending {
		// Under review, a correction of the contact keeps the domain
		// (registration.not_yet_approved otherwise).
		cure += "; while verification reviews the registration, an address on the same domain"
	}
	for i, q := range v.Requirements {
		if q.Kind != RequirementEmailConfirmation {
			continue
		}
		v.Requirements[i] = Requirement{Kind: RequirementContactRemoved, Party: PartyPartner, Reason: "dispute_upheld", Since: r.RemovedAt,
			Description: "a reviewer upheld a \"this wasn't me\" report of the contact e-mail address: the address was removed from this " +
				"enrollment, which cannot be confirmed on it; give the enrollment another contact e-mail address",
			Cures: []Cure{{Action: "change_contact_email", Description: cure}}}
	}
	return nil
}
