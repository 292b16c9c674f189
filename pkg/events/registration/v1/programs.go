package registrationv1

import "time"

// Event types of a registered partner that grows: more programs, more
// locations.
const (
	TypeEnrollmentAdded = "com.partnerhub.registration.enrollment.added.v1"
	TypeLocationAdded   = "com.partnerhub.registration.location.added.v1"
)

// EnrollmentAdded: a registered partner enrolled in one more program at one
// of its locations. Its consumers treat the enrollment as one of
// ApplicationSubmitted's: e-mail ownership opens its confirmation challenge
// (to Contact.Email), verification and agreements learn of it. Status is
// pending_verification while the partner is pending, else
// pending_email_confirmation.
type EnrollmentAdded struct {
	PartnerID    string          `json:"partner_id"`
	EnrollmentID string          `json:"enrollment_id"`
	Program      string          `json:"program"`
	Status       string          `json:"status"`
	Market       string          `json:"market"`
	Language     string          `json:"language"`
	LocationID   string          `json:"location_id"`
	Support      *SupportProfile `json:"support,omitempty"`
	Contact      Contact         `json:"contact"`
	AddedBy      string          `json:"added_by"`
	AddedAt      time.Time       `json:"added_at"`
}

// LocationAdded: a registered partner added a business location with its
// own location ID (pending until the partner is approved; active at once for
// an approved partner), in its market.
type LocationAdded struct {
	PartnerID  string    `json:"partner_id"`
	LocationID string    `json:"location_id"`
	Market     string    `json:"market"`
	Status     string    `json:"status"`
	Address    Address   `json:"address"`
	AddedBy    string    `json:"added_by"`
	AddedAt    time.Time `json:"added_at"`
}
