package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
)

// HandlerEnrollmentAdded is the inbox name of the added-program handler.
const HandlerEnrollmentAdded = "open_challenge_on_enrollment_added"

// OnEnrollmentAdded opens the challenge of a program a registered partner
// added, exactly as for an enrollment of its registration: the contact
// confirms the address again for the new enrollment (seed 002 step 17).
func (h *Handlers) OnEnrollmentAdded(ctx context.Context, ev ce.Event) error {
	var p registrationv1.EnrollmentAdded
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	_, err := h.App.OpenChallenges(ctx, app.OpenChallengesCommand{
		Addressee:   addressee(p.PartnerID, p.Contact, p.Language, p.Market, ev),
		Enrollments: []app.Enrollment{{EnrollmentID: p.EnrollmentID, Program: p.Program}},
		Added:       true,
	})
	return awaitPartner(err, p.PartnerID)
}
