package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
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
	return h.awaitCase(ev, p.PartnerID, err, domain.ErrCaseNotFound)
}
