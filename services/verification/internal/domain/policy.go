package domain

import (
	"errors"
	"time"
)

// Policy holds the tunable rules of verification.
type Policy struct {
	// ReviewBusinessDays is the SLA of a review task.
	ReviewBusinessDays int
	// ApplicantBusinessDays is how long an applicant has to upload documents.
	ApplicantBusinessDays int
	// LeaseDuration is how long a claim protects a task.
	LeaseDuration time.Duration
	// MaxCompanyDocumentAgeMonths bounds the issue date of company documents.
	MaxCompanyDocumentAgeMonths int
	// AppealLimit is how many document submissions one check accepts.
	AppealLimit int
	// AutoPassEmploymentOnRegisterWebsite passes the employment check when
	// the contact e-mail's domain is (a subdomain of) the website the
	// company register lists for the company — never the website typed in.
	AutoPassEmploymentOnRegisterWebsite bool
	// ReminderLeads are the times before a document deadline at which the
	// applicant is reminded.
	ReminderLeads []time.Duration
	// MaxDocumentBytes bounds a document's size.
	MaxDocumentBytes int64
	// MediaTypes are the accepted document media types.
	MediaTypes []string
}

// DefaultPolicy is the policy of DOMAIN.md §3 and the issue.
func DefaultPolicy() Policy {
	return Policy{
		ReviewBusinessDays:                  3,
		ApplicantBusinessDays:               10,
		LeaseDuration:                       30 * time.Minute,
		MaxCompanyDocumentAgeMonths:         12,
		AppealLimit:                         3,
		AutoPassEmploymentOnRegisterWebsite: true,
		ReminderLeads:                       []time.Duration{72 * time.Hour, 24 * time.Hour},
		MaxDocumentBytes:                    20 << 20,
		MediaTypes:                          []string{"application/pdf", "image/jpeg", "image/png"},
	}
}

// Validate reports every invalid setting.
func (p Policy) Validate() error {
	var errs []error
	if p.ReviewBusinessDays < 1 {
		errs = append(errs, errors.New("ReviewBusinessDays must be at least 1"))
	}
	if p.ApplicantBusinessDays < 1 {
		errs = append(errs, errors.New("ApplicantBusinessDays must be at least 1"))
	}
	if p.LeaseDuration <= 0 {
		errs = append(errs, errors.New("LeaseDuration must be positive"))
	}
	if p.MaxCompanyDocumentAgeMonths < 1 {
		errs = append(errs, errors.New("MaxCompanyDocumentAgeMonths must be at least 1"))
	}
	if p.AppealLimit < 1 {
		errs = append(errs, errors.New("AppealLimit must be at least 1"))
	}
	for _, l := range p.ReminderLeads {
		if l <= 0 {
			errs = append(errs, errors.New("ReminderLeads must be positive"))
			break
		}
	}
	if p.MaxDocumentBytes <= 0 {
		errs = append(errs, errors.New("MaxDocumentBytes must be positive"))
	}
	if len(p.MediaTypes) == 0 {
		errs = append(errs, errors.New("MediaTypes must not be empty"))
	}
	return errors.Join(errs...)
}

// Rules are the policy and the market's business calendar that the
// aggregate's time-dependent rules need.
type Rules struct {
	Policy   Policy
	Calendar Calendar
}
