package domain

import "time"

// TaskStatus is the life of a review task.
type TaskStatus string

// Task statuses.
const (
	TaskOpen                TaskStatus = "open"
	TaskPendingConfirmation TaskStatus = "pending_confirmation" // a FINAL rejection awaits a second verifier
	TaskDecided             TaskStatus = "decided"
	TaskCancelled           TaskStatus = "cancelled" // the case closed first
)

// TaskContent is everything a verifier needs to decide a task.
type TaskContent struct {
	PartnerID     string          `json:"partner_id"`
	LocationID    string          `json:"location_id,omitempty"`
	Market        string          `json:"market"`
	Check         CheckKind       `json:"check"`
	Submitted     CompanyFacts    `json:"submitted"`
	Normalized    NormalizedFacts `json:"normalized"`
	ContactEmail  string          `json:"contact_email"`
	ContactDomain string          `json:"contact_domain"`
	WebsiteDomain string          `json:"website_domain,omitempty"`
	PreCheck      *PreCheck       `json:"pre_check,omitempty"`
	// RespondsTo is the reason the applicant's documents answer, if any.
	RespondsTo ReasonCode `json:"responds_to,omitempty"`
	Documents  []Document `json:"documents,omitempty"`
	DueAt      time.Time  `json:"due_at"`
	// ProfileChange is the number of the registration profile change whose
	// proposed facts the task reviews (0: the registration's own review).
	ProfileChange int `json:"profile_change,omitempty"`
	// EarlierAccounts are the company's earlier accounts (the case's).
	EarlierAccounts []EarlierAccount `json:"earlier_accounts,omitempty"`
}

// ReviewTask is a unit of work for a verifier, owned by its Case.
type ReviewTask struct {
	ID         string      `json:"id"`
	Check      CheckKind   `json:"check"`
	Round      int         `json:"round"`
	Status     TaskStatus  `json:"status"`
	CreatedAt  time.Time   `json:"created_at"`
	DueAt      time.Time   `json:"due_at"`
	ClaimedBy  string      `json:"claimed_by,omitempty"`
	LeaseUntil time.Time   `json:"lease_until,omitzero"`
	ProposedBy string      `json:"proposed_by,omitempty"` // first verifier of a FINAL rejection
	Proposal   string      `json:"proposal,omitempty"`    // its decision id
	Overdue    bool        `json:"overdue,omitempty"`     // the escalation was emitted
	DecidedAt  time.Time   `json:"decided_at,omitzero"`
	Content    TaskContent `json:"content"`
}

// Active reports whether the task still awaits a decision.
func (t *ReviewTask) Active() bool {
	return t.Status == TaskOpen || t.Status == TaskPendingConfirmation
}

// ClaimedAt reports whether t is held by a live lease at now, and by whom.
func (t *ReviewTask) ClaimedAt(now time.Time) (string, bool) {
	if t.ClaimedBy != "" && now.Before(t.LeaseUntil) {
		return t.ClaimedBy, true
	}
	return "", false
}
