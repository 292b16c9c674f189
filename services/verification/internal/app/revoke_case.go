package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// RevokeCommand withdraws the approval of a case.
type RevokeCommand struct {
	CaseID     string
	DecisionID string
	Reason     string
}

// RevokeResult is the revoked case. Replayed is true when the revocation
// was recorded before and nothing changed.
type RevokeResult struct {
	Case       *domain.Case
	Revocation domain.Revocation
	Replayed   bool
}

// Revoke withdraws an approval after the fact (e.g. the register entry or a
// document turned out to be false). Verifiers (never for their own partner)
// and operators may revoke; the verifier who approved may not (four eyes).
// The case.revoked event is written to the outbox with the case.
func (a *App) Revoke(ctx context.Context, p auth.Principal, cmd RevokeCommand) (RevokeResult, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return RevokeResult{}, err
	}
	var res RevokeResult
	err := a.Cases.Update(ctx, cmd.CaseID, func(c *domain.Case) error {
		rev, replay, err := c.Revoke(domain.RevokeInput{DecisionID: cmd.DecisionID, Revoker: p.Subject,
			RevokerPartnerID: p.PartnerID, Reason: cmd.Reason}, a.Clock.Now())
		if err != nil {
			return err
		}
		res = RevokeResult{Case: c.Clone(), Revocation: rev, Replayed: replay}
		return nil
	})
	return res, translate(err)
}
