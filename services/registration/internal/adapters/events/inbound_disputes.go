package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// OnDisputeUpheld keeps the enrollment's removed contact address for the
// requirements view (the enrollment cannot proceed on it).
func (h *Handlers) OnDisputeUpheld(ctx context.Context, ev ce.Event) error {
	var v emailv1.DisputeDecided
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	if v.EnrollmentID == "" || v.Address == "" || v.DecidedAt.IsZero() {
		return apperr.Invalid("registration.invalid_dispute_outcome", "an upheld dispute needs the enrollment, the address and the time")
	}
	ctx = auth.WithPrincipal(ctx, internal(ev))
	return h.App.RecordContactRemoved(ctx, app.ContactRemoval{PartnerID: domain.PartnerID(v.PartnerID),
		EnrollmentID: domain.EnrollmentID(v.EnrollmentID), ChallengeID: v.ChallengeID, Address: v.Address, RemovedAt: v.DecidedAt})
}
