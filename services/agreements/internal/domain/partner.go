package domain

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// NetworkAffirmation is who affirmed the partner-network agreement at
// registration, and when, as the registration service reported it.
type NetworkAffirmation struct {
	UserID    string
	Name      string
	Email     string
	Role      string // defaults to "applicant"
	At        time.Time
	VersionID string // optional: the version the sign-up form showed
	ClientIP  string
	UserAgent string
}

// Registration is the part of a partner-registered event this service keeps.
type Registration struct {
	PartnerID    string
	LocationID   string
	Market       string
	Programs     []string
	Enrollments  map[string]string // program → enrollment id
	Affirmation  *NetworkAffirmation
	RegisteredAt time.Time
	RegisteredBy string // who submitted the registration (its submitted_by)
}

// VerificationDecision is a verification service's verdict on a partner.
type VerificationDecision struct {
	DecisionID string
	Outcome    VerificationOutcome
	DecidedAt  time.Time
}

// PartnerState is the projection's full state.
type PartnerState struct {
	PartnerID    string
	Registered   bool // false while only verification decisions were heard
	LocationID   string
	Market       Market
	Programs     []Program
	Enrollments  map[Program]string
	Affirmation  *NetworkAffirmation
	RegisteredAt time.Time
	// RegisteredBy is the principal that submitted the partner's
	// registration (an upstream system reads the partners it registered
	// only); empty on projections stored before it was recorded.
	RegisteredBy string
	Verification VerificationDecision // Outcome pending until a decision arrives
	// Standing is registration's standing of the partner as last heard:
	// zero (never changed since registration) or active is good standing.
	Standing Standing
}

// Standing is the partner's standing as registration published it.
type Standing struct {
	Status    string // active, suspended, inactive, closed
	Reasons   []string
	ChangedAt time.Time
	// EventID names the standing change (the CloudEvent id); it stands in for
	// a decision id in the events it causes here.
	EventID string
}

// Good reports whether the standing lets the partner transact.
func (s Standing) Good() bool { return s.Status == "" || s.Status == StandingActive }

// Partner standings as registration publishes them.
const (
	StandingActive    = "active"
	StandingSuspended = "suspended"
	StandingInactive  = "inactive"
	StandingClosed    = "closed"
)

// Partner is this service's projection of a registered partner and its
// verification state, built from registration and verification events. Events
// of the two streams can arrive in either order, so a decision may create a
// not-yet-registered partner.
type Partner struct {
	s PartnerState
	events
}

// NewPartner returns an empty projection for partnerID.
func NewPartner(partnerID string) *Partner {
	return &Partner{s: PartnerState{
		PartnerID:    partnerID,
		Enrollments:  map[Program]string{},
		Verification: VerificationDecision{Outcome: VerificationPending},
	}}
}

// RestorePartner rebuilds a projection from stored state (repositories only).
func RestorePartner(s PartnerState) *Partner {
	s.Programs = slices.Clone(s.Programs)
	s.Enrollments = maps.Clone(s.Enrollments)
	if s.Enrollments == nil {
		s.Enrollments = map[Program]string{}
	}
	if s.Verification.Outcome == "" {
		s.Verification.Outcome = VerificationPending
	}
	return &Partner{s: s}
}

// State returns a copy of the projection.
func (p *Partner) State() PartnerState {
	s := p.s
	s.Programs = slices.Clone(s.Programs)
	s.Enrollments = maps.Clone(s.Enrollments)
	return s
}

// ID returns the (global) partner id.
func (p *Partner) ID() string { return p.s.PartnerID }

// RegisteredBy is who submitted the partner's registration ("" unknown).
func (p *Partner) RegisteredBy() string { return p.s.RegisteredBy }

// Registered reports whether the registration event was applied.
func (p *Partner) Registered() bool { return p.s.Registered }

// LocationID returns the location id transactions and acceptances use.
func (p *Partner) LocationID() string { return p.s.LocationID }

// Market returns the partner's market.
func (p *Partner) Market() Market { return p.s.Market }

// Verification returns the latest verification decision heard.
func (p *Partner) Verification() VerificationDecision { return p.s.Verification }

// Approved reports whether the partner's verification is currently approved.
func (p *Partner) Approved() bool { return p.s.Verification.Outcome == VerificationApproved }

// Standing returns the partner's standing as last heard from registration.
func (p *Partner) Standing() Standing {
	s := p.s.Standing
	s.Reasons = slices.Clone(s.Reasons)
	return s
}

// InGoodStanding reports whether registration lets the partner transact.
func (p *Partner) InGoodStanding() bool { return p.s.Standing.Good() }

// inForce reports whether the partner's gated acceptances are effective:
// approved by verification and in good standing.
func (p *Partner) inForce() bool { return p.Approved() && p.InGoodStanding() }

// Enrolled reports whether the partner enrolled in program.
func (p *Partner) Enrolled(program Program) bool { return slices.Contains(p.s.Programs, program) }

// EnrollmentID returns the partner's enrollment id in program ("" if unknown).
func (p *Partner) EnrollmentID(program Program) string { return p.s.Enrollments[program] }

// Register applies a registration (the partner-network program is implied).
// Replays and later registrations that add
// programs merge; the market and location never change. It reports whether
// anything changed.
func (p *Partner) Register(r Registration) (bool, error) {
	var ps problems
	if strings.TrimSpace(r.LocationID) == "" {
		ps.add("location_id", ErrInvalidLocationID)
	}
	market, err := ParseMarket(r.Market)
	ps.add("market", err)
	// Every registered partner has the network membership: it is what gives
	// the partner id.
	programs := []Program{ProgramPartnerNetwork}
	for _, s := range r.Programs {
		pr, err := ParseProgram(s)
		if err != nil {
			ps.add("programs", err)
			break
		}
		programs = append(programs, pr)
	}
	enrollments := map[Program]string{}
	for k, v := range r.Enrollments {
		pr, err := ParseProgram(k)
		if err != nil {
			ps.add("enrollments", err)
			break
		}
		enrollments[pr] = v
		programs = append(programs, pr)
	}
	if err := ps.err(); err != nil {
		return false, err
	}
	if p.s.Registered {
		if p.s.Market != market {
			return false, ErrMarketChanged
		}
		if p.s.LocationID != strings.TrimSpace(r.LocationID) {
			return false, ErrLocationChanged
		}
	}
	before := p.State()
	p.s.Registered = true
	p.s.LocationID = strings.TrimSpace(r.LocationID)
	p.s.Market = market
	if p.s.RegisteredAt.IsZero() {
		p.s.RegisteredAt = serverTime(r.RegisteredAt)
	}
	if p.s.RegisteredBy == "" {
		p.s.RegisteredBy = strings.TrimSpace(r.RegisteredBy)
	}
	for _, pr := range programs {
		if !slices.Contains(p.s.Programs, pr) {
			p.s.Programs = append(p.s.Programs, pr)
		}
	}
	slices.Sort(p.s.Programs)
	for k, v := range enrollments {
		if v != "" {
			p.s.Enrollments[k] = v
		}
	}
	if r.Affirmation != nil && p.s.Affirmation == nil {
		a := *r.Affirmation
		a.At = serverTime(a.At)
		p.s.Affirmation = &a
	}
	changed := !before.Registered || !slices.Equal(before.Programs, p.s.Programs) ||
		!maps.Equal(before.Enrollments, p.s.Enrollments) || (before.Affirmation == nil) != (p.s.Affirmation == nil)
	return changed, nil
}

// ApplyVerification applies a decision unless it is a replay or older than
// the one already applied (decisions from a redelivering bus arrive in any
// order). When the approval state flips, every current acceptance of a gated
// program is suspended or reinstated by event; the records themselves are
// append-only and stay. It reports whether the decision was applied.
func (p *Partner) ApplyVerification(d VerificationDecision, current []*Acceptance) (bool, error) {
	if strings.TrimSpace(d.DecisionID) == "" || d.DecidedAt.IsZero() {
		return false, ErrInvalidDecision
	}
	switch d.Outcome {
	case VerificationApproved, VerificationRejected, VerificationRevoked:
	default:
		return false, ErrInvalidDecision
	}
	d.DecidedAt = serverTime(d.DecidedAt)
	prev := p.s.Verification
	if prev.DecisionID == d.DecisionID || (!prev.DecidedAt.IsZero() && !d.DecidedAt.After(prev.DecidedAt)) {
		return false, nil
	}
	wasInForce := p.inForce()
	p.s.Verification = d
	p.flip(wasInForce, current, d.DecisionID, string(d.Outcome), nil, d.DecidedAt)
	return true, nil
}

// ApplyStanding applies registration's standing change unless it is a
// replay or older than the one applied. Suspending the partner (any status
// but active) suspends its current gated acceptances, and the change back
// to active reinstates them — both by event, only when the acceptances'
// effect flips (a revoked partner's acceptances are suspended already).
func (p *Partner) ApplyStanding(s Standing, current []*Acceptance) (bool, error) {
	if s.Status == "" || s.ChangedAt.IsZero() || strings.TrimSpace(s.EventID) == "" {
		return false, ErrInvalidStanding
	}
	s.ChangedAt = serverTime(s.ChangedAt)
	prev := p.s.Standing
	if prev.EventID == s.EventID || (!prev.ChangedAt.IsZero() && !s.ChangedAt.After(prev.ChangedAt)) {
		return false, nil
	}
	wasInForce := p.inForce()
	s.Reasons = slices.Clone(s.Reasons)
	p.s.Standing = s
	p.flip(wasInForce, current, "standing:"+s.EventID, s.Status, s.Reasons, s.ChangedAt)
	return true, nil
}

// flip records the suspension or reinstatement of every current gated
// acceptance when their effect changed: cause names what changed it (a
// verification decision, or the standing change), outcome its result.
func (p *Partner) flip(wasInForce bool, current []*Acceptance, cause, outcome string, reasons []string, at time.Time) {
	if wasInForce == p.inForce() {
		return
	}
	for _, a := range current {
		as := a.State()
		if as.PartnerID != p.s.PartnerID || !as.Program.GatedByVerification() {
			continue
		}
		if wasInForce {
			p.record(AcceptanceSuspended{
				AcceptanceID: as.ID, PartnerID: as.PartnerID, LocationID: as.LocationID, Program: as.Program,
				Market: as.Market, DecisionID: cause, Outcome: outcome, Reasons: slices.Clone(reasons), At: at,
			})
		} else {
			p.record(AcceptanceReinstated{
				AcceptanceID: as.ID, PartnerID: as.PartnerID, LocationID: as.LocationID, Program: as.Program,
				Market: as.Market, DecisionID: cause, At: at,
			})
		}
	}
}
