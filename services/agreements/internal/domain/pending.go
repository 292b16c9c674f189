package domain

import "time"

// PendingStatus is where a pending acceptance stands.
type PendingStatus string

// Pending acceptance statuses.
const (
	PendingOpen     PendingStatus = "pending"  // waits for the partner's approval to reach this service
	PendingRecorded PendingStatus = "recorded" // the acceptance is recorded (AcceptanceID)
	PendingRefused  PendingStatus = "refused"  // it could not be (RefusalCode)
)

// PendingAcceptanceState is an acceptance the partner's administrator made
// before this service heard of the partner's approval (registration says
// qualified; agreements learns of the approval on its own, later consumer):
// the acceptor's evidence, kept until the approval arrives.
type PendingAcceptanceState struct {
	ID               string
	PartnerID        string // as the caller named it (global id)
	Market           Market
	VersionID        string
	Acceptor         Acceptor
	ClientAcceptedAt *time.Time
	ClientIP         string
	UserAgent        string
	RequestID        string
	RequestedAt      time.Time // server time of the request: the acceptance's time once recorded
	Status           PendingStatus
	AcceptanceID     string
	RefusalCode      string
	ResolvedAt       *time.Time
}

// PendingAcceptance is one acceptance waiting for the partner's approval.
type PendingAcceptance struct {
	s PendingAcceptanceState
	events
}

// NewPendingAcceptance keeps the acceptance s (status pending).
func NewPendingAcceptance(s PendingAcceptanceState) *PendingAcceptance {
	s.Status, s.RequestedAt = PendingOpen, serverTime(s.RequestedAt)
	return &PendingAcceptance{s: s}
}

// RestorePendingAcceptance rebuilds one from storage.
func RestorePendingAcceptance(s PendingAcceptanceState) *PendingAcceptance {
	return &PendingAcceptance{s: s}
}

// State returns a copy.
func (p *PendingAcceptance) State() PendingAcceptanceState { return p.s }

// Open reports whether it still waits.
func (p *PendingAcceptance) Open() bool { return p.s.Status == PendingOpen }

// Recorded resolves it with the acceptance recorded for it.
func (p *PendingAcceptance) Recorded(acceptanceID string, now time.Time) {
	if !p.Open() {
		return
	}
	now = serverTime(now)
	p.s.Status, p.s.AcceptanceID, p.s.ResolvedAt = PendingRecorded, acceptanceID, &now
}

// Refused resolves it as impossible (code: the refusal's error code) and
// records AcceptanceRefused.
func (p *PendingAcceptance) Refused(program Program, code string, now time.Time) {
	if !p.Open() {
		return
	}
	now = serverTime(now)
	p.s.Status, p.s.RefusalCode, p.s.ResolvedAt = PendingRefused, code, &now
	p.record(AcceptanceRefused{PendingID: p.s.ID, PartnerID: p.s.PartnerID, Program: program, Market: p.s.Market,
		VersionID: p.s.VersionID, Code: code, RequestedAt: p.s.RequestedAt, RefusedAt: now})
}
