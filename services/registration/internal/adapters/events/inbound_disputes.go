package events

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// OnChallengeDisputed keeps that the enrollment's confirmation mail was
// reported and is under review (the requirements view says so).
func (h *Handlers) OnChallengeDisputed(ctx context.Context, ev ce.Event) error {
	var v emailv1.ChallengeDisputed
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	if v.Address == "" {
		return apperr.Invalid("registration.invalid_dispute_outcome", "a dispute needs the enrollment, the address and the time")
	}
	return h.contactReport(ctx, ev, v.PartnerID, v.EnrollmentID, v.ChallengeID, v.Address, app.ContactReported, v.DisputedAt)
}

// OnDisputeWithdrawn keeps that a confirmation of the enrollment withdrew
// the report.
func (h *Handlers) OnDisputeWithdrawn(ctx context.Context, ev ce.Event) error {
	var v emailv1.DisputeWithdrawn
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	return h.contactReport(ctx, ev, v.PartnerID, v.EnrollmentID, v.DisputedChallengeID, "", app.ContactReportEnded, v.WithdrawnAt)
}

// OnDisputeDismissed keeps that a verifier dismissed the report: the
// enrollment's mail confirms again.
func (h *Handlers) OnDisputeDismissed(ctx context.Context, ev ce.Event) error {
	var v emailv1.DisputeDecided
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	return h.contactReport(ctx, ev, v.PartnerID, v.EnrollmentID, v.ChallengeID, v.Address, app.ContactReportEnded, v.DecidedAt)
}

// OnDisputeUpheld keeps the enrollment's removed contact address for the
// requirements view (the enrollment cannot proceed on it).
func (h *Handlers) OnDisputeUpheld(ctx context.Context, ev ce.Event) error {
	var v emailv1.DisputeDecided
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	if v.Address == "" {
		return apperr.Invalid("registration.invalid_dispute_outcome", "an upheld dispute needs the enrollment, the address and the time")
	}
	return h.contactReport(ctx, ev, v.PartnerID, v.EnrollmentID, v.ChallengeID, v.Address, app.ContactRemoved, v.DecidedAt)
}

func (h *Handlers) contactReport(ctx context.Context, ev ce.Event, partnerID, enrollmentID, challengeID, address string,
	state app.ContactReportState, at time.Time) error {
	if enrollmentID == "" || at.IsZero() {
		return apperr.Invalid("registration.invalid_dispute_outcome", "a dispute's "+string(state)+" state needs the enrollment and the time")
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	return h.App.RecordContactReport(ctx, p, app.ContactReport{PartnerID: domain.PartnerID(partnerID), EnrollmentID: domain.EnrollmentID(enrollmentID),
		ChallengeID: challengeID, Address: address, State: state, At: at})
}
