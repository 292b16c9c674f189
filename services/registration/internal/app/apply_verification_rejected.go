package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// VerificationRejected is the verification service's rejection of a partner.
type VerificationRejected struct {
	PartnerID string
	Reason    string // a machine-readable code from verification, e.g. "company_check_failed"
}

// ApplyVerificationRejected rejects the partner and its pending enrollments,
// keeping the reason code, and releases its identity keys. Callers: the
// verification consumer (role verifier) or an operator. A repeated rejection
// is a no-op; rejecting an approved partner is registration.verification_already_decided.
func (a *App) ApplyVerificationRejected(ctx context.Context, p auth.Principal, cmd VerificationRejected) (LifecycleResult, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	reason := normalize.Text(cmd.Reason)
	if reason == "" || len(reason) > 100 {
		return LifecycleResult{}, apperr.Invalid(CodeInvalidInput, "a rejection needs a reason code",
			apperr.FieldError{Field: "reason", Code: domain.CodeRequired, Message: "is required (at most 100 characters)"})
	}
	res, err := a.change(ctx, p, cmd.PartnerID, "reject partner", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		return partner.RejectVerification(reason, now)
	})
	if err != nil {
		return res, err
	}
	return res, a.repo.ClearDocumentsDue(ctx, res.Partner.PartnerID, "")
}
