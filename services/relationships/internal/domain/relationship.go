package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// State is the lifecycle state of a Relationship.
type State string

// Relationship states. A relationship is proposed by its first request, and
// either becomes active (authorised) or closes as declined or lapsed (the
// invitation expired). An active relationship ends only by one side's choice;
// an expired grant leaves it active (the provider may ask for access again).
const (
	StateProposed State = "proposed"
	StateActive   State = "active"
	StateEnded    State = "ended"
	StateDeclined State = "declined"
	StateLapsed   State = "lapsed"
)

// Closed reports whether no further change can happen.
func (s State) Closed() bool { return s == StateEnded || s == StateDeclined || s == StateLapsed }

// RequestStatus is the state of one request (one invitation).
type RequestStatus string

// Request statuses. Open and deferred requests are pending: they can still be
// answered until they expire.
const (
	StatusOpen      RequestStatus = "open"
	StatusDeferred  RequestStatus = "deferred"
	StatusAccepted  RequestStatus = "accepted"
	StatusDeclined  RequestStatus = "declined"
	StatusExpired   RequestStatus = "expired"
	StatusWithdrawn RequestStatus = "withdrawn" // the relationship ended while it was pending
)

// Request is one invitation to consent to AccessTerms, identified to the
// reseller by a token of which only the hash is kept.
type Request struct {
	ID         string
	Kind       RequestKind
	Terms      AccessTerms
	TokenHash  TokenHash
	Status     RequestStatus
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RemindAt   time.Time
	RemindedAt time.Time // zero until the reminder fired
	DeferredAt time.Time
	AnsweredAt time.Time
	AnsweredBy string
	// MailFailure is set when the notifier gave up on the mail of this
	// request to the reseller's contact (the invitation or its reminder):
	// the provider is shown it beside the pending request, to pass the
	// invitation link on another way or ask for the address to be fixed.
	MailFailure *MailFailure
}

// MailFailure is why a request's mail to the reseller did not arrive.
type MailFailure struct {
	Template string // relationships.invitation or relationships.invitation_reminder
	Reason   string // permanent_error, attempts_exhausted, invitation_expired
	Detail   string // the SMTP error, the address masked
	At       time.Time
}

// RecordMailFailure keeps the failure of the mail of request id on it,
// while it awaits an answer, and records RequestUndelivered for the
// provider; a failure already kept from the same time or later, or a
// request answered or unknown, is left alone.
func (r *Relationship) RecordMailFailure(id string, f MailFailure) bool {
	for i := range r.Requests {
		q := &r.Requests[i]
		if q.ID != id {
			continue
		}
		if !q.Pending() || (q.MailFailure != nil && !f.At.After(q.MailFailure.At)) {
			return false
		}
		q.MailFailure = &f
		r.record(RequestUndelivered{EventHeader: r.header(f.At), RequestID: q.ID, Kind: q.Kind, Template: f.Template, Reason: f.Reason})
		return true
	}
	return false
}

// Pending reports whether the request still awaits an answer.
func (q Request) Pending() bool { return q.Status == StatusOpen || q.Status == StatusDeferred }

// Relationship is the aggregate: one provider ↔ reseller relationship from the
// first request to its end, with its requests and its current access grant.
// Keeping requests and grant in one aggregate makes "accept" a single atomic
// change (request answered, relationship active, grant created, events
// recorded) through one Update callback.
type Relationship struct {
	ID                 string
	ProviderID         string // global ID
	ResellerID         string // global ID
	ResellerLocationID string // the location the request was addressed to
	Market             string
	State              State
	CreatedAt          time.Time
	Requests           []Request
	Grant              *Grant // nil until authorised
	EndedAt            time.Time
	EndedBy            Side
	EndedBySubject     string
	EndReason          string

	events []Event
}

// MaxReasonLength bounds free-text reasons, in characters.
const MaxReasonLength = 500

// cleanReason is a free-text reason as it is kept and published: trimmed,
// at most MaxReasonLength characters, and without a control (other than
// line breaks and tabs), invisible or bidirectional-control character
// (normalize.CheckFreeText): the reason reaches the other party as written
// (its mail, its events), where such a character would make it read as
// something else.
func cleanReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if p, bad := normalize.CheckFreeText(reason); bad {
		return "", fmt.Errorf("%w: %s character %s", ErrReasonCharacters, p.Class, p)
	}
	if utf8.RuneCountInString(reason) > MaxReasonLength {
		return "", ErrReasonTooLong
	}
	return reason, nil
}

// CheckTarget checks the form of the ID a request is addressed to: it must be
// a location ID; a global ID is refused with its own error because it is the
// classic mistake.
func CheckTarget(id string) error {
	if IsGlobalID(id) {
		return ErrTargetNotLocation
	}
	if !IsLocationID(id) {
		return ErrResellerUnknown
	}
	return nil
}

// Proposal is everything needed to open a relationship with its first request.
type Proposal struct {
	RelationshipID     string
	RequestID          string
	Provider           Partner
	Reseller           Partner
	ResellerLocationID string
	Terms              AccessTerms
	TokenHash          TokenHash
	// SealedInvitation is the invitation link sealed to the notifier (it
	// mails it to the reseller); it travels only in the RequestCreated event.
	SealedInvitation []byte
	CreatedBy        string
	Now              time.Time
}

// NewProposal opens a relationship with its first request, applying the
// rules on who may invite whom. Duplicates are the caller's (and ultimately
// the repository's) business: it sees every relationship.
func NewProposal(p Proposal, pol Policy) (*Relationship, error) {
	if !p.Provider.ActiveIn(ProgramIndirectProvider) {
		return nil, ErrProviderNotActive
	}
	if err := CheckTarget(p.ResellerLocationID); err != nil {
		return nil, err
	}
	if !p.Reseller.Registered || !p.Reseller.HasLocation(p.ResellerLocationID) {
		return nil, ErrResellerUnknown
	}
	if p.Provider.ID == p.Reseller.ID {
		return nil, ErrSelfRelationship
	}
	if !p.Reseller.EnrolledIn(ProgramIndirectReseller) {
		return nil, ErrTargetNotReseller
	}
	if p.Provider.Market != p.Reseller.Market {
		return nil, fmt.Errorf("%w: provider %s, reseller %s", ErrMarketMismatch, p.Provider.Market, p.Reseller.Market)
	}
	if len(p.Terms.Roles) == 0 {
		return nil, ErrNoRoles
	}
	r := &Relationship{
		ID:                 p.RelationshipID,
		ProviderID:         p.Provider.ID,
		ResellerID:         p.Reseller.ID,
		ResellerLocationID: p.ResellerLocationID,
		Market:             p.Provider.Market,
		State:              StateProposed,
		CreatedAt:          p.Now,
	}
	r.addRequest(p.RequestID, RequestInitial, p.Terms, p.TokenHash, p.SealedInvitation, p.CreatedBy, p.Now, pol)
	return r, nil
}

func (r *Relationship) addRequest(id string, kind RequestKind, t AccessTerms, h TokenHash, sealed []byte, by string, now time.Time, pol Policy) {
	expires := now.Add(pol.InvitationTTL)
	q := Request{
		ID: id, Kind: kind, Terms: t, TokenHash: h, Status: StatusOpen, CreatedBy: by,
		CreatedAt: now, ExpiresAt: expires, RemindAt: later(now, expires.Add(-pol.ReminderLead)),
	}
	r.Requests = append(r.Requests, q)
	r.record(RequestCreated{
		EventHeader: r.header(now), RequestID: id, Kind: kind, Market: r.Market,
		Roles: t.Roles.Strings(), DurationDays: t.DurationDays, AutoExtend: t.AutoExtend,
		ExpiresAt: expires, CreatedBy: by, SealedInvitation: slices.Clone(sealed),
	})
}

// PendingRequest returns the request awaiting an answer, if any (at most one).
func (r *Relationship) PendingRequest() *Request {
	for i := range r.Requests {
		if r.Requests[i].Pending() {
			return &r.Requests[i]
		}
	}
	return nil
}

// Invitation returns the request behind a token if it can still be answered at
// now; otherwise one of ErrInvitationUnknown, ErrInvitationExpired (also when
// the expiry timer has not fired yet), ErrInvitationUsed, ErrInvitationWithdrawn.
func (r *Relationship) Invitation(h TokenHash, now time.Time) (*Request, error) {
	var q *Request
	for i := range r.Requests {
		if r.Requests[i].TokenHash == h {
			q = &r.Requests[i]
		}
	}
	if q == nil {
		return nil, ErrInvitationUnknown
	}
	switch q.Status {
	case StatusAccepted, StatusDeclined:
		return nil, ErrInvitationUsed
	case StatusExpired:
		return nil, ErrInvitationExpired
	case StatusWithdrawn:
		return nil, ErrInvitationWithdrawn
	}
	if !now.Before(q.ExpiresAt) {
		return nil, ErrInvitationExpired
	}
	return q, nil
}

// Answered returns the request behind h when by answered it: the answer
// sent again — its answer lost on the way back — is answered the same
// instead of "already answered" (ErrInvitationUsed stays the answer to
// anyone else, and to the other answer). For an acceptance, g is the grant
// it started while that grant is still the relationship's and live (nil
// once a newer acceptance replaced it, or the relationship or grant ended).
func (r *Relationship) Answered(h TokenHash, by string) (q *Request, g *Grant, ok bool) {
	for i := range r.Requests {
		if r.Requests[i].TokenHash == h {
			q = &r.Requests[i]
		}
	}
	if q == nil || q.AnsweredBy != by || (q.Status != StatusAccepted && q.Status != StatusDeclined) {
		return nil, nil, false
	}
	if q.Status == StatusAccepted && r.Grant != nil && r.Grant.Live() && r.Grant.StartsAt.Equal(q.AnsweredAt) {
		g = r.Grant
	}
	return q, g, true
}

// Accept records the reseller's authorisation of the request behind h: the
// relationship becomes active and a new grant with the requested terms starts
// now. Accepting a widening replaces the live grant (which is terminated as
// superseded) rather than mutating it, so consumers see a clean grant per consent.
func (r *Relationship) Accept(h TokenHash, by, grantID string, now time.Time, pol Policy) error {
	q, err := r.Invitation(h, now)
	if err != nil {
		return err
	}
	if r.State == StateActive && r.Grant != nil {
		r.tickGrant(now, pol) // a grant past its expiry must not be reported as superseded
	}
	if (q.Kind == RequestInitial && r.State != StateProposed) || (q.Kind == RequestWiden && r.State != StateActive) {
		return ErrRelationshipNotActive
	}
	q.Status, q.AnsweredAt, q.AnsweredBy = StatusAccepted, now, by
	old := r.Grant
	expires := now.Add(q.Terms.Duration())
	g := &Grant{
		ID: grantID, Roles: q.Terms.Roles, DurationDays: q.Terms.DurationDays, AutoExtend: q.Terms.AutoExtend,
		StartsAt: now, ExpiresAt: expires, ExpiringAt: later(now, expires.Add(-pol.ExpiringLead)), State: GrantActive,
	}
	r.State, r.Grant = StateActive, g
	r.record(RequestAccepted{EventHeader: r.header(now), RequestID: q.ID, Kind: q.Kind, Roles: g.Roles.Strings(), AcceptedBy: by})
	granted := AccessGranted{
		EventHeader: r.header(now), GrantID: g.ID, Roles: g.Roles.Strings(),
		StartsAt: g.StartsAt, ExpiresAt: g.ExpiresAt, AutoExtend: g.AutoExtend,
	}
	if old != nil && old.Live() {
		granted.Supersedes = old.ID
	}
	r.record(granted)
	if old != nil && old.Live() {
		old.State, old.EndedAt = GrantTerminated, now
		r.record(AccessTerminated{EventHeader: r.header(now), GrantID: old.ID, Reason: TerminatedSuperseded})
	}
	return nil
}

// Decline records the reseller's refusal. Declining a first request closes the
// relationship; declining a widening leaves the current grant as it is.
func (r *Relationship) Decline(h TokenHash, by, reason string, now time.Time) error {
	reason, err := cleanReason(reason)
	if err != nil {
		return err
	}
	q, err := r.Invitation(h, now)
	if err != nil {
		return err
	}
	q.Status, q.AnsweredAt, q.AnsweredBy = StatusDeclined, now, by
	if q.Kind == RequestInitial && r.State == StateProposed {
		r.State = StateDeclined
	}
	r.record(RequestDeclined{EventHeader: r.header(now), RequestID: q.ID, Kind: q.Kind, DeclinedBy: by, Reason: reason})
	return nil
}

// Defer records that the reseller will answer later. The request stays open
// until it expires; deferring again changes nothing and records nothing.
func (r *Relationship) Defer(h TokenHash, by string, now time.Time) error {
	q, err := r.Invitation(h, now)
	if err != nil {
		return err
	}
	if q.Status == StatusDeferred {
		return nil
	}
	q.Status, q.DeferredAt = StatusDeferred, now
	r.record(RequestDeferred{EventHeader: r.header(now), RequestID: q.ID, DeferredBy: by, ExpiresAt: q.ExpiresAt})
	return nil
}

// Widening is a provider's request for more access on an active relationship.
type Widening struct {
	RequestID        string
	Terms            AccessTerms
	TokenHash        TokenHash
	SealedInvitation []byte // as in Proposal
	CreatedBy        string
	Now              time.Time
}

// RequestWider opens a request that needs the reseller's fresh consent. While
// a grant is live the terms must add at least one role; once the grant has
// expired any terms may be asked for (it is then a renewal).
func (r *Relationship) RequestWider(w Widening, pol Policy) error {
	r.Tick(w.Now, pol) // let overdue timers catch up: they decide what is pending or live
	if r.State != StateActive {
		return ErrRelationshipNotActive
	}
	if r.PendingRequest() != nil {
		return ErrRequestPending
	}
	if len(w.Terms.Roles) == 0 {
		return ErrNoRoles
	}
	if r.Grant != nil && r.Grant.Live() && len(w.Terms.Roles.Minus(r.Grant.Roles)) == 0 {
		return ErrNotWider
	}
	r.addRequest(w.RequestID, RequestWiden, w.Terms, w.TokenHash, w.SealedInvitation, w.CreatedBy, w.Now, pol)
	return nil
}

// Narrow removes roles from the live grant at once; no consent is needed to
// give up access. roles is what remains and must be a strict, non-empty subset.
func (r *Relationship) Narrow(roles RoleSet, side Side, subject string, now time.Time) error {
	if r.State != StateActive {
		return ErrRelationshipNotActive
	}
	g := r.Grant
	if g == nil || !g.StateAt(now).live() {
		return ErrGrantNotActive
	}
	if len(roles) == 0 || !roles.SubsetOf(g.Roles) || len(roles) == len(g.Roles) {
		return ErrNotNarrower
	}
	removed := g.Roles.Minus(roles)
	g.Roles = roles
	r.record(AccessNarrowed{
		EventHeader: r.header(now), GrantID: g.ID, Roles: roles.Strings(), Removed: removed.Strings(),
		NarrowedBy: side, Subject: subject,
	})
	return nil
}

// End ends an active relationship on behalf of one side and terminates the
// grant at once. Ending an already ended relationship is a no-op that reports
// already=true and records nothing: with the repository serialising updates,
// two concurrent ends (one per side, or a double click) yield exactly one
// RelationshipEnded, and the first reason is the one kept.
func (r *Relationship) End(side Side, subject, reason string, now time.Time) (already bool, err error) {
	reason, err = cleanReason(reason)
	switch {
	case err != nil:
		return false, err
	case reason == "":
		return false, ErrReasonRequired
	}
	if r.State == StateEnded {
		return true, nil
	}
	if r.State != StateActive {
		return false, ErrRelationshipNotActive
	}
	r.State, r.EndedAt, r.EndedBy, r.EndedBySubject, r.EndReason = StateEnded, now, side, subject, reason
	if q := r.PendingRequest(); q != nil {
		q.Status = StatusWithdrawn
	}
	r.record(RelationshipEnded{EventHeader: r.header(now), EndedBy: side, EndedBySubject: subject, Reason: reason, Cause: EndChosen,
		AccessTerminated: r.Grant != nil && r.Grant.Live()})
	if g := r.Grant; g != nil && g.Live() {
		g.State, g.EndedAt = GrantTerminated, now
		r.record(AccessTerminated{EventHeader: r.header(now), GrantID: g.ID, Reason: TerminatedRelationshipEnded})
	}
	return false, nil
}

// SuspendAccess holds the live grant while side is not in good standing
// (reasons: registration's). A suspended or ended grant changes nothing.
func (r *Relationship) SuspendAccess(side Side, reasons []string, now time.Time) bool {
	g := r.Grant
	if r.State != StateActive || g == nil || !g.Live() || g.Suspended {
		return false
	}
	g.Suspended, g.SuspendedAt, g.SuspendedBy = true, now, side
	r.record(AccessSuspended{EventHeader: r.header(now), GrantID: g.ID, Side: side, Reasons: reasons})
	return true
}

// ReinstateAccess lifts the suspension once both parties are in good
// standing again. The grant's term ran on meanwhile: one that expired while
// suspended is expired (AccessExpired), not reinstated.
func (r *Relationship) ReinstateAccess(now time.Time, pol Policy) bool {
	g := r.Grant
	if r.State != StateActive || g == nil || !g.Suspended {
		return false
	}
	r.tickGrant(now, pol)
	side := g.SuspendedBy
	g.Suspended, g.SuspendedAt, g.SuspendedBy = false, time.Time{}, ""
	if g.Live() {
		r.record(AccessReinstated{EventHeader: r.header(now), GrantID: g.ID, ExpiresAt: g.ExpiresAt, Side: side})
	}
	return true
}

// CloseFor ends an open relationship because side's partner account was
// closed (by its administrator or an operator): an active one ends as if
// that side ended it, its grant terminated; a proposed one ends with its
// invitation withdrawn. Both parties learn it from RelationshipEnded.
func (r *Relationship) CloseFor(side Side, subject, reason string, now time.Time) bool {
	if r.State != StateActive && r.State != StateProposed {
		return false
	}
	if subject == "" {
		subject = "registration"
	}
	proposed := r.State == StateProposed
	r.State, r.EndedAt, r.EndedBy, r.EndedBySubject, r.EndReason = StateEnded, now, side, subject, reason
	if q := r.PendingRequest(); q != nil {
		q.Status = StatusWithdrawn
	}
	r.record(RelationshipEnded{EventHeader: r.header(now), EndedBy: side, EndedBySubject: subject, Reason: reason, Cause: EndAccountClosed,
		AccessTerminated: r.Grant != nil && r.Grant.Live(), InvitationWithdrawn: proposed})
	if g := r.Grant; g != nil && g.Live() {
		g.State, g.EndedAt, g.Suspended = GrantTerminated, now, false
		r.record(AccessTerminated{EventHeader: r.header(now), GrantID: g.ID, Reason: TerminatedRelationshipEnded})
	}
	return true
}

// Tick fires every timer due at now: request reminder and expiry, grant
// expiring, expiry or auto-extension. It is idempotent (a timer fires once)
// and catches up after downtime: a request found past expiry expires without
// a late reminder, a grant found past expiry expires without a late "expiring".
func (r *Relationship) Tick(now time.Time, pol Policy) {
	if q := r.PendingRequest(); q != nil {
		switch {
		case !now.Before(q.ExpiresAt):
			q.Status = StatusExpired
			if q.Kind == RequestInitial && r.State == StateProposed {
				r.State = StateLapsed
			}
			r.record(RequestExpired{EventHeader: r.header(now), RequestID: q.ID, Kind: q.Kind})
		case q.RemindedAt.IsZero() && !now.Before(q.RemindAt):
			q.RemindedAt = now
			r.record(RequestReminderDue{EventHeader: r.header(now), RequestID: q.ID, ExpiresAt: q.ExpiresAt})
		}
	}
	if r.State == StateActive && r.Grant != nil {
		r.tickGrant(now, pol)
	}
}

func (r *Relationship) tickGrant(now time.Time, pol Policy) {
	g := r.Grant
	if !g.Live() {
		return
	}
	if !now.Before(g.ExpiresAt) {
		if !g.AutoExtend {
			g.State, g.EndedAt = GrantExpired, g.ExpiresAt
			r.record(AccessExpired{EventHeader: r.header(now), GrantID: g.ID, ExpiresAt: g.ExpiresAt})
			return
		}
		prev := g.ExpiresAt
		for !now.Before(g.ExpiresAt) { // several periods may have passed while no poller ran
			g.ExpiresAt = g.ExpiresAt.Add(time.Duration(g.DurationDays) * 24 * time.Hour)
		}
		start := g.ExpiresAt.Add(-time.Duration(g.DurationDays) * 24 * time.Hour)
		g.ExpiringAt, g.State = later(start, g.ExpiresAt.Add(-pol.ExpiringLead)), GrantActive
		r.record(AccessExtended{EventHeader: r.header(now), GrantID: g.ID, PreviousExpiresAt: prev, ExpiresAt: g.ExpiresAt})
	}
	if g.State == GrantActive && !now.Before(g.ExpiringAt) {
		g.State = GrantExpiring
		r.record(AccessExpiring{EventHeader: r.header(now), GrantID: g.ID, ExpiresAt: g.ExpiresAt, AutoExtend: g.AutoExtend})
	}
}

// NextDueAt returns the earliest instant at which Tick has something to do,
// or the zero time when nothing is scheduled. The repository stores it (an
// indexed column) so that a poller finds due relationships across restarts.
func (r *Relationship) NextDueAt() time.Time {
	var due time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	if q := r.PendingRequest(); q != nil && !r.State.Closed() {
		if q.RemindedAt.IsZero() {
			consider(q.RemindAt)
		}
		consider(q.ExpiresAt)
	}
	if g := r.Grant; r.State == StateActive && g != nil && g.Live() {
		if g.State == GrantActive {
			consider(g.ExpiringAt)
		}
		consider(g.ExpiresAt)
	}
	return due
}

// PullEvents returns the events recorded since the last pull and forgets them.
func (r *Relationship) PullEvents() []Event {
	ev := r.events
	r.events = nil
	return ev
}

func (r *Relationship) record(e Event) { r.events = append(r.events, e) }

func (r *Relationship) header(now time.Time) EventHeader {
	return EventHeader{
		RelationshipID: r.ID, ProviderID: r.ProviderID, ResellerID: r.ResellerID,
		ResellerLocationID: r.ResellerLocationID, OccurredAt: now,
	}
}
