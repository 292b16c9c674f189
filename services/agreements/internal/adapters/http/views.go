package http

import (
	"time"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

type versionJSON struct {
	ID                        string     `json:"id"`
	Program                   string     `json:"program"`
	Name                      string     `json:"name"`
	Languages                 []string   `json:"languages"`
	Markets                   []string   `json:"markets"`
	EffectiveFrom             time.Time  `json:"effective_from"`
	TextURL                   string     `json:"text_url"`
	TextSHA256                string     `json:"text_sha256"`
	Policy                    string     `json:"policy"`
	ReacceptanceWindowSeconds int64      `json:"reacceptance_window_seconds,omitempty"`
	PublishedAt               time.Time  `json:"published_at"`
	PublishedBy               string     `json:"published_by"`
	RetiredAt                 *time.Time `json:"retired_at,omitempty"`
	RetiredBy                 string     `json:"retired_by,omitempty"`
}

func versionOut(v domain.VersionState) versionJSON {
	markets := make([]string, len(v.Markets))
	for i, m := range v.Markets {
		markets[i] = string(m)
	}
	return versionJSON{
		ID: v.ID, Program: string(v.Program), Name: v.Name, Languages: v.Languages, Markets: markets,
		EffectiveFrom: v.EffectiveFrom, TextURL: v.TextURL, TextSHA256: string(v.TextSHA256), Policy: string(v.Policy),
		ReacceptanceWindowSeconds: int64(v.ReacceptanceWindow / time.Second), PublishedAt: v.PublishedAt,
		PublishedBy: v.PublishedBy, RetiredAt: v.RetiredAt, RetiredBy: v.RetiredBy,
	}
}

type acceptorJSON struct {
	UserID string `json:"user_id"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Role   string `json:"role"`
}

func acceptorOut(a domain.Acceptor) acceptorJSON {
	return acceptorJSON{UserID: a.UserID, Name: a.Name, Email: a.Email, Role: a.Role}
}

// acceptanceJSON is the full evidence record.
type acceptanceJSON struct {
	ID                     string       `json:"id"`
	PartnerID              string       `json:"partner_id"`
	LocationID             string       `json:"location_id"`
	EnrollmentID           string       `json:"enrollment_id,omitempty"`
	Program                string       `json:"program"`
	Market                 string       `json:"market"`
	VersionID              string       `json:"version_id"`
	TextSHA256             string       `json:"text_sha256"`
	Acceptor               acceptorJSON `json:"acceptor"`
	AcceptedAt             time.Time    `json:"accepted_at"`
	ClientAcceptedAt       *time.Time   `json:"client_accepted_at,omitempty"`
	EffectiveAt            time.Time    `json:"effective_at"`
	ClientIP               string       `json:"client_ip,omitempty"`
	UserAgent              string       `json:"user_agent,omitempty"`
	RequestID              string       `json:"request_id,omitempty"`
	VerificationDecisionID string       `json:"verification_decision_id,omitempty"`
	SupersedesID           string       `json:"supersedes_id,omitempty"`
	Channel                string       `json:"channel"`
}

func acceptanceOut(a domain.AcceptanceState) acceptanceJSON {
	return acceptanceJSON{
		ID: a.ID, PartnerID: a.PartnerID, LocationID: a.LocationID, EnrollmentID: a.EnrollmentID,
		Program: string(a.Program), Market: string(a.Market), VersionID: a.VersionID, TextSHA256: string(a.TextSHA256),
		Acceptor: acceptorOut(a.Acceptor), AcceptedAt: a.AcceptedAt, ClientAcceptedAt: a.ClientAcceptedAt,
		EffectiveAt: a.EffectiveAt, ClientIP: a.ClientIP, UserAgent: a.UserAgent, RequestID: a.RequestID,
		VerificationDecisionID: a.VerificationDecisionID, SupersedesID: a.SupersedesID, Channel: string(a.Channel),
	}
}

type signedJSON struct {
	PartnerID  string        `json:"partner_id"`
	LocationID string        `json:"location_id"`
	Market     string        `json:"market"`
	Programs   []programJSON `json:"programs"`
	Pending    []pendingJSON `json:"pending_acceptances"`
}

// pendingJSON is an acceptance kept until the partner's approval arrives.
type pendingJSON struct {
	ID           string       `json:"id"`
	PartnerID    string       `json:"partner_id"`
	VersionID    string       `json:"version_id"`
	Market       string       `json:"market"`
	Acceptor     acceptorJSON `json:"acceptor"`
	RequestedAt  time.Time    `json:"requested_at"`
	Status       string       `json:"status"`
	AcceptanceID string       `json:"acceptance_id,omitempty"`
	RefusalCode  string       `json:"refusal_code,omitempty"`
	ResolvedAt   *time.Time   `json:"resolved_at,omitempty"`
}

func pendingOut(p domain.PendingAcceptanceState) pendingJSON {
	return pendingJSON{ID: p.ID, PartnerID: p.PartnerID, VersionID: p.VersionID, Market: string(p.Market),
		Acceptor: acceptorOut(p.Acceptor), RequestedAt: p.RequestedAt, Status: string(p.Status), AcceptanceID: p.AcceptanceID,
		RefusalCode: p.RefusalCode, ResolvedAt: p.ResolvedAt}
}

type programJSON struct {
	Program    string           `json:"program"`
	Agreements []signedItemJSON `json:"agreements"`
}

type signedItemJSON struct {
	AcceptanceID string       `json:"acceptance_id"`
	VersionID    string       `json:"version_id"`
	Name         string       `json:"name"`
	TextURL      string       `json:"text_url,omitempty"`
	TextSHA256   string       `json:"text_sha256"`
	Market       string       `json:"market"`
	EffectiveAt  time.Time    `json:"effective_at"`
	AcceptedAt   time.Time    `json:"accepted_at"`
	AcceptedBy   acceptorJSON `json:"accepted_by"`
	Channel      string       `json:"channel"`
	Current      bool         `json:"current"`
	SupersededBy string       `json:"superseded_by,omitempty"`
	Suspended    bool         `json:"suspended"`
}

type statusJSON struct {
	Signed            bool         `json:"signed"`
	PartnerID         string       `json:"partner_id"`
	LocationID        string       `json:"location_id"`
	Program           string       `json:"program"`
	Market            string       `json:"market"`
	AcceptanceID      string       `json:"acceptance_id"`
	VersionID         string       `json:"version_id"`
	AcceptedAt        time.Time    `json:"accepted_at"`
	EffectiveAt       time.Time    `json:"effective_at"`
	AcceptedBy        acceptorJSON `json:"accepted_by"`
	ReacceptanceDueBy *time.Time   `json:"reacceptance_due_by,omitempty"`
}
