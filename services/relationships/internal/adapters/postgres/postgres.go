// Package postgres stores the partner projection and the Relationship
// aggregate in the service's own schema. Every relationship write runs in
// one transaction with the outbox rows of the events it recorded; writes
// join the transaction already in the context (an event handler's inbox).
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the service's goose migrations (run by platform.Start).
var Migrations fs.FS = pg.Migrations(migrationFiles)

// Partners implements app.Partners.
type Partners struct {
	pool *pgxpool.Pool
}

// NewPartners returns the partner projection store.
func NewPartners(pool *pgxpool.Pool) *Partners { return &Partners{pool: pool} }

var _ app.Partners = (*Partners)(nil)

// Get implements app.Partners: id is a global or a location ID.
func (s *Partners) Get(ctx context.Context, id string) (domain.Partner, error) {
	var raw []byte
	err := pg.Q(ctx, s.pool).QueryRow(ctx, `SELECT doc FROM partners WHERE id = $1 AND version > 0
		UNION ALL
		SELECT p.doc FROM partner_locations l JOIN partners p ON p.id = l.partner_id WHERE l.location_id = $1
		LIMIT 1`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Partner{}, domain.ErrPartnerNotFound
	}
	if err != nil {
		return domain.Partner{}, fmt.Errorf("load partner %s: %w", id, err)
	}
	var d partnerDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return domain.Partner{}, fmt.Errorf("decode partner %s: %w", id, err)
	}
	return d.domain(), nil
}

// Holding implements app.Partners. A partner not in the projection has no
// row to lock; the rules refuse it anyway.
func (s *Partners) Holding(ctx context.Context, ids []string, fn func(ctx context.Context) error) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	return pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT id FROM partners WHERE id = ANY($1) ORDER BY id COLLATE "C" FOR SHARE`, ids); err != nil {
			return fmt.Errorf("hold partners %v: %w", ids, err)
		}
		return fn(ctx)
	})
}

// lockedPartner keys, in a transaction (pg.SetTxValue), the row of a
// partner the transaction holds locked FOR UPDATE, as stored: the events of
// one partner that the bus hands to one transaction (the projection's
// batches) lock and read it once. Upsert is the row's only writer here, and
// keeps what it wrote.
type lockedPartner struct{ id string }

type lockedRow struct {
	doc     []byte
	version int64
}

// Upsert implements app.Partners. The row is created empty first so that
// concurrent first facts about one partner serialise on its row lock
// instead of overwriting each other. Nothing is written when fn changes
// nothing, so version counts real changes.
func (s *Partners) Upsert(ctx context.Context, id string, fn func(*domain.Partner) error) error {
	return pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var (
			raw     []byte
			version int64
		)
		if held, ok := pg.TxValue(ctx, lockedPartner{id}); ok && held != nil {
			// Locked by this transaction already (another event of the
			// partner in the same batch): the row is as it last wrote it.
			raw, version = held.(lockedRow).doc, held.(lockedRow).version
		} else {
			// Create and lock in one round trip.
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO partners (id, doc, version) VALUES ($1, '{}', 0) ON CONFLICT (id) DO NOTHING`, id)
			b.Queue(`SELECT doc, version FROM partners WHERE id = $1 FOR UPDATE`, id).QueryRow(func(row pgx.Row) error {
				return row.Scan(&raw, &version)
			})
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("create and lock partner %s: %w", id, err)
			}
			pg.SetTxValue(ctx, lockedPartner{id}, lockedRow{raw, version})
		}
		p := domain.Partner{ID: id}
		if version > 0 {
			var d partnerDoc
			if err := json.Unmarshal(raw, &d); err != nil {
				return fmt.Errorf("decode partner %s: %w", id, err)
			}
			p = d.domain()
		}
		before, err := json.Marshal(toPartnerDoc(p))
		if err != nil {
			return err
		}
		locationsBefore := slices.Clone(p.LocationIDs)
		if err := fn(&p); err != nil {
			return err
		}
		if p.ID != id {
			return fmt.Errorf("%w: partner %s renamed to %s", domain.ErrInvalidPartner, id, p.ID)
		}
		after, err := json.Marshal(toPartnerDoc(p))
		if err != nil {
			return err
		}
		if version > 0 && string(before) == string(after) {
			return nil
		}
		// The partner and its new locations (a stored one was claimed when
		// it was added): one round trip.
		b := &pgx.Batch{}
		b.Queue(`UPDATE partners SET doc = $2, version = version + 1, updated_at = now() WHERE id = $1`, id, after)
		for _, l := range p.LocationIDs {
			if slices.Contains(locationsBefore, l) {
				continue
			}
			b.Queue(`INSERT INTO partner_locations (location_id, partner_id) VALUES ($1, $2)
				ON CONFLICT (location_id) DO UPDATE SET location_id = EXCLUDED.location_id RETURNING partner_id`, l, id).
				QueryRow(func(row pgx.Row) error {
					var owner string
					if err := row.Scan(&owner); err != nil {
						return fmt.Errorf("save location %s of %s: %w", l, id, err)
					}
					if owner != id {
						return fmt.Errorf("%w: location %s belongs to %s, not %s", domain.ErrInvalidPartner, l, owner, id)
					}
					return nil
				})
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			pg.SetTxValue(ctx, lockedPartner{id}, nil) // the row may or may not be written: read it again
			return fmt.Errorf("save partner %s: %w", id, err)
		}
		pg.SetTxValue(ctx, lockedPartner{id}, lockedRow{after, version + 1})
		return nil
	})
}

// DraftMapper turns recorded domain events into outbox drafts (the events
// adapter's ToDrafts).
type DraftMapper func([]domain.Event) ([]outbox.Draft, error)

// Relationships implements app.Relationships.
type Relationships struct {
	pool   *pgxpool.Pool
	outbox *outbox.Writer
	drafts DraftMapper
}

// NewRelationships returns the repository; every write appends the
// aggregate's events to out in its transaction.
func NewRelationships(pool *pgxpool.Pool, out *outbox.Writer, drafts DraftMapper) *Relationships {
	return &Relationships{pool: pool, outbox: out, drafts: drafts}
}

var _ app.Relationships = (*Relationships)(nil)

// Add implements app.Relationships. The partial unique index
// relationships_one_open decides races between concurrent requests.
func (s *Relationships) Add(ctx context.Context, r *domain.Relationship) error {
	doc, err := json.Marshal(toRelationshipDoc(r))
	if err != nil {
		return err
	}
	const insert = `INSERT INTO relationships (id, provider_id, reseller_id, state, created_at, next_due_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	args := []any{r.ID, r.ProviderID, r.ResellerID, string(r.State), r.CreatedAt, dueColumn(r.NextDueAt()), doc}
	_, joined := pg.TxFrom(ctx)
	err = pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if joined {
			// A savepoint keeps the caller's transaction usable after a
			// unique violation.
			sp, err := tx.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := sp.Exec(ctx, insert, args...); err != nil {
				_ = sp.Rollback(ctx)
				return err
			}
			if err := sp.Commit(ctx); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, insert, args...); err != nil {
			return err
		}
		return s.afterWrite(ctx, tx, r, 0)
	})
	if c, ok := pg.IsUniqueViolation(err); ok && c == "relationships_one_open" {
		// Tell which open relationship is in the way (outside the aborted
		// transaction, or inside the caller's one).
		var state string
		if qerr := s.queryer(ctx).QueryRow(ctx, `SELECT state FROM relationships WHERE provider_id = $1 AND reseller_id = $2
			AND state IN ('proposed', 'active')`, r.ProviderID, r.ResellerID).Scan(&state); qerr == nil && state == string(domain.StateActive) {
			return domain.ErrRelationshipExists
		}
		return domain.ErrRequestPending
	}
	if err != nil {
		return fmt.Errorf("insert relationship %s: %w", r.ID, err)
	}
	return nil
}

// afterWrite indexes the token hashes of requests from index known on (the
// ones added by this write) and writes the pulled events to the outbox, in
// the write's transaction.
func (s *Relationships) afterWrite(ctx context.Context, tx pgx.Tx, r *domain.Relationship, known int) error {
	for _, q := range r.Requests[min(known, len(r.Requests)):] {
		if _, err := tx.Exec(ctx, `INSERT INTO invitation_tokens (token_hash, relationship_id, request_id) VALUES ($1, $2, $3)
			ON CONFLICT (token_hash) DO NOTHING`, q.TokenHash.String(), r.ID, q.ID); err != nil {
			return fmt.Errorf("index token of request %s: %w", q.ID, err)
		}
	}
	drafts, err := s.drafts(r.PullEvents())
	if err != nil {
		return err
	}
	if _, err := s.outbox.Append(ctx, tx, drafts...); err != nil {
		return fmt.Errorf("outbox for relationship %s: %w", r.ID, err)
	}
	return nil
}

// Get implements app.Relationships.
func (s *Relationships) Get(ctx context.Context, id string) (*domain.Relationship, error) {
	return s.one(ctx, s.queryer(ctx), `SELECT doc FROM relationships WHERE id = $1`, id)
}

// Update implements app.Relationships: SELECT … FOR UPDATE serialises
// concurrent updates of one relationship.
func (s *Relationships) Update(ctx context.Context, id string, fn func(*domain.Relationship) error) error {
	return pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		r, err := s.one(ctx, tx, `SELECT doc FROM relationships WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		known := len(r.Requests)
		if err := fn(r); err != nil {
			return err
		}
		doc, err := json.Marshal(toRelationshipDoc(r))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE relationships SET state = $2, next_due_at = $3, doc = $4, version = version + 1,
			updated_at = now() WHERE id = $1`, id, string(r.State), dueColumn(r.NextDueAt()), doc); err != nil {
			return fmt.Errorf("save relationship %s: %w", id, err)
		}
		return s.afterWrite(ctx, tx, r, known)
	})
}

// Open implements app.Relationships.
func (s *Relationships) Open(ctx context.Context, providerID, resellerID string) (*domain.Relationship, error) {
	return s.one(ctx, s.queryer(ctx), `SELECT doc FROM relationships WHERE provider_id = $1 AND reseller_id = $2
		AND state IN ('proposed', 'active')`, providerID, resellerID)
}

// IDByTokenHash implements app.Relationships.
func (s *Relationships) IDByTokenHash(ctx context.Context, h domain.TokenHash) (string, error) {
	var id string
	err := s.queryer(ctx).QueryRow(ctx, `SELECT relationship_id FROM invitation_tokens WHERE token_hash = $1`, h.String()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", domain.ErrInvitationUnknown
	}
	if err != nil {
		return "", fmt.Errorf("look up invitation token: %w", err)
	}
	return id, nil
}

// ListByProvider implements app.Relationships.
func (s *Relationships) ListByProvider(ctx context.Context, providerID string) ([]*domain.Relationship, error) {
	return s.list(ctx, `SELECT doc FROM relationships WHERE provider_id = $1 ORDER BY created_at DESC, id`, providerID)
}

// ListByReseller implements app.Relationships.
func (s *Relationships) ListByReseller(ctx context.Context, resellerID string) ([]*domain.Relationship, error) {
	return s.list(ctx, `SELECT doc FROM relationships WHERE reseller_id = $1 ORDER BY created_at DESC, id`, resellerID)
}

// ListPage implements app.Relationships: keyset pages on the listing's
// order (created_at descending, then id), the closed ones left out in the
// query unless asked for.
func (s *Relationships) ListPage(ctx context.Context, q app.RelationshipPage) ([]*domain.Relationship, *page.Position, error) {
	col := "provider_id"
	if q.Side == domain.SideReseller {
		col = "reseller_id"
	}
	var afterAt *time.Time
	afterID := ""
	if q.After != nil {
		afterAt, afterID = &q.After.At, q.After.ID
	}
	rows, err := s.queryer(ctx).Query(ctx, `SELECT doc, created_at FROM relationships WHERE `+col+` = $1
		AND ($2 OR state IN ('proposed', 'active'))
		AND ($3::timestamptz IS NULL OR created_at < $3 OR (created_at = $3 AND id > $4))
		ORDER BY created_at DESC, id LIMIT $5`, q.PartnerID, q.IncludeClosed, afterAt, afterID, q.Limit+1) // one more: a next page?
	if err != nil {
		return nil, nil, fmt.Errorf("list relationships: %w", err)
	}
	type listed struct {
		doc []byte
		at  time.Time
	}
	ls, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (listed, error) {
		var l listed
		return l, row.Scan(&l.doc, &l.at)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list relationships: %w", err)
	}
	var next *page.Position
	if len(ls) > q.Limit {
		ls = ls[:q.Limit]
		next = &page.Position{At: ls[len(ls)-1].at}
	}
	out := make([]*domain.Relationship, len(ls))
	for i, l := range ls {
		if out[i], err = decodeRelationship(l.doc); err != nil {
			return nil, nil, err
		}
	}
	if next != nil {
		next.ID = out[len(out)-1].ID
	}
	return out, next, nil
}

// DueIDs implements app.Relationships.
func (s *Relationships) DueIDs(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.queryer(ctx).Query(ctx, `SELECT id FROM relationships WHERE next_due_at <= $1 ORDER BY next_due_at, id LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("due relationships: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// NextDueAt is when the earliest relationship timer is due (zero: none).
func (s *Relationships) NextDueAt(ctx context.Context) (time.Time, error) {
	var next *time.Time
	if err := s.queryer(ctx).QueryRow(ctx, `SELECT min(next_due_at) FROM relationships`).Scan(&next); err != nil || next == nil {
		return time.Time{}, err
	}
	return *next, nil
}

// queryer reads inside the transaction of ctx when there is one.
func (s *Relationships) queryer(ctx context.Context) pg.Querier { return pg.Q(ctx, s.pool) }

func (s *Relationships) one(ctx context.Context, q pg.Querier, sql string, args ...any) (*domain.Relationship, error) {
	var raw []byte
	err := q.QueryRow(ctx, sql, args...).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrRelationshipNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load relationship: %w", err)
	}
	return decodeRelationship(raw)
}

func (s *Relationships) list(ctx context.Context, sql string, arg string) ([]*domain.Relationship, error) {
	rows, err := s.queryer(ctx).Query(ctx, sql, arg)
	if err != nil {
		return nil, fmt.Errorf("list relationships: %w", err)
	}
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("list relationships: %w", err)
	}
	out := make([]*domain.Relationship, 0, len(raws))
	for _, raw := range raws {
		r, err := decodeRelationship(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeRelationship(raw []byte) (*domain.Relationship, error) {
	var d relationshipDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode relationship: %w", err)
	}
	return d.domain()
}

// dueColumn is NULL for "nothing scheduled", else the due time rounded UP to
// Postgres' microsecond precision, so that a row is never found due before
// the aggregate agrees it is.
func dueColumn(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	r := t.Truncate(time.Microsecond)
	if r.Before(t) {
		r = r.Add(time.Microsecond)
	}
	return &r
}
