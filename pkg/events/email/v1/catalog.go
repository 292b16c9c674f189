package emailv1

import "time"

// The rest of the e-mail ownership catalog. Every payload names the
// enrollment and the challenge; none carries a secret or a hash, except the
// mail request, whose secret is sealed to the notifier (pkg/sealedbox).
const (
	TypeChallengeOpened           = "com.partnerhub.email.challenge.opened.v1"
	TypeVerificationMailRequested = "com.partnerhub.email.verification_mail.requested.v1"
	TypeChallengeExpired          = "com.partnerhub.email.challenge.expired.v1"
	TypeChallengeDisputed         = "com.partnerhub.email.challenge.disputed.v1"
	TypeChallengeLocked           = "com.partnerhub.email.challenge.locked.v1"
	TypeDisputeWithdrawn          = "com.partnerhub.email.dispute.withdrawn.v1"
	TypeChallengeCancelled        = "com.partnerhub.email.challenge.cancelled.v1"
	TypeChallengeWithdrawn        = "com.partnerhub.email.challenge.withdrawn.v1"
)

// DataClassificationRestricted marks VerificationMailRequested events (the
// dataclassification extension): they carry the recipient's personal data.
const DataClassificationRestricted = "restricted"

// Why a challenge was opened.
const (
	ReasonRegistration = "registration"
	ReasonResend       = "resend"
	ReasonReinstated   = "reinstated" // the partner is active again: a challenge its suspension cancelled is restored
	// ReasonProfileChange: the new contact address of a registration profile
	// change (registration.profile_change.requested) proves itself, or, once
	// the change applied, an enrollment that had not confirmed an address
	// yet moves to it.
	ReasonProfileChange = "profile_change"
)

// ChallengeOpened: a challenge (link token + 6-digit code) was opened for an
// enrollment; it supersedes the listed earlier challenges.
type ChallengeOpened struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	Reason       string    `json:"reason"` // registration or resend
	Supersedes   []string  `json:"supersedes"`
	ExpiresAt    time.Time `json:"expires_at"`
	OpenedAt     time.Time `json:"opened_at"`
}

// VerificationMailRequested asks a notifier to deliver the verification
// mail. SealedSecret (base64 in JSON) is a NaCl anonymous sealed box of a
// pkg/sealedbox.Payload for the notifier's public key: a stream reader
// without the notifier's private key learns neither link nor code. Published
// with dataclassification "restricted".
type VerificationMailRequested struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	Recipient    string    `json:"recipient"`
	ContactName  string    `json:"contact_name"`
	Language     string    `json:"language"` // ja or en
	Market       string    `json:"market"`
	TemplateID   string    `json:"template_id"`
	ExpiresAt    time.Time `json:"expires_at"`
	SealedSecret []byte    `json:"sealed_secret"`
	RequestedAt  time.Time `json:"requested_at"`
	// Reason is why the challenge was opened (ChallengeOpened's); empty
	// in events from before round 40.
	Reason string `json:"reason,omitempty"`
	// ProfileChange is the profile change whose new contact address the
	// challenge proves, a resend's too (absent: none; since round 43).
	ProfileChange int `json:"profile_change,omitempty"`
	// ContactChange is the applied profile change that made the recipient
	// the partner's contact, when the enrollment's challenge followed it
	// (a pending partner's correction, or an enrollment not confirmed yet
	// when an approved partner's change applied), on its resends too
	// (absent: none; since round 44).
	ContactChange int `json:"contact_change,omitempty"`
}

// ChallengeExpired: a pending challenge passed its deadline unconfirmed
// (fired by a durable timer).
type ChallengeExpired struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	ExpiredAt    time.Time `json:"expired_at"` // the deadline
}

// ChallengeDisputed: the recipient said "this wasn't me". It asks for
// review and rejects nothing.
type ChallengeDisputed struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	Address      string    `json:"address"`
	DisputedAt   time.Time `json:"disputed_at"`
	// ProfileChange is registration's number of the profile change whose
	// new contact address the reported mail proves (absent for the other
	// mails): upheld, the change is rejected and the verified contact stays.
	ProfileChange int `json:"profile_change,omitempty"`
	// ContactChange is registration's number of the applied profile change
	// that had made the address the partner's contact when the reported
	// mail was sent (absent for the other mails; since round 44): the
	// verifier sees that the company named it.
	ContactChange int `json:"contact_change,omitempty"`
}

// ChallengeLocked: too many wrong codes; only a resend opens a new challenge.
type ChallengeLocked struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	WrongCodes   int       `json:"wrong_codes"`
	LockedAt     time.Time `json:"locked_at"`
}

// DisputeWithdrawn: the enrollment confirmed after a dispute, which
// withdraws it; ChallengeID is the confirming challenge.
type DisputeWithdrawn struct {
	PartnerID           string    `json:"partner_id"`
	EnrollmentID        string    `json:"enrollment_id"`
	Program             string    `json:"program"`
	ChallengeID         string    `json:"challenge_id"`
	DisputedChallengeID string    `json:"disputed_challenge_id"`
	WithdrawnAt         time.Time `json:"withdrawn_at"`
}

// ChallengeCancelled: the partner left good standing (Standing: suspended,
// inactive or closed, as registration published it) while the challenge was
// open; nothing is confirmed until the partner is active again, when a fresh
// challenge (reason reinstated) replaces it — except after a closure.
type ChallengeCancelled struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	Standing     string    `json:"standing"`
	CancelledAt  time.Time `json:"cancelled_at"`
}

// Why a profile change's challenge was withdrawn.
const (
	WithdrawnSuperseded = "superseded" // a newer profile change replaced the change before the address was confirmed
	WithdrawnRejected   = "rejected"   // a re-opened check failed: the change was rejected
)

// ChallengeWithdrawn: the open challenge of a registration profile change's
// new contact address (reason profile_change, or its resend) was withdrawn
// because that change will never be applied: a newer change replaced it
// (Cause superseded; a newer change with the same new address keeps the
// challenge instead), or a check rejected it (Cause rejected). Its link and
// code confirm nothing any more.
type ChallengeWithdrawn struct {
	PartnerID     string    `json:"partner_id"`
	EnrollmentID  string    `json:"enrollment_id"`
	Program       string    `json:"program"`
	ChallengeID   string    `json:"challenge_id"`
	ProfileChange int       `json:"profile_change"` // registration's change number
	Cause         string    `json:"cause"`          // superseded or rejected
	WithdrawnAt   time.Time `json:"withdrawn_at"`
}
