package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// OnEnrollmentAdded adds a program the partner enrolled in after its
// registration to its case (see app.AddEnrollment).
func (h *Handlers) OnEnrollmentAdded(ctx context.Context, ev ce.Event) error {
	var p registrationv1.EnrollmentAdded
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	_, err := h.App.AddEnrollment(ctx, app.AddEnrollmentCommand{PartnerID: p.PartnerID, EnrollmentID: p.EnrollmentID, Program: p.Program})
	if ae, ok := apperr.As(err); ok && ae.Code == domain.ErrCaseNotFound.Code && h.young(ev) {
		return bus.Awaiting(apperr.New(apperr.KindUnavailable, ae.Code, ae.Message+" (yet): partner "+p.PartnerID))
	}
	return err
}
