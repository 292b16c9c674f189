package domain

import "time"

// Event is a domain event recorded by the Relationship aggregate. The
// repository adapter writes pulled events to the outbox in the same
// transaction as the state change; the events adapter maps them to the
// published CloudEvent payloads.
type Event interface {
	// EventName is the stable name of the fact, e.g. "RequestCreated".
	EventName() string
	// AggregateID is the relationship the fact belongs to.
	AggregateID() string
	// Header returns the parties and time common to every event (the
	// published subject is the reseller's global ID in it).
	Header() EventHeader
}

// EventHeader is common to every relationship event: who the two parties are
// and when the fact happened.
type EventHeader struct {
	RelationshipID     string
	ProviderID         string // global ID
	ResellerID         string // global ID
	ResellerLocationID string
	OccurredAt         time.Time
}

// AggregateID implements Event.
func (h EventHeader) AggregateID() string { return h.RelationshipID }

// Header implements Event.
func (h EventHeader) Header() EventHeader { return h }

// RequestKind tells a first request from a request for wider access.
type RequestKind string

// Request kinds.
const (
	RequestInitial RequestKind = "initial"
	RequestWiden   RequestKind = "widen"
)

// RequestCreated: a provider asked a reseller for a relationship or for wider
// access. The invitation token is deliberately absent in clear: the
// provider receives the link once in the command result, and the notifier,
// which mails it to the reseller, gets it sealed to its key.
type RequestCreated struct {
	EventHeader
	RequestID        string
	Kind             RequestKind
	Market           string
	Roles            []string
	DurationDays     int
	AutoExtend       bool
	ExpiresAt        time.Time
	CreatedBy        string // subject of the provider_admin
	SealedInvitation []byte // the link, sealed to the notifier; nil without one
}

// RequestAccepted: the reseller's administrator consented and authorised.
type RequestAccepted struct {
	EventHeader
	RequestID  string
	Kind       RequestKind
	Roles      []string
	AcceptedBy string
}

// RequestDeclined: the reseller's administrator refused.
type RequestDeclined struct {
	EventHeader
	RequestID  string
	Kind       RequestKind
	DeclinedBy string
	Reason     string
}

// RequestDeferred: the reseller will answer later; the request stays open.
type RequestDeferred struct {
	EventHeader
	RequestID  string
	DeferredBy string
	ExpiresAt  time.Time
}

// RequestExpired: nobody answered before the invitation expired.
type RequestExpired struct {
	EventHeader
	RequestID string
	Kind      RequestKind
}

// RequestUndelivered: the request's mail to the reseller did not arrive
// while it awaits an answer (EventHeader.OccurredAt: when the notifier gave
// up); the provider is told.
type RequestUndelivered struct {
	EventHeader
	RequestID string
	Kind      RequestKind
	Template  string
	Reason    string
}

// RequestReminderDue: an unanswered request expires soon; the notifier tells
// the reseller. Published at most once per request.
type RequestReminderDue struct {
	EventHeader
	RequestID string
	ExpiresAt time.Time
}

// Side names one of the two parties of a relationship.
type Side string

// The two sides.
const (
	SideProvider Side = "provider"
	SideReseller Side = "reseller"
)

// Program is the program whose enrollment gives the side its part in a
// relationship.
func (s Side) Program() Program {
	if s == SideProvider {
		return ProgramIndirectProvider
	}
	return ProgramIndirectReseller
}

// Other is the other side.
func (s Side) Other() Side {
	if s == SideProvider {
		return SideReseller
	}
	return SideProvider
}

// RelationshipEnded: one side ended the relationship, by its choice
// (End) or because its partner account was closed (CloseFor).
type RelationshipEnded struct {
	EventHeader
	EndedBy        Side
	EndedBySubject string
	Reason         string
	Cause          EndCause
	// AccessTerminated: a live grant ends with it (AccessTerminated
	// follows); InvitationWithdrawn: it was proposed, its invitation pending.
	AccessTerminated    bool
	InvitationWithdrawn bool
}

// EndCause tells why a relationship ended.
type EndCause string

// End causes.
const (
	EndChosen        EndCause = "chosen"         // a side's administrator ended it
	EndAccountClosed EndCause = "account_closed" // a side's partner account was closed
)

// AccessGranted: delegated access starts. Supersedes names the grant it
// replaces after a widening (that grant is terminated in the same change).
type AccessGranted struct {
	EventHeader
	GrantID    string
	Roles      []string
	StartsAt   time.Time
	ExpiresAt  time.Time
	AutoExtend bool
	Supersedes string
}

// AccessExpiring: the grant expires at ExpiresAt; if AutoExtend it will renew.
type AccessExpiring struct {
	EventHeader
	GrantID    string
	ExpiresAt  time.Time
	AutoExtend bool
}

// AccessExtended: an auto-extending grant renewed itself at expiry.
type AccessExtended struct {
	EventHeader
	GrantID           string
	PreviousExpiresAt time.Time
	ExpiresAt         time.Time
}

// AccessExpired: the grant ran out; access must be removed.
type AccessExpired struct {
	EventHeader
	GrantID   string
	ExpiresAt time.Time
}

// Reasons a grant is terminated before it expires.
const (
	TerminatedRelationshipEnded = "relationship_ended"
	TerminatedSuperseded        = "superseded"
)

// AccessTerminated: the grant ended early; access must be removed at once.
type AccessTerminated struct {
	EventHeader
	GrantID string
	Reason  string // TerminatedRelationshipEnded or TerminatedSuperseded
}

// AccessNarrowed: roles were removed from a live grant, effective at once.
type AccessNarrowed struct {
	EventHeader
	GrantID    string
	Roles      []string // what remains
	Removed    []string
	NarrowedBy Side
	Subject    string
}

// AccessSuspended: a party left good standing (registration suspended it or
// it became inactive); the grant gives no access until both are active again.
type AccessSuspended struct {
	EventHeader
	GrantID string
	Side    Side     // the party whose standing suspended it
	Reasons []string // registration's standing reasons
}

// AccessReinstated: both parties are in good standing again; the grant,
// still within its term, gives access again.
type AccessReinstated struct {
	EventHeader
	GrantID   string
	ExpiresAt time.Time
	// Side is the party whose standing had suspended it (the suspension's
	// Side), empty for a grant suspended before that was recorded.
	Side Side
}

// Why a relationship ended other than by a party's choice.
const EndedPartnerClosed = "partner_closed"

func (AccessSuspended) EventName() string  { return "AccessSuspended" }
func (AccessReinstated) EventName() string { return "AccessReinstated" }

// EventName implementations.
func (RequestCreated) EventName() string     { return "RequestCreated" }
func (RequestAccepted) EventName() string    { return "RequestAccepted" }
func (RequestDeclined) EventName() string    { return "RequestDeclined" }
func (RequestDeferred) EventName() string    { return "RequestDeferred" }
func (RequestExpired) EventName() string     { return "RequestExpired" }
func (RequestReminderDue) EventName() string { return "RequestReminderDue" }
func (RequestUndelivered) EventName() string { return "RequestUndelivered" }
func (RelationshipEnded) EventName() string  { return "RelationshipEnded" }
func (AccessGranted) EventName() string      { return "AccessGranted" }
func (AccessExpiring) EventName() string     { return "AccessExpiring" }
func (AccessExtended) EventName() string     { return "AccessExtended" }
func (AccessExpired) EventName() string      { return "AccessExpired" }
func (AccessTerminated) EventName() string   { return "AccessTerminated" }
func (AccessNarrowed) EventName() string     { return "AccessNarrowed" }
