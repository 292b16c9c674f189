package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// PendingAcceptances implements app.PendingRepository.
type PendingAcceptances struct{ s *Store }

type pendingDoc struct {
	ID               string         `json:"id"`
	PartnerID        string         `json:"partner_id"`
	Market           string         `json:"market"`
	VersionID        string         `json:"version_id"`
	Acceptor         affirmationDoc `json:"acceptor"`
	ClientAcceptedAt *time.Time     `json:"client_accepted_at,omitempty"`
	ClientIP         string         `json:"client_ip,omitempty"`
	UserAgent        string         `json:"user_agent,omitempty"`
	RequestID        string         `json:"request_id,omitempty"`
	RequestedAt      time.Time      `json:"requested_at"`
	Status           string         `json:"status"`
	AcceptanceID     string         `json:"acceptance_id,omitempty"`
	RefusalCode      string         `json:"refusal_code,omitempty"`
	ResolvedAt       *time.Time     `json:"resolved_at,omitempty"`
}

func pendingToDoc(s domain.PendingAcceptanceState) pendingDoc {
	return pendingDoc{ID: s.ID, PartnerID: s.PartnerID, Market: string(s.Market), VersionID: s.VersionID,
		Acceptor:         affirmationDoc{UserID: s.Acceptor.UserID, Name: s.Acceptor.Name, Email: s.Acceptor.Email, Role: s.Acceptor.Role},
		ClientAcceptedAt: s.ClientAcceptedAt, ClientIP: s.ClientIP, UserAgent: s.UserAgent, RequestID: s.RequestID,
		RequestedAt: s.RequestedAt, Status: string(s.Status), AcceptanceID: s.AcceptanceID, RefusalCode: s.RefusalCode, ResolvedAt: s.ResolvedAt}
}

func pendingFromDoc(d pendingDoc) *domain.PendingAcceptance {
	return domain.RestorePendingAcceptance(domain.PendingAcceptanceState{ID: d.ID, PartnerID: d.PartnerID, Market: domain.Market(d.Market),
		VersionID: d.VersionID, Acceptor: domain.Acceptor{UserID: d.Acceptor.UserID, Name: d.Acceptor.Name, Email: d.Acceptor.Email, Role: d.Acceptor.Role},
		ClientAcceptedAt: utcPtr(d.ClientAcceptedAt), ClientIP: d.ClientIP, UserAgent: d.UserAgent, RequestID: d.RequestID,
		RequestedAt: d.RequestedAt.UTC(), Status: domain.PendingStatus(d.Status), AcceptanceID: d.AcceptanceID, RefusalCode: d.RefusalCode,
		ResolvedAt: utcPtr(d.ResolvedAt)})
}

// Add stores pa while the partner, read under its row lock, is still
// pending here, and otherwise runs decided in the same transaction; a
// partner unknown here gets a placeholder row to lock (the registration
// event fills it in).
func (r *PendingAcceptances) Add(ctx context.Context, pa *domain.PendingAcceptance, stillPending func(*domain.Partner) bool,
	decided func(ctx context.Context, p *domain.Partner) error) error {
	st := pa.State()
	return r.s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		raw, locked := lockedDoc(ctx, st.PartnerID) // held FOR UPDATE already: as good as FOR SHARE
		if !locked {
			empty, err := json.Marshal(toDoc(domain.NewPartner(st.PartnerID).State()))
			if err != nil {
				return err
			}
			b := &pgx.Batch{} // one round trip
			b.Queue(`INSERT INTO partners (partner_id, doc) VALUES ($1, $2) ON CONFLICT (partner_id) DO NOTHING`, st.PartnerID, empty)
			b.Queue(`SELECT doc FROM partners WHERE partner_id = $1 FOR SHARE`, st.PartnerID).QueryRow(func(row pgx.Row) error {
				return row.Scan(&raw)
			})
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("insert and lock partner %s: %w", st.PartnerID, err)
			}
		}
		p, err := decodePartner(raw)
		if err != nil {
			return err
		}
		if !stillPending(p) {
			return decided(ctx, p)
		}
		doc, err := json.Marshal(pendingToDoc(st))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO pending_acceptances (id, partner_id, status, doc) VALUES ($1, $2, $3, $4)`,
			st.ID, st.PartnerID, string(st.Status), doc)
		return err
	})
}

// ListOpen returns the partner's open pending acceptances, oldest first.
func (r *PendingAcceptances) ListOpen(ctx context.Context, partnerID string) ([]*domain.PendingAcceptance, error) {
	return r.list(ctx, `SELECT doc FROM pending_acceptances WHERE partner_id = $1 AND status = 'pending' ORDER BY created_at, id`, partnerID)
}

// ListByPartner returns every pending acceptance of the partner, oldest first.
func (r *PendingAcceptances) ListByPartner(ctx context.Context, partnerID string) ([]*domain.PendingAcceptance, error) {
	return r.list(ctx, `SELECT doc FROM pending_acceptances WHERE partner_id = $1 ORDER BY created_at, id`, partnerID)
}

func (r *PendingAcceptances) list(ctx context.Context, sql, arg string) ([]*domain.PendingAcceptance, error) {
	return queryAll(ctx, r.s.q(ctx), func(row pgx.Row) (*domain.PendingAcceptance, error) {
		var raw []byte
		if err := row.Scan(&raw); err != nil {
			return nil, err
		}
		var d pendingDoc
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decode pending acceptance: %w", err)
		}
		return pendingFromDoc(d), nil
	}, sql, arg)
}

// Update runs fn on the stored pending acceptance under a row lock.
func (r *PendingAcceptances) Update(ctx context.Context, id string, fn func(*domain.PendingAcceptance) error) error {
	return r.s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var raw []byte
		err := tx.QueryRow(ctx, `SELECT doc FROM pending_acceptances WHERE id = $1 FOR UPDATE`, id).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("pending acceptance %s: %w", id, domain.ErrAcceptanceNotFound)
		}
		if err != nil {
			return err
		}
		var d pendingDoc
		if err := json.Unmarshal(raw, &d); err != nil {
			return err
		}
		p := pendingFromDoc(d)
		if err := fn(p); err != nil {
			return err
		}
		st := p.State()
		doc, err := json.Marshal(pendingToDoc(st))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE pending_acceptances SET status = $2, doc = $3 WHERE id = $1`, id, string(st.Status), doc); err != nil {
			return err
		}
		return r.s.emit(ctx, tx, p.PullEvents())
	})
}
