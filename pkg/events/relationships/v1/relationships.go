// Package relationshipsv1 is what the provider relationships service
// publishes on the RELATIONSHIPS stream. Subject and partitionkey are the
// RESELLER's global partner ID (the partner whose directory the delegated
// access is over, and the one consumers such as access control act on); the
// provider's global ID is in every payload. Invitation tokens never appear
// in clear (RequestCreated carries the link sealed to the notifier).
package relationshipsv1

import "time"

// Event types.
const (
	TypeRequestCreated     = "com.partnerhub.relationships.request.created.v1"
	TypeRequestAccepted    = "com.partnerhub.relationships.request.accepted.v1"
	TypeRequestDeclined    = "com.partnerhub.relationships.request.declined.v1"
	TypeRequestDeferred    = "com.partnerhub.relationships.request.deferred.v1"
	TypeRequestExpired     = "com.partnerhub.relationships.request.expired.v1"
	TypeRequestReminderDue = "com.partnerhub.relationships.request.reminder_due.v1"
	TypeRequestUndelivered = "com.partnerhub.relationships.request.undelivered.v1"
	TypeRelationshipEnded  = "com.partnerhub.relationships.relationship.ended.v1"
	TypeAccessGranted      = "com.partnerhub.relationships.access.granted.v1"
	TypeAccessExpiring     = "com.partnerhub.relationships.access.expiring.v1"
	TypeAccessExtended     = "com.partnerhub.relationships.access.extended.v1"
	TypeAccessExpired      = "com.partnerhub.relationships.access.expired.v1"
	TypeAccessTerminated   = "com.partnerhub.relationships.access.terminated.v1"
	TypeAccessNarrowed     = "com.partnerhub.relationships.access.narrowed.v1"
	TypeAccessSuspended    = "com.partnerhub.relationships.access.suspended.v1"
	TypeAccessReinstated   = "com.partnerhub.relationships.access.reinstated.v1"
)

// Request kinds: a first request opens a relationship, a widening asks for
// more access on an active one (or renews an expired grant).
const (
	KindInitial = "initial"
	KindWiden   = "widen"
)

// Sides of a relationship.
const (
	SideProvider = "provider"
	SideReseller = "reseller"
)

// Causes of a relationship's end (RelationshipEnded.Cause).
const (
	// EndCauseChosen: the side's administrator ended it; Reason is its
	// own words.
	EndCauseChosen = "chosen"
	// EndCauseAccountClosed: the side's partner account was closed;
	// Reason is the closure's record (written for the record, not for the
	// other party).
	EndCauseAccountClosed = "account_closed"
)

// Reasons a grant is terminated before it expires.
const (
	TerminatedRelationshipEnded = "relationship_ended"
	TerminatedSuperseded        = "superseded"
)

// Roles of the delegated-access catalog, least to most privileged.
const (
	RoleBillingReader      = "billing_reader"
	RoleSupportAgent       = "support_agent"
	RoleCustomerManagement = "customer_management"
	RoleHelpdeskAdmin      = "helpdesk_admin"
	RoleFullAdministrator  = "full_administrator"
)

// Parties is in every payload: which relationship, between whom, and when
// the fact happened.
type Parties struct {
	RelationshipID     string    `json:"relationship_id"`
	ProviderID         string    `json:"provider_id"` // global ID of the indirect provider
	ResellerID         string    `json:"reseller_id"` // global ID of the reseller (= subject)
	ResellerLocationID string    `json:"reseller_location_id"`
	OccurredAt         time.Time `json:"occurred_at"`
}

// RequestCreated: a provider asked a reseller for a relationship (kind
// initial) or for wider access (kind widen). The invitation link is handed
// to the provider once and, sealed to the notifier's public key
// (SealedInvitation: a pkg/sealedbox.Payload with the request id and the
// link; base64 in JSON), mailed to the reseller's contact: a stream reader
// without the notifier's private key learns no link.
type RequestCreated struct {
	Parties
	RequestID        string    `json:"request_id"`
	Kind             string    `json:"kind"`
	Market           string    `json:"market"`
	Roles            []string  `json:"roles"`
	DurationDays     int       `json:"duration_days"`
	AutoExtend       bool      `json:"auto_extend"`
	ExpiresAt        time.Time `json:"expires_at"` // of the invitation
	CreatedBy        string    `json:"created_by"`
	SealedInvitation []byte    `json:"sealed_invitation,omitempty"`
}

// RequestAccepted: the reseller's administrator consented and authorised;
// AccessGranted follows in the same transaction.
type RequestAccepted struct {
	Parties
	RequestID  string   `json:"request_id"`
	Kind       string   `json:"kind"`
	Roles      []string `json:"roles"`
	AcceptedBy string   `json:"accepted_by"`
}

// RequestDeclined: the reseller's administrator refused.
type RequestDeclined struct {
	Parties
	RequestID  string `json:"request_id"`
	Kind       string `json:"kind"`
	DeclinedBy string `json:"declined_by"`
	Reason     string `json:"reason"`
}

// RequestDeferred: the reseller will answer later; the request stays open
// until ExpiresAt.
type RequestDeferred struct {
	Parties
	RequestID  string    `json:"request_id"`
	DeferredBy string    `json:"deferred_by"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// RequestExpired: nobody answered before the invitation expired.
type RequestExpired struct {
	Parties
	RequestID string `json:"request_id"`
	Kind      string `json:"kind"`
}

// RequestUndelivered: the request's mail to the reseller's contact (its
// invitation or reminder, TemplateID) did not arrive while the request
// awaits an answer (the notifier gave up on it at OccurredAt, for Reason);
// the notifier tells the provider.
type RequestUndelivered struct {
	Parties
	RequestID  string `json:"request_id"`
	Kind       string `json:"kind"`
	TemplateID string `json:"template_id"`
	Reason     string `json:"reason"`
}

// RequestReminderDue: an unanswered request expires soon; the notifier
// reminds the reseller. At most once per request.
type RequestReminderDue struct {
	Parties
	RequestID string    `json:"request_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// RelationshipEnded: one side ended the relationship — by its choice, or
// because its partner account was closed (Cause says which; events before
// Cause existed have none) — and AccessTerminated follows when a grant was
// live (AccessTerminated says so; nil on events before it existed).
// InvitationWithdrawn: the relationship was still proposed, and its
// pending invitation is withdrawn (a closed account's).
type RelationshipEnded struct {
	Parties
	EndedBy             string `json:"ended_by"` // provider or reseller
	EndedBySubject      string `json:"ended_by_subject"`
	Reason              string `json:"reason"`
	Cause               string `json:"cause,omitempty"` // EndCauseChosen or EndCauseAccountClosed
	AccessTerminated    *bool  `json:"access_terminated,omitempty"`
	InvitationWithdrawn bool   `json:"invitation_withdrawn,omitempty"`
}

// AccessGranted: delegated access over the reseller's directory starts.
// Supersedes names the grant it replaces after a widening.
type AccessGranted struct {
	Parties
	GrantID    string    `json:"grant_id"`
	Roles      []string  `json:"roles"`
	StartsAt   time.Time `json:"starts_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	AutoExtend bool      `json:"auto_extend"`
	Supersedes string    `json:"supersedes,omitempty"`
}

// AccessExpiring: the grant expires at ExpiresAt (renews if AutoExtend).
type AccessExpiring struct {
	Parties
	GrantID    string    `json:"grant_id"`
	ExpiresAt  time.Time `json:"expires_at"`
	AutoExtend bool      `json:"auto_extend"`
}

// AccessExtended: an auto-extending grant renewed itself.
type AccessExtended struct {
	Parties
	GrantID           string    `json:"grant_id"`
	PreviousExpiresAt time.Time `json:"previous_expires_at"`
	ExpiresAt         time.Time `json:"expires_at"`
}

// AccessExpired: the grant ran out; access must be removed.
type AccessExpired struct {
	Parties
	GrantID   string    `json:"grant_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AccessTerminated: the grant ended early; access must be removed at once.
type AccessTerminated struct {
	Parties
	GrantID string `json:"grant_id"`
	Reason  string `json:"reason"` // relationship_ended or superseded
}

// AccessNarrowed: roles were removed from a live grant, effective at once.
type AccessNarrowed struct {
	Parties
	GrantID           string   `json:"grant_id"`
	Roles             []string `json:"roles"` // what remains
	Removed           []string `json:"removed"`
	NarrowedBy        string   `json:"narrowed_by"` // provider or reseller
	NarrowedBySubject string   `json:"narrowed_by_subject"`
}

// AccessSuspended: a party left good standing (registration suspended it,
// or it became inactive) or, since round 44, its enrollment in its side's
// program left active (its program agreement no longer in force): the grant
// gives no access until both parties may hold it again. Side is the party
// that holds it, Reasons registration's standing reasons (or the
// enrollment change's reason, agreement_reacceptance_overdue).
type AccessSuspended struct {
	Parties
	GrantID string   `json:"grant_id"`
	Side    string   `json:"side"` // provider or reseller
	Reasons []string `json:"reasons"`
}

// AccessReinstated: both parties are in good standing again and the grant,
// still within its term, gives access again.
type AccessReinstated struct {
	Parties
	GrantID   string    `json:"grant_id"`
	ExpiresAt time.Time `json:"expires_at"`
	// Side is the party whose standing had suspended the grant
	// (AccessSuspended's side): its counterpart was told of the suspension
	// and is told of this. Absent on events of grants suspended before
	// round 22.
	Side string `json:"side,omitempty"`
}
