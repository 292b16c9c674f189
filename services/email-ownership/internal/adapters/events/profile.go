package events

import (
	"context"
	"slices"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// HandlerProfileChange is the inbox name of the profile change handler.
const HandlerProfileChange = "open_challenge_on_profile_change_requested"

// OnProfileChangeRequested opens a challenge for a profile change's new
// contact address on the membership enrollment (whose confirmation
// registration waits for before it applies the change). A change that does
// not re-open e-mail ownership needs nothing here.
func (h *Handlers) OnProfileChangeRequested(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ProfileChangeRequested
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	if !slices.Contains(p.Reopens, registrationv1.RecheckEmailOwnership) {
		return nil
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	_, err := h.App.OpenChallenges(ctx, app.OpenChallengesCommand{
		PartnerID:   p.PartnerID,
		Enrollments: []app.Enrollment{{EnrollmentID: p.ContactEnrollmentID, Program: "partner_network"}},
		Email:       p.Contact.Email,
		ContactName: contactName(p.Contact, p.Language, p.Market),
		Language:    p.Language,
		Market:      p.Market,
		CausationID: ev.ID,
		Reason:      domain.ReasonProfileChange,
	})
	return err
}
