package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// VerificationApproved is the verification service's approval of a partner.
type VerificationApproved struct {
	PartnerID string
}

// ApplyVerificationApproved makes the partner and its location IDs active,
// the partner-network membership active and the other enrollments qualified.
// Callers: the verification consumer (role verifier) or an operator.
// A repeated approval is a no-op; approving a rejected partner is
// registration.verification_already_decided.
func (a *App) ApplyVerificationApproved(ctx context.Context, p auth.Principal, cmd VerificationApproved) (LifecycleResult, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	return a.change(ctx, p, cmd.PartnerID, "approve partner", func(partner *domain.Partner, now time.Time) (bool, error) {
		return partner.ApproveVerification(now)
	})
}
