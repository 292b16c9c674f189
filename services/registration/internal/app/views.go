package app

import (
	"slices"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/events"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// seenBy is s as p may read it: staff all of it, the partner's side without
// the notes staff wrote for staff (domain.Standing.WithoutStaffNotes) and
// without the subjects of whoever acted but our services', the upstream
// system's that registered the partner and p's own
// (events.SubjectsShownTo): who placed a hold, closed the partner (unless
// its own administrator did), requested a profile change or decided its
// checks, reported its security status.
func seenBy(p auth.Principal, s domain.PartnerSnapshot) domain.PartnerSnapshot {
	if p.IsStaff() {
		return s
	}
	s.Standing = s.Standing.WithoutStaffNotes()
	s.Registration.EarlierAccounts = nil // other accounts' history
	shown := events.SubjectsShownTo(p, s.SubmittedBy)
	for i := range s.Standing.Holds { // a clone (WithoutStaffNotes)
		events.HideSubject(&s.Standing.Holds[i].By, shown)
	}
	if s.Standing.Closure != nil && s.Standing.Closure.Reason != domain.ReasonClosedByPartner {
		// A closure's reason says who closed: the partner's own
		// administrator (shown to its side) or an operator.
		c := *s.Standing.Closure
		events.HideSubject(&c.By, shown)
		s.Standing.Closure = &c
	}
	if s.Profile.Latest != nil {
		c := *s.Profile.Latest
		c.Checks = slices.Clone(c.Checks)
		events.HideSubject(&c.RequestedBy, shown)
		for i := range c.Checks {
			events.HideSubject(&c.Checks[i].DecidedBy, shown)
		}
		s.Profile.Latest = &c
	}
	events.HideSubject(&s.Security.ReportedBy, shown)
	return s
}

// PartnerView is what reads return about a partner: its IDs and statuses.
type PartnerView struct {
	PartnerID       domain.PartnerID     `json:"partner_id"`
	Market          domain.Country       `json:"market"`
	Status          domain.PartnerStatus `json:"status"`
	LegalName       string               `json:"legal_name"` // normalized
	Locations       []domain.Location    `json:"locations"`
	Enrollments     []domain.Enrollment  `json:"enrollments"`
	RejectionReason string               `json:"rejection_reason,omitempty"`
	// Standing says why an approved partner is not active (status
	// suspended, inactive or closed), and when registration last saw it act.
	Standing  StandingView `json:"standing"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// StandingView is the standing part of a partner view.
type StandingView struct {
	Reasons        []domain.StandingReason `json:"reasons"`
	Holds          []domain.Hold           `json:"holds"`
	InactiveSince  time.Time               `json:"inactive_since,omitzero"`
	Closure        *domain.Closure         `json:"closure,omitempty"`
	ChangedAt      time.Time               `json:"changed_at,omitzero"`
	LastActivityAt time.Time               `json:"last_activity_at,omitzero"`
}

func standingView(s domain.PartnerSnapshot) StandingView {
	holds := s.Standing.Holds
	if holds == nil {
		holds = []domain.Hold{}
	}
	return StandingView{Reasons: s.Standing.Reasons(), Holds: holds, InactiveSince: s.Standing.InactiveSince,
		Closure: s.Standing.Closure, ChangedAt: s.Standing.ChangedAt, LastActivityAt: s.LastActivityAt}
}

// RegistrationView is a partner with its registration as submitted and as
// normalized; SubmitRegistration and GetRegistration return it.
type RegistrationView struct {
	PartnerView
	LocationID domain.LocationID             `json:"location_id"` // the registered location
	Submitted  domain.RegistrationInput      `json:"submitted"`
	Normalized domain.NormalizedRegistration `json:"normalized"`
	// EmailOwnership lists the enrollments whose address the e-mail
	// ownership service confirmed, in the order they were confirmed.
	EmailOwnership []EmailConfirmation `json:"email_ownership"`
	// EarlierAccounts are the company's earlier accounts named when it
	// registered (staff only: seenBy).
	EarlierAccounts []domain.EarlierAccount `json:"earlier_accounts,omitempty"`
}

// EmailConfirmation is one confirmed enrollment address.
type EmailConfirmation struct {
	EnrollmentID domain.EnrollmentID `json:"enrollment_id"`
	Address      string              `json:"address"`
	ConfirmedAt  time.Time           `json:"confirmed_at"`
}

func partnerView(s domain.PartnerSnapshot) PartnerView {
	return PartnerView{
		PartnerID: s.ID, Market: s.Market, Status: s.Status, LegalName: s.Registration.Normalized.Company.LegalName,
		Locations: s.Locations, Enrollments: s.Enrollments, RejectionReason: s.RejectionReason,
		Standing: standingView(s), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

func registrationView(s domain.PartnerSnapshot) RegistrationView {
	confirmed := []EmailConfirmation{}
	for _, e := range s.Enrollments {
		if !e.EmailConfirmedAt.IsZero() {
			confirmed = append(confirmed, EmailConfirmation{EnrollmentID: e.ID, Address: e.EmailAddress, ConfirmedAt: e.EmailConfirmedAt})
		}
	}
	slices.SortStableFunc(confirmed, func(a, b EmailConfirmation) int { return a.ConfirmedAt.Compare(b.ConfirmedAt) })
	return RegistrationView{
		PartnerView: partnerView(s), LocationID: s.Locations[0].ID,
		Submitted: s.Registration.Input, Normalized: s.Registration.Normalized, EmailOwnership: confirmed,
		EarlierAccounts: s.Registration.EarlierAccounts,
	}
}
