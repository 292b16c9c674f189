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
	// DecidedAt is when verification approved (zero: now); it orders the
	// approval against a revocation that arrives on another durable.
	DecidedAt time.Time
}

// ApplyVerificationApproved makes the partner and its location IDs active,
// the partner-network membership active and the other enrollments qualified
// (or pending_email_confirmation until their own confirmation is in). A
// later approval of an approved partner (a re-review) lifts the holds of a
// revocation or a reactivation review. Callers: the verification consumer
// (role verifier) or an operator. A repeated approval is a no-op; approving a
// rejected partner is registration.verification_already_decided.
func (a *App) ApplyVerificationApproved(ctx context.Context, p auth.Principal, cmd VerificationApproved) (LifecycleResult, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	res, err := a.change(ctx, p, cmd.PartnerID, "approve partner", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		partner.SawActivity(now)
		return partner.ApproveVerification(cmd.DecidedAt.UTC().Truncate(time.Microsecond), now)
	})
	if err != nil {
		return res, err
	}
	// The case is decided: nothing is asked of the applicant any more.
	return res, a.repo.ClearDocumentsDue(ctx, res.Partner.PartnerID, "")
}
