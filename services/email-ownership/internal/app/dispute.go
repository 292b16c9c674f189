package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// Dispute records "this wasn't me" from the mail's second link. It marks the
// challenge disputed and rejects nothing: verification opens a review, whose
// outcome ApplyDisputeDecision applies; a confirmation of the enrollment
// before it withdraws the dispute. Disputing twice is fine. No principal:
// the token is the credential.
func (a *App) Dispute(ctx context.Context, token string) error {
	token, err := domain.ParseToken(token)
	if err != nil {
		return translate(err)
	}
	h := domain.HashToken(token)
	err = a.d.Repo.UpdateByTokenHash(ctx, h, func(o *domain.Ownership) error {
		return o.Dispute(h, a.d.Clock.Now())
	})
	if errors.Is(err, ErrNotFound) {
		err = domain.ErrNoChallenge
	}
	return translate(err)
}
