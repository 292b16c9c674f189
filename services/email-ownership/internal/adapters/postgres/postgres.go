// Package postgres stores the e-mail ownership aggregates, the token index
// and the resend throttles in the service's schema, and writes each change's
// domain events to the outbox in the same transaction.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations are the service's goose migrations.
var Migrations fs.FS = pg.Migrations(migrationFS)

// DraftsFunc maps domain events to outbox drafts (adapters/events.Drafts).
type DraftsFunc func([]domain.Event) ([]outbox.Draft, error)

// Repository implements app.Repository and app.ThrottleRepository.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *outbox.Writer
	drafts DraftsFunc
}

var (
	_ app.Repository         = (*Repository)(nil)
	_ app.ThrottleRepository = (*Repository)(nil)
)

// New returns a repository writing events through w.
func New(pool *pgxpool.Pool, w *outbox.Writer, drafts DraftsFunc) *Repository {
	return &Repository{pool: pool, outbox: w, drafts: drafts}
}

// Upsert implements app.Repository. A lost insert race (another transaction
// created the row first) is retried under the row lock.
func (r *Repository) Upsert(ctx context.Context, id string, fn func(*domain.Ownership) (*domain.Ownership, error)) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		for range 3 {
			cur, err := r.lock(ctx, tx, id)
			if err != nil && !errors.Is(err, app.ErrNotFound) {
				return err
			}
			o, err := fn(cur)
			if err != nil || o == nil {
				return err
			}
			if cur != nil {
				return r.save(ctx, tx, o)
			}
			inserted, err := r.insert(ctx, tx, o)
			if err != nil || inserted {
				return err
			}
		}
		return fmt.Errorf("upsert ownership %s: lost the insert race repeatedly", id)
	})
}

// Update implements app.Repository.
func (r *Repository) Update(ctx context.Context, id string, fn func(*domain.Ownership) error) error {
	return r.update(ctx, byID+" FOR UPDATE", id, fn)
}

// UpdateByTokenHash implements app.Repository: the token's row and the
// ownership's lock in one statement.
func (r *Repository) UpdateByTokenHash(ctx context.Context, h []byte, fn func(*domain.Ownership) error) error {
	return r.update(ctx, byTokenHash+" FOR UPDATE OF o", h, fn)
}

func (r *Repository) update(ctx context.Context, lockSQL string, arg any, fn func(*domain.Ownership) error) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		o, err := r.load(ctx, tx, lockSQL, arg)
		if err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
		return r.save(ctx, tx, o)
	})
}

// Get implements app.Repository.
func (r *Repository) Get(ctx context.Context, id string) (*domain.Ownership, error) {
	return r.load(ctx, r.querier(ctx), byID, id)
}

// GetByTokenHash implements app.Repository.
func (r *Repository) GetByTokenHash(ctx context.Context, h []byte) (*domain.Ownership, error) {
	return r.load(ctx, r.querier(ctx), byTokenHash, h)
}

func (r *Repository) querier(ctx context.Context) pg.Querier { return pg.Q(ctx, r.pool) }

func (r *Repository) lock(ctx context.Context, tx pgx.Tx, id string) (*domain.Ownership, error) {
	return r.load(ctx, tx, byID+" FOR UPDATE", id)
}

// The ownership by enrollment id, and by the token hash of one of its
// challenges (challenge_tokens' primary key).
const (
	byID        = `SELECT o.snapshot, o.version FROM ownerships o WHERE o.enrollment_id = $1`
	byTokenHash = `SELECT o.snapshot, o.version FROM challenge_tokens t
		JOIN ownerships o ON o.enrollment_id = t.enrollment_id WHERE t.token_hash = $1`
)

// load reads one ownership with sql (byID or byTokenHash, with its lock).
func (r *Repository) load(ctx context.Context, q pg.Querier, sql string, arg any) (*domain.Ownership, error) {
	var doc []byte
	var version int
	err := q.QueryRow(ctx, sql, arg).Scan(&doc, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load ownership: %w", err)
	}
	var s snapshotDoc
	if err := json.Unmarshal(doc, &s); err != nil {
		return nil, fmt.Errorf("decode ownership: %w", err)
	}
	snap := s.toDomain()
	snap.Version = version
	return domain.RestoreOwnership(snap), nil
}

func (r *Repository) insert(ctx context.Context, tx pgx.Tx, o *domain.Ownership) (bool, error) {
	doc, deadline, err := encode(o)
	if err != nil {
		return false, err
	}
	ref := o.Ref()
	tag, err := tx.Exec(ctx, `INSERT INTO ownerships (enrollment_id, partner_id, program, address, next_deadline, snapshot, version)
		VALUES ($1, $2, $3, $4, $5, $6, 1) ON CONFLICT (enrollment_id) DO NOTHING`,
		ref.EnrollmentID, ref.PartnerID, ref.Program, o.Recipient().Address, deadline, doc)
	if err != nil {
		return false, fmt.Errorf("insert ownership %s: %w", ref.EnrollmentID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	return true, r.afterWrite(ctx, tx, o, &pgx.Batch{})
}

func (r *Repository) save(ctx context.Context, tx pgx.Tx, o *domain.Ownership) error {
	doc, deadline, err := encode(o)
	if err != nil {
		return err
	}
	ref := o.Ref()
	// The ownership, its new token hashes and its events: one round trip.
	b := &pgx.Batch{}
	b.Queue(`UPDATE ownerships SET address = $2, next_deadline = $3, snapshot = $4,
		version = version + 1, updated_at = now() WHERE enrollment_id = $1`,
		ref.EnrollmentID, o.Recipient().Address, deadline, doc)
	if err := r.afterWrite(ctx, tx, o, b); err != nil {
		return fmt.Errorf("save ownership %s: %w", ref.EnrollmentID, err)
	}
	return nil
}

// afterWrite sends b (the caller's statements, if any) with the new token
// hashes indexed and the pulled events written to the outbox, with the
// transaction's COMMIT.
func (r *Repository) afterWrite(ctx context.Context, tx pgx.Tx, o *domain.Ownership, b *pgx.Batch) error {
	events := o.PullEvents()
	for _, e := range events {
		opened, ok := e.(domain.ChallengeOpened)
		if !ok {
			continue
		}
		for _, c := range o.Challenges() {
			if c.ID != opened.ChallengeID {
				continue
			}
			b.Queue(`INSERT INTO challenge_tokens (token_hash, challenge_id, enrollment_id) VALUES ($1, $2, $3)`,
				c.TokenHash, c.ID, o.Ref().EnrollmentID)
		}
	}
	drafts, err := r.drafts(events)
	if err != nil {
		return err
	}
	q, err := r.outbox.Queue(ctx, b, drafts...)
	if err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	// The transaction's last writes: they go out with its COMMIT (a token
	// or challenge id collision, which the random ids make all but
	// impossible, then fails the commit as a unique violation of
	// challenge_tokens).
	if err := pg.SendLast(ctx, tx, b); err != nil {
		return err
	}
	q.Done(ctx)
	return nil
}

// EnrollmentsByAddress implements app.Repository.
func (r *Repository) EnrollmentsByAddress(ctx context.Context, address string) ([]string, error) {
	return r.ids(ctx, `SELECT enrollment_id FROM ownerships WHERE address = $1 ORDER BY enrollment_id`, address)
}

// EnrollmentsByPartner implements app.Repository.
func (r *Repository) EnrollmentsByPartner(ctx context.Context, partnerID string) ([]string, error) {
	return r.ids(ctx, `SELECT enrollment_id FROM ownerships WHERE partner_id = $1 ORDER BY enrollment_id`, partnerID)
}

// RecordContact implements app.Repository.
func (r *Repository) RecordContact(ctx context.Context, partnerID string, seq uint64, c domain.Recipient) error {
	err := pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO partner_contacts (partner_id, sequence, change_number, address, contact_name, language, market)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (partner_id) DO UPDATE SET sequence = EXCLUDED.sequence, change_number = EXCLUDED.change_number,
			address = EXCLUDED.address, contact_name = EXCLUDED.contact_name, language = EXCLUDED.language, market = EXCLUDED.market
		WHERE partner_contacts.sequence < EXCLUDED.sequence`,
			partnerID, int64(seq), c.NamedBy, c.Address, c.ContactName, string(c.Language), c.Market)
		return err
	})
	if err != nil {
		return fmt.Errorf("record the contact of %s: %w", partnerID, err)
	}
	return nil
}

// LatestContact implements app.Repository.
func (r *Repository) LatestContact(ctx context.Context, partnerID string) (domain.Recipient, uint64, bool, error) {
	var c domain.Recipient
	var seq int64
	var lang string
	err := r.querier(ctx).QueryRow(ctx, `SELECT sequence, change_number, address, contact_name, language, market
		FROM partner_contacts WHERE partner_id = $1`, partnerID).Scan(&seq, &c.NamedBy, &c.Address, &c.ContactName, &lang, &c.Market)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Recipient{}, 0, false, nil
	}
	if err != nil {
		return domain.Recipient{}, 0, false, fmt.Errorf("the contact of %s: %w", partnerID, err)
	}
	c.Language = domain.Language(lang)
	return c, uint64(seq), true, nil
}

// DueForExpiry implements app.Repository: the durable timer is the indexed
// next_deadline column, so expiry survives restarts.
func (r *Repository) DueForExpiry(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return r.ids(ctx, `SELECT enrollment_id FROM ownerships WHERE next_deadline <= $1 ORDER BY next_deadline LIMIT $2`, now, limit)
}

// NextDeadline is when the earliest challenge deadline falls (zero: none).
func (r *Repository) NextDeadline(ctx context.Context) (time.Time, error) {
	var next *time.Time
	if err := r.querier(ctx).QueryRow(ctx, `SELECT min(next_deadline) FROM ownerships`).Scan(&next); err != nil || next == nil {
		return time.Time{}, err
	}
	return *next, nil
}

func (r *Repository) ids(ctx context.Context, sql string, args ...any) ([]string, error) {
	rows, err := r.querier(ctx).Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// UpdateThrottle implements app.ThrottleRepository: one row per key,
// created on first use and locked for the decision.
func (r *Repository) UpdateThrottle(ctx context.Context, key string, fn func(*domain.ResendThrottle) error) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO resend_throttles (key) VALUES ($1) ON CONFLICT DO NOTHING`, key); err != nil {
			return fmt.Errorf("create throttle: %w", err)
		}
		t := &domain.ResendThrottle{Key: key}
		if err := tx.QueryRow(ctx, `SELECT sends FROM resend_throttles WHERE key = $1 FOR UPDATE`, key).Scan(&t.Sends); err != nil {
			return fmt.Errorf("lock throttle: %w", err)
		}
		if err := fn(t); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE resend_throttles SET sends = $2, updated_at = now() WHERE key = $1`, key, t.Sends)
		return err
	})
}

// GetThrottle implements app.ThrottleRepository.
func (r *Repository) GetThrottle(ctx context.Context, key string) (*domain.ResendThrottle, error) {
	t := &domain.ResendThrottle{Key: key}
	err := r.querier(ctx).QueryRow(ctx, `SELECT sends FROM resend_throttles WHERE key = $1`, key).Scan(&t.Sends)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	return t, nil
}
