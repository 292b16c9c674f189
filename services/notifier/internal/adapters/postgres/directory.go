package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
)

// Directory implements app.Directory: contacts, reminder preferences and
// sealed secrets kept for later mails.
type Directory struct {
	pool *pgxpool.Pool
	// OnMailsDue runs after the commit of a contact that made waiting mails
	// due: the delivery job's wake.
	OnMailsDue func()
}

var _ app.Directory = (*Directory)(nil)

// NewDirectory returns the directory on pool.
func NewDirectory(pool *pgxpool.Pool) *Directory { return &Directory{pool: pool} }

const contactSQL = `SELECT email, first_name, last_name, language, market, company_name, removed FROM contacts WHERE partner_id = $1`

func scanContact(row pgx.Row, partnerID string) (app.Contact, error) {
	c := app.Contact{PartnerID: partnerID}
	err := row.Scan(&c.Email, &c.FirstName, &c.LastName, &c.Language, &c.Market, &c.CompanyName, &c.Removed)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.Contact{}, app.ErrNotFound
	}
	if len(c.Removed) == 0 {
		c.Removed = nil
	}
	return c, err
}

// Contact implements app.Directory.
func (r *Directory) Contact(ctx context.Context, partnerID string) (app.Contact, error) {
	return scanContact(pg.Q(ctx, r.pool).QueryRow(ctx, contactSQL, partnerID), partnerID)
}

// PrefetchContact implements app.Directory: the read is queued with
// pg.SendLast, which sends it with the transaction's next statement (or
// its COMMIT), and done runs while that round trip's answers are read.
func (r *Directory) PrefetchContact(ctx context.Context, partnerID string, done func(app.Contact, error)) bool {
	tx, ok := pg.TxFrom(ctx)
	if !ok {
		return false
	}
	b := &pgx.Batch{}
	b.Queue(contactSQL, partnerID).QueryRow(func(row pgx.Row) error {
		done(scanContact(row, partnerID))
		return nil // the lookup reports a failed read; a broken transaction fails its next statement anyway
	})
	return pg.SendLast(ctx, tx, b) == nil
}

// RemoveAddress implements app.Directory: the address joins the partner's
// removed ones (once; a partner the notifier does not know changes nothing).
func (r *Directory) RemoveAddress(ctx context.Context, partnerID, address string) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE contacts SET removed = array_append(removed, $2), updated_at = now()
			WHERE partner_id = $1 AND NOT ($2 = ANY (removed))`, partnerID, address); err != nil {
			return fmt.Errorf("remove address of %s: %w", partnerID, err)
		}
		return nil
	})
}

// SaveContact implements app.Directory: an upsert, and the partner's mails
// that wait for an address become due at now (the job is woken after the
// commit).
func (r *Directory) SaveContact(ctx context.Context, c app.Contact, now time.Time) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		// A contact of an earlier event than the kept one's is older news
		// (its handling waited while the later one's did not): not kept.
		if _, err := tx.Exec(ctx, `INSERT INTO contacts (partner_id, email, first_name, last_name, language, market, company_name, sequence)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (partner_id) DO UPDATE SET email = EXCLUDED.email,
			first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, language = EXCLUDED.language,
			market = EXCLUDED.market, company_name = EXCLUDED.company_name,
			sequence = GREATEST(contacts.sequence, EXCLUDED.sequence), updated_at = now()
			WHERE EXCLUDED.sequence = 0 OR contacts.sequence < EXCLUDED.sequence`,
			c.PartnerID, c.Email, c.FirstName, c.LastName, c.Language, c.Market, c.CompanyName, int64(c.Sequence)); err != nil {
			return fmt.Errorf("save contact of %s: %w", c.PartnerID, err)
		}
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET next_attempt_at = $2, updated_at = now()
			WHERE partner_id = $1 AND status = 'pending' AND recipient = ''`, c.PartnerID, now)
		if err != nil {
			return fmt.Errorf("wake the mails of %s: %w", c.PartnerID, err)
		}
		if tag.RowsAffected() > 0 && r.OnMailsDue != nil {
			pg.AfterCommit(ctx, r.OnMailsDue)
		}
		return nil
	})
}

// RemindersOff implements app.Directory.
func (r *Directory) RemindersOff(ctx context.Context, partnerID string) (bool, error) {
	var off bool
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT reminders_off FROM reminder_preferences WHERE partner_id = $1`, partnerID).Scan(&off)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return off, err
}

// SetRemindersOff implements app.Directory.
func (r *Directory) SetRemindersOff(ctx context.Context, partnerID string, off bool, now time.Time) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO reminder_preferences (partner_id, reminders_off, changed_at) VALUES ($1,$2,$3)
			ON CONFLICT (partner_id) DO UPDATE SET reminders_off = EXCLUDED.reminders_off, changed_at = EXCLUDED.changed_at`,
			partnerID, off, now)
		return err
	})
}

// SaveSealed implements app.Directory.
func (r *Directory) SaveSealed(ctx context.Context, ref string, sealed []byte, expires time.Time) error {
	return pg.InTx(ctx, r.pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sealed_secrets (ref, sealed, expires_at) VALUES ($1,$2,$3)
			ON CONFLICT (ref) DO NOTHING`, ref, sealed, expires)
		return err
	})
}

// Sealed implements app.Directory.
func (r *Directory) Sealed(ctx context.Context, ref string, now time.Time) ([]byte, error) {
	var b []byte
	err := pg.Q(ctx, r.pool).QueryRow(ctx, `SELECT sealed FROM sealed_secrets WHERE ref = $1 AND expires_at > $2`, ref, now).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.ErrNotFound
	}
	return b, err
}

// PurgeSealed deletes the sealed secrets that expired before now.
func (r *Directory) PurgeSealed(ctx context.Context, now time.Time) error {
	_, err := r.pool.Exec(ctx, `DELETE FROM sealed_secrets WHERE expires_at <= $1`, now)
	return err
}
