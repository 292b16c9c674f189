// Package postgres stores deliveries and their attempts in the notifier's
// schema and writes each change's events to the outbox in the same
// transaction.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations are the notifier's goose migrations.
var Migrations fs.FS = pg.Migrations(migrationFS)

// DraftsFunc maps domain events to outbox drafts (adapters/events.Drafts).
type DraftsFunc func([]domain.Event) ([]outbox.Draft, error)

// Repository implements app.Repository.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *outbox.Writer
	drafts DraftsFunc
	// OnRetryScheduled runs after the commit of a delivery left pending (a
	// retry is due later): the delivery job's wake.
	OnRetryScheduled func()
}

var _ app.Repository = (*Repository)(nil)

// New returns a repository writing events through w.
func New(pool *pgxpool.Pool, w *outbox.Writer, drafts DraftsFunc) *Repository {
	return &Repository{pool: pool, outbox: w, drafts: drafts}
}

// Create implements app.Repository: the delivery and its first attempt (a
// new delivery has at most one) in one statement, then its events.
func (r *Repository) Create(ctx context.Context, d *domain.Delivery) (app.Created, error) {
	var c app.Created
	err := pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		s := d.Snapshot()
		q := s.Request
		if len(s.Attempts) > 1 {
			return fmt.Errorf("create delivery %s: %d attempts, a new delivery has at most one", q.ID, len(s.Attempts))
		}
		args := []any{q.ID, q.PartnerID, q.EnrollmentID, q.Program, q.TemplateID, q.Recipient, q.ContactName,
			string(q.Language), q.Market, optTime(q.ExpiresAt), secretToKeep(s), q.CausationID, string(s.Status), s.NextAttemptAt,
			string(s.FailReason), q.CorrelationID, q.TraceParent, string(q.Category), jsonOrEmpty(q.Data), q.TriggerType,
			q.ChallengeID, q.SecretRef, q.Thread, int64(q.ThreadSeq)}
		attempt := `SELECT NULL`
		if len(s.Attempts) == 1 {
			// Written only with a new delivery row: a duplicate adds nothing.
			a := s.Attempts[0]
			args = append(args, a.Number, a.StartedAt, optTime(a.FinishedAt), string(a.Outcome), a.Error, a.SMTPCode)
			attempt = `INSERT INTO delivery_attempts (delivery_id, number, started_at, finished_at, outcome, error, smtp_code)
				SELECT id, $25, $26, $27, $28, $29, $30 FROM d`
		}
		// A mail still to be sent is not recorded when its challenge ended
		// ahead of it (EndLinkAhead): the same statement tells why, and
		// finds the confirmation mails of the enrollment's earlier
		// challenges still waiting (Created.Superseded).
		var created int
		var ended *string
		err := tx.QueryRow(ctx, `WITH e AS (SELECT why FROM ended_links WHERE challenge_id = $21 AND $13::text IN ('pending', 'sending')),
			s AS (SELECT id FROM deliveries WHERE $21 <> '' AND partner_id = $2 AND enrollment_id = $3
				AND challenge_id <> '' AND challenge_id <> $21 AND status IN ('pending', 'sending')),
			d AS (INSERT INTO deliveries (id, partner_id, enrollment_id, program, template_id, recipient,
			contact_name, language, market, expires_at, sealed_secret, causation_id, status, next_attempt_at, fail_reason, version,
			correlation_id, trace_parent, category, data, trigger_type, challenge_id, secret_ref, thread, thread_seq)
			SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,1,$16,$17,$18,$19,$20,$21,$22,$23,$24 WHERE NOT EXISTS (SELECT FROM e)
			ON CONFLICT (id) DO NOTHING
			RETURNING id), a AS (`+attempt+`)
			SELECT count(*), (SELECT why FROM e), ARRAY(SELECT id FROM s ORDER BY id) FROM d`, args...).Scan(&created, &ended, &c.Superseded)
		if err != nil {
			return fmt.Errorf("insert delivery %s: %w", q.ID, err)
		}
		switch {
		case created == 0 && ended != nil:
			return &app.LinkEndedError{Why: *ended}
		case created == 0:
			return app.ErrDuplicate
		}
		return r.events(ctx, tx, d, s)
	})
	if err != nil {
		return app.Created{}, err
	}
	return c, nil
}

// EndLinkAhead implements app.Repository.
func (r *Repository) EndLinkAhead(ctx context.Context, challengeID, why string, at time.Time) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO ended_links (challenge_id, why, ended_at) VALUES ($1, $2, $3)
			ON CONFLICT (challenge_id) DO NOTHING`, challengeID, why, at)
		return err
	})
}

// Update implements app.Repository.
func (r *Repository) Update(ctx context.Context, id string, fn func(context.Context, *domain.Delivery) error) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		d, err := r.load(ctx, tx, id, " FOR UPDATE")
		if err != nil {
			return err
		}
		had := len(d.Attempts())
		if err := fn(ctx, d); err != nil {
			return err
		}
		s := d.Snapshot()
		q := s.Request
		_, err = tx.Exec(ctx, `UPDATE deliveries SET status = $2, next_attempt_at = $3, fail_reason = $4,
			sealed_secret = $5, recipient = $6, contact_name = $7, language = $8, expires_at = $9, ended_why = $10,
			version = version + 1, updated_at = now()
			WHERE id = $1`,
			id, string(s.Status), s.NextAttemptAt, string(s.FailReason), secretToKeep(s), q.Recipient, q.ContactName, string(q.Language),
			optTime(q.ExpiresAt), s.EndedWhy)
		if err != nil {
			return fmt.Errorf("save delivery %s: %w", id, err)
		}
		if len(s.Attempts) < had {
			// An attempt given back before it was sent (Release).
			if _, err := tx.Exec(ctx, `DELETE FROM delivery_attempts WHERE delivery_id = $1 AND number > $2`, id, len(s.Attempts)); err != nil {
				return fmt.Errorf("drop the released attempt of %s: %w", id, err)
			}
		}
		return r.afterWrite(ctx, tx, d, s)
	})
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func jsonOrEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// secretToKeep drops the sealed secret once the delivery is finished.
func secretToKeep(s domain.DeliverySnapshot) []byte {
	if s.Status != domain.StatusPending && s.Status != domain.StatusSending {
		return nil
	}
	return s.Request.SealedSecret
}

func (r *Repository) afterWrite(ctx context.Context, tx pgx.Tx, d *domain.Delivery, s domain.DeliverySnapshot) error {
	for _, a := range s.Attempts {
		var finished *time.Time
		if !a.FinishedAt.IsZero() {
			finished = &a.FinishedAt
		}
		if _, err := tx.Exec(ctx, `INSERT INTO delivery_attempts (delivery_id, number, started_at, finished_at, outcome, error, smtp_code)
			VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (delivery_id, number) DO UPDATE
			SET finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome, error = EXCLUDED.error, smtp_code = EXCLUDED.smtp_code`,
			d.ID(), a.Number, a.StartedAt, finished, string(a.Outcome), a.Error, a.SMTPCode); err != nil {
			return fmt.Errorf("save attempt %d of %s: %w", a.Number, d.ID(), err)
		}
	}
	return r.events(ctx, tx, d, s)
}

// events writes d's pulled events to the outbox, and wakes the delivery job
// after the commit when a retry is scheduled.
func (r *Repository) events(ctx context.Context, tx pgx.Tx, d *domain.Delivery, s domain.DeliverySnapshot) error {
	if s.Status == domain.StatusPending && r.OnRetryScheduled != nil {
		pg.AfterCommit(ctx, r.OnRetryScheduled)
	}
	drafts, err := r.drafts(d.PullEvents())
	if err != nil {
		return err
	}
	if ce.CauseFrom(ctx).CausationID == "" {
		// Written by the delivery loop: the events are still caused by the
		// request, whose conversation and trace they continue.
		req := s.Request
		ctx = ce.WithCause(ctx, ce.Cause{CorrelationID: req.CorrelationID, CausationID: req.CausationID, TraceParent: req.TraceParent})
	}
	_, err = r.outbox.Append(ctx, tx, drafts...)
	return err
}

// Record implements app.Repository: one transaction for the batch, the
// deliveries and attempts written in one round trip, each delivery only
// while its attempt is the latest and it is still sending (a sender's
// lease that ran out may have been taken over: then only the attempt's
// outcome is kept), then the events of those saved.
func (r *Repository) Record(ctx context.Context, rs []app.Recorded) ([]error, error) {
	errs := make([]error, len(rs))
	err := pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		snaps := make([]domain.DeliverySnapshot, len(rs))
		for i, x := range rs {
			s := x.D.Snapshot()
			snaps[i] = s
			if x.Attempt < 1 || x.Attempt > len(s.Attempts) {
				return fmt.Errorf("record %s: no attempt %d", x.D.ID(), x.Attempt)
			}
			a := s.Attempts[x.Attempt-1]
			b.Queue(`UPDATE deliveries SET status = $2, next_attempt_at = $3, fail_reason = $4, sealed_secret = $5,
				version = version + 1, updated_at = now()
				WHERE id = $1 AND status = 'sending'
				AND NOT EXISTS (SELECT 1 FROM delivery_attempts WHERE delivery_id = $1 AND number > $6)`,
				x.D.ID(), string(s.Status), s.NextAttemptAt, string(s.FailReason), secretToKeep(s), x.Attempt)
			b.Queue(`UPDATE delivery_attempts SET finished_at = $3, outcome = $4, error = $5, smtp_code = $6
				WHERE delivery_id = $1 AND number = $2`,
				x.D.ID(), a.Number, optTime(a.FinishedAt), string(a.Outcome), a.Error, a.SMTPCode)
		}
		res := tx.SendBatch(ctx, b)
		for i, x := range rs {
			tag, err := res.Exec()
			if err == nil {
				_, err = res.Exec()
			}
			if err != nil {
				_ = res.Close()
				return fmt.Errorf("record attempt %d of %s: %w", x.Attempt, x.D.ID(), err)
			}
			if tag.RowsAffected() == 0 {
				errs[i] = app.ErrTakenOver
			}
		}
		if err := res.Close(); err != nil {
			return err
		}
		for i, x := range rs {
			if errs[i] != nil {
				continue
			}
			if err := r.events(ctx, tx, x.D, snaps[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// Get implements app.Repository: a delivery read without locking.
func (r *Repository) Get(ctx context.Context, id string) (*domain.Delivery, error) {
	return r.load(ctx, pg.Q(ctx, r.pool), id, "")
}

const deliveryColumns = `id, partner_id, enrollment_id, program, template_id, recipient, contact_name, language,
	market, expires_at, sealed_secret, causation_id, status, next_attempt_at, fail_reason, version, correlation_id, trace_parent,
	category, data, trigger_type, challenge_id, secret_ref, ended_why, thread, thread_seq`

// scanDelivery reads deliveryColumns, then the extra columns a query
// selected after them into extra.
func scanDelivery(row pgx.Row, extra ...any) (domain.DeliverySnapshot, error) {
	var s domain.DeliverySnapshot
	var lang, status, reason, category string
	var expires *time.Time
	var threadSeq int64
	req := &s.Request
	err := row.Scan(append([]any{&req.ID, &req.PartnerID, &req.EnrollmentID, &req.Program,
		&req.TemplateID, &req.Recipient, &req.ContactName, &lang, &req.Market, &expires, &req.SealedSecret,
		&req.CausationID, &status, &s.NextAttemptAt, &reason, &s.Version, &req.CorrelationID, &req.TraceParent,
		&category, &req.Data, &req.TriggerType, &req.ChallengeID, &req.SecretRef, &s.EndedWhy, &req.Thread, &threadSeq}, extra...)...)
	if err != nil {
		return s, err
	}
	if expires != nil {
		req.ExpiresAt = *expires
	}
	req.ThreadSeq = uint64(threadSeq)
	req.Language, req.Category, s.Status, s.FailReason = domain.Language(lang), domain.Category(category), domain.Status(status), domain.FailReason(reason)
	return s, nil
}

func (r *Repository) load(ctx context.Context, q pg.Querier, id, suffix string) (*domain.Delivery, error) {
	s, err := scanDelivery(q.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1`+suffix, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load delivery %s: %w", id, err)
	}
	if s.Attempts, err = attempts(ctx, q, id); err != nil {
		return nil, err
	}
	return domain.RestoreDelivery(s), nil
}

func attempts(ctx context.Context, q pg.Querier, id string) ([]domain.Attempt, error) {
	by, err := attemptsOf(ctx, q, []string{id})
	return by[id], err
}

// attemptsOf reads the attempts of the deliveries ids in one query, each
// delivery's in order.
func attemptsOf(ctx context.Context, q pg.Querier, ids []string) (map[string][]domain.Attempt, error) {
	rows, err := q.Query(ctx, `SELECT delivery_id, number, started_at, finished_at, outcome, error, smtp_code FROM delivery_attempts
		WHERE delivery_id = ANY($1) ORDER BY delivery_id, number`, ids)
	if err != nil {
		return nil, err
	}
	by := map[string][]domain.Attempt{}
	var id string
	var a domain.Attempt
	var finished *time.Time
	var outcome string
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Number, &a.StartedAt, &finished, &outcome, &a.Error, &a.SMTPCode}, func() error {
		at := a
		if finished != nil {
			at.FinishedAt = *finished
		}
		at.Outcome = domain.Outcome(outcome)
		by[id] = append(by[id], at)
		return nil
	})
	return by, err
}

// List implements app.Repository: a partner's mails, newest first.
func (r *Repository) List(ctx context.Context, q app.MailQuery) ([]*domain.Delivery, *page.Position, error) {
	var afterAt *time.Time
	afterID := ""
	if q.After != nil {
		afterAt, afterID = &q.After.At, q.After.ID
	}
	rows, err := pg.Q(ctx, r.pool).Query(ctx, `SELECT `+deliveryColumns+`, created_at FROM deliveries
		WHERE partner_id = $1 AND ($2 = '' OR status = $2)
		  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
		ORDER BY created_at DESC, id DESC LIMIT $3`,
		q.PartnerID, string(q.Status), q.Limit+1, afterAt, afterID) // one more: is there a next page?
	if err != nil {
		return nil, nil, err
	}
	type listed struct {
		s  domain.DeliverySnapshot
		at time.Time
	}
	ls, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (listed, error) {
		var l listed
		var err error
		l.s, err = scanDelivery(row, &l.at)
		return l, err
	})
	if err != nil {
		return nil, nil, err
	}
	var next *page.Position
	if len(ls) > q.Limit {
		ls = ls[:q.Limit]
		last := ls[len(ls)-1]
		next = &page.Position{At: last.at, ID: last.s.Request.ID}
	}
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.s.Request.ID
	}
	by, err := attemptsOf(ctx, r.pool, ids) // the page's attempts in one query
	if err != nil {
		return nil, nil, err
	}
	out := make([]*domain.Delivery, len(ls))
	for i, l := range ls {
		l.s.Attempts = by[l.s.Request.ID]
		out[i] = domain.RestoreDelivery(l.s)
	}
	return out, next, nil
}

// Thread implements app.Repository: one round trip over the partial
// index deliveries_by_thread; a tie of sequences (news without one) goes
// by the order the mails were recorded in.
func (r *Repository) Thread(ctx context.Context, partnerID, thread, exceptID string) (app.Thread, error) {
	rows, err := pg.Q(ctx, r.pool).Query(ctx, `
		(SELECT 'waiting', id, thread_seq, template_id, data, next_attempt_at FROM deliveries
			WHERE partner_id = $1 AND thread = $2 AND id <> $3 AND status = 'pending' ORDER BY thread_seq, created_at, id)
		UNION ALL
		(SELECT 'told', id, thread_seq, template_id, data, next_attempt_at FROM deliveries
			WHERE partner_id = $1 AND thread = $2 AND id <> $3 AND status IN ('sending', 'delivered', 'failed')
			ORDER BY thread_seq DESC, created_at DESC, id DESC LIMIT 1)
		UNION ALL
		(SELECT 'latest', id, thread_seq, template_id, data, next_attempt_at FROM deliveries
			WHERE partner_id = $1 AND thread = $2 AND id <> $3 ORDER BY thread_seq DESC, created_at DESC, id DESC LIMIT 1)
		UNION ALL
		(SELECT 'first', id, thread_seq, template_id, data, next_attempt_at FROM deliveries
			WHERE partner_id = $1 AND thread = $2 AND id <> $3 ORDER BY thread_seq, created_at, id LIMIT 1)`, partnerID, thread, exceptID)
	if err != nil {
		return app.Thread{}, err
	}
	var th app.Thread
	var kind string
	var m app.ThreadMail
	var seq int64
	_, err = pgx.ForEachRow(rows, []any{&kind, &m.ID, &seq, &m.News.Template, &m.News.Data, &m.NextAttemptAt}, func() error {
		mail := m
		mail.Seq = uint64(seq)
		switch kind {
		case "waiting":
			th.Waiting = append(th.Waiting, mail)
		case "told":
			th.Told = &mail
		case "latest":
			th.Latest = &mail
		case "first":
			th.First = &mail
		}
		return nil
	})
	return th, err
}

// Exists implements app.Repository.
func (r *Repository) Exists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = $1)`, id).Scan(&ok)
	return ok, err
}

// NextAttemptAt implements app.Repository.
func (r *Repository) NextAttemptAt(ctx context.Context) (time.Time, error) {
	var next *time.Time
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT min(next_attempt_at) FROM deliveries WHERE status IN ('pending', 'sending')`).Scan(&next)
	if err != nil || next == nil {
		return time.Time{}, err
	}
	return *next, nil
}

// Due implements app.Repository: the durable retry timer is the indexed
// next_attempt_at column (a "sending" row whose lease ran out is due too).
func (r *Repository) Due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := pg.Q(ctx, r.pool).Query(ctx, `SELECT id FROM deliveries WHERE status IN ('pending', 'sending')
		AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
