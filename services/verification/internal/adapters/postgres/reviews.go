package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

var _ app.ReviewRepository = (*Repository)(nil)

// AddReview stores a new review and its events; a second review of a claim
// or challenge that a review decides already is ignored (false).
func (r *Repository) AddReview(ctx context.Context, rv *domain.Review) (bool, error) {
	added := false
	err := pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		doc, err := json.Marshal(rv)
		if err != nil {
			return fmt.Errorf("marshal review %s: %w", rv.ID, err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO reviews (id, kind, ref, refs, partner_id, market, status, due_at, claimed_by, lease_until, doc, created_at, updated_at)
			SELECT $1, $2, $3, $12, $4, $5, $6, $7, $8, $9, $10, $11, $11
			WHERE NOT EXISTS (SELECT 1 FROM reviews WHERE kind = $2 AND refs && $12)
			ON CONFLICT (kind, ref) DO NOTHING`,
			rv.ID, string(rv.Kind), rv.Ref(), rv.PartnerID, rv.Market, string(rv.Status), rv.DueAt, rv.ClaimedBy, nullTime(rv.LeaseUntil), doc, rv.CreatedAt, rv.Refs())
		if err != nil {
			return fmt.Errorf("insert review %s: %w", rv.ID, err)
		}
		if added = tag.RowsAffected() == 1; !added {
			return nil
		}
		return r.reviewEvents(ctx, tx, rv)
	})
	return added, err
}

// GetReview loads a review.
func (r *Repository) GetReview(ctx context.Context, id string) (*domain.Review, error) {
	return loadReview(ctx, r.q(ctx), `SELECT doc FROM reviews WHERE id = $1`, id)
}

// ReviewIDByRef finds the review that decides a claim or challenge.
func (r *Repository) ReviewIDByRef(ctx context.Context, kind domain.ReviewKind, ref string) (string, error) {
	return r.reviewID(ctx, `SELECT id FROM reviews WHERE kind = $1 AND refs @> ARRAY[$2]`, string(kind), ref)
}

// OpenDisputeReviewOn finds the partner's open review of a dispute of
// address (any case of its letters).
func (r *Repository) OpenDisputeReviewOn(ctx context.Context, partnerID, address string) (string, error) {
	return r.reviewID(ctx, `SELECT id FROM reviews WHERE partner_id = $1 AND status = 'open' AND kind = $2
		AND lower(doc->'dispute'->>'address') = lower($3) ORDER BY created_at, id LIMIT 1`,
		partnerID, string(domain.ReviewEmailDispute), address)
}

func (r *Repository) reviewID(ctx context.Context, sql string, args ...any) (string, error) {
	var id string
	err := r.q(ctx).QueryRow(ctx, sql, args...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", domain.ErrReviewNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find review: %w", err)
	}
	return id, nil
}

func loadReview(ctx context.Context, q pg.Querier, sql, id string) (*domain.Review, error) {
	var doc []byte
	if err := q.QueryRow(ctx, sql, id).Scan(&doc); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, domain.ErrReviewNotFound
		}
		return nil, fmt.Errorf("load review %s: %w", id, err)
	}
	var rv domain.Review
	if err := json.Unmarshal(doc, &rv); err != nil {
		return nil, fmt.Errorf("decode review %s: %w", id, err)
	}
	return &rv, nil
}

// UpdateReview locks the review, applies fn and stores it and its events
// in one transaction; nothing is stored when fn fails. fn gets the
// transaction's context: what it reads runs in the transaction, on its
// connection, not on a second one while the first is held (decisions at
// once would hold every connection of the pool and wait for one more).
func (r *Repository) UpdateReview(ctx context.Context, id string, fn func(context.Context, *domain.Review) error) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		rv, err := loadReview(ctx, tx, `SELECT doc FROM reviews WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if err := fn(ctx, rv); err != nil {
			return err
		}
		doc, err := json.Marshal(rv)
		if err != nil {
			return fmt.Errorf("marshal review %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE reviews SET status = $2, claimed_by = $3, lease_until = $4, doc = $5, updated_at = $6,
			refs = ARRAY(SELECT DISTINCT unnest(refs || $7::text[])) WHERE id = $1`,
			id, string(rv.Status), rv.ClaimedBy, nullTime(rv.LeaseUntil), doc, rv.UpdatedAt, rv.Refs()); err != nil {
			return fmt.Errorf("update review %s: %w", id, err)
		}
		return r.reviewEvents(ctx, tx, rv)
	})
}

func (r *Repository) reviewEvents(ctx context.Context, tx pgx.Tx, rv *domain.Review) error {
	events := rv.PullEvents()
	if len(events) == 0 {
		return nil
	}
	drafts, err := r.mapper(events)
	if err != nil {
		return err
	}
	_, err = r.outbox.Append(ctx, tx, drafts...)
	return err
}

// ListReviews lists reviews matching f, earliest due first.
func (r *Repository) ListReviews(ctx context.Context, f app.ReviewFilter, now time.Time) ([]domain.Review, error) {
	status := string(domain.ReviewOpen)
	if f.Status != "" {
		status = string(f.Status)
	}
	rows, err := r.q(ctx).Query(ctx, `SELECT doc FROM reviews
		WHERE status = $1
		  AND ($2 = '' OR kind = $2)
		  AND ($3 = '' OR market = $3)
		  AND ($4 = '' OR partner_id <> $4)
		  AND (NOT $5 OR claimed_by = '' OR lease_until IS NULL OR lease_until <= $6)
		  AND ($8::timestamptz IS NULL OR (due_at, id) > ($8, $9))
		  AND ($10 = '' OR partner_id = $10)
		ORDER BY due_at, id LIMIT $7`,
		status, string(f.Kind), f.Market, f.ExcludePartnerID, f.Unclaimed, now, f.Limit, afterDue(f.After), afterID(f.After), f.PartnerID)
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	out := make([]domain.Review, len(docs))
	for i, doc := range docs {
		if err := json.Unmarshal(doc, &out[i]); err != nil {
			return nil, fmt.Errorf("decode review: %w", err)
		}
	}
	return out, nil
}
