package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// OnDuplicateClaimFiled opens the review of a claim on an existing partner.
func (h *Handlers) OnDuplicateClaimFiled(ctx context.Context, ev ce.Event) error {
	// v2's data is v1's with the contact nullable: one decoding reads both.
	var p registrationv2.DuplicateClaimFiled
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	if p.Contact == nil {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation, Detail: "duplicate claim without the claimant's contact (null only where the partner's side reads it)"}
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	claimant := domain.ClaimantFacts{LegalName: p.LegalName.Raw, LegalNameNormalized: p.LegalName.Normalized,
		Submitted:     domain.CompanyFacts{LegalName: p.LegalName.Raw, Phone: p.CompanyPhoneE164},
		WebsiteDomain: p.WebsiteDomain,
		Contact:       domain.Contact{FirstName: p.Contact.FirstName, LastName: p.Contact.LastName, Email: p.Contact.Email, EmailDomain: p.Contact.EmailDomain},
		ContactPhone:  p.Contact.PhoneE164}
	if a := p.Address; a != nil {
		claimant.Submitted.Address = domain.Address{Line1: a.Raw.Line1, Line2: a.Raw.Line2, City: a.Raw.City,
			Prefecture: a.Raw.Region, PostalCode: a.Raw.PostalCode}
	}
	if rn := p.RegistrationNumber; rn != nil {
		claimant.Submitted.RegistrationNumber = rn.Value
	}
	return h.App.OpenClaimReview(ctx, p.ExistingPartnerID, p.Market, domain.ClaimContent{
		ClaimID: p.ClaimID, DuplicateAttemptID: p.DuplicateAttemptID, MatchedOn: p.MatchedOn, Statement: p.Statement,
		FiledBy: p.FiledBy, FiledAt: p.FiledAt, Claimant: claimant})
}

// OnChallengeDisputed opens the review of a "this wasn't me" dispute.
func (h *Handlers) OnChallengeDisputed(ctx context.Context, ev ce.Event) error {
	var p emailv1.ChallengeDisputed
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "email-ownership"})
	return h.App.OpenDisputeReview(ctx, p.PartnerID, domain.DisputeContent{ChallengeID: p.ChallengeID,
		EnrollmentID: p.EnrollmentID, Program: p.Program, Address: p.Address, DisputedAt: p.DisputedAt, ProfileChange: p.ProfileChange,
		ContactChange: p.ContactChange})
}

// OnDisputeWithdrawn cancels the open review of a dispute the enrollment's
// confirmation withdrew.
func (h *Handlers) OnDisputeWithdrawn(ctx context.Context, ev ce.Event) error {
	var p emailv1.DisputeWithdrawn
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "email-ownership"})
	return h.App.CancelDisputeReview(ctx, p.DisputedChallengeID)
}

// OnDisputeEnded cancels the open review of a challenge whose dispute
// email-ownership closed under another review's decision: one report of an
// address decides for the partner's every enrollment on it, so a second
// report's review has nothing left to decide. The deciding review is
// decided already and stays as it is.
func (h *Handlers) OnDisputeEnded(ctx context.Context, ev ce.Event) error {
	var p emailv1.DisputeDecided
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "email-ownership"})
	return h.App.CancelDisputeReview(ctx, p.ChallengeID)
}
