package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// VerificationRevoked is the verification service's withdrawal of an
// approval.
type VerificationRevoked struct {
	PartnerID  string
	CaseID     string
	DecisionID string
	Reason     string
	RevokedAt  time.Time // zero: now
}

// ApplyVerificationRevoked suspends the partner (hold verification_revoked)
// until verification approves it again. A revocation older than the latest
// approval applied, or a repeat, changes nothing. Callers: the verification
// consumer or an operator.
func (a *App) ApplyVerificationRevoked(ctx context.Context, p auth.Principal, cmd VerificationRevoked) (LifecycleResult, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	reason := normalize.Text(cmd.Reason)
	return a.change(ctx, p, cmd.PartnerID, "revoke approval", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		at := cmd.RevokedAt.UTC().Truncate(time.Microsecond)
		if at.IsZero() {
			at = now
		}
		return partner.RevokeVerification(cmd.CaseID, cmd.DecisionID, reason, at, now)
	})
}
