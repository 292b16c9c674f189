// Package postgres stores verification cases: each case is a JSONB document
// with indexed columns (partner, status, next timer), review tasks are
// mirrored into a table that maps task ids to cases and serves the
// verifiers' queue, and the events a change records go to the outbox in the
// same transaction.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the service's schema migrations (goose format).
var Migrations = pg.Migrations(migrations)

// EventMapper turns the domain events of one change into outbox drafts.
type EventMapper func([]domain.Event) ([]outbox.Draft, error)

// Repository implements app.CaseRepository, app.TaskQueries and app.DueCases.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *outbox.Writer
	mapper EventMapper
}

var (
	_ app.CaseRepository = (*Repository)(nil)
	_ app.TaskQueries    = (*Repository)(nil)
	_ app.DueCases       = (*Repository)(nil)
)

// New returns a repository on pool that writes events through w, mapped by m.
func New(pool *pgxpool.Pool, w *outbox.Writer, m EventMapper) *Repository {
	return &Repository{pool: pool, outbox: w, mapper: m}
}

// q joins the transaction in ctx (an event handler's inbox transaction) if any.
func (r *Repository) q(ctx context.Context) pg.Querier { return pg.Q(ctx, r.pool) }

// Add stores a new case and its events. A second case for the same partner
// is domain.ErrCaseExists; ON CONFLICT keeps a surrounding transaction
// usable (a unique violation would abort it).
func (r *Repository) Add(ctx context.Context, c *domain.Case) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		doc, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("marshal case %s: %w", c.ID, err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO cases (id, partner_id, market, status, timer_at, doc, opened_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (partner_id) DO NOTHING`,
			c.ID, c.PartnerID, c.Market, string(c.Status), nullTime(c.TimerAt), doc, c.OpenedAt, c.UpdatedAt)
		if err != nil {
			if _, ok := pg.IsUniqueViolation(err); ok {
				return domain.ErrCaseExists
			}
			return fmt.Errorf("insert case %s: %w", c.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return domain.ErrCaseExists
		}
		return r.saveTasksAndEvents(ctx, tx, c, &pgx.Batch{}, nil)
	})
}

// Get loads a case by id.
func (r *Repository) Get(ctx context.Context, id string) (*domain.Case, error) {
	return r.load(ctx, r.q(ctx), `SELECT doc FROM cases WHERE id = $1`, id)
}

// GetByPartner loads the case of a partner.
func (r *Repository) GetByPartner(ctx context.Context, partnerID string) (*domain.Case, error) {
	return r.load(ctx, r.q(ctx), `SELECT doc FROM cases WHERE partner_id = $1`, partnerID)
}

func (r *Repository) load(ctx context.Context, q pg.Querier, sql string, arg string) (*domain.Case, error) {
	var doc []byte
	if err := q.QueryRow(ctx, sql, arg).Scan(&doc); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, domain.ErrCaseNotFound
		}
		return nil, fmt.Errorf("load case %s: %w", arg, err)
	}
	var c domain.Case
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, fmt.Errorf("decode case %s: %w", arg, err)
	}
	return &c, nil
}

// Update locks the case row, applies fn and stores the case, its tasks and
// its events in one transaction; nothing is stored when fn fails.
func (r *Repository) Update(ctx context.Context, id string, fn func(*domain.Case) error) error {
	return r.update(ctx, `SELECT doc FROM cases WHERE id = $1 FOR UPDATE`, id, fn)
}

// UpdateByPartner is Update of the case of a partner, found and locked by
// one statement (instead of a read of the whole case for its id first).
func (r *Repository) UpdateByPartner(ctx context.Context, partnerID string, fn func(*domain.Case) error) error {
	return r.update(ctx, `SELECT doc FROM cases WHERE partner_id = $1 FOR UPDATE`, partnerID, fn)
}

// UpdateByTask is Update of the case owning a review task, found and
// locked by one statement (instead of a look-up of the task's case first).
func (r *Repository) UpdateByTask(ctx context.Context, taskID string, fn func(*domain.Case) error) error {
	err := r.update(ctx, `SELECT c.doc FROM review_tasks t JOIN cases c ON c.id = t.case_id
		WHERE t.task_id = $1 FOR UPDATE OF c`, taskID, fn)
	if errors.Is(err, domain.ErrCaseNotFound) {
		return domain.ErrTaskNotFound // no such task: every task has its case
	}
	return err
}

func (r *Repository) update(ctx context.Context, lock, arg string, fn func(*domain.Case) error) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		c, err := r.load(ctx, tx, lock, arg)
		if err != nil {
			return err
		}
		stored, err := storedTasks(c)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		doc, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("marshal case %s: %w", c.ID, err)
		}
		// The case, its tasks and its events: one round trip.
		batch := &pgx.Batch{}
		batch.Queue(`UPDATE cases SET status = $2, timer_at = $3, doc = $4, version = version + 1, updated_at = $5
			WHERE id = $1`, c.ID, string(c.Status), nullTime(c.TimerAt), doc, c.UpdatedAt)
		return r.saveTasksAndEvents(ctx, tx, c, batch, stored)
	})
}

// storedTasks are the review_tasks rows of c as loaded: each task's stored
// form under its id, and the case's market (a column of every row).
func storedTasks(c *domain.Case) (map[string]string, error) {
	stored := make(map[string]string, len(c.Tasks))
	for _, t := range c.Tasks {
		task, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("marshal task %s: %w", t.ID, err)
		}
		stored[t.ID] = c.Market + "\x00" + string(task)
	}
	return stored, nil
}

// saveTasksAndEvents sends batch (the caller's statements, if any) with the
// case's tasks and the outbox rows of its events, in one round trip. A task
// whose row is stored as it is now (stored, from storedTasks; nil: no row
// is) is not written again: most changes of a case leave its tasks alone,
// and an unchanged upsert still wrote a new row version and its WAL.
func (r *Repository) saveTasksAndEvents(ctx context.Context, tx pgx.Tx, c *domain.Case, batch *pgx.Batch, stored map[string]string) error {
	for _, t := range c.Tasks {
		task, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("marshal task %s: %w", t.ID, err)
		}
		if before, ok := stored[t.ID]; ok && before == c.Market+"\x00"+string(task) {
			continue
		}
		batch.Queue(`INSERT INTO review_tasks (task_id, case_id, partner_id, market, check_kind, status, due_at, claimed_by, lease_until, task)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (task_id) DO UPDATE SET status = EXCLUDED.status, due_at = EXCLUDED.due_at,
				claimed_by = EXCLUDED.claimed_by, lease_until = EXCLUDED.lease_until, task = EXCLUDED.task
			WHERE review_tasks.case_id = EXCLUDED.case_id`,
			t.ID, c.ID, c.PartnerID, c.Market, string(t.Check), string(t.Status), t.DueAt, t.ClaimedBy, nullTime(t.LeaseUntil), task)
	}
	var queued *outbox.Queued
	if events := c.PullEvents(); len(events) > 0 {
		drafts, err := r.mapper(events)
		if err != nil {
			return err
		}
		if queued, err = r.outbox.Queue(ctx, batch, drafts...); err != nil {
			return err
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	// The transaction's last writes: they go out with its COMMIT.
	if err := pg.SendLast(ctx, tx, batch); err != nil {
		return fmt.Errorf("save case %s: %w", c.ID, err)
	}
	queued.Done(ctx)
	return nil
}

// ListTasks lists tasks matching f, earliest due first.
func (r *Repository) ListTasks(ctx context.Context, f app.TaskFilter, now time.Time) ([]app.TaskSummary, error) {
	statuses := []string{string(domain.TaskOpen), string(domain.TaskPendingConfirmation)}
	if f.Status != "" {
		statuses = []string{string(f.Status)}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := r.q(ctx).Query(ctx, `SELECT case_id, partner_id, market, task FROM review_tasks
		WHERE status = ANY($1)
		  AND ($2 = '' OR check_kind = $2)
		  AND ($3 = '' OR market = $3)
		  AND ($4 = '' OR partner_id <> $4)
		  AND (NOT $5 OR claimed_by = '' OR lease_until IS NULL OR lease_until <= $6)
		  AND ($8::timestamptz IS NULL OR (due_at, task_id) > ($8, $9))
		ORDER BY due_at, task_id LIMIT $7`,
		statuses, string(f.Check), f.Market, f.ExcludePartnerID, f.Unclaimed, now, limit, afterDue(f.After), afterID(f.After))
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	defer rows.Close()
	out := []app.TaskSummary{}
	for rows.Next() {
		var s app.TaskSummary
		var task []byte
		if err := rows.Scan(&s.CaseID, &s.PartnerID, &s.Market, &task); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(task, &s.Task); err != nil {
			return nil, fmt.Errorf("decode task of case %s: %w", s.CaseID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DueCaseIDs returns cases whose next timer is at or before now, oldest
// first. Two pollers may get the same id: Update locks the row and the
// aggregate marks what fired, so the second finds nothing left to do.
func (r *Repository) DueCaseIDs(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := r.q(ctx).Query(ctx, `SELECT id FROM cases WHERE timer_at <= $1 ORDER BY timer_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("find due cases: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// NextTimerAt is when the earliest case timer is due (zero: none is set).
func (r *Repository) NextTimerAt(ctx context.Context) (time.Time, error) {
	var next *time.Time
	if err := r.q(ctx).QueryRow(ctx, `SELECT min(timer_at) FROM cases`).Scan(&next); err != nil || next == nil {
		return time.Time{}, err
	}
	return *next, nil
}

// afterDue and afterID are a queue position's parameters (nil, "": the
// first page).
func afterDue(p *page.Position) *time.Time {
	if p == nil {
		return nil
	}
	return &p.At
}

func afterID(p *page.Position) string {
	if p == nil {
		return ""
	}
	return p.ID
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
