package verificationv1

import "time"

// TypeProfileCheckDecided: a verifier decided a check that a registration
// profile change re-opened (company or employment).
const TypeProfileCheckDecided = "com.partnerhub.verification.profile_check.decided.v1"

// ProfileCheckDecided tells registration the outcome of one re-opened check
// of its profile change ChangeNumber: passed, or failed with the catalog
// reason and the message for the partner. Registration applies the change
// once every re-opened check passed, and rejects it on a failed one.
type ProfileCheckDecided struct {
	CaseID           string    `json:"case_id"`
	PartnerID        string    `json:"partner_id"`
	ChangeNumber     int       `json:"change_number"`
	TaskID           string    `json:"task_id"`
	Check            string    `json:"check"`
	Outcome          string    `json:"outcome"` // passed or failed
	Reason           string    `json:"reason,omitempty"`
	ApplicantMessage string    `json:"applicant_message,omitempty"`
	DecisionID       string    `json:"decision_id"`
	Verifier         string    `json:"verifier"`
	DecidedAt        time.Time `json:"decided_at"`
}
