package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// A partner's identity keys follow its changes, in the transaction of the
// change: keys a change adds (a new location's legal name + address, an
// applied profile change's name, address or number) are claimed before the
// partner is saved, and keys it no longer holds are let go after.

// claimNewKeys stores the identity keys a change added for a partner that
// holds its identity. A key that another partner of the market holds is a
// *domain.DuplicateError, which rolls the change back: a partner cannot
// move or add a location where another company is registered.
func (r *Repository) claimNewKeys(ctx context.Context, tx pgx.Tx, p *domain.Partner, before []domain.IdentityKey) error {
	if !p.HoldsIdentity() {
		return nil
	}
	kinds, values := keyColumns(p.IdentityKeys(), before)
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
	dup, err := conflicts(ctx, sp, p.Market(), kinds, values, p.ID())
	if err != nil {
		return err
	}
	if dup != nil {
		return dup
	}
	return sp.Commit(ctx)
}

// queueDropOldKeys queues on b letting go of the keys a change took from
// the partner (an applied profile change moved its name or address), and
// keeping the legal name that search reads in step with the verified profile.
func queueDropOldKeys(b *pgx.Batch, p *domain.Partner, before []domain.IdentityKey, legalNameBefore string) {
	if !p.HoldsIdentity() {
		return
	}
	if kinds, values := keyColumns(before, p.IdentityKeys()); len(kinds) > 0 {
		b.Queue(`DELETE FROM identity_keys k USING unnest($2::text[], $3::text[]) AS q(kind, value)
			WHERE k.partner_id = $1 AND k.kind = q.kind AND k.value = q.value`, string(p.ID()), kinds, values)
	}
	if name := p.Registration().Normalized.Company.LegalName; name != legalNameBefore {
		b.Queue(`UPDATE partners SET legal_name = $2 WHERE id = $1`, string(p.ID()), name)
	}
}

// IdentityConflicts finds another partner of market holding any of keys
// (the duplicate check of a profile change request).
func (r *Repository) IdentityConflicts(ctx context.Context, market domain.Country, keys []domain.IdentityKey, except domain.PartnerID) (*domain.DuplicateError, error) {
	kinds, values := keyColumns(keys, nil)
	return conflicts(ctx, pg.Q(ctx, r.pool), market, kinds, values, except)
}

// EarlierAccounts finds the partners of market that let go of any of keys
// (rejected, closed), oldest release first, each with the kinds that matched.
func (r *Repository) EarlierAccounts(ctx context.Context, market domain.Country, keys []domain.IdentityKey) ([]domain.EarlierAccount, error) {
	kinds, values := keyColumns(keys, nil)
	rows, err := pg.Q(ctx, r.pool).Query(ctx, `SELECT k.partner_id, min(k.status), array_agg(k.kind ORDER BY k.kind), min(k.released_at)
		FROM released_identity_keys k JOIN unnest($2::text[], $3::text[]) AS q(kind, value) ON q.kind = k.kind AND q.value = k.value
		WHERE k.market = $1 GROUP BY k.partner_id ORDER BY min(k.released_at), k.partner_id`, string(market), kinds, values)
	if err != nil {
		return nil, fmt.Errorf("earlier accounts: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.EarlierAccount, error) {
		var a domain.EarlierAccount
		var matched []string
		err := row.Scan(&a.PartnerID, &a.Status, &matched, &a.ReleasedAt)
		for _, m := range matched {
			a.MatchedOn = append(a.MatchedOn, domain.IdentityKeyKind(m))
		}
		return a, err
	})
}

// keyColumns are the kinds and values of the keys of ks not in but.
func keyColumns(ks, but []domain.IdentityKey) (kinds, values []string) {
	for _, k := range ks {
		if !slices.Contains(but, k) {
			kinds, values = append(kinds, string(k.Kind)), append(values, k.Value)
		}
	}
	return kinds, values
}

// conflicts is the partner other than except holding any of the keys, as
// the duplicate it makes, or nil.
func conflicts(ctx context.Context, q pg.Querier, market domain.Country, kinds, values []string, except domain.PartnerID) (*domain.DuplicateError, error) {
	rows, err := q.Query(ctx, `SELECT k.kind, k.partner_id FROM identity_keys k
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
