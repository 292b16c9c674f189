package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/agreements/internal/app"
)

// HandlerEnrollmentAdded is the inbox name of the added-program handler.
const HandlerEnrollmentAdded = "on_enrollment_added"

// OnEnrollmentAdded projects a program a registered partner added, so that
// its agreement can be accepted as one of the registration's.
func (h Inbound) OnEnrollmentAdded(ctx context.Context, ev ce.Event) error {
	var p registrationv1.EnrollmentAdded
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	if _, err := h.App.ApplyEnrollmentAdded.Handle(ctx, app.ApplyEnrollmentAddedCommand{
		PartnerID: p.PartnerID, Program: p.Program, EnrollmentID: p.EnrollmentID}); err != nil {
		return err
	}
	// An acceptance may have come first (the program unknown here yet).
	return h.App.CompletePending.Handle(ctx, p.PartnerID)
}
