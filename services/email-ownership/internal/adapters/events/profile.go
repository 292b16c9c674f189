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

// Inbox names of the profile change handlers.
const (
	HandlerProfileChange         = "open_challenge_on_profile_change_requested"
	HandlerProfileChangeRejected = "withdraw_challenge_on_profile_change_rejected"
	HandlerProfileChangeApplied  = "follow_contact_on_profile_change_applied"
)

// OnProfileChangeRequested opens a challenge for a profile change's new
// contact address on the membership enrollment (whose confirmation
// registration waits for before it applies the change). A change that does
// not re-open e-mail ownership opens nothing; when it replaces a pending
// change, that change's open challenge is withdrawn (a change to a new
// address replaces it by the new challenge, or keeps it for the same one).
func (h *Handlers) OnProfileChangeRequested(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ProfileChangeRequested
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	if !slices.Contains(p.Reopens, registrationv1.RecheckEmailOwnership) {
		if p.Supersedes < 1 {
			return nil
		}
		return h.App.WithdrawProfileChange(ctx, app.WithdrawProfileChangeCommand{
			PartnerID: p.PartnerID, UpTo: p.Supersedes, Cause: domain.WithdrawnSuperseded})
	}
	_, err := h.App.OpenChallenges(ctx, app.OpenChallengesCommand{
		Addressee:     addressee(p.PartnerID, p.Contact, p.Language, p.Market, ev),
		Enrollments:   []app.Enrollment{{EnrollmentID: p.ContactEnrollmentID, Program: domain.ProgramMembership}},
		Reason:        domain.ReasonProfileChange,
		ProfileChange: p.ChangeNumber,
	})
	return err
}

// OnProfileChangeRejected withdraws the open challenge of a rejected
// change's new contact address: a failed check rejects the whole change.
func (h *Handlers) OnProfileChangeRejected(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ProfileChangeRejected
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	return h.App.WithdrawProfileChange(ctx, app.WithdrawProfileChangeCommand{
		PartnerID: p.PartnerID, UpTo: p.ChangeNumber, Cause: domain.WithdrawnRejected})
}

// OnProfileChangeApplied moves the partner's enrollments that have not
// confirmed an address yet to its new contact address, when the applied
// change is one of the contact e-mail (other changes: nothing to do); after
// a correction applied without its address proven, the membership that
// confirmed another address asks the new contact too.
func (h *Handlers) OnProfileChangeApplied(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ProfileChangeApplied
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	if _, ok := registrationv1.ContactEmailChange(p.Changes); !ok {
		return nil
	}
	proven := registrationv1.Passed(p.Checks, registrationv1.RecheckEmailOwnership)
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	// The registration's challenges are opened first, then moved.
	return awaitPartner(h.App.FollowContact(ctx, app.FollowContactCommand{
		Addressee: addressee(p.PartnerID, p.Contact, p.Language, p.Market, ev), ChangeNumber: p.ChangeNumber, Proven: proven}), p.PartnerID)
}
