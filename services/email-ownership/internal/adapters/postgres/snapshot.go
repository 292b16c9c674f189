package postgres

import (
	"encoding/json"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// snapshotDoc is the stored JSON of an Ownership. It has its own tags so that
// renaming a domain field does not silently change stored documents.
type snapshotDoc struct {
	EnrollmentID string         `json:"enrollment_id"`
	PartnerID    string         `json:"partner_id"`
	Program      string         `json:"program"`
	RegisteredBy string         `json:"registered_by,omitempty"`
	Recipient    recipientDoc   `json:"recipient"`
	DisputeOpen  string         `json:"dispute_open,omitempty"`
	Causations   []string       `json:"causations,omitempty"`
	Hold         *holdDoc       `json:"hold,omitempty"`
	Challenges   []challengeDoc `json:"challenges"`
	// ChangesClosed: registration's profile changes up to this number never apply.
	ChangesClosed int `json:"profile_changes_closed,omitempty"`
}

type holdDoc struct {
	Status    string    `json:"status"`
	Since     time.Time `json:"since"`
	Cancelled string    `json:"cancelled,omitempty"`
}

type recipientDoc struct {
	Address     string `json:"address"`
	ContactName string `json:"contact_name"`
	Language    string `json:"language"`
	Market      string `json:"market"`
	// NamedBy: absent in documents written before round 44 (0: no
	// applied change named the address, as the mails then said).
	NamedBy int `json:"named_by,omitempty"`
}

type challengeDoc struct {
	ID           string    `json:"id"`
	Address      string    `json:"address"`
	TokenHash    []byte    `json:"token_hash"`
	CodeMAC      []byte    `json:"code_mac"`
	State        string    `json:"state"`
	WrongCodes   int       `json:"wrong_codes"`
	OpenedAt     time.Time `json:"opened_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	ConfirmedAt  time.Time `json:"confirmed_at,omitzero"`
	Method       string    `json:"method,omitempty"`
	DisputedAt   time.Time `json:"disputed_at,omitzero"`
	LockedAt     time.Time `json:"locked_at,omitzero"`
	ExpiredAt    time.Time `json:"expired_at,omitzero"`
	SupersededAt time.Time `json:"superseded_at,omitzero"`
	CancelledAt  time.Time `json:"cancelled_at,omitzero"`
	RemovedAt    time.Time `json:"removed_at,omitzero"`
	RemovedBy    string    `json:"removed_by,omitempty"`
	WithdrawnAt  time.Time `json:"withdrawn_at,omitzero"`
	// ProfileChange: absent in documents written before it existed (their
	// challenges are never withdrawn).
	ProfileChange int `json:"profile_change,omitempty"`
	// NamedBy: absent in documents written before round 44.
	NamedBy int `json:"named_by,omitempty"`
	// MailFailure: the notifier gave the challenge's mail up.
	MailFailure *mailFailureDoc `json:"mail_failure,omitempty"`
}

type mailFailureDoc struct {
	Reason string    `json:"reason"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

func encode(o *domain.Ownership) (doc []byte, deadline *time.Time, err error) {
	s := o.Snapshot()
	d := snapshotDoc{EnrollmentID: s.Ref.EnrollmentID, PartnerID: s.Ref.PartnerID, Program: s.Ref.Program, RegisteredBy: s.Ref.RegisteredBy,
		Recipient: recipientDoc{Address: s.Recipient.Address, ContactName: s.Recipient.ContactName,
			Language: string(s.Recipient.Language), Market: s.Recipient.Market, NamedBy: s.Recipient.NamedBy},
		DisputeOpen: s.DisputeOpen, Causations: s.Causations, Challenges: make([]challengeDoc, len(s.Challenges)),
		ChangesClosed: s.ChangesClosed}
	for i, c := range s.Challenges {
		d.Challenges[i] = challengeDoc{ID: c.ID, Address: c.Address, TokenHash: c.TokenHash, CodeMAC: c.CodeMAC,
			State: string(c.State), WrongCodes: c.WrongCodes, OpenedAt: c.OpenedAt, ExpiresAt: c.ExpiresAt,
			ConfirmedAt: c.ConfirmedAt, Method: string(c.Method), DisputedAt: c.DisputedAt, LockedAt: c.LockedAt,
			ExpiredAt: c.ExpiredAt, SupersededAt: c.SupersededAt, CancelledAt: c.CancelledAt, RemovedAt: c.RemovedAt, RemovedBy: c.RemovedBy,
			WithdrawnAt: c.WithdrawnAt, ProfileChange: c.ProfileChange, NamedBy: c.NamedBy}
		if f := c.MailFailure; f != nil {
			d.Challenges[i].MailFailure = &mailFailureDoc{Reason: f.Reason, Detail: f.Detail, At: f.At}
		}
	}
	if h := s.Hold; h != nil {
		d.Hold = &holdDoc{Status: h.Status, Since: h.Since, Cancelled: h.Cancelled}
	}
	if doc, err = json.Marshal(d); err != nil {
		return nil, nil, err
	}
	if t, ok := o.NextDeadline(); ok {
		deadline = &t
	}
	return doc, deadline, nil
}

func (d snapshotDoc) toDomain() domain.OwnershipSnapshot {
	s := domain.OwnershipSnapshot{
		Ref: domain.EnrollmentRef{EnrollmentID: d.EnrollmentID, PartnerID: d.PartnerID, Program: d.Program, RegisteredBy: d.RegisteredBy},
		Recipient: domain.Recipient{Address: d.Recipient.Address, ContactName: d.Recipient.ContactName,
			Language: domain.Language(d.Recipient.Language), Market: d.Recipient.Market, NamedBy: d.Recipient.NamedBy},
		DisputeOpen: d.DisputeOpen, Causations: d.Causations, ChangesClosed: d.ChangesClosed,
	}
	if h := d.Hold; h != nil {
		s.Hold = &domain.Hold{Status: h.Status, Since: h.Since, Cancelled: h.Cancelled}
	}
	for _, c := range d.Challenges {
		ch := domain.Challenge{ID: c.ID, Address: c.Address, TokenHash: c.TokenHash,
			CodeMAC: c.CodeMAC, State: domain.State(c.State), WrongCodes: c.WrongCodes, OpenedAt: c.OpenedAt,
			ExpiresAt: c.ExpiresAt, ConfirmedAt: c.ConfirmedAt, Method: domain.ConfirmMethod(c.Method),
			DisputedAt: c.DisputedAt, LockedAt: c.LockedAt, ExpiredAt: c.ExpiredAt, SupersededAt: c.SupersededAt, CancelledAt: c.CancelledAt,
			RemovedAt: c.RemovedAt, RemovedBy: c.RemovedBy, WithdrawnAt: c.WithdrawnAt, ProfileChange: c.ProfileChange, NamedBy: c.NamedBy}
		if f := c.MailFailure; f != nil {
			ch.MailFailure = &domain.MailFailure{Reason: f.Reason, Detail: f.Detail, At: f.At}
		}
		s.Challenges = append(s.Challenges, ch)
	}
	return s
}
