// Package events is the e-mail ownership service's bus edge: the inbound
// handler of registration events and the mapping of domain events to the
// published language (pkg/events/email/v1).
package events

import (
	"fmt"

	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// Drafts maps domain events to outbox drafts. Subject and partition key are
// the global partner id, so one partner's events stay in order.
func Drafts(events []domain.Event) ([]outbox.Draft, error) {
	out := make([]outbox.Draft, 0, len(events))
	for _, e := range events {
		d, err := Draft(e)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Draft maps one domain event.
func Draft(e domain.Event) (outbox.Draft, error) {
	var typ, class, partner string
	var data any
	switch e := e.(type) {
	case domain.ChallengeOpened:
		typ = emailv1.TypeChallengeOpened
		partner = e.PartnerID
		sup := append([]string{}, e.Supersedes...) // never null
		data = emailv1.ChallengeOpened{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, Reason: string(e.Reason), Supersedes: sup, ExpiresAt: e.ExpiresAt, OpenedAt: e.OccurredAt}
	case domain.VerificationMailRequested:
		typ, class = emailv1.TypeVerificationMailRequested, emailv1.DataClassificationRestricted
		partner = e.PartnerID
		data = emailv1.VerificationMailRequested{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, Recipient: e.Recipient, ContactName: e.ContactName, Language: string(e.Language),
			Market: e.Market, TemplateID: e.TemplateID, ExpiresAt: e.ExpiresAt, SealedSecret: e.SealedSecret, RequestedAt: e.OccurredAt,
			Reason: string(e.Reason), ProfileChange: e.ProfileChange, ContactChange: e.ContactChange}
	case domain.OwnershipConfirmed:
		typ = emailv1.TypeOwnershipConfirmed
		partner = e.PartnerID
		data = emailv1.OwnershipConfirmed{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, Address: e.Address, Method: string(e.Method), ConfirmedAt: e.OccurredAt}
	case domain.ChallengeExpired:
		typ = emailv1.TypeChallengeExpired
		partner = e.PartnerID
		data = emailv1.ChallengeExpired{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, ExpiredAt: e.ExpiredAt}
	case domain.ChallengeDisputed:
		typ = emailv1.TypeChallengeDisputed
		partner = e.PartnerID
		data = emailv1.ChallengeDisputed{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, Address: e.Address, DisputedAt: e.OccurredAt, ProfileChange: e.ProfileChange,
			ContactChange: e.ContactChange}
	case domain.ChallengeLocked:
		typ = emailv1.TypeChallengeLocked
		partner = e.PartnerID
		data = emailv1.ChallengeLocked{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, WrongCodes: e.WrongCodes, LockedAt: e.OccurredAt}
	case domain.DisputeWithdrawn:
		typ = emailv1.TypeDisputeWithdrawn
		partner = e.PartnerID
		data = emailv1.DisputeWithdrawn{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, DisputedChallengeID: e.DisputedChallengeID, WithdrawnAt: e.OccurredAt}
	case domain.ChallengeCancelled:
		typ = emailv1.TypeChallengeCancelled
		partner = e.PartnerID
		data = emailv1.ChallengeCancelled{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, Standing: e.Standing, CancelledAt: e.OccurredAt}
	case domain.ChallengeWithdrawn:
		typ, partner = emailv1.TypeChallengeWithdrawn, e.PartnerID
		data = emailv1.ChallengeWithdrawn{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, ProfileChange: e.ProfileChange, Cause: e.Cause, WithdrawnAt: e.OccurredAt}
	case domain.DisputeUpheld:
		typ, partner = emailv1.TypeDisputeUpheld, e.PartnerID
		data = emailv1.DisputeDecided{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, ReviewID: e.ReviewID, Address: e.Address, Outcome: "upheld", DecidedAt: e.OccurredAt}
	case domain.DisputeDismissed:
		typ, partner = emailv1.TypeDisputeDismissed, e.PartnerID
		data = emailv1.DisputeDecided{PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program,
			ChallengeID: e.ChallengeID, ReviewID: e.ReviewID, Address: e.Address, Outcome: "dismissed", Reason: e.Reason, DecidedAt: e.OccurredAt}
	default:
		return outbox.Draft{}, fmt.Errorf("events: no mapping for domain event %T", e)
	}
	return outbox.Draft{Type: typ, Subject: partner, Data: data, DataClassification: class}, nil
}
