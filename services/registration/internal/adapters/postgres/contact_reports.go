package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// SaveContactReport keeps an enrollment's latest report of its contact
// address (a state recorded earlier than the one kept is ignored: the
// events come on several durables).
//
// A removal is also kept for good among the partner's removed addresses
// (ContactAddressRemoved), whatever the enrollment's later reports are.
func (r *Repository) SaveContactReport(ctx context.Context, c app.ContactReport) error {
	return r.exec(ctx, `WITH removal AS (
			INSERT INTO removed_contact_addresses (partner_id, address, enrollment_id, challenge_id, removed_at)
			SELECT $2, lower($4), $1, $3, $6 WHERE $5 = 'removed' AND $4 <> ''
			ON CONFLICT (partner_id, address) DO NOTHING)
		INSERT INTO contact_reports (enrollment_id, partner_id, challenge_id, address, state, at) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (enrollment_id) DO UPDATE SET partner_id = EXCLUDED.partner_id, challenge_id = EXCLUDED.challenge_id,
			address = CASE WHEN EXCLUDED.address = '' THEN contact_reports.address ELSE EXCLUDED.address END,
			state = EXCLUDED.state, at = EXCLUDED.at
		WHERE contact_reports.at < EXCLUDED.at`,
		string(c.EnrollmentID), string(c.PartnerID), c.ChallengeID, c.Address, string(c.State), c.At)
}

// ContactReport is the enrollment's latest report, or nil.
func (r *Repository) ContactReport(ctx context.Context, id domain.EnrollmentID) (*app.ContactReport, error) {
	c := app.ContactReport{EnrollmentID: id}
	var partner, state string
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT partner_id, challenge_id, address, state, at FROM contact_reports WHERE enrollment_id = $1`,
		string(id)).Scan(&partner, &c.ChallengeID, &c.Address, &state, &c.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.PartnerID, c.State = domain.PartnerID(partner), app.ContactReportState(state)
	return &c, nil
}

// ContactAddressRemoved reports whether an upheld report removed address
// from one of the partner's enrollments.
func (r *Repository) ContactAddressRemoved(ctx context.Context, partner domain.PartnerID, address string) (bool, error) {
	var removed bool
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM removed_contact_addresses WHERE partner_id = $1 AND address = lower($2))`,
		string(partner), address).Scan(&removed)
	return removed, err
}
