package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// SaveContactRemoval keeps an enrollment's removed contact address.
func (r *Repository) SaveContactRemoval(ctx context.Context, c app.ContactRemoval) error {
	return r.exec(ctx, `INSERT INTO contact_removals (enrollment_id, partner_id, challenge_id, address, removed_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (enrollment_id) DO UPDATE SET partner_id = EXCLUDED.partner_id, challenge_id = EXCLUDED.challenge_id,
			address = EXCLUDED.address, removed_at = EXCLUDED.removed_at WHERE contact_removals.removed_at < EXCLUDED.removed_at`,
		string(c.EnrollmentID), string(c.PartnerID), c.ChallengeID, c.Address, c.RemovedAt)
}

// ContactRemoval is the enrollment's removal, or nil.
func (r *Repository) ContactRemoval(ctx context.Context, id domain.EnrollmentID) (*app.ContactRemoval, error) {
	c := app.ContactRemoval{EnrollmentID: id}
	var partner string
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT partner_id, challenge_id, address, removed_at FROM contact_removals WHERE enrollment_id = $1`,
		string(id)).Scan(&partner, &c.ChallengeID, &c.Address, &c.RemovedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.PartnerID = domain.PartnerID(partner)
	return &c, nil
}
