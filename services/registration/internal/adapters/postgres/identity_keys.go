package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// claimNewKeys stores the identity keys a change added (a new location's
// legal name + address) for a partner that holds its identity. A key that
// another partner of the market holds is a *domain.DuplicateError, which
// rolls the change back: a partner cannot add a location where another
// company is registered.
func (r *Repository) claimNewKeys(ctx context.Context, tx pgx.Tx, p *domain.Partner, before []domain.IdentityKey) error {
	if !p.HoldsIdentity() {
		return nil
	}
	var kinds, values []string
	for _, k := range p.IdentityKeys() {
		if !slices.Contains(before, k) {
			kinds, values = append(kinds, string(k.Kind)), append(values, k.Value)
		}
	}
	if len(kinds) == 0 {
		return nil
	}
	// Under a savepoint, so that a clash leaves the (caller's) transaction
	// as it was.
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = sp.Rollback(ctx) }() // a no-op after Commit
	if _, err := sp.Exec(ctx, `INSERT INTO identity_keys (market, kind, value, partner_id)
		SELECT $1, q.kind, q.value, $4 FROM unnest($2::text[], $3::text[]) AS q(kind, value)
		ON CONFLICT (market, kind, value) DO NOTHING`, string(p.Market()), kinds, values, string(p.ID())); err != nil {
		return err
	}
	rows, err := sp.Query(ctx, `SELECT k.kind, k.partner_id FROM identity_keys k
		JOIN unnest($2::text[], $3::text[]) AS q(kind, value) ON q.kind = k.kind AND q.value = k.value
		WHERE k.market = $1 AND k.partner_id <> $4 ORDER BY k.kind`, string(p.Market()), kinds, values, string(p.ID()))
	if err != nil {
		return err
	}
	defer rows.Close()
	var dup *domain.DuplicateError
	for rows.Next() {
		var kind, partner string
		if err := rows.Scan(&kind, &partner); err != nil {
			return err
		}
		if dup == nil {
			dup = &domain.DuplicateError{ExistingPartnerID: domain.PartnerID(partner)}
		}
		dup.MatchedOn = append(dup.MatchedOn, domain.IdentityKeyKind(kind))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if dup != nil {
		return dup
	}
	return sp.Commit(ctx)
}
