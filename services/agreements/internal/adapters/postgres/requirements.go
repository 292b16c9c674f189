package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Requirements implements app.RequirementRepository. Each requirement gets
// a durable timer at its deadline.
type Requirements struct{ s *Store }

const requirementColumns = `id, partner_id, location_id, program, market, version_id, current_acceptance_id, due_by,
	created_at, status, overdue_at, satisfied_by, closed_at`

// Add inserts rq unless its key already has a requirement for the same
// version; it reports whether it inserted.
func (r *Requirements) Add(ctx context.Context, rq *domain.Requirement) (bool, error) {
	st := rq.State()
	inserted := false
	err := r.s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO requirements (`+requirementColumns+`)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
			ON CONFLICT (location_id, program, market, version_id) DO NOTHING`,
			st.ID, st.PartnerID, st.LocationID, string(st.Program), string(st.Market), st.VersionID,
			st.CurrentAcceptanceID, st.DueBy, st.CreatedAt, string(st.Status), nullTime(st.OverdueAt), st.SatisfiedBy,
			nullTime(st.ClosedAt))
		if err != nil {
			return fmt.Errorf("insert requirement %s: %w", st.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		inserted = true
		if err := r.s.schedule(ctx, tx, TimerReacceptanceDue, st.ID, st.DueBy); err != nil {
			return err
		}
		return r.s.emit(ctx, tx, rq.PullEvents())
	})
	return inserted, err
}

// openSQL selects the open requirements of a key ($1 location, $2 program, $3 market).
const openSQL = `SELECT ` + requirementColumns + ` FROM requirements
	WHERE location_id = $1 AND program = $2 AND market = $3 AND status = 'open' ORDER BY due_by, id`

// ListOpen returns the key's open requirements.
func (r *Requirements) ListOpen(ctx context.Context, key domain.AcceptanceKey) ([]*domain.Requirement, error) {
	return r.list(ctx, openSQL, key.LocationID, string(key.Program), string(key.Market))
}

// ListOpenByVersion returns the open requirements to accept versionID.
func (r *Requirements) ListOpenByVersion(ctx context.Context, versionID string) ([]*domain.Requirement, error) {
	return r.list(ctx, `SELECT `+requirementColumns+` FROM requirements
		WHERE version_id = $1 AND status = 'open' ORDER BY due_by, id`, versionID)
}

// ListOpenByPartner returns the partner's open requirements.
func (r *Requirements) ListOpenByPartner(ctx context.Context, partnerID string) ([]*domain.Requirement, error) {
	return r.list(ctx, `SELECT `+requirementColumns+` FROM requirements
		WHERE partner_id = $1 AND status = 'open' ORDER BY due_by, id`, partnerID)
}

// ListOpenOfRetired returns open requirements whose version is retired (a
// retirement a crash interrupted).
func (r *Requirements) ListOpenOfRetired(ctx context.Context) ([]*domain.Requirement, error) {
	return r.list(ctx, `SELECT `+requirementColumns+` FROM requirements
		WHERE status = 'open' AND version_id IN (SELECT id FROM versions WHERE retired_at IS NOT NULL) ORDER BY due_by, id LIMIT 1000`)
}

// ListOpenDue returns open requirements due at or before now whose overdue
// event is not recorded yet.
func (r *Requirements) ListOpenDue(ctx context.Context, now time.Time) ([]*domain.Requirement, error) {
	return r.list(ctx, `SELECT `+requirementColumns+` FROM requirements
		WHERE status = 'open' AND overdue_at IS NULL AND due_by <= $1 ORDER BY due_by, id LIMIT 1000`, now)
}

// Update runs fn on the stored requirement under a row lock and saves it.
func (r *Requirements) Update(ctx context.Context, id string, fn func(*domain.Requirement) error) error {
	return r.s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rq, err := scanRequirement(tx.QueryRow(ctx, `SELECT `+requirementColumns+` FROM requirements WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrRequirementNotFound
		}
		if err != nil {
			return err
		}
		if err := fn(rq); err != nil {
			return err
		}
		st := rq.State()
		if _, err := tx.Exec(ctx, `UPDATE requirements SET status = $2, overdue_at = $3, satisfied_by = $4, closed_at = $5
			WHERE id = $1`, id, string(st.Status), nullTime(st.OverdueAt), st.SatisfiedBy, nullTime(st.ClosedAt)); err != nil {
			return fmt.Errorf("update requirement %s: %w", id, err)
		}
		return r.s.emit(ctx, tx, rq.PullEvents())
	})
}

func (r *Requirements) list(ctx context.Context, sql string, args ...any) ([]*domain.Requirement, error) {
	return queryAll(ctx, r.s.q(ctx), scanRequirement, sql, args...)
}

func scanRequirement(row pgx.Row) (*domain.Requirement, error) {
	var (
		st                      domain.RequirementState
		program, market, status string
		due, created            time.Time
		overdue, closed         *time.Time
	)
	err := row.Scan(&st.ID, &st.PartnerID, &st.LocationID, &program, &market, &st.VersionID, &st.CurrentAcceptanceID,
		&due, &created, &status, &overdue, &st.SatisfiedBy, &closed)
	if err != nil {
		return nil, err
	}
	st.Program, st.Market, st.Status = domain.Program(program), domain.Market(market), domain.RequirementStatus(status)
	st.DueBy, st.CreatedAt, st.OverdueAt, st.ClosedAt = due.UTC(), created.UTC(), utcPtr(overdue), utcPtr(closed)
	return domain.RestoreRequirement(st), nil
}
