package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Webhooks implements app.WebhookStore in the timeline's schema; the
// notices of disabled endpoints go through the outbox in the same
// transaction.
type Webhooks struct {
	pool   *pgxpool.Pool
	outbox *outbox.Writer
	notice func(domain.DisabledEndpoint) outbox.Draft
}

// NewWebhooks returns the webhook store; notice maps a disabled endpoint
// to its event (the events adapter).
func NewWebhooks(pool *pgxpool.Pool, w *outbox.Writer, notice func(domain.DisabledEndpoint) outbox.Draft) *Webhooks {
	return &Webhooks{pool: pool, outbox: w, notice: notice}
}

var _ app.WebhookStore = (*Webhooks)(nil)

// CreateEndpoint implements app.WebhookStore. Under a key, the endpoint
// and its secret go in one statement that inserts nothing when the key's
// unique index holds the principal's endpoint already (a concurrent
// creation under the same key waits for the other to commit, then finds
// it).
func (s *Webhooks) CreateEndpoint(ctx context.Context, e domain.Endpoint, secret app.SealedSecret, once app.Idempotency) (app.PriorCreation, error) {
	var prior app.PriorCreation
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if e.Scope == domain.ScopeRegistered && e.Status == domain.EndpointEnabled {
			if err := lockRegisteredScope(ctx, tx); err != nil {
				return err
			}
		}
		var key, digest *string
		if once.Key != "" {
			key, digest = &once.Key, &once.RequestDigest
		}
		// An endpoint found under the key and deleted before it is read
		// is gone: the insert is tried again (read committed: each
		// statement sees what committed before it).
		for range 3 {
			tag, err := tx.Exec(ctx, `WITH e AS (
					INSERT INTO webhook_endpoints (id, consumer, scope, url, description, event_types, status, created_by, created_at, updated_at,
						idempotency_key, request_digest)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
					ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
					RETURNING id)
				INSERT INTO webhook_secrets (endpoint_id, id, sealed, created_at) SELECT id, $13, $14, $15 FROM e`,
				e.ID, e.Consumer, e.Scope, e.URL, e.Description, nonNil(e.EventTypes), e.Status, e.CreatedBy, e.CreatedAt, e.UpdatedAt,
				key, digest, secret.ID, secret.Sealed, secret.CreatedAt)
			if err != nil || tag.RowsAffected() == 1 {
				return err
			}
			err = tx.QueryRow(ctx, `SELECT id, request_digest FROM webhook_endpoints WHERE created_by = $1 AND idempotency_key = $2`,
				e.CreatedBy, once.Key).Scan(&prior.EndpointID, &prior.RequestDigest)
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		return fmt.Errorf("create webhook endpoint under idempotency key: the endpoint under it keeps being deleted")
	})
	return prior, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const endpointColumns = `w.id, w.consumer, w.scope, w.url, w.description, w.event_types, w.status, w.disabled_reason,
	w.disabled_at, w.failing_since, w.created_by, w.created_at, w.updated_at,
	(SELECT COALESCE(jsonb_agg(jsonb_build_object('id', x.id, 'created_at', x.created_at, 'expires_at', x.expires_at)
		ORDER BY x.created_at DESC), '[]') FROM webhook_secrets x WHERE x.endpoint_id = w.id AND (x.expires_at IS NULL OR x.expires_at > now()))`

func scanEndpoint(row pgx.CollectableRow) (domain.Endpoint, error) {
	var (
		e                        domain.Endpoint
		disabledAt, failingSince *time.Time
		secrets                  []byte
	)
	if err := row.Scan(&e.ID, &e.Consumer, &e.Scope, &e.URL, &e.Description, &e.EventTypes, &e.Status, &e.DisabledReason,
		&disabledAt, &failingSince, &e.CreatedBy, &e.CreatedAt, &e.UpdatedAt, &secrets); err != nil {
		return domain.Endpoint{}, err
	}
	if disabledAt != nil {
		e.DisabledAt = *disabledAt
	}
	if failingSince != nil {
		e.FailingSince = *failingSince
	}
	var list []struct {
		ID        string     `json:"id"`
		CreatedAt time.Time  `json:"created_at"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(secrets, &list); err != nil {
		return domain.Endpoint{}, fmt.Errorf("secrets of %s: %w", e.ID, err)
	}
	for _, x := range list {
		si := domain.SecretInfo{ID: x.ID, CreatedAt: x.CreatedAt}
		if x.ExpiresAt != nil {
			si.ExpiresAt = *x.ExpiresAt
		}
		e.Secrets = append(e.Secrets, si)
	}
	return e, nil
}

// Endpoint implements app.WebhookStore.
func (s *Webhooks) Endpoint(ctx context.Context, id string) (domain.Endpoint, error) {
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints w WHERE w.id = $1`, id)
	if err != nil {
		return domain.Endpoint{}, fmt.Errorf("load endpoint %s: %w", id, err)
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanEndpoint)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Endpoint{}, app.ErrNotFound
	}
	return e, err
}

// Endpoints implements app.WebhookStore.
func (s *Webhooks) Endpoints(ctx context.Context, consumer, after string, limit int) ([]domain.Endpoint, error) {
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints w
		WHERE ($1 = '' OR w.consumer = $1) AND w.id > $2 ORDER BY w.id LIMIT $3`, consumer, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return pgx.CollectRows(rows, scanEndpoint)
}

// UpdateEndpoint implements app.WebhookStore.
func (s *Webhooks) UpdateEndpoint(ctx context.Context, id string, fn func(*domain.Endpoint) error) (domain.Endpoint, error) {
	var e domain.Endpoint
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		// FOR NO KEY UPDATE: recording transactions (which hold the scope
		// lock that enabling may wait for) key-share endpoints they deliver to.
		rows, err := tx.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints w WHERE w.id = $1 FOR NO KEY UPDATE`, id)
		if err != nil {
			return err
		}
		if e, err = pgx.CollectExactlyOneRow(rows, scanEndpoint); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return app.ErrNotFound
			}
			return err
		}
		was := e.Status
		if err := fn(&e); err != nil {
			return err
		}
		if e.Scope == domain.ScopeRegistered && was != domain.EndpointEnabled && e.Status == domain.EndpointEnabled {
			if err := lockRegisteredScope(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, status = $5,
			disabled_reason = $6, disabled_at = $7, failing_since = $8, updated_at = $9 WHERE id = $1`,
			e.ID, e.URL, e.Description, nonNil(e.EventTypes), e.Status, e.DisabledReason, nullTime(e.DisabledAt),
			nullTime(e.FailingSince), e.UpdatedAt); err != nil {
			return err
		}
		if was == domain.EndpointEnabled && e.Status == domain.EndpointDisabled {
			_, err = tx.Exec(ctx, cancelPending, e.ID)
		}
		return err
	})
	return e, err
}

const cancelPending = `UPDATE webhook_deliveries SET state = 'cancelled', next_attempt_at = NULL, updated_at = now()
	WHERE endpoint_id = $1 AND state = 'pending'`

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// DeleteEndpoint implements app.WebhookStore.
func (s *Webhooks) DeleteEndpoint(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return app.ErrNotFound
	}
	return err
}

// RotateSecret implements app.WebhookStore.
func (s *Webhooks) RotateSecret(ctx context.Context, endpointID string, secret app.SealedSecret, now, previousUntil time.Time) error {
	return pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM webhook_secrets WHERE endpoint_id = $1 AND expires_at <= $2`, endpointID, now)
		b.Queue(`UPDATE webhook_secrets SET expires_at = LEAST(COALESCE(expires_at, $2), $2) WHERE endpoint_id = $1`, endpointID, previousUntil)
		b.Queue(`INSERT INTO webhook_secrets (endpoint_id, id, sealed, created_at) VALUES ($1, $2, $3, $4)`,
			endpointID, secret.ID, secret.Sealed, secret.CreatedAt)
		return tx.SendBatch(ctx, b).Close()
	})
}

const deliveryColumns = `d.id, d.endpoint_id, d.event_source, d.event_id, d.event_type, d.state, d.attempts,
	d.next_attempt_at, d.last_status, d.last_error, d.log, d.created_at, d.updated_at`

func scanDelivery(row pgx.CollectableRow) (domain.Delivery, error) {
	var (
		d    domain.Delivery
		next *time.Time
		log  []byte
	)
	if err := row.Scan(&d.ID, &d.EndpointID, &d.EventSource, &d.EventID, &d.EventType, &d.State, &d.Attempts,
		&next, &d.LastStatus, &d.LastError, &log, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return domain.Delivery{}, err
	}
	if next != nil {
		d.NextAttempt = *next
	}
	if err := json.Unmarshal(log, &d.Log); err != nil {
		return domain.Delivery{}, fmt.Errorf("log of %s: %w", d.ID, err)
	}
	return d, nil
}

// Deliveries implements app.WebhookStore.
func (s *Webhooks) Deliveries(ctx context.Context, endpointID string, q app.DeliveryQuery) ([]domain.Delivery, error) {
	args := []any{endpointID, q.State, q.Limit}
	where := `d.endpoint_id = $1 AND ($2 = '' OR d.state = $2)`
	if q.After != nil {
		args = append(args, q.After.CreatedAt, q.After.ID)
		where += ` AND (d.created_at, d.id) < ($4, $5)`
	}
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE `+where+`
		ORDER BY d.created_at DESC, d.id DESC LIMIT $3`, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return pgx.CollectRows(rows, scanDelivery)
}

// Redeliver implements app.WebhookStore.
func (s *Webhooks) Redeliver(ctx context.Context, endpointID, deliveryID string, leaseUntil time.Time) (domain.Delivery, error) {
	// By hand: one attempt beside the schedule; a pending delivery's next
	// scheduled attempt is kept to resume (a second redelivery before the
	// first was made keeps the first's).
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `UPDATE webhook_deliveries d SET
			manual = true, redeliveries = d.redeliveries + 1, resume_at = CASE WHEN d.state <> 'pending' THEN NULL WHEN d.manual THEN d.resume_at ELSE d.next_attempt_at END,
			state = 'pending', next_attempt_at = $3, updated_at = now()
		WHERE d.endpoint_id = $1 AND d.id = $2 RETURNING `+deliveryColumns, endpointID, deliveryID, leaseUntil)
	if err != nil {
		return domain.Delivery{}, fmt.Errorf("redeliver %s: %w", deliveryID, err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDelivery)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Delivery{}, app.ErrNotFound
	}
	return d, err
}

// EndpointsForSend implements app.WebhookStore.
func (s *Webhooks) EndpointsForSend(ctx context.Context, ids []string) ([]app.EndpointForSend, error) {
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `SELECT w.id, w.url, w.consumer, w.scope, w.status, COALESCE(k.ids, '{}'), COALESCE(k.sealed, '{}')
		FROM webhook_endpoints w
		LEFT JOIN LATERAL (SELECT array_agg(x.id ORDER BY x.created_at DESC) AS ids, array_agg(x.sealed ORDER BY x.created_at DESC) AS sealed
			FROM webhook_secrets x WHERE x.endpoint_id = w.id AND (x.expires_at IS NULL OR x.expires_at > now())) k ON true
		WHERE w.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load endpoints: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.EndpointForSend, error) {
		var (
			e         app.EndpointForSend
			secretIDs []string
			sealed    [][]byte
		)
		if err := row.Scan(&e.ID, &e.URL, &e.Consumer, &e.Scope, &e.Status, &secretIDs, &sealed); err != nil {
			return app.EndpointForSend{}, err
		}
		for i := range secretIDs {
			e.Secrets = append(e.Secrets, app.SealedSecret{ID: secretIDs[i], Sealed: sealed[i]})
		}
		return e, nil
	})
}

// ExtendLeases implements app.WebhookStore: a pending delivery's lease is
// its next_attempt_at; one already due later (a retry another replica
// scheduled) keeps its time.
func (s *Webhooks) ExtendLeases(ctx context.Context, ids []string, until time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $2
		WHERE id = ANY($1) AND state = 'pending' AND next_attempt_at < $2`, ids, until)
	return err
}

// ClaimDue implements app.WebhookStore.
func (s *Webhooks) ClaimDue(ctx context.Context, now, leaseUntil time.Time, limit int) ([]string, time.Time, error) {
	var (
		ids  []string
		next *time.Time
	)
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE webhook_deliveries d SET next_attempt_at = $2 WHERE d.id IN (
				SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.status = 'enabled'
				WHERE d.state = 'pending' AND d.next_attempt_at <= $1
				ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED)
			RETURNING d.id`, now, leaseUntil, limit)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		// What is due and was not claimed is another replica's now (or
		// beyond the batch, which the caller sees): next is in the future.
		// Nothing pending: NULL, and the caller keeps its safety sweep
		// (GREATEST ignores a NULL, so without the CASE an idle timeline
		// swept every second).
		return tx.QueryRow(ctx, `SELECT CASE WHEN min(d.next_attempt_at) IS NOT NULL
				THEN GREATEST(min(d.next_attempt_at), $1::timestamptz + interval '1 second') END
			FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.status = 'enabled'
			WHERE d.state = 'pending'`, now).Scan(&next)
	})
	if err != nil || next == nil {
		return ids, time.Time{}, err
	}
	return ids, *next, nil
}

// Outgoing implements app.WebhookStore: one round trip, the unexpired
// secrets aggregated per delivery.
func (s *Webhooks) Outgoing(ctx context.Context, ids []string) ([]app.Outgoing, error) {
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `SELECT d.id, d.endpoint_id, d.event_source, d.event_id, d.event_type, d.attempts,
			d.first_attempt_at, d.manual, d.scheduled_attempts, d.resume_at, d.redeliveries, w.url, w.consumer,
			COALESCE(k.ids, '{}'), COALESCE(k.sealed, '{}'), `+eventColumns+`
		FROM webhook_deliveries d
		JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.status = 'enabled'
		JOIN events e ON e.source = d.event_source AND e.id = d.event_id
		LEFT JOIN LATERAL (SELECT array_agg(x.id ORDER BY x.created_at DESC) AS ids, array_agg(x.sealed ORDER BY x.created_at DESC) AS sealed
			FROM webhook_secrets x WHERE x.endpoint_id = w.id AND (x.expires_at IS NULL OR x.expires_at > now())) k ON true
		WHERE d.id = ANY($1) AND d.state = 'pending'
		ORDER BY d.created_at, d.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("load deliveries: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.Outgoing, error) {
		var (
			o         app.Outgoing
			first     *time.Time
			resume    *time.Time
			secretIDs []string
			sealed    [][]byte
			e         domain.Event
			seq       int64
			data, ext []byte
		)
		if err := row.Scan(&o.Delivery.ID, &o.Delivery.EndpointID, &o.Delivery.EventSource, &o.Delivery.EventID, &o.Delivery.EventType,
			&o.Delivery.Attempts, &first, &o.Manual, &o.Scheduled, &resume, &o.Redeliveries, &o.URL, &o.Consumer, &secretIDs, &sealed,
			&e.Source, &e.ID, &e.Type, &e.Subject, &e.Time, &e.PartitionKey, &seq, &e.CorrelationID,
			&e.CausationID, &e.AuthType, &e.AuthID, &data, &e.RecordedAt, &e.DataContentType, &e.DataSchema, &e.TraceParent,
			&e.DataClassification, &ext, &e.Feed.Tx, &e.Feed.Pos); err != nil {
			return app.Outgoing{}, err
		}
		if first != nil {
			o.FirstAttempt = *first
		}
		if resume != nil {
			o.ResumeAt = *resume
		}
		e.Sequence = uint64(seq)
		if data != nil {
			e.Data = data
		}
		if ext != nil {
			if err := json.Unmarshal(ext, &e.Extensions); err != nil {
				return app.Outgoing{}, err
			}
		}
		o.Event = e
		for i := range secretIDs {
			o.Secrets = append(o.Secrets, app.SealedSecret{ID: secretIDs[i], Sealed: sealed[i]})
		}
		return o, nil
	})
}

// recordAttempt moves a delivery on after an attempt, unless another sender
// recorded one since it was claimed (attempts moved). The log keeps the
// latest domain.MaxAttemptLog attempts; an attempt by hand ($10) is not one
// of the schedule's. A redelivery asked for while the attempt was in flight
// (redeliveries moved past $11, the count it was loaded with) is not
// overwritten: the delivery stays pending, by hand, due at the redelivery's
// lease (its hand-off sends it before), and the schedule's next attempt
// this outcome set is kept to resume after it.
const recordAttempt = `UPDATE webhook_deliveries SET attempts = attempts + 1,
	scheduled_attempts = scheduled_attempts + CASE WHEN $10 THEN 0 ELSE 1 END,
	state = CASE WHEN redeliveries > $11 THEN 'pending' ELSE $3 END,
	manual = redeliveries > $11,
	resume_at = CASE WHEN redeliveries > $11 AND $3 = 'pending' THEN $4::timestamptz END,
	next_attempt_at = CASE WHEN redeliveries > $11 THEN next_attempt_at ELSE $4 END,
	first_attempt_at = COALESCE(first_attempt_at, $5),
	last_status = $6, last_error = $7,
	log = (CASE WHEN jsonb_array_length(log) >= $9 THEN log - 0 ELSE log END) || jsonb_build_array($8::jsonb),
	updated_at = now()
	WHERE id = $1 AND attempts = $2 AND state = 'pending'`

// RecordAttempts implements app.WebhookStore.
func (s *Webhooks) RecordAttempts(ctx context.Context, results []app.AttemptResult, health []app.EndpointHealth, disable []domain.DisabledEndpoint) ([]domain.DisabledEndpoint, error) {
	var disabled []domain.DisabledEndpoint
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range results {
			entry, err := json.Marshal(r.Attempt)
			if err != nil {
				return err
			}
			b.Queue(recordAttempt, r.DeliveryID, r.Attempts, r.State, nullTime(r.Next), r.Attempt.At, r.Attempt.Status,
				r.Attempt.Error, entry, domain.MaxAttemptLog, r.Attempt.Manual, r.Redeliveries)
		}
		for _, h := range health {
			if h.FailingSince.IsZero() {
				b.Queue(`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, h.EndpointID)
			} else {
				b.Queue(`UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL`, h.EndpointID, h.FailingSince)
			}
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for _, d := range disable {
			var failingSince time.Time
			err := tx.QueryRow(ctx, `UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $3, disabled_at = $4, updated_at = $4
				WHERE id = $1 AND status = 'enabled' AND failing_since <= $2 RETURNING failing_since`,
				d.EndpointID, d.FailingSince, d.Reason, d.DisabledAt).Scan(&failingSince)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // recovered since, or disabled already
			}
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, cancelPending, d.EndpointID)
			if err != nil {
				return err
			}
			d.FailingSince, d.Cancelled = failingSince, int(tag.RowsAffected())
			if _, err := s.outbox.Append(ctx, tx, s.notice(d)); err != nil {
				return err
			}
			disabled = append(disabled, d)
		}
		return nil
	})
	return disabled, err
}
