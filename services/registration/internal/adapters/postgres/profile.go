package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// IdentityConflicts finds another partner of market holding any of keys
// (the duplicate check of a profile change).
func (r *Repository) IdentityConflicts(ctx context.Context, market domain.Country, keys []domain.IdentityKey, except domain.PartnerID) (*domain.DuplicateError, error) {
	kinds := make([]string, len(keys))
	values := make([]string, len(keys))
	for i, k := range keys {
		kinds[i], values[i] = string(k.Kind), k.Value
	}
	rows, err := pg.Q(ctx, r.pool).Query(ctx, `SELECT k.kind, k.partner_id FROM identity_keys k
		JOIN unnest($2::text[], $3::text[]) AS q(kind, value) ON q.kind = k.kind AND q.value = k.value
		WHERE k.market = $1 AND k.partner_id <> $4 ORDER BY k.kind`, string(market), kinds, values, string(except))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var dup *domain.DuplicateError
	for rows.Next() {
		var kind, partner string
		if err := rows.Scan(&kind, &partner); err != nil {
			return nil, err
		}
		if dup == nil {
			dup = &domain.DuplicateError{ExistingPartnerID: domain.PartnerID(partner)}
		}
		dup.MatchedOn = append(dup.MatchedOn, domain.IdentityKeyKind(kind))
	}
	return dup, rows.Err()
}

// syncIdentity replaces the partner's identity keys when an applied profile
// change moved them (and its legal name column, which search reads). A key
// another partner took meanwhile is the same duplicate as at registration.
func (r *Repository) syncIdentity(ctx context.Context, tx pgx.Tx, before, after *domain.Partner) error {
	if !after.HoldsIdentity() || slices.Equal(before.IdentityKeys(), after.IdentityKeys()) {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT sync_identity`)
	b.Queue(`DELETE FROM identity_keys WHERE partner_id = $1`, string(after.ID()))
	for _, k := range after.IdentityKeys() {
		b.Queue(`INSERT INTO identity_keys (market, kind, value, partner_id) VALUES ($1,$2,$3,$4)`,
			string(after.Market()), string(k.Kind), k.Value, string(after.ID()))
	}
	b.Queue(`UPDATE partners SET legal_name = $2 WHERE id = $1`, string(after.ID()), after.Registration().Normalized.Company.LegalName)
	b.Queue(`RELEASE SAVEPOINT sync_identity`)
	err := tx.SendBatch(ctx, b).Close()
	if err == nil {
		return nil
	}
	if _, rerr := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT sync_identity`); rerr != nil {
		return rerr
	}
	if constraint, unique := pg.IsUniqueViolation(err); unique && constraint == "identity_keys_pkey" {
		dup, qerr := r.IdentityConflicts(ctx, after.Market(), after.IdentityKeys(), after.ID())
		if qerr != nil {
			return qerr
		}
		if dup != nil {
			return dup
		}
	}
	return err
}
