package domain

import (
	"errors"
	"time"
)

// Policy holds the service's time rules. The zero value is not usable; start
// from DefaultPolicy.
type Policy struct {
	// InvitationTTL is how long a request stays open.
	InvitationTTL time.Duration
	// ReminderLead is how long before a request's expiry the reminder is due.
	ReminderLead time.Duration
	// ExpiringLead is how long before a grant's expiry it enters "expiring".
	ExpiringLead time.Duration
}

// DefaultPolicy: invitations live 90 days with a reminder 7 days before they
// expire; grants announce "expiring" 14 days ahead.
func DefaultPolicy() Policy {
	return Policy{
		InvitationTTL: 90 * 24 * time.Hour,
		ReminderLead:  7 * 24 * time.Hour,
		ExpiringLead:  14 * 24 * time.Hour,
	}
}

// Validate reports every unusable setting.
func (p Policy) Validate() error {
	var errs []error
	if p.InvitationTTL <= 0 {
		errs = append(errs, errors.New("policy: InvitationTTL must be positive"))
	}
	if p.ReminderLead <= 0 || p.ReminderLead >= p.InvitationTTL {
		errs = append(errs, errors.New("policy: ReminderLead must be positive and shorter than InvitationTTL"))
	}
	if p.ExpiringLead <= 0 {
		errs = append(errs, errors.New("policy: ExpiringLead must be positive"))
	}
	return errors.Join(errs...)
}

// later returns the later of two instants.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
