package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// DuplicateAttemptByClaim loads the attempt a claim was filed on.
func (r *Repository) DuplicateAttemptByClaim(ctx context.Context, id domain.ClaimID) (*domain.DuplicateAttempt, error) {
	var data []byte
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT data FROM duplicate_attempts WHERE data ? 'claim' AND data #>> '{claim,id}' = $1`, string(id)).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrDuplicateAttemptNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find claim %s: %w", id, err)
	}
	var a domain.DuplicateAttempt
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("decode attempt of claim %s: %w", id, err)
	}
	return &a, nil
}
