package postgres

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// The stored documents. They are separate from the domain types so that a
// renamed domain field cannot silently change (or lose) what is stored.

type partnerDoc struct {
	ID           string                   `json:"id"`
	LocationIDs  []string                 `json:"location_ids,omitempty"`
	Market       string                   `json:"market,omitempty"`
	LegalName    string                   `json:"legal_name,omitempty"`
	Address      addressDoc               `json:"address"`
	Registered   bool                     `json:"registered"`
	RegisteredAt time.Time                `json:"registered_at"`
	Enrollments  map[string]enrollmentDoc `json:"enrollments,omitempty"`
	Standing     *standingDoc             `json:"standing,omitempty"`
}

type standingDoc struct {
	Status    string    `json:"status"`
	Reasons   []string  `json:"reasons,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

type addressDoc struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

type enrollmentDoc struct {
	Status    string    `json:"status"`
	ChangedAt time.Time `json:"changed_at"`
	// WasActive: absent in documents written before round 44 (the status
	// then says whether it is active).
	WasActive bool `json:"was_active,omitempty"`
}

func toPartnerDoc(p domain.Partner) partnerDoc {
	d := partnerDoc{
		ID: p.ID, LocationIDs: p.LocationIDs, Market: p.Market, LegalName: p.LegalName,
		Address:    addressDoc(p.Address),
		Registered: p.Registered, RegisteredAt: p.RegisteredAt,
	}
	if st := p.Standing; st.Status != "" {
		d.Standing = &standingDoc{Status: st.Status, Reasons: st.Reasons, ChangedAt: st.ChangedAt}
	}
	if len(p.Enrollments) > 0 {
		d.Enrollments = map[string]enrollmentDoc{}
		for prog, e := range p.Enrollments {
			d.Enrollments[string(prog)] = enrollmentDoc{Status: string(e.Status), ChangedAt: e.ChangedAt, WasActive: e.WasActive}
		}
	}
	return d
}

func (d partnerDoc) domain() domain.Partner {
	p := domain.Partner{
		ID: d.ID, LocationIDs: d.LocationIDs, Market: d.Market, LegalName: d.LegalName,
		Address:    domain.Address(d.Address),
		Registered: d.Registered, RegisteredAt: d.RegisteredAt,
	}
	if st := d.Standing; st != nil {
		p.Standing = domain.Standing{Status: st.Status, Reasons: st.Reasons, ChangedAt: st.ChangedAt}
	}
	if len(d.Enrollments) > 0 {
		p.Enrollments = map[domain.Program]domain.Enrollment{}
		for prog, e := range d.Enrollments {
			p.Enrollments[domain.Program(prog)] = domain.Enrollment{
				Program: domain.Program(prog), Status: domain.EnrollmentStatus(e.Status), ChangedAt: e.ChangedAt, WasActive: e.WasActive,
			}
		}
	}
	return p
}

type relationshipDoc struct {
	ID                 string       `json:"id"`
	ProviderID         string       `json:"provider_id"`
	ResellerID         string       `json:"reseller_id"`
	ResellerLocationID string       `json:"reseller_location_id"`
	Market             string       `json:"market"`
	State              string       `json:"state"`
	CreatedAt          time.Time    `json:"created_at"`
	Requests           []requestDoc `json:"requests"`
	Grant              *grantDoc    `json:"grant,omitempty"`
	EndedAt            time.Time    `json:"ended_at"`
	EndedBy            string       `json:"ended_by,omitempty"`
	EndedBySubject     string       `json:"ended_by_subject,omitempty"`
	EndReason          string       `json:"end_reason,omitempty"`
}

type requestDoc struct {
	ID           string          `json:"id"`
	Kind         string          `json:"kind"`
	Roles        []string        `json:"roles"`
	DurationDays int             `json:"duration_days"`
	AutoExtend   bool            `json:"auto_extend"`
	TokenHash    string          `json:"token_hash"`
	Status       string          `json:"status"`
	CreatedBy    string          `json:"created_by"`
	CreatedAt    time.Time       `json:"created_at"`
	ExpiresAt    time.Time       `json:"expires_at"`
	RemindAt     time.Time       `json:"remind_at"`
	RemindedAt   time.Time       `json:"reminded_at"`
	DeferredAt   time.Time       `json:"deferred_at"`
	AnsweredAt   time.Time       `json:"answered_at"`
	AnsweredBy   string          `json:"answered_by,omitempty"`
	MailFailure  *mailFailureDoc `json:"mail_failure,omitempty"`
}

type mailFailureDoc struct {
	Template string    `json:"template"`
	Reason   string    `json:"reason"`
	Detail   string    `json:"detail"`
	At       time.Time `json:"at"`
}

type grantDoc struct {
	ID           string    `json:"id"`
	Roles        []string  `json:"roles"`
	DurationDays int       `json:"duration_days"`
	AutoExtend   bool      `json:"auto_extend"`
	StartsAt     time.Time `json:"starts_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	ExpiringAt   time.Time `json:"expiring_at"`
	State        string    `json:"state"`
	EndedAt      time.Time `json:"ended_at"`
	Suspended    bool      `json:"suspended,omitempty"`
	SuspendedAt  time.Time `json:"suspended_at,omitzero"`
	SuspendedBy  string    `json:"suspended_by,omitempty"`
}

func roleStrings(rs domain.RoleSet) []string { return rs.Strings() }

func roleSet(ss []string) domain.RoleSet {
	rs := make(domain.RoleSet, len(ss))
	for i, s := range ss {
		rs[i] = domain.AccessRole(s)
	}
	return rs
}

func toRelationshipDoc(r *domain.Relationship) relationshipDoc {
	d := relationshipDoc{
		ID: r.ID, ProviderID: r.ProviderID, ResellerID: r.ResellerID, ResellerLocationID: r.ResellerLocationID,
		Market: r.Market, State: string(r.State), CreatedAt: r.CreatedAt, EndedAt: r.EndedAt,
		EndedBy: string(r.EndedBy), EndedBySubject: r.EndedBySubject, EndReason: r.EndReason,
		Requests: make([]requestDoc, len(r.Requests)),
	}
	for i, q := range r.Requests {
		d.Requests[i] = requestDoc{
			ID: q.ID, Kind: string(q.Kind), Roles: roleStrings(q.Terms.Roles), DurationDays: q.Terms.DurationDays,
			AutoExtend: q.Terms.AutoExtend, TokenHash: q.TokenHash.String(), Status: string(q.Status),
			CreatedBy: q.CreatedBy, CreatedAt: q.CreatedAt, ExpiresAt: q.ExpiresAt, RemindAt: q.RemindAt,
			RemindedAt: q.RemindedAt, DeferredAt: q.DeferredAt, AnsweredAt: q.AnsweredAt, AnsweredBy: q.AnsweredBy,
		}
		if f := q.MailFailure; f != nil {
			d.Requests[i].MailFailure = &mailFailureDoc{Template: f.Template, Reason: f.Reason, Detail: f.Detail, At: f.At}
		}
	}
	if g := r.Grant; g != nil {
		d.Grant = &grantDoc{
			ID: g.ID, Roles: roleStrings(g.Roles), DurationDays: g.DurationDays, AutoExtend: g.AutoExtend,
			StartsAt: g.StartsAt, ExpiresAt: g.ExpiresAt, ExpiringAt: g.ExpiringAt, State: string(g.State), EndedAt: g.EndedAt,
			Suspended: g.Suspended, SuspendedAt: g.SuspendedAt, SuspendedBy: string(g.SuspendedBy),
		}
	}
	return d
}

func (d relationshipDoc) domain() (*domain.Relationship, error) {
	r := &domain.Relationship{
		ID: d.ID, ProviderID: d.ProviderID, ResellerID: d.ResellerID, ResellerLocationID: d.ResellerLocationID,
		Market: d.Market, State: domain.State(d.State), CreatedAt: d.CreatedAt, EndedAt: d.EndedAt,
		EndedBy: domain.Side(d.EndedBy), EndedBySubject: d.EndedBySubject, EndReason: d.EndReason,
		Requests: make([]domain.Request, len(d.Requests)),
	}
	for i, q := range d.Requests {
		h, err := parseHash(q.TokenHash)
		if err != nil {
			return nil, fmt.Errorf("relationship %s request %s: %w", d.ID, q.ID, err)
		}
		r.Requests[i] = domain.Request{
			ID: q.ID, Kind: domain.RequestKind(q.Kind), TokenHash: h, Status: domain.RequestStatus(q.Status),
			Terms:     domain.AccessTerms{Roles: roleSet(q.Roles), DurationDays: q.DurationDays, AutoExtend: q.AutoExtend},
			CreatedBy: q.CreatedBy, CreatedAt: q.CreatedAt, ExpiresAt: q.ExpiresAt, RemindAt: q.RemindAt,
			RemindedAt: q.RemindedAt, DeferredAt: q.DeferredAt, AnsweredAt: q.AnsweredAt, AnsweredBy: q.AnsweredBy,
		}
		if f := q.MailFailure; f != nil {
			r.Requests[i].MailFailure = &domain.MailFailure{Template: f.Template, Reason: f.Reason, Detail: f.Detail, At: f.At}
		}
	}
	if g := d.Grant; g != nil {
		r.Grant = &domain.Grant{
			ID: g.ID, Roles: roleSet(g.Roles), DurationDays: g.DurationDays, AutoExtend: g.AutoExtend,
			StartsAt: g.StartsAt, ExpiresAt: g.ExpiresAt, ExpiringAt: g.ExpiringAt, State: domain.GrantState(g.State), EndedAt: g.EndedAt,
			Suspended: g.Suspended, SuspendedAt: g.SuspendedAt, SuspendedBy: domain.Side(g.SuspendedBy),
		}
	}
	return r, nil
}

func parseHash(s string) (domain.TokenHash, error) {
	var h domain.TokenHash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("stored token hash %q is not 32 hex bytes", s)
	}
	copy(h[:], b)
	return h, nil
}
