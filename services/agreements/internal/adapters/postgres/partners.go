package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Partners implements app.PartnerRepository.
type Partners struct{ s *Store }

// partnerDoc is the stored form of domain.PartnerState, with its own JSON
// names so that renaming a Go field does not silently orphan stored data.
type partnerDoc struct {
	PartnerID    string            `json:"partner_id"`
	Registered   bool              `json:"registered"`
	LocationID   string            `json:"location_id,omitempty"`
	Market       string            `json:"market,omitempty"`
	Programs     []string          `json:"programs,omitempty"`
	Enrollments  map[string]string `json:"enrollments,omitempty"`
	Affirmation  *affirmationDoc   `json:"affirmation,omitempty"`
	RegisteredAt time.Time         `json:"registered_at"`
	RegisteredBy string            `json:"registered_by,omitempty"`
	Verification decisionDoc       `json:"verification"`
	Standing     *standingDoc      `json:"standing,omitempty"`
}

type standingDoc struct {
	Status    string    `json:"status"`
	Reasons   []string  `json:"reasons,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
	EventID   string    `json:"event_id"`
}

type affirmationDoc struct {
	UserID    string    `json:"user_id"`
	Name      string    `json:"name,omitempty"`
	Email     string    `json:"email,omitempty"`
	Role      string    `json:"role,omitempty"`
	At        time.Time `json:"at"`
	VersionID string    `json:"version_id,omitempty"`
	ClientIP  string    `json:"client_ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
}

type decisionDoc struct {
	DecisionID string    `json:"decision_id,omitempty"`
	Outcome    string    `json:"outcome"`
	DecidedAt  time.Time `json:"decided_at"`
}

func toDoc(s domain.PartnerState) partnerDoc {
	d := partnerDoc{
		PartnerID: s.PartnerID, Registered: s.Registered, LocationID: s.LocationID, Market: string(s.Market),
		Enrollments: map[string]string{}, RegisteredAt: s.RegisteredAt, RegisteredBy: s.RegisteredBy,
		Verification: decisionDoc{DecisionID: s.Verification.DecisionID, Outcome: string(s.Verification.Outcome), DecidedAt: s.Verification.DecidedAt},
	}
	for _, p := range s.Programs {
		d.Programs = append(d.Programs, string(p))
	}
	for k, v := range s.Enrollments {
		d.Enrollments[string(k)] = v
	}
	if st := s.Standing; st.Status != "" {
		d.Standing = &standingDoc{Status: st.Status, Reasons: st.Reasons, ChangedAt: st.ChangedAt, EventID: st.EventID}
	}
	if a := s.Affirmation; a != nil {
		d.Affirmation = &affirmationDoc{UserID: a.UserID, Name: a.Name, Email: a.Email, Role: a.Role, At: a.At,
			VersionID: a.VersionID, ClientIP: a.ClientIP, UserAgent: a.UserAgent}
	}
	return d
}

func fromDoc(d partnerDoc) *domain.Partner {
	s := domain.PartnerState{
		PartnerID: d.PartnerID, Registered: d.Registered, LocationID: d.LocationID, Market: domain.Market(d.Market),
		Enrollments: map[domain.Program]string{}, RegisteredAt: d.RegisteredAt.UTC(), RegisteredBy: d.RegisteredBy,
		Verification: domain.VerificationDecision{DecisionID: d.Verification.DecisionID,
			Outcome: domain.VerificationOutcome(d.Verification.Outcome), DecidedAt: d.Verification.DecidedAt.UTC()},
	}
	for _, p := range d.Programs {
		s.Programs = append(s.Programs, domain.Program(p))
	}
	for k, v := range d.Enrollments {
		s.Enrollments[domain.Program(k)] = v
	}
	if st := d.Standing; st != nil {
		s.Standing = domain.Standing{Status: st.Status, Reasons: st.Reasons, ChangedAt: st.ChangedAt.UTC(), EventID: st.EventID}
	}
	if a := d.Affirmation; a != nil {
		s.Affirmation = &domain.NetworkAffirmation{UserID: a.UserID, Name: a.Name, Email: a.Email, Role: a.Role,
			At: a.At.UTC(), VersionID: a.VersionID, ClientIP: a.ClientIP, UserAgent: a.UserAgent}
	}
	return domain.RestorePartner(s)
}

// Get returns the partner or domain.ErrPartnerNotFound. In a transaction
// that holds the partner's row locked (Upsert, Lock), it is the row as the
// transaction last wrote it, without reading it again.
func (r *Partners) Get(ctx context.Context, partnerID string) (*domain.Partner, error) {
	if raw, ok := lockedDoc(ctx, partnerID); ok {
		return decodePartner(raw)
	}
	return r.get(ctx, `SELECT doc FROM partners WHERE partner_id = $1`, partnerID)
}

// lockedPartner keys, in a transaction (pg.SetTxValue), the document of a
// partner row the transaction holds locked FOR UPDATE, as stored: no one
// else can change the row until the transaction ends, so its later steps
// (a second event of the partner in the bus's batch, the acceptance a
// registration records, the decision's re-locking) use it instead of
// reading and locking the row again. Only Upsert writes the row, and it
// keeps what it wrote.
type lockedPartner struct{ id string }

func lockedDoc(ctx context.Context, partnerID string) ([]byte, bool) {
	v, _ := pg.TxValue(ctx, lockedPartner{partnerID})
	doc, ok := v.([]byte)
	return doc, ok && doc != nil
}

func keepLocked(ctx context.Context, partnerID string, doc []byte) {
	pg.SetTxValue(ctx, lockedPartner{partnerID}, doc)
}

// GetByLocation returns the registered partner with that location id or
// domain.ErrPartnerNotFound.
func (r *Partners) GetByLocation(ctx context.Context, locationID string) (*domain.Partner, error) {
	return r.get(ctx, `SELECT doc FROM partners WHERE location_id = $1`, locationID)
}

func (r *Partners) get(ctx context.Context, sql, arg string) (*domain.Partner, error) {
	var raw []byte
	err := r.s.q(ctx).QueryRow(ctx, sql, arg).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrPartnerNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodePartner(raw)
}

func decodePartner(raw []byte) (*domain.Partner, error) {
	var d partnerDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode partner document: %w", err)
	}
	return fromDoc(d), nil
}

// Upsert runs fn on the stored partner, or on a new one, under a row lock,
// and saves it with the events it recorded.
func (r *Partners) Upsert(ctx context.Context, partnerID string, fn func(*domain.Partner) error) error {
	return r.s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		raw, locked := lockedDoc(ctx, partnerID)
		if !locked {
			// Insert-then-lock: two first events for the same partner (the
			// registration and a decision) serialise on the row instead of
			// racing to insert it.
			empty, err := json.Marshal(toDoc(domain.NewPartner(partnerID).State()))
			if err != nil {
				return err
			}
			b := &pgx.Batch{} // one round trip
			b.Queue(`INSERT INTO partners (partner_id, doc) VALUES ($1, $2) ON CONFLICT (partner_id) DO NOTHING`, partnerID, empty)
			b.Queue(`SELECT doc FROM partners WHERE partner_id = $1 FOR UPDATE`, partnerID).QueryRow(func(row pgx.Row) error {
				return row.Scan(&raw)
			})
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("insert and lock partner %s: %w", partnerID, err)
			}
			keepLocked(ctx, partnerID, raw)
		}
		p, err := decodePartner(raw)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		st := p.State()
		doc, err := json.Marshal(toDoc(st))
		if err != nil {
			return err
		}
		var loc *string
		if st.Registered {
			loc = &st.LocationID
		}
		// The partner and its events: one round trip.
		b := &pgx.Batch{}
		b.Queue(`UPDATE partners SET doc = $2, location_id = $3, updated_at = now() WHERE partner_id = $1`,
			partnerID, doc, loc)
		q, err := r.s.queue(ctx, b, p.PullEvents())
		if err != nil {
			return err
		}
		err = tx.SendBatch(ctx, b).Close()
		if err != nil {
			keepLocked(ctx, partnerID, nil) // the row may or may not be written: read it again
		}
		if constraint, ok := pg.IsUniqueViolation(err); ok && strings.HasPrefix(constraint, "partners") {
			return domain.ErrLocationTaken
		}
		if err != nil {
			return fmt.Errorf("update partner %s: %w", partnerID, err)
		}
		keepLocked(ctx, partnerID, doc)
		q.Done(ctx)
		return nil
	})
}

// Lock takes the partner's row lock in the transaction carried by ctx (a
// no-op for an unknown partner). A verification decision's handler takes it
// before it lists the partner's acceptances: Append holds the same row FOR
// SHARE until it commits, so no acceptance can slip in between the listing
// and the decision (and escape its suspension). The row comes back with the
// lock, so the decision's Upsert that follows need not lock it again.
func (r *Partners) Lock(ctx context.Context, partnerID string) error {
	tx, ok := pg.TxFrom(ctx)
	if !ok {
		return errors.New("postgres: Partners.Lock needs a transaction in the context")
	}
	if _, locked := lockedDoc(ctx, partnerID); locked {
		return nil
	}
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT doc FROM partners WHERE partner_id = $1 FOR UPDATE`, partnerID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	keepLocked(ctx, partnerID, raw)
	return nil
}
