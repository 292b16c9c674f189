// Package notifierv1 is what the reference notifier publishes on the
// NOTIFIER stream. Subject and partitionkey are the global partner ID; the
// delivery is identified by the challenge id of the mail request. No payload
// carries the recipient's address or the secret.
package notifierv1

import "time"

// Event types.
const (
	TypeMailDelivered = "com.partnerhub.notifier.mail.delivered.v1"
	TypeMailFailed    = "com.partnerhub.notifier.mail.failed.v1"
	// TypeInvitationMailFailed: the mail of a relationship request to the
	// reseller could not be delivered (InvitationMailFailed).
	TypeInvitationMailFailed = "com.partnerhub.notifier.invitation_mail.failed.v1"
)

// Fail reasons of MailFailed.
const (
	ReasonPermanentError    = "permanent_error"
	ReasonChallengeExpired  = "challenge_expired"
	ReasonAttemptsExhausted = "attempts_exhausted"
	// ReasonInvitationExpired (InvitationMailFailed): the invitation
	// expired before its mail could be delivered.
	ReasonInvitationExpired = "invitation_expired"
)

// MailDelivered: the SMTP server accepted the mail for ChallengeID.
type MailDelivered struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	TemplateID   string    `json:"template_id"`
	Attempts     int       `json:"attempts"`
	DeliveredAt  time.Time `json:"delivered_at"`
}

// MailFailed: the notifier gave up on the mail (never sent after expiry).
type MailFailed struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	TemplateID   string    `json:"template_id"`
	Attempts     int       `json:"attempts"`
	Reason       string    `json:"reason"`
	LastError    string    `json:"last_error"`
	FailedAt     time.Time `json:"failed_at"`
}

// InvitationMailFailed: the notifier gave up on the mail of a provider's
// relationship request to the reseller's contact (template
// relationships.invitation or relationships.invitation_reminder). Subject:
// the reseller (PartnerID). The provider is told by relationships, which
// keeps it on the request.
type InvitationMailFailed struct {
	PartnerID      string    `json:"partner_id"`
	RelationshipID string    `json:"relationship_id"`
	RequestID      string    `json:"request_id"`
	ProviderID     string    `json:"provider_id"`
	TemplateID     string    `json:"template_id"`
	Attempts       int       `json:"attempts"`
	Reason         string    `json:"reason"`
	LastError      string    `json:"last_error"`
	FailedAt       time.Time `json:"failed_at"`
}
