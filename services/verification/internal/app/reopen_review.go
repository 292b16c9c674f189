package app

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// ReopenReviewCommand asks for a decided case to be reviewed again.
type ReopenReviewCommand struct {
	CaseID string
	Note   string // why (required)
}

// ReopenReview reviews a revoked (or approved) case again: the company
// check gets a new review task, and its approval publishes case.approved
// again — which reinstates the partner everywhere. Verifiers (never for
// their own partner) and operators may. A case already in review changes
// nothing.
func (a *App) ReopenReview(ctx context.Context, p auth.Principal, cmd ReopenReviewCommand) (*domain.Case, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return nil, err
	}
	note := strings.TrimSpace(cmd.Note)
	if note == "" || len([]rune(note)) > domain.MaxRevocationReasonLength {
		return nil, apperr.Invalid("verification.invalid_review", "say why the case is reviewed again",
			apperr.FieldError{Field: "note", Code: apperr.CodeFieldRequired, Message: "is required (at most 2000 characters)"})
	}
	var out *domain.Case
	err := a.Cases.Update(ctx, cmd.CaseID, func(c *domain.Case) error {
		if p.PartnerID != "" && p.PartnerID == c.PartnerID {
			return domain.ErrOwnPartner
		}
		reason := domain.ReopenForRevocation
		if c.Status == domain.CaseApproved {
			// staff's own re-review of an approved partner (before round
			// 45 it was published as a reactivation, which it is not)
			reason = domain.ReopenForReview
		}
		if _, err := c.ReopenReview(reason, note, p.Subject, a.Clock.Now(), a.rules(c.Market)); err != nil {
			return err
		}
		out = c.Clone()
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// StandingChanged is registration's standing change, as far as
// verification cares: what it added.
type StandingChanged struct {
	PartnerID string
	Closed    bool // the change closed the partner's account
	Added     []string
	Note      string
}

// ApplyStandingChanged re-opens the review of a partner that registration
// reactivates after a long inactivity (reason reverification_required),
// and withdraws the case's work under way when the partner's account is
// closed (domain.Case.WithdrawForClosure; since round 45 — before, a
// closed partner's re-opened review stayed in the verifiers' queue, its
// documents due and reminded) and refuses the open duplicate claims about
// it (since round 46: an upheld one asked the closed account to add the
// claimant). Other standing changes need nothing from
// verification. Callers: the registration consumer.
func (a *App) ApplyStandingChanged(ctx context.Context, cmd StandingChanged) error {
	if cmd.Closed {
		if err := a.withdrawForClosure(ctx, cmd.PartnerID); err != nil {
			return err
		}
		return a.refuseReleasedClaims(ctx, cmd.PartnerID, domain.ReasonExistingPartnerClosed)
	}
	if !slices.Contains(cmd.Added, "reverification_required") {
		return nil
	}
	c, err := a.Cases.GetByPartner(ctx, cmd.PartnerID)
	if err != nil {
		return translate(err)
	}
	note := cmd.Note
	if note == "" {
		note = "reactivated after a long inactivity"
	}
	return translate(a.Cases.Update(ctx, c.ID, func(c *domain.Case) error {
		_, err := c.ReopenReview(domain.ReopenForReactivation, note, "registration", a.Clock.Now(), a.rules(c.Market))
		return err
	}))
}

func (a *App) withdrawForClosure(ctx context.Context, partnerID string) error {
	c, err := a.Cases.GetByPartner(ctx, partnerID)
	if errors.Is(err, domain.ErrCaseNotFound) {
		return nil // no case (a partner registered before verification kept cases): nothing under way
	}
	if err != nil {
		return translate(err)
	}
	return translate(a.Cases.Update(ctx, c.ID, func(c *domain.Case) error {
		c.WithdrawForClosure(a.Clock.Now(), a.rules(c.Market))
		return nil
	}))
}
