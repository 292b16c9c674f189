package domain

import "time"

// Event is a domain event recorded by an Ownership. The repository adapter
// pulls them (PullEvents) and writes them to the outbox in the transaction
// that saves the state change.
type Event interface {
	// EventName is a stable name the adapter maps to a CloudEvents type.
	EventName() string
	// EnrollmentKey is the aggregate id: the CloudEvents subject.
	EnrollmentKey() string
}

// EventHeader is the part every event of this service shares.
type EventHeader struct {
	EnrollmentID string
	PartnerID    string
	Program      string
	ChallengeID  string
	OccurredAt   time.Time
}

// EnrollmentKey implements Event.
func (h EventHeader) EnrollmentKey() string { return h.EnrollmentID }

// OpenReason says why a challenge was opened.
type OpenReason string

// Open reasons.
const (
	ReasonRegistration OpenReason = "registration" // first challenge for (enrollment, address)
	ReasonResend       OpenReason = "resend"       // a resend replaced earlier challenges
	ReasonReinstated   OpenReason = "reinstated"   // the partner is active again: the challenge its suspension cancelled is restored
	// ReasonProfileChange: a profile change gave the partner a new contact
	// address, which proves itself before the change is applied (and to
	// which the enrollments not confirmed yet move once it is: FollowContact).
	ReasonProfileChange OpenReason = "profile_change"
)

// ChallengeCancelled: the partner left good standing (Standing: suspended,
// inactive or closed) while the challenge was open; nothing can be
// confirmed until it is active again, when a fresh challenge replaces it.
type ChallengeCancelled struct {
	EventHeader
	Standing string
}

func (ChallengeCancelled) EventName() string { return "challenge.cancelled" }

// ProgramMembership is the partner network membership: its enrollment
// proves the partner's contact address, and a profile change's new one.
const ProgramMembership = "partner_network"

// Why a profile change's challenge is withdrawn.
const (
	WithdrawnSuperseded = "superseded" // a newer profile change replaced the change
	WithdrawnRejected   = "rejected"   // a re-opened check rejected the change
)

// ChallengeWithdrawn: the challenge of a profile change's new address was
// withdrawn because that change will never be applied (Cause).
type ChallengeWithdrawn struct {
	EventHeader
	ProfileChange int
	Cause         string
}

func (ChallengeWithdrawn) EventName() string { return "challenge.withdrawn" }

// ChallengeOpened: a challenge was opened. It carries no secret and no hash.
type ChallengeOpened struct {
	EventHeader
	Reason      OpenReason
	ExpiresAt   time.Time
	Supersedes  []string // ids of the challenges this one superseded
	CausationID string   // id of the event that caused it ("" for a resend)
}

// VerificationMailRequested asks a notifier to deliver the mail. The secret
// travels only sealed to the notifier's public key; publish it with
// dataclassification "restricted" because of the recipient's personal data.
type VerificationMailRequested struct {
	EventHeader
	Recipient    string // the address to send to
	ContactName  string
	Language     Language
	Market       string
	TemplateID   string // TemplateVerifyEmail
	ExpiresAt    time.Time
	SealedSecret []byte // nacl/box anonymous sealed box of the pkg/sealedbox.Payload JSON
	// Reason is why the challenge was opened: a notifier holds the mail of
	// a challenge restored by a reinstatement until the standing settles.
	Reason OpenReason
	// ProfileChange is the profile change whose new address the challenge
	// proves, its resends' too (0: none).
	ProfileChange int
	// ContactChange is the applied profile change that made Recipient the
	// partner's contact, when the enrollment followed it (Recipient.NamedBy;
	// 0: none).
	ContactChange int
}

// TemplateVerifyEmail is the notifier template of the verification mail.
const TemplateVerifyEmail = "email_ownership.verify.v1"

// DataClassification of VerificationMailRequested (CloudEvents extension).
const DataClassificationRestricted = "restricted"

// ConfirmMethod says how ownership was proven.
type ConfirmMethod string

// Confirmation methods.
const (
	MethodLink ConfirmMethod = "link"
	MethodCode ConfirmMethod = "code"
)

// OwnershipConfirmed: the contact proved control of the address.
type OwnershipConfirmed struct {
	EventHeader
	Address string
	Method  ConfirmMethod
}

// ChallengeExpired: a pending challenge passed its deadline unconfirmed.
type ChallengeExpired struct {
	EventHeader
	ExpiredAt time.Time // the deadline (OccurredAt is when the timer fired)
}

// ChallengeDisputed: the recipient said "this wasn't me". It asks for review;
// it does not reject anything.
type ChallengeDisputed struct {
	EventHeader
	Address       string
	ProfileChange int // the challenge's profile change (0: none)
	ContactChange int // the applied change that named the address (Challenge.NamedBy; 0: none)
}

// ChallengeLocked: too many wrong codes; only a resend opens a new challenge.
type ChallengeLocked struct {
	EventHeader
	WrongCodes int
}

// DisputeWithdrawn: the enrollment confirmed after a dispute, which withdraws it.
type DisputeWithdrawn struct {
	EventHeader
	DisputedChallengeID string
}

// EventName implementations.
func (ChallengeOpened) EventName() string           { return "challenge.opened" }
func (VerificationMailRequested) EventName() string { return "verification_mail.requested" }
func (OwnershipConfirmed) EventName() string        { return "ownership.confirmed" }
func (ChallengeExpired) EventName() string          { return "challenge.expired" }
func (ChallengeDisputed) EventName() string         { return "challenge.disputed" }
func (ChallengeLocked) EventName() string           { return "challenge.locked" }
func (DisputeWithdrawn) EventName() string          { return "dispute.withdrawn" }
