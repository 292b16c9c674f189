package domain

import (
	"strings"
	"time"
)

// Channel says how an acceptance reached us.
type Channel string

const (
	ChannelRegistration Channel = "registration" // affirmed in the sign-up form, via the registration event
	ChannelAPI          Channel = "api"          // accepted by a partner administrator through our API
)

// Acceptor is the person who accepted.
type Acceptor struct {
	UserID string
	Name   string
	Email  string
	Role   string
}

// AcceptanceState is an acceptance record: the evidence that would stand up
// in a dispute. It is never updated or deleted once stored.
type AcceptanceState struct {
	ID                     string
	PartnerID              string
	LocationID             string
	EnrollmentID           string
	Program                Program
	Market                 Market
	VersionID              string
	TextSHA256             TextHash
	Acceptor               Acceptor
	AcceptedAt             time.Time  // server time (ours, or the registration service's)
	ClientAcceptedAt       *time.Time // what the client claimed, kept as evidence only
	EffectiveAt            time.Time  // the later of AcceptedAt and the version's effective date
	ClientIP               string
	UserAgent              string
	RequestID              string
	VerificationDecisionID string // the approval that unlocked a gated acceptance
	SupersedesID           string // the acceptance this one replaces, for re-acceptance
	Channel                Channel
}

// Acceptance is one append-only acceptance record.
type Acceptance struct {
	s AcceptanceState
	events
}

// AcceptanceInput is what recording an acceptance needs. The app layer loads
// the partner and version and checks who the caller is; RecordAcceptance
// enforces the rules that need only these facts.
type AcceptanceInput struct {
	ID               string
	Partner          *Partner
	Version          *Version
	Acceptor         Acceptor
	AcceptedAt       time.Time  // zero: now (server time is authoritative)
	ClientAcceptedAt *time.Time // optional claim from the client
	ClientIP         string
	UserAgent        string
	RequestID        string
	Supersedes       *Acceptance
	Channel          Channel
}

// Key returns the key an acceptance is unique under.
func (a *Acceptance) Key() AcceptanceKey {
	return AcceptanceKey{LocationID: a.s.LocationID, Program: a.s.Program, Market: a.s.Market}
}

// RecordAcceptance checks the rules of accepting in.Version for in.Partner at
// now and returns the record with an AcceptanceRecorded event.
func RecordAcceptance(in AcceptanceInput, now time.Time) (*Acceptance, error) {
	p, v := in.Partner, in.Version
	if p == nil || !p.Registered() {
		return nil, ErrPartnerNotFound
	}
	if v == nil {
		return nil, ErrVersionNotFound
	}
	now = serverTime(now)
	limit := now.Add(ClockSkewTolerance)
	if in.ClientAcceptedAt != nil && in.ClientAcceptedAt.After(limit) {
		return nil, &ValidationError{Problems: []Problem{{Field: "accepted_at", Err: ErrAcceptedAtInFuture}}}
	}
	acceptedAt := now
	if !in.AcceptedAt.IsZero() {
		if in.AcceptedAt.After(limit) {
			return nil, &ValidationError{Problems: []Problem{{Field: "accepted_at", Err: ErrAcceptedAtInFuture}}}
		}
		acceptedAt = serverTime(in.AcceptedAt)
	}
	if strings.TrimSpace(in.Acceptor.UserID) == "" {
		return nil, &ValidationError{Problems: []Problem{{Field: "acceptor.user_id", Err: ErrInvalidAcceptor}}}
	}
	program := v.Program()
	if !p.Enrolled(program) {
		if program == ProgramIndirectReseller {
			return nil, ErrNoResellerEnrollment
		}
		return nil, ErrNotEnrolled
	}
	// Retired as of the acceptance time: a registration affirmation made
	// before a retirement still names the version it affirmed.
	if r := v.State().RetiredAt; r != nil && !r.After(acceptedAt) {
		return nil, ErrVersionRetired
	}
	if !v.CoversMarket(p.Market()) {
		return nil, ErrVersionNotForMarket
	}
	decisionID := ""
	if program.GatedByVerification() {
		switch p.Verification().Outcome {
		case VerificationApproved:
			decisionID = p.Verification().DecisionID
		case VerificationRevoked:
			return nil, ErrVerificationRevoked
		default:
			return nil, ErrVerificationNotApproved
		}
	}
	if !p.InGoodStanding() {
		return nil, ErrNotInGoodStanding
	}
	effective := acceptedAt
	if v.EffectiveFrom().After(effective) {
		effective = v.EffectiveFrom()
	}
	var claimed *time.Time
	if in.ClientAcceptedAt != nil {
		claimed = ptrTime(serverTime(*in.ClientAcceptedAt))
	}
	s := AcceptanceState{
		ID: in.ID, PartnerID: p.ID(), LocationID: p.LocationID(), EnrollmentID: p.EnrollmentID(program),
		Program: program, Market: p.Market(), VersionID: v.ID(), TextSHA256: v.TextSHA256(),
		Acceptor: in.Acceptor, AcceptedAt: acceptedAt, ClientAcceptedAt: claimed, EffectiveAt: effective,
		ClientIP: in.ClientIP, UserAgent: in.UserAgent, RequestID: in.RequestID,
		VerificationDecisionID: decisionID, Channel: in.Channel,
	}
	if in.Supersedes != nil {
		s.SupersedesID = in.Supersedes.ID()
	}
	a := &Acceptance{s: s}
	a.record(AcceptanceRecorded{
		AcceptanceID: s.ID, PartnerID: s.PartnerID, LocationID: s.LocationID, EnrollmentID: s.EnrollmentID,
		Program: s.Program, Market: s.Market, VersionID: s.VersionID, TextSHA256: s.TextSHA256,
		AcceptorUserID: s.Acceptor.UserID, AcceptorRole: s.Acceptor.Role, AcceptedAt: s.AcceptedAt,
		EffectiveAt: s.EffectiveAt, VerificationDecisionID: s.VerificationDecisionID, SupersedesID: s.SupersedesID,
	})
	return a, nil
}

// CurrentOf returns the current records among all: those no other record
// supersedes, one per key.
func CurrentOf(all []*Acceptance) []*Acceptance {
	superseded := map[string]bool{}
	for _, a := range all {
		if a.s.SupersedesID != "" {
			superseded[a.s.SupersedesID] = true
		}
	}
	var out []*Acceptance
	for _, a := range all {
		if !superseded[a.s.ID] {
			out = append(out, a)
		}
	}
	return out
}

// RestoreAcceptance rebuilds a record from stored state (repositories only).
func RestoreAcceptance(s AcceptanceState) *Acceptance { return &Acceptance{s: s} }

// State returns a copy of the record.
func (a *Acceptance) State() AcceptanceState { return a.s }

// ID returns the acceptance id.
func (a *Acceptance) ID() string { return a.s.ID }

// VersionID returns the accepted version's id.
func (a *Acceptance) VersionID() string { return a.s.VersionID }

// Outcome is what accepting a version means for a key that may already have
// a current acceptance.
type Outcome int

const (
	// OutcomeRecord: no acceptance yet; record one.
	OutcomeRecord Outcome = iota + 1
	// OutcomeSameVersion: this version is already accepted; return that record.
	OutcomeSameVersion
	// OutcomeCarriedOver: the current acceptance stands for the requested
	// version (auto_effective, or the request names an older version).
	OutcomeCarriedOver
	// OutcomeSupersede: record a new acceptance that supersedes the current.
	OutcomeSupersede
)

// DecideAcceptance applies the version policy. current and currentVersion are
// the key's current acceptance and its version (nil when none); open lists
// the versions of the key's open re-acceptance requirements. A newer version
// needs a new record when it requires re-acceptance itself or satisfies an
// open requirement (an auto_effective version published after a
// requires_reacceptance one must still clear that requirement).
func DecideAcceptance(current *Acceptance, currentVersion, requested *Version, open []*Version) Outcome {
	switch {
	case current == nil:
		return OutcomeRecord
	case current.VersionID() == requested.ID():
		return OutcomeSameVersion
	case currentVersion != nil && !requested.Newer(currentVersion):
		return OutcomeCarriedOver
	case requested.Policy() == PolicyRequiresReacceptance:
		return OutcomeSupersede
	}
	for _, r := range open {
		if Satisfies(requested, r) {
			return OutcomeSupersede
		}
	}
	return OutcomeCarriedOver
}

// Satisfies reports whether accepting accepted clears a requirement to accept
// required: the same version or a newer one.
func Satisfies(accepted, required *Version) bool {
	return accepted.ID() == required.ID() || accepted.Newer(required)
}
