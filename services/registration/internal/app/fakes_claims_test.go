package app

import (
	"context"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

func (r *fakeRepo) DuplicateAttemptByClaim(_ context.Context, id domain.ClaimID) (*domain.DuplicateAttempt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.attempts {
		if a.Claim != nil && a.Claim.ID == id {
			return &a, nil
		}
	}
	return nil, domain.ErrDuplicateAttemptNotFound
}
