package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// SecurityReportCmd is an upstream system's security requirements report
// for a partner's tenant (seed 003's status report).
type SecurityReportCmd struct {
	PartnerID               string
	Status                  string // compliant | noncompliant
	MFAEnforcedUsersPercent *float64
	MFARequestsPercent      *float64
	MeasuredAt              *time.Time // nil: now
}

// ReportSecurityStatus records the report: a noncompliant tenant is
// suspended (hold mfa_noncompliant: it may not transact, seed 003) until a
// report says it complies. A report measured before the applied one
// changes nothing. Callers: upstream systems and operators.
func (a *App) ReportSecurityStatus(ctx context.Context, p auth.Principal, cmd SecurityReportCmd) (LifecycleResult, error) {
	if err := p.Require(auth.RoleUpstreamSystem, auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	r := domain.SecurityReport{Status: domain.SecurityCompliance(cmd.Status), MFAEnforcedUsersPercent: cmd.MFAEnforcedUsersPercent,
		MFARequestsPercent: cmd.MFARequestsPercent, ReportedBy: p.Subject}
	var fields []apperr.FieldError
	if r.Status != domain.SecurityCompliant && r.Status != domain.SecurityNoncompliant {
		fields = append(fields, apperr.FieldError{Field: "status", Code: "security.status_invalid", Message: "must be compliant or noncompliant"})
	}
	for _, share := range []struct {
		field string
		v     *float64
	}{{"mfa_enforced_users_percent", cmd.MFAEnforcedUsersPercent}, {"mfa_requests_percent", cmd.MFARequestsPercent}} {
		if share.v != nil && (*share.v < 0 || *share.v > 100) {
			fields = append(fields, apperr.FieldError{Field: share.field, Code: "security.percent_out_of_range", Message: "must be a percentage from 0 to 100"})
		}
	}
	// An explicit zero time (0001-01-01T00:00:00Z, a client's unset
	// timestamp) was read as "not given" and recorded as measured now.
	if cmd.MeasuredAt != nil {
		if cmd.MeasuredAt.IsZero() {
			fields = append(fields, apperr.FieldError{Field: "measured_at", Code: "security.measured_at_invalid", Message: "must be when the status was measured (omit it for now), not the zero time"})
		}
		r.MeasuredAt = cmd.MeasuredAt.UTC().Truncate(time.Microsecond)
	}
	if len(fields) > 0 {
		return LifecycleResult{}, apperr.Invalid(CodeInvalidInput, "invalid security requirements report", fields...)
	}
	return a.change(ctx, p, cmd.PartnerID, "report security status", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		if r.MeasuredAt.IsZero() {
			r.MeasuredAt = now
		}
		if r.MeasuredAt.After(now.Add(time.Minute)) {
			return false, apperr.Invalid(CodeInvalidInput, "invalid security requirements report",
				apperr.FieldError{Field: "measured_at", Code: "security.measured_in_future", Message: "lies in the future"})
		}
		return partner.ReportSecurity(r, now)
	})
}

// SecurityView is a partner's security requirements status and whether it
// keeps the partner from transacting.
type SecurityView struct {
	PartnerID domain.PartnerID `json:"partner_id"`
	domain.SecurityStatus
	// Gating is true while the tenant's noncompliance suspends the partner.
	Gating bool `json:"gating"`
	// MFARequired says whether the privileged actions require MFA here.
	Requirement string `json:"requirement"`
}

// GetSecurityStatus returns the partner's security requirements status.
// Callers: the partner's users and staff (others get not found).
func (a *App) GetSecurityStatus(ctx context.Context, p auth.Principal, partnerID string) (SecurityView, error) {
	s, err := a.load(ctx, p, partnerID)
	if err != nil {
		return SecurityView{}, err
	}
	_, gating := s.Standing.Hold(domain.ReasonMFANoncompliant)
	return SecurityView{PartnerID: s.ID, SecurityStatus: s.Security, Gating: gating,
		Requirement: "every user of the partner tenant signs in with multi-factor authentication (no exclusions)"}, nil
}
