package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// SubmitDocumentCommand carries document metadata an upstream system
// received from an applicant; the bytes are already in object storage.
type SubmitDocumentCommand struct {
	PartnerID string
	Document  domain.DocumentInput
}

// SubmitDocumentResult is the accepted document and the appeals left on its check.
type SubmitDocumentResult struct {
	CaseID           string
	Document         domain.Document
	Replayed         bool
	AppealsRemaining int
}

// SubmitDocument accepts document metadata for a check that awaits
// documents; only the upstream system that registered the partner submits
// (another one is answered as for an unknown partner).
func (a *App) SubmitDocument(ctx context.Context, p auth.Principal, cmd SubmitDocumentCommand) (SubmitDocumentResult, error) {
	if err := p.Require(auth.RoleUpstreamSystem); err != nil {
		return SubmitDocumentResult{}, err
	}
	c, err := a.load(ctx, p, CaseQuery{PartnerID: cmd.PartnerID})
	if err != nil {
		return SubmitDocumentResult{}, err
	}
	var res SubmitDocumentResult
	err = a.Cases.Update(ctx, c.ID, func(c *domain.Case) error {
		in := cmd.Document
		in.SubmittedBy = p.Subject
		r := a.rules(c.Market)
		d, replay, err := c.SubmitDocument(in, a.Clock.Now(), r)
		if err != nil {
			return err
		}
		res = SubmitDocumentResult{CaseID: c.ID, Document: d, Replayed: replay, AppealsRemaining: c.Check(d.Check).AppealsRemaining(r.Policy)}
		return nil
	})
	return res, translate(err)
}
