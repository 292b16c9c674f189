package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// HandlerProfileChangeApplied is the inbox name of the profile change handler.
const HandlerProfileChangeApplied = "on_profile_change_applied"

// OnProfileChangeApplied keeps the partner's case on the verified profile
// registration applied.
func (h *Handlers) OnProfileChangeApplied(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ProfileChangeApplied
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	facts := companyFacts(p.Market, p.LegalName, p.Address, p.CompanyPhoneE164, p.RegistrationNumber)
	website := p.Website
	if website == "" {
		website = p.WebsiteDomain
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	err := h.App.ApplyProfileChange(ctx, app.ProfileChangeApplied{PartnerID: p.PartnerID, Profile: domain.ProfileFacts{
		Facts: facts, Contact: domain.Contact{FirstName: p.Contact.FirstName, LastName: p.Contact.LastName, Email: p.Contact.Email},
		Website: website, Sequence: ev.Sequence}})
	// A pending partner's contact corrected right after its registration:
	// the correction may come before the registration opened the case.
	return h.awaitCase(ev, p.PartnerID, err, domain.ErrCaseNotFound)
}

// HandlerProfileChangeRequested is the inbox name of the review handler.
const HandlerProfileChangeRequested = "open_review_on_profile_change_requested"

// OnProfileChangeRequested puts the company and employment checks a
// profile change re-opened in the verifiers' queue.
func (h *Handlers) OnProfileChangeRequested(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ProfileChangeRequested
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	checks := make([]domain.CheckKind, len(p.Reopens))
	for i, k := range p.Reopens {
		checks[i] = domain.CheckKind(k)
	}
	website := p.Website
	if website == "" {
		website = p.WebsiteDomain
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	return h.App.OpenProfileReview(ctx, app.OpenProfileReviewCommand{PartnerID: p.PartnerID, ChangeNumber: p.ChangeNumber, Checks: checks,
		Proposed: domain.ProfileFacts{Facts: companyFacts(p.Market, p.LegalName, p.Address, "", p.RegistrationNumber),
			Contact: domain.Contact{FirstName: p.Contact.FirstName, LastName: p.Contact.LastName, Email: p.Contact.Email}, Website: website}})
}
