// Package postgres stores registration's partners in its own schema and
// writes their events to the outbox in the same transaction.
package postgres

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are registration's own migrations (run after the platform's).
var Migrations = pg.Migrations(migrations)

// EventMapper turns domain events into outbox drafts (the events adapter).
type EventMapper func(domain.Event) (outbox.Draft, error)

// Repository implements app.Repository.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *outbox.Writer
	mapper EventMapper
}

// NewRepository returns a repository writing events through w.
func NewRepository(pool *pgxpool.Pool, w *outbox.Writer, m EventMapper) *Repository {
	return &Repository{pool: pool, outbox: w, mapper: m}
}

// Create inserts the partner and everything it owns in one transaction (or
// in the caller's), as one batch under a savepoint with its events: a
// collision rolls back to the savepoint and leaves the caller's transaction
// usable, and the happy path costs one round trip.
func (r *Repository) Create(ctx context.Context, p *domain.Partner) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		s := p.Snapshot()
		snapshot, err := json.Marshal(s)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`SAVEPOINT create_partner`)
		b.Queue(`INSERT INTO partners (id, market, status, legal_name, snapshot, created_at, updated_at, last_activity_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, string(s.ID), string(s.Market), string(s.Status),
			s.Registration.Normalized.Company.LegalName, snapshot, s.CreatedAt, s.UpdatedAt, activity(s))
		queueChildren(b, s, nil)
		// Its identity keys in one statement; one another partner holds
		// fails it on identity_keys_pkey (below).
		if kinds, values := keyColumns(p.IdentityKeys(), nil); len(kinds) > 0 {
			b.Queue(`INSERT INTO identity_keys (market, kind, value, partner_id)
				SELECT $1, q.kind, q.value, $4 FROM unnest($2::text[], $3::text[]) AS q(kind, value)`,
				string(s.Market), kinds, values, string(s.ID))
		}
		// The events under the same savepoint, in the same round trip.
		q, err := r.queueEvents(ctx, b, p.PullEvents())
		if err != nil {
			return err
		}
		b.Queue(`RELEASE SAVEPOINT create_partner`)
		if err = tx.SendBatch(ctx, b).Close(); err == nil {
			q.Done(ctx)
			return nil
		}
		if _, rerr := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT create_partner`); rerr != nil {
			return errors.Join(err, rerr)
		}
		constraint, unique := pg.IsUniqueViolation(err)
		switch {
		case unique && constraint == "identity_keys_pkey":
			// The same entity is already registered (perhaps concurrently).
			kinds, values := keyColumns(p.IdentityKeys(), nil)
			dup, qerr := conflicts(ctx, tx, p.Market(), kinds, values, p.ID())
			if qerr != nil {
				return qerr
			}
			if dup != nil {
				return dup
			}
			return err
		case unique:
			return domain.ErrIDCollision
		default:
			return err
		}
	})
}

// queueChildren upserts the locations and enrollments of s that are not
// stored as they are in before (nil: none is stored yet). A change of a
// partner touches one enrollment or location at most; rewriting every row
// at every save wrote 12 rows per onboarding that were unchanged.
func queueChildren(b *pgx.Batch, s domain.PartnerSnapshot, before *domain.PartnerSnapshot) {
	for _, l := range s.Locations {
		if before != nil && slices.ContainsFunc(before.Locations, func(o domain.Location) bool {
			return o.ID == l.ID && o.Country == l.Country && o.Status == l.Status
		}) {
			continue
		}
		b.Queue(`INSERT INTO locations (id, partner_id, country, status) VALUES ($1,$2,$3,$4)
			ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status WHERE locations.partner_id = EXCLUDED.partner_id`,
			string(l.ID), string(s.ID), string(l.Country), string(l.Status))
	}
	for _, e := range s.Enrollments {
		if before != nil && slices.ContainsFunc(before.Enrollments, func(o domain.Enrollment) bool {
			return o.ID == e.ID && o.Program == e.Program && o.Status == e.Status && o.LocationID == e.LocationID
		}) {
			continue
		}
		b.Queue(`INSERT INTO enrollments (id, partner_id, program, status, location_id) VALUES ($1,$2,$3,$4,NULLIF($5,''))
			ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, location_id = EXCLUDED.location_id
			WHERE enrollments.partner_id = EXCLUDED.partner_id`,
			string(e.ID), string(s.ID), string(e.Program), string(e.Status), string(e.LocationID))
	}
}

// queueSavePartner queues the partner's row and its changed children.
func queueSavePartner(b *pgx.Batch, s domain.PartnerSnapshot, data []byte, before *domain.PartnerSnapshot) {
	b.Queue(`UPDATE partners SET status=$2, snapshot=$3, updated_at=$4, inactive_since=$5,
		last_activity_at=GREATEST(last_activity_at, $6) WHERE id=$1`,
		string(s.ID), string(s.Status), data, s.UpdatedAt, nullTime(s.Standing.InactiveSince), activity(s))
	queueChildren(b, s, before)
}

// activity is the partner's last activity as stored: its creation when none.
func activity(s domain.PartnerSnapshot) time.Time {
	if s.LastActivityAt.IsZero() {
		return s.CreatedAt
	}
	return s.LastActivityAt
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Get loads a partner.
func (r *Repository) Get(ctx context.Context, id domain.PartnerID) (*domain.Partner, error) {
	var data []byte
	var last time.Time
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT snapshot, last_activity_at FROM partners WHERE id = $1`, string(id)).Scan(&data, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrPartnerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load partner %s: %w", id, err)
	}
	return rehydrate(data, last)
}

// rehydrate rebuilds a partner from its snapshot; the activity column,
// which requests touch without rewriting the snapshot, is the truth (the
// inactivity job selects by it, and the partner it loads must agree).
func rehydrate(data []byte, lastActivity time.Time) (*domain.Partner, error) {
	var s domain.PartnerSnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode partner: %w", err)
	}
	s.LastActivityAt = lastActivity // every save keeps the later of both
	return domain.RehydratePartner(s)
}

// Update changes a partner under a row lock; it stores the partner when fn
// changed it (a change without events, such as a recorded confirmation,
// too) and writes its events.
func (r *Repository) Update(ctx context.Context, id domain.PartnerID, fn func(context.Context, *domain.Partner) error) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		var data []byte
		var last time.Time
		err := tx.QueryRow(ctx, `SELECT snapshot, last_activity_at FROM partners WHERE id = $1 FOR UPDATE`, string(id)).Scan(&data, &last)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrPartnerNotFound
		}
		if err != nil {
			return fmt.Errorf("lock partner %s: %w", id, err)
		}
		p, err := rehydrate(data, last)
		if err != nil {
			return err
		}
		sBefore := p.Snapshot()
		before, err := json.Marshal(sBefore)
		if err != nil {
			return err
		}
		keysBefore, nameBefore := p.IdentityKeys(), p.Registration().Normalized.Company.LegalName
		if err := fn(ctx, p); err != nil {
			return err
		}
		events := p.PullEvents()
		s := p.Snapshot()
		after, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if len(events) == 0 && bytes.Equal(before, after) {
			return nil
		}
		// New identity keys first: a clash writes nothing, even in a
		// caller's transaction (an Idempotency-Key answer is stored in it).
		if err := r.claimNewKeys(ctx, tx, p, keysBefore); err != nil {
			return err
		}
		// The partner, its changed children, the keys it let go and its
		// events: one round trip.
		b := &pgx.Batch{}
		queueSavePartner(b, s, after, &sBefore)
		if !p.HoldsIdentity() {
			b.Queue(`WITH gone AS (DELETE FROM identity_keys WHERE partner_id = $1 RETURNING market, kind, value)
				INSERT INTO released_identity_keys (market, kind, value, partner_id, status, released_at)
				SELECT market, kind, value, $1, $2, $3 FROM gone ON CONFLICT DO NOTHING`, string(id), string(s.Status), s.UpdatedAt)
		}
		queueDropOldKeys(b, p, keysBefore, nameBefore)
		q, err := r.queueEvents(ctx, b, events)
		if err != nil {
			return err
		}
		// The transaction's last writes: they go out with its COMMIT.
		if err := pg.SendLast(ctx, tx, b); err != nil {
			return err
		}
		q.Done(ctx)
		return nil
	})
}

// RecordDuplicateAttempt stores a refused duplicate.
func (r *Repository) RecordDuplicateAttempt(ctx context.Context, a *domain.DuplicateAttempt) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		data, err := json.Marshal(a)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO duplicate_attempts (id, existing_id, data, created_at) VALUES ($1,$2,$3,$4)
			ON CONFLICT (id) DO NOTHING`, string(a.ID), string(a.ExistingPartnerID), data, a.AttemptedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return domain.ErrIDCollision
		}
		return r.writeEvents(ctx, tx, a.PullEvents())
	})
}

// UpdateDuplicateAttempt changes a duplicate attempt under a row lock.
func (r *Repository) UpdateDuplicateAttempt(ctx context.Context, id domain.DuplicateAttemptID, fn func(*domain.DuplicateAttempt) error) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		var data []byte
		var existing *string
		err := tx.QueryRow(ctx, `SELECT a.data, p.status FROM duplicate_attempts a LEFT JOIN partners p ON p.id = a.existing_id
			WHERE a.id = $1 FOR UPDATE OF a`, string(id)).Scan(&data, &existing)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrDuplicateAttemptNotFound
		}
		if err != nil {
			return err
		}
		var a domain.DuplicateAttempt
		if err := json.Unmarshal(data, &a); err != nil {
			return err
		}
		if existing != nil {
			a.ExistingStatus = domain.PartnerStatus(*existing)
		}
		if err := fn(&a); err != nil {
			return err
		}
		if data, err = json.Marshal(&a); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE duplicate_attempts SET data = $2 WHERE id = $1`, string(id), data); err != nil {
			if _, ok := pg.IsUniqueViolation(err); ok { // duplicate_attempts_claim: the new claim's ID is taken
				return domain.ErrIDCollision
			}
			return err
		}
		return r.writeEvents(ctx, tx, a.PullEvents())
	})
}

// writeEvents writes events to the outbox within tx (outbox.Writer.Append:
// one round trip).
func (r *Repository) writeEvents(ctx context.Context, tx pgx.Tx, events []domain.Event) error {
	drafts, err := r.drafts(events)
	if err != nil {
		return err
	}
	_, err = r.outbox.Append(ctx, tx, drafts...)
	return err
}

// queueEvents queues the outbox rows of events on b.
func (r *Repository) queueEvents(ctx context.Context, b *pgx.Batch, events []domain.Event) (*outbox.Queued, error) {
	drafts, err := r.drafts(events)
	if err != nil {
		return nil, err
	}
	return r.outbox.Queue(ctx, b, drafts...)
}

// drafts maps events to outbox drafts.
func (r *Repository) drafts(events []domain.Event) ([]outbox.Draft, error) {
	drafts := make([]outbox.Draft, 0, len(events))
	for _, e := range events {
		d, err := r.mapper(e)
		if err != nil {
			return nil, err
		}
		drafts = append(drafts, d)
	}
	return drafts, nil
}

// touchGranularity is how stale the recorded activity may be: a partner
// polling every second writes its activity once a minute at most.
const touchGranularity = time.Minute

// Touch records activity at at, unless the partner was active less than
// touchGranularity before.
func (r *Repository) Touch(ctx context.Context, id domain.PartnerID, at time.Time) error {
	return r.exec(ctx, `UPDATE partners SET last_activity_at = $2 WHERE id = $1 AND last_activity_at < $3`,
		string(id), at, at.Add(-touchGranularity))
}

// exec writes with one statement in the transaction in ctx, or in its own.
// Its callers want nothing back, so it goes with the transaction's COMMIT
// (pg.SendLast): an approval's clearing of the documents due, the
// transaction's last write, cost a round trip of its own before the
// COMMIT's. An error of the statement fails the commit.
func (r *Repository) exec(ctx context.Context, sql string, args ...any) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(sql, args...)
		return pg.SendLast(ctx, tx, b)
	})
}

// InactivityCandidates lists approved partners, not inactive yet, idle since cutoff.
func (r *Repository) InactivityCandidates(ctx context.Context, cutoff time.Time, limit int) ([]domain.PartnerID, error) {
	rows, err := pg.Q(ctx, r.pool).Query(ctx, `SELECT id FROM partners
		WHERE inactive_since IS NULL AND status IN ('active', 'suspended') AND last_activity_at <= $1
		ORDER BY last_activity_at LIMIT $2`, cutoff, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[domain.PartnerID])
}

// OldestActivity is the oldest last activity of the partners the
// inactivity job watches.
func (r *Repository) OldestActivity(ctx context.Context) (time.Time, error) {
	var t *time.Time
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT min(last_activity_at) FROM partners
		WHERE inactive_since IS NULL AND status IN ('active', 'suspended')`).Scan(&t)
	if err != nil || t == nil {
		return time.Time{}, err
	}
	return *t, nil
}

// SetDocumentsDue stores verification's open request on a check.
func (r *Repository) SetDocumentsDue(ctx context.Context, d app.DocumentsDue) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return r.exec(ctx, `INSERT INTO documents_due (partner_id, check_kind, request) VALUES ($1,$2,$3)
		ON CONFLICT (partner_id, check_kind) DO UPDATE SET request = EXCLUDED.request`, string(d.PartnerID), d.Check, data)
}

// ClearDocumentsDue forgets the open request on check (every check when empty).
func (r *Repository) ClearDocumentsDue(ctx context.Context, id domain.PartnerID, check string) error {
	return r.exec(ctx, `DELETE FROM documents_due WHERE partner_id = $1 AND ($2 = '' OR check_kind = $2)`, string(id), check)
}

// DocumentsDue lists the partner's open requests by check.
func (r *Repository) DocumentsDue(ctx context.Context, id domain.PartnerID) ([]app.DocumentsDue, error) {
	rows, err := pg.Q(ctx, r.pool).Query(ctx, `SELECT request FROM documents_due WHERE partner_id = $1 ORDER BY check_kind`, string(id))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.DocumentsDue, error) {
		var d app.DocumentsDue
		var data []byte
		if err := row.Scan(&data); err != nil {
			return d, err
		}
		err := json.Unmarshal(data, &d)
		d.PartnerID = id
		return d, err
	})
}

var _ app.Repository = (*Repository)(nil)
