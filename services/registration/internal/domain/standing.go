package domain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A partner's standing is whether it may transact, and why not. Registration
// owns it; every other service reacts to PartnerStandingChanged.
//
//	pending ──approval──▶ active ◀──────────────┐
//	   │                   │ ▲ ▲                 │
//	rejection      hold on │ │ last hold lifted  │ reactivation
//	   ▼                   ▼ │ │                 │ (re-review when long)
//	rejected           suspended   inactive ─────┘
//	                        any of them ──closure──▶ closed (terminal)
//
// The partner's status is derived: closed before suspended before inactive
// before active. Holds stack: each is lifted on its own, and lifting one
// restores only what it held (a partner held for compliance and revoked
// stays suspended until both are lifted; an inactive partner whose hold is
// lifted is inactive again, not active).

// StandingReason says why a partner is not (or no longer) active.
type StandingReason string

// Standing reasons. Holds (suspension) first, then inactivity and closure.
const (
	// ReasonVerificationRevoked: verification withdrew its approval; lifted
	// by a later approval (a re-review).
	ReasonVerificationRevoked StandingReason = "verification_revoked"
	// ReasonReverificationRequired: reactivated after a long inactivity,
	// the partner is reviewed again; lifted by the new approval.
	ReasonReverificationRequired StandingReason = "reverification_required"
	// ReasonComplianceHold: an operator's hold, lifted by an operator.
	ReasonComplianceHold StandingReason = "compliance_hold"
	// ReasonMFANoncompliant: an upstream system reported the partner's
	// tenant does not enforce MFA (seed 003); lifted when it reports
	// compliance.
	ReasonMFANoncompliant StandingReason = "mfa_noncompliant"
	// ReasonInactivity: nothing happened for the inactivity period (seed
	// 000: an account unused for 18 months is disabled); lifted by reactivation.
	ReasonInactivity StandingReason = "inactivity"
	// ReasonClosedByPartner / ReasonClosedByOperator: the partner's
	// administrator or an operator closed the account (terminal).
	ReasonClosedByPartner  StandingReason = "closed_by_partner"
	ReasonClosedByOperator StandingReason = "closed_by_operator"
)

// HoldReasons are the reasons that suspend (each a hold of its own).
var HoldReasons = []StandingReason{ReasonVerificationRevoked, ReasonReverificationRequired, ReasonComplianceHold, ReasonMFANoncompliant}

// Sentinel errors of standing changes.
var (
	ErrNotApproved = errors.New("the partner is not approved yet: its registration is still with verification")
	// ErrPendingCorrection: a profile change of a partner still under
	// review that is more than a correction of its contact on the same
	// e-mail domain.
	ErrPendingCorrection = errors.New("the partner is not approved yet: only its contact can be corrected, on the same e-mail domain")
	ErrPartnerClosed     = errors.New("the partner is closed")
	ErrNotInactive       = errors.New("the partner is not inactive")
	ErrUnknownHold       = errors.New("not a hold reason")
	ErrPartnerRejected   = errors.New("the partner's registration was rejected")
)

// Hold is one suspension of a partner.
type Hold struct {
	Reason StandingReason `json:"reason"`
	Since  time.Time      `json:"since"`
	By     string         `json:"by,omitempty"`   // who placed it (subject, or the service that reported it)
	Note   string         `json:"note,omitempty"` // why, in words
	Ref    string         `json:"ref,omitempty"`  // the fact behind it, e.g. the revoking decision
	// Case is the verification case a verification_revoked hold is about:
	// its re-review lifts the hold (empty on holds placed before round 33).
	Case string `json:"case,omitempty"`
}

// Closure is how a partner was closed.
type Closure struct {
	Reason StandingReason `json:"reason"`
	By     string         `json:"by"`
	Note   string         `json:"note,omitempty"`
	At     time.Time      `json:"at"`
}

// Standing is the state behind a partner's status once approved.
type Standing struct {
	Holds         []Hold    `json:"holds,omitempty"`
	InactiveSince time.Time `json:"inactive_since,omitzero"`
	Closure       *Closure  `json:"closure,omitempty"`
	// VerifiedAt is the decision time of the latest approval applied: a
	// revocation decided before it is stale (the two arrive on different
	// durables, in either order).
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	ChangedAt  time.Time `json:"changed_at,omitzero"`
}

// Reasons lists the reasons in force: the closure alone when closed, else
// the holds in the order they were placed, then inactivity.
func (s Standing) Reasons() []StandingReason {
	if s.Closure != nil {
		return []StandingReason{s.Closure.Reason}
	}
	out := []StandingReason{}
	for _, h := range s.Holds {
		out = append(out, h.Reason)
	}
	if !s.InactiveSince.IsZero() {
		out = append(out, ReasonInactivity)
	}
	return out
}

// Hold returns the hold with reason r, if placed.
func (s Standing) Hold(r StandingReason) (Hold, bool) {
	i := slices.IndexFunc(s.Holds, func(h Hold) bool { return h.Reason == r })
	if i < 0 {
		return Hold{}, false
	}
	return s.Holds[i], true
}

func (s Standing) clone() Standing {
	s.Holds = slices.Clone(s.Holds)
	if s.Closure != nil {
		c := *s.Closure
		s.Closure = &c
	}
	return s
}

// WithoutStaffNotes is s as the partner's side reads it — its users, its
// upstream system: the words staff wrote for staff are left out (an
// operator's note on a compliance hold or a closure, the revoking
// verifier's reason on a verification_revoked hold: a sanctions screening,
// a fraud tip); the reasons, who placed them and since when stay, and so do
// the notes the system writes (security, reactivation) and a closure's note
// the partner wrote itself.
func (s Standing) WithoutStaffNotes() Standing {
	s = s.clone()
	for i, h := range s.Holds {
		if h.Reason == ReasonComplianceHold || h.Reason == ReasonVerificationRevoked {
			s.Holds[i].Note = ""
		}
	}
	if s.Closure != nil && s.Closure.Reason == ReasonClosedByOperator {
		s.Closure.Note = ""
	}
	return s
}

// Approved reports whether verification approved the partner (its IDs are
// valid), whatever its standing since.
func (p *Partner) Approved() bool {
	return p.status != PartnerStatusPending && p.status != PartnerStatusRejected
}

// Standing returns a copy of the partner's standing.
func (p *Partner) Standing() Standing { return p.standing.clone() }

// CanTransact reports whether the partner is in good standing.
func (p *Partner) CanTransact() bool { return p.status == PartnerStatusActive }

// derivedStatus is the status the standing gives an approved partner.
func (p *Partner) derivedStatus() PartnerStatus {
	s := p.standing
	switch {
	case !p.Approved():
		return p.status
	case s.Closure != nil:
		return PartnerStatusClosed
	case len(s.Holds) > 0:
		return PartnerStatusSuspended
	case !s.InactiveSince.IsZero():
		return PartnerStatusInactive
	}
	return PartnerStatusActive
}

// settle derives the status after a standing change and records
// PartnerStandingChanged when the status or the reasons changed (pending →
// active is PartnerActivated's, not a standing change). It reports whether
// anything changed.
func (p *Partner) settle(from PartnerStatus, before []StandingReason, by, note string, now time.Time) bool {
	p.status = p.derivedStatus()
	after := p.standing.Reasons()
	if p.status == from && slices.Equal(before, after) {
		return false
	}
	p.standing.ChangedAt, p.updatedAt = now, now
	if from == PartnerStatusPending && p.status == PartnerStatusActive {
		return true
	}
	if !p.Approved() {
		return true // a hold on a pending partner takes effect at its approval
	}
	p.record(PartnerStandingChanged{PartnerID: p.id, From: from, To: p.status, Reasons: after,
		Added: minus(after, before), Lifted: minus(before, after), ChangedBy: by, Note: note, ChangedAt: now})
	return true
}

func minus(a, b []StandingReason) []StandingReason {
	out := []StandingReason{}
	for _, r := range a {
		if !slices.Contains(b, r) {
			out = append(out, r)
		}
	}
	return out
}

// change runs fn on the standing of a partner that may change standing and
// settles the result.
func (p *Partner) change(by, note string, now time.Time, fn func(s *Standing) error) (bool, error) {
	if p.status == PartnerStatusRejected {
		return false, fmt.Errorf("partner %s: %w", p.id, ErrPartnerRejected)
	}
	if p.standing.Closure != nil {
		return false, fmt.Errorf("partner %s: %w", p.id, ErrPartnerClosed)
	}
	from, before := p.status, p.standing.Reasons()
	if err := fn(&p.standing); err != nil {
		return false, err
	}
	return p.settle(from, before, by, note, now), nil
}

// PlaceHold suspends the partner for reason (a hold reason) until the hold
// is lifted. Placing a hold that is in force changes nothing. A hold placed
// before the approval takes effect with it.
func (p *Partner) PlaceHold(h Hold, now time.Time) (bool, error) {
	if !slices.Contains(HoldReasons, h.Reason) {
		return false, fmt.Errorf("%w: %q", ErrUnknownHold, h.Reason)
	}
	return p.change(h.By, h.Note, now, func(s *Standing) error {
		if _, ok := s.Hold(h.Reason); ok {
			return nil
		}
		if h.Since.IsZero() {
			h.Since = now
		}
		s.Holds = append(s.Holds, h)
		return nil
	})
}

// LiftHold lifts the hold of reason; the other holds and an inactivity stay.
// Lifting a hold that is not in force changes nothing.
func (p *Partner) LiftHold(reason StandingReason, by, note string, now time.Time) (bool, error) {
	if !slices.Contains(HoldReasons, reason) {
		return false, fmt.Errorf("%w: %q", ErrUnknownHold, reason)
	}
	return p.change(by, note, now, func(s *Standing) error {
		s.Holds = slices.DeleteFunc(s.Holds, func(h Hold) bool { return h.Reason == reason })
		return nil
	})
}

// RevokeVerification suspends the partner because verification withdrew
// its approval at revokedAt. A revocation decided before the latest
// approval applied is stale and changes nothing (a re-review approved the
// partner since); so does a repeat.
func (p *Partner) RevokeVerification(caseID, decisionID, reason string, revokedAt, now time.Time) (bool, error) {
	if p.status == PartnerStatusRejected || p.standing.Closure != nil {
		return false, nil // nothing left to suspend
	}
	if !p.standing.VerifiedAt.IsZero() && !revokedAt.After(p.standing.VerifiedAt) {
		return false, nil
	}
	return p.PlaceHold(Hold{Reason: ReasonVerificationRevoked, Since: revokedAt, By: "verification", Note: reason, Ref: decisionID, Case: caseID}, now)
}

// LastActivityAt is when registration last saw the partner act (its users'
// requests, its confirmations and acceptances, its reactivation).
func (p *Partner) LastActivityAt() time.Time { return p.lastActivityAt }

// SawActivity records activity at (later times only).
func (p *Partner) SawActivity(at time.Time) {
	if at.After(p.lastActivityAt) {
		p.lastActivityAt = at
	}
}

// MarkInactive makes an approved partner inactive when nothing happened
// for period since its last activity (the inactivity job's rule). It
// changes nothing for a partner that is inactive, closed, or active recently.
func (p *Partner) MarkInactive(period Period, now time.Time) (bool, error) {
	last := p.lastActivityAt
	if last.IsZero() {
		last = p.createdAt
	}
	if !p.Approved() || p.standing.Closure != nil || !p.standing.InactiveSince.IsZero() || now.Before(period.After(last)) {
		return false, nil
	}
	return p.change("registration", "no activity since "+last.UTC().Format(time.RFC3339), now, func(s *Standing) error {
		s.InactiveSince = now
		return nil
	})
}

// Reactivate ends the partner's inactivity. A partner inactive for at least
// reviewAfter is reviewed again first: it is held with
// ReasonReverificationRequired until verification approves it again. It
// reports whether the re-review is required.
func (p *Partner) Reactivate(by string, reviewAfter Period, now time.Time) (review bool, err error) {
	if p.standing.Closure != nil {
		return false, fmt.Errorf("partner %s: %w", p.id, ErrPartnerClosed)
	}
	if p.standing.InactiveSince.IsZero() {
		return false, fmt.Errorf("partner %s is %s: %w", p.id, p.status, ErrNotInactive)
	}
	review = !now.Before(reviewAfter.After(p.standing.InactiveSince))
	note := "reactivated"
	if review {
		note = "reactivated after " + now.Sub(p.standing.InactiveSince).Round(time.Hour).String() + " inactive: reviewed again"
	}
	p.SawActivity(now)
	_, err = p.change(by, note, now, func(s *Standing) error {
		s.InactiveSince = time.Time{}
		if review {
			if _, held := s.Hold(ReasonReverificationRequired); !held {
				s.Holds = append(s.Holds, Hold{Reason: ReasonReverificationRequired, Since: now, By: by, Note: note})
			}
		}
		return nil
	})
	return review, err
}

// Close closes an approved partner for good: reason is
// ReasonClosedByPartner or ReasonClosedByOperator; a profile change waiting
// for its checks is withdrawn. Closing a closed partner changes nothing.
func (p *Partner) Close(reason StandingReason, by, note string, now time.Time) (bool, error) {
	if reason != ReasonClosedByPartner && reason != ReasonClosedByOperator {
		return false, fmt.Errorf("%w: %q is not a closure reason", ErrUnknownHold, reason)
	}
	if p.standing.Closure != nil {
		return false, nil
	}
	if !p.Approved() {
		return false, fmt.Errorf("partner %s: %w", p.id, ErrNotApproved)
	}
	changed, err := p.change(by, note, now, func(s *Standing) error {
		s.Closure = &Closure{Reason: reason, By: by, Note: note, At: now}
		return nil
	})
	if l := p.profile.Latest; err == nil && changed && l != nil && l.Status == ChangePending {
		// a change waiting for its checks is withdrawn: verification
		// cancels its review and e-mail ownership its challenge on the
		// same news (the standing change)
		l.Status, l.DecidedAt = ChangeWithdrawn, now
	}
	return changed, err
}

// Period is a configurable length of time in calendar months and days
// ("18mo", "30d") or a Go duration ("720h", "2s" in tests).
type Period struct {
	Months   int
	Duration time.Duration
}

// After is t plus the period.
func (p Period) After(t time.Time) time.Time { return t.AddDate(0, p.Months, 0).Add(p.Duration) }

// IsZero reports whether the period is empty.
func (p Period) IsZero() bool { return p.Months == 0 && p.Duration == 0 }

// String writes the period as ParsePeriod reads it.
func (p Period) String() string {
	switch {
	case p.Months != 0 && p.Duration == 0:
		return strconv.Itoa(p.Months) + "mo"
	case p.Months == 0:
		return p.Duration.String()
	}
	return strconv.Itoa(p.Months) + "mo+" + p.Duration.String()
}

// ParsePeriod reads "<n>mo", "<n>d" or a Go duration.
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(s)
	n, unit := strings.TrimRightFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' }), ""
	unit = s[len(n):]
	if v, err := strconv.Atoi(n); err == nil && v >= 0 {
		switch unit {
		case "mo":
			return Period{Months: v}, nil
		case "d":
			return Period{Duration: time.Duration(v) * 24 * time.Hour}, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return Period{}, fmt.Errorf("period %q: want <n>mo, <n>d or a duration such as 720h", s)
	}
	return Period{Duration: d}, nil
}

// UnmarshalText implements encoding.TextUnmarshaler (configuration).
func (p *Period) UnmarshalText(b []byte) error {
	v, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
