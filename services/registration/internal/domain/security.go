package domain

import (
	"errors"
	"fmt"
	"time"
)

// SecurityCompliance is a partner tenant's standing against the partner
// security requirements (seed 003: MFA for every user, no exclusions).
type SecurityCompliance string

// Security requirement statuses: unknown until an upstream system reports.
const (
	SecurityUnknown      SecurityCompliance = "unknown"
	SecurityCompliant    SecurityCompliance = "compliant"
	SecurityNoncompliant SecurityCompliance = "noncompliant"
)

// ErrInvalidSecurityReport is returned for a report that cannot be applied.
var ErrInvalidSecurityReport = errors.New("invalid security requirements report")

// SecurityStatus is the latest security requirements report of a partner's
// tenant: the seed's status report (share of user accounts with MFA
// enforced, share of requests made with MFA) and the reporter's verdict.
type SecurityStatus struct {
	Status                  SecurityCompliance `json:"status"`
	MFAEnforcedUsersPercent *float64           `json:"mfa_enforced_users_percent,omitempty"`
	MFARequestsPercent      *float64           `json:"mfa_requests_percent,omitempty"`
	MeasuredAt              time.Time          `json:"measured_at,omitzero"`
	ReportedBy              string             `json:"reported_by,omitempty"`
	ReportedAt              time.Time          `json:"reported_at,omitzero"`
}

// SecurityReport is what an upstream system (the tenant's identity
// platform) reports.
type SecurityReport struct {
	Status                  SecurityCompliance
	MFAEnforcedUsersPercent *float64
	MFARequestsPercent      *float64
	MeasuredAt              time.Time
	ReportedBy              string
}

func (r SecurityReport) validate() error {
	if r.Status != SecurityCompliant && r.Status != SecurityNoncompliant {
		return fmt.Errorf("%w: status must be compliant or noncompliant", ErrInvalidSecurityReport)
	}
	for _, v := range []*float64{r.MFAEnforcedUsersPercent, r.MFARequestsPercent} {
		if v != nil && (*v < 0 || *v > 100) {
			return fmt.Errorf("%w: a share is a percentage from 0 to 100", ErrInvalidSecurityReport)
		}
	}
	if r.MeasuredAt.IsZero() {
		return fmt.Errorf("%w: measured_at is required", ErrInvalidSecurityReport)
	}
	return nil
}

// Security returns the partner's latest security requirements status.
func (p *Partner) Security() SecurityStatus {
	s := p.security
	if s.Status == "" {
		s.Status = SecurityUnknown
	}
	return s
}

// ReportSecurity records a security requirements report. A noncompliant
// tenant is held with ReasonMFANoncompliant (it may not transact) until a
// report says it complies. A report measured before the one applied is
// stale and changes nothing. SecurityStatusChanged is recorded when the
// verdict changes.
func (p *Partner) ReportSecurity(r SecurityReport, now time.Time) (bool, error) {
	if err := r.validate(); err != nil {
		return false, err
	}
	if p.standing.Closure != nil {
		return false, fmt.Errorf("partner %s: %w", p.id, ErrPartnerClosed)
	}
	prev := p.Security()
	if !prev.MeasuredAt.IsZero() && r.MeasuredAt.Before(prev.MeasuredAt) {
		return false, nil
	}
	p.security = SecurityStatus{Status: r.Status, MFAEnforcedUsersPercent: r.MFAEnforcedUsersPercent,
		MFARequestsPercent: r.MFARequestsPercent, MeasuredAt: r.MeasuredAt, ReportedBy: r.ReportedBy, ReportedAt: now}
	p.updatedAt = now
	if prev.Status != r.Status {
		p.record(SecurityStatusChanged{PartnerID: p.id, From: prev.Status, To: r.Status,
			MFAEnforcedUsersPercent: r.MFAEnforcedUsersPercent, MFARequestsPercent: r.MFARequestsPercent,
			MeasuredAt: r.MeasuredAt, ReportedBy: r.ReportedBy, ChangedAt: now})
	}
	var err error
	if r.Status == SecurityNoncompliant {
		_, err = p.PlaceHold(Hold{Reason: ReasonMFANoncompliant, By: r.ReportedBy,
			Note: "the partner tenant does not enforce MFA for every user (security requirements)"}, now)
	} else {
		_, err = p.LiftHold(ReasonMFANoncompliant, r.ReportedBy, "the partner tenant complies with the security requirements", now)
	}
	return true, err
}
