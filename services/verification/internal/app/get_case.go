package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/events"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// CaseQuery addresses a case by its id or by its partner's id.
type CaseQuery struct {
	CaseID    string
	PartnerID string
}

// GetCase returns a case the caller may see, as it may read it (seenBy). A
// case the caller may not see is reported as not found.
func (a *App) GetCase(ctx context.Context, p auth.Principal, q CaseQuery) (*domain.Case, error) {
	c, err := a.load(ctx, p, q)
	if err != nil {
		return nil, err
	}
	return seenBy(p, c), nil
}

// seenBy is a copy of c as p may read it: staff the whole case; the
// partner's side without what staff wrote for staff (domain.Case.Redacted)
// and without the subjects of whoever acted but our services', the
// upstream system's that registered the partner and p's own
// (events.SubjectsShownTo): never a verifier's.
func seenBy(p auth.Principal, c *domain.Case) *domain.Case {
	if p.IsStaff() {
		return c.Clone()
	}
	shown := events.SubjectsShownTo(p, c.RegisteredBy)
	return c.Redacted(func(subject *string) { events.HideSubject(subject, shown) })
}

// Requirements returns what the applicant must do now, what is past due,
// the deadlines and the accepted ways to satisfy each requirement.
func (a *App) Requirements(ctx context.Context, p auth.Principal, q CaseQuery) (domain.RequirementsView, error) {
	c, err := a.load(ctx, p, q)
	if err != nil {
		return domain.RequirementsView{}, err
	}
	return c.Requirements(a.Clock.Now(), a.rules(c.Market)), nil
}

func (a *App) load(ctx context.Context, p auth.Principal, q CaseQuery) (*domain.Case, error) {
	if p.IsZero() {
		return nil, apperr.New(apperr.KindUnauthenticated, "auth.unauthenticated", "authentication required")
	}
	var c *domain.Case
	var err error
	switch {
	case q.CaseID != "":
		c, err = a.Cases.Get(ctx, q.CaseID)
	case q.PartnerID != "":
		c, err = a.Cases.GetByPartner(ctx, q.PartnerID)
	default:
		return nil, apperr.Invalid("verification.case_query_invalid", "give a case id or a partner id")
	}
	if errors.Is(err, domain.ErrCaseNotFound) {
		return nil, notFound()
	}
	if err != nil {
		return nil, err
	}
	if !p.ActsForRecord(c.PartnerID, c.RegisteredBy) { // an upstream system: its own partners
		return nil, notFound()
	}
	return c, nil
}
