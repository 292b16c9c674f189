package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ClaimWindow is how long after a refused registration its applicant may
// file a duplicate claim quoting the attempt ID.
const ClaimWindow = 30 * 24 * time.Hour

// MaxClaimStatement bounds the applicant's statement in a duplicate claim.
const MaxClaimStatement = 2000

// Sentinel errors of duplicate attempts and claims.
var (
	ErrDuplicateAttemptNotFound = errors.New("duplicate attempt not found")
	ErrClaimAlreadyFiled        = errors.New("a claim was already filed for this duplicate attempt")
	ErrClaimWindowClosed        = errors.New("the time to file a claim for this duplicate attempt has passed")
	// ErrDuplicateReleased: the partner the attempt collided with no longer
	// holds the company's identity (its account was closed, or its
	// registration rejected): there is nothing to claim, the company can
	// register again.
	ErrDuplicateReleased = errors.New("the partner this registration collided with no longer holds the company's identity")
)

// DuplicateAttempt records a registration refused as a duplicate, so that the
// applicant can later file a claim on the existing partner by quoting its ID.
// Fields are plain data for the repository; change it through FileClaim.
type DuplicateAttempt struct {
	ID                DuplicateAttemptID `json:"id"`
	Market            Country            `json:"market"`
	ExistingPartnerID PartnerID          `json:"existing_partner_id"` // internal only
	MatchedOn         []IdentityKeyKind  `json:"matched_on"`
	Registration      Registration       `json:"registration"`
	AttemptedBy       string             `json:"attempted_by"` // principal subject
	AttemptedAt       time.Time          `json:"attempted_at"`
	Claim             *DuplicateClaim    `json:"claim,omitempty"`
	// ExistingStatus is the existing partner's status as the repository
	// loaded it with the attempt (not stored with it).
	ExistingStatus PartnerStatus `json:"-"`

	events []Event
}

// DuplicateClaim is the applicant's claim to be the legal entity behind the
// existing partner; a verifier reviews it in the verification service and
// its outcome comes back here (claim_review.go).
type DuplicateClaim struct {
	ID        ClaimID   `json:"id"`
	Statement string    `json:"statement"`
	FiledBy   string    `json:"filed_by"`
	FiledAt   time.Time `json:"filed_at"`
	// Review is where the claim's review stands (nil: filed, not taken up).
	Review *ClaimReview `json:"review,omitempty"`
}

// NewDuplicateAttempt records a refused registration from the repository's
// DuplicateError.
func NewDuplicateAttempt(id DuplicateAttemptID, dup *DuplicateError, reg Registration, by string, now time.Time) *DuplicateAttempt {
	return &DuplicateAttempt{
		ID: id, Market: reg.Normalized.Market, ExistingPartnerID: dup.ExistingPartnerID,
		MatchedOn: dup.SortedMatchedOn(), Registration: reg, AttemptedBy: by, AttemptedAt: now,
	}
}

// FileClaim files the one claim an attempt may have, within ClaimWindow and
// while the existing partner holds the company's identity (a closed account
// or a rejected registration does not: ErrDuplicateReleased, the company
// may register again), and records DuplicateClaimFiled. The statement (why the applicant is the
// entity, or why it is a different one) is required.
func (a *DuplicateAttempt) FileClaim(id ClaimID, statement, by string, now time.Time) error {
	if a.Claim != nil {
		return fmt.Errorf("attempt %s: %w (%s)", a.ID, ErrClaimAlreadyFiled, a.Claim.ID)
	}
	if now.Sub(a.AttemptedAt) > ClaimWindow {
		return fmt.Errorf("attempt %s: %w", a.ID, ErrClaimWindowClosed)
	}
	if a.ExistingStatus != "" && !holdsIdentity(a.ExistingStatus) {
		return fmt.Errorf("attempt %s: partner %s is %s: %w", a.ID, a.ExistingPartnerID, a.ExistingStatus, ErrDuplicateReleased)
	}
	v := &validator{}
	statement, _ = v.text("statement", statement, true, MaxClaimStatement)
	if len(v.fields) > 0 {
		return &ValidationError{Fields: v.fields}
	}
	a.Claim = &DuplicateClaim{ID: id, Statement: statement, FiledBy: by, FiledAt: now}
	n := a.Registration.Normalized
	a.events = append(a.events, DuplicateClaimFiled{
		ClaimID: id, AttemptID: a.ID, ExistingPartnerID: a.ExistingPartnerID, Market: a.Market,
		MatchedOn: slices.Clone(a.MatchedOn),
		LegalName: LegalNameFacts{Raw: a.Registration.Input.Company.LegalName, Normalized: n.Company.LegalName},
		Contact:   n.Contact, Statement: statement, FiledBy: by, FiledAt: now,
		Address:          AddressFacts{Raw: a.Registration.Input.Company.Address, Normalized: n.Company.Address},
		CompanyPhoneE164: n.Company.PhoneE164, RegistrationNumber: n.Company.RegistrationNumber, WebsiteDomain: n.Company.WebsiteDomain,
	})
	return nil
}

// PullEvents returns the events recorded since the last pull and forgets them.
func (a *DuplicateAttempt) PullEvents() []Event {
	out := a.events
	a.events = nil
	return out
}
