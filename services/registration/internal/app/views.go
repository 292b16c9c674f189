package app

import (
	"time"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// PartnerView is what reads return about a partner: its IDs and statuses.
type PartnerView struct {
	PartnerID       domain.PartnerID     `json:"partner_id"`
	Market          domain.Country       `json:"market"`
	Status          domain.PartnerStatus `json:"status"`
	LegalName       string               `json:"legal_name"` // normalized
	Locations       []domain.Location    `json:"locations"`
	Enrollments     []domain.Enrollment  `json:"enrollments"`
	RejectionReason string               `json:"rejection_reason,omitempty"`
	CreatedAt       time.Time            `json:"created_at"`
	UpdatedAt       time.Time            `json:"updated_at"`
}

// RegistrationView is a partner with its registration as submitted and as
// normalized; SubmitRegistration and GetRegistration return it.
type RegistrationView struct {
	PartnerView
	LocationID domain.LocationID             `json:"location_id"` // the registered location
	Submitted  domain.RegistrationInput      `json:"submitted"`
	Normalized domain.NormalizedRegistration `json:"normalized"`
}

func partnerView(s domain.PartnerSnapshot) PartnerView {
	return PartnerView{
		PartnerID: s.ID, Market: s.Market, Status: s.Status, LegalName: s.Registration.Normalized.Company.LegalName,
		Locations: s.Locations, Enrollments: s.Enrollments, RejectionReason: s.RejectionReason,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

func registrationView(s domain.PartnerSnapshot) RegistrationView {
	return RegistrationView{
		PartnerView: partnerView(s), LocationID: s.Locations[0].ID,
		Submitted: s.Registration.Input, Normalized: s.Registration.Normalized,
	}
}
