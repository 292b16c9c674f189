package app

import (
	"context"
	"slices"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// ProfileChangeApplied is registration's applied profile change, as far as
// verification keeps it: the partner's verified profile now.
type ProfileChangeApplied struct {
	PartnerID string
	Profile   domain.ProfileFacts
}

// ApplyProfileChange keeps the partner's case on its verified profile (see
// Case.ApplyProfile). Callers: the registration consumer; a partner
// without a case is a not-found error (dead-lettered with its code).
func (a *App) ApplyProfileChange(ctx context.Context, cmd ProfileChangeApplied) error {
	c, err := a.Cases.GetByPartner(ctx, cmd.PartnerID)
	if err != nil {
		return translate(err)
	}
	return translate(a.Cases.Update(ctx, c.ID, func(c *domain.Case) error {
		c.ApplyProfile(cmd.Profile, a.Clock.Now())
		return nil
	}))
}

// OpenProfileReviewCommand is registration's profile change that re-opened
// checks, as verification reviews it.
type OpenProfileReviewCommand struct {
	PartnerID    string
	ChangeNumber int
	Checks       []domain.CheckKind
	Proposed     domain.ProfileFacts
}

// OpenProfileReview puts the company and employment checks a profile change
// re-opened in the verifiers' queue: one review task each, with the
// proposed facts and, for the company, the register pre-check of them. The
// case's checks and status stay (see Case.OpenProfileReview). Callers: the
// registration consumer; a change that re-opens neither needs nothing.
func (a *App) OpenProfileReview(ctx context.Context, cmd OpenProfileReviewCommand) error {
	if !slices.ContainsFunc(cmd.Checks, func(k domain.CheckKind) bool { return k == domain.CheckCompany || k == domain.CheckEmployment }) {
		return nil
	}
	c, err := a.Cases.GetByPartner(ctx, cmd.PartnerID)
	if err != nil {
		return translate(err)
	}
	now := a.Clock.Now()
	var pre domain.PreCheck
	if slices.Contains(cmd.Checks, domain.CheckCompany) {
		f := cmd.Proposed.Facts
		match, lookupErr := a.Registry.Lookup(ctx, domain.RegistryQuery{Market: c.Market, RegistrationNumber: f.RegistrationNumber, Facts: f})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		pre = domain.NewPreCheck(match, lookupErr, now)
	}
	return translate(a.Cases.Update(ctx, c.ID, func(c *domain.Case) error {
		c.OpenProfileReview(domain.ProfileReviewInput{ChangeNumber: cmd.ChangeNumber, Checks: cmd.Checks, Proposed: cmd.Proposed, PreCheck: pre},
			a.Clock.Now(), a.rules(c.Market))
		return nil
	}))
}
