package domain

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// A Review is verifier work that belongs to no verification case: a
// duplicate claim filed with registration (is the claimant the company
// behind the existing partner?) or a "this wasn't me" dispute of a
// confirmation mail (is the address really not the contact's?). Cases own
// their review tasks; a review is its own small aggregate with the same
// lease-then-decide life, listed and decided through its own routes.

// ReviewKind is what a review decides.
type ReviewKind string

// Review kinds.
const (
	ReviewDuplicateClaim ReviewKind = "duplicate_claim"
	ReviewEmailDispute   ReviewKind = "email_dispute"
)

// Valid reports whether k is a known kind.
func (k ReviewKind) Valid() bool { return k == ReviewDuplicateClaim || k == ReviewEmailDispute }

// ReviewStatus is the life of a review.
type ReviewStatus string

// Review statuses.
const (
	ReviewOpen      ReviewStatus = "open"
	ReviewDecided   ReviewStatus = "decided"
	ReviewCancelled ReviewStatus = "cancelled" // the dispute was withdrawn by a confirmation first
)

// ReviewOutcome is a review's decision.
type ReviewOutcome string

// Review outcomes: a claim is upheld or refused, a dispute upheld or dismissed.
const (
	ReviewUpheld    ReviewOutcome = "upheld"
	ReviewRefused   ReviewOutcome = "refused"
	ReviewDismissed ReviewOutcome = "dismissed"
)

// ReviewReasons are the reason codes a refused claim or a dismissed dispute
// carries, with the text the claimant or partner is told.
var ReviewReasons = map[ReviewKind]map[ReasonCode]string{
	ReviewDuplicateClaim: {
		"not_the_registered_company": "The claimant was not shown to be the company registered as the existing partner.",
		"insufficient_evidence":      "The statement does not show a link between the claimant and the existing partner.",
		"fraud_suspected":            "The claim could not be accepted; contact partner support.",
	},
	ReviewEmailDispute: {
		"address_belongs_to_contact": "The address was found to belong to the partner's registered contact.",
		"insufficient_evidence":      "The dispute gave no reason to remove the address.",
	},
}

// MaxReviewMessage bounds a verifier's message and internal note.
const MaxReviewMessage = 2000

// Review errors.
var (
	ErrReviewNotFound        = &Error{Code: "verification.review_not_found", Message: "no such review"}
	ErrReviewClaimed         = &Error{Code: "verification.review_claimed", Message: "the review is claimed by another verifier"}
	ErrReviewNotClaimed      = &Error{Code: "verification.review_not_claimed", Message: "the review is not claimed by the decider"}
	ErrReviewClosed          = &Error{Code: "verification.review_closed", Message: "the review is already decided or cancelled"}
	ErrInvalidReviewDecision = &Error{Code: "verification.invalid_review_decision", Message: "the review decision is invalid"}
)

// ClaimantFacts are the facts of the registration refused as a duplicate
// (Submitted: as written, where the claim's event carried them).
type ClaimantFacts struct {
	LegalName           string       `json:"legal_name"`
	LegalNameNormalized string       `json:"legal_name_normalized"`
	Submitted           CompanyFacts `json:"submitted"`
	WebsiteDomain       string       `json:"website_domain,omitempty"`
	Contact             Contact      `json:"contact"`
	ContactPhone        string       `json:"contact_phone,omitempty"`
}

// ExistingPartnerFacts are the facts of the partner the attempt collided
// with, as this service's case of it holds them (nil in a review when the
// partner has no case here).
type ExistingPartnerFacts struct {
	CaseID        string       `json:"case_id"`
	Submitted     CompanyFacts `json:"submitted"`
	Contact       Contact      `json:"contact"`
	WebsiteDomain string       `json:"website_domain,omitempty"`
	CaseStatus    CaseStatus   `json:"case_status"`
	// Enrollments are the case's enrollments and when each confirmed the
	// contact address (email_confirmed_at): a report of an address that
	// confirmed another enrollment's mail contradicts that confirmation.
	Enrollments []Enrollment `json:"enrollments,omitempty"`
}

// ClaimContent is what a verifier needs to decide a duplicate claim.
type ClaimContent struct {
	ClaimID            string                `json:"claim_id"`
	DuplicateAttemptID string                `json:"duplicate_attempt_id"`
	MatchedOn          []string              `json:"matched_on"`
	Statement          string                `json:"statement"`
	FiledBy            string                `json:"filed_by"`
	FiledAt            time.Time             `json:"filed_at"`
	Claimant           ClaimantFacts         `json:"claimant"`
	Existing           *ExistingPartnerFacts `json:"existing,omitempty"`
}

// DisputeContent is what a verifier needs to decide a dispute: the report
// it names (the earliest still standing) and the partner's other reports of
// the same address made while it was open. The decision is about the
// address, so one review decides them all (e-mail ownership carries it to
// every enrollment of the partner on the address).
type DisputeContent struct {
	ChallengeID  string    `json:"challenge_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	Address      string    `json:"address"`
	DisputedAt   time.Time `json:"disputed_at"`
	// ProfileChange is registration's number of the profile change whose
	// new contact address the reported mail proves (0: another mail):
	// upheld, that change is rejected and the verified contact stays.
	ProfileChange int `json:"profile_change,omitempty"`
	// ContactChange is registration's number of the applied profile change
	// that had made the address the partner's contact when the reported mail
	// was sent (0: another mail): the company itself named the address.
	ContactChange int `json:"contact_change,omitempty"`
	// AlsoReported are the other reports of the address this review decides.
	AlsoReported []DisputeReport `json:"also_reported,omitempty"`
	// Existing is the disputed partner's facts, as for a claim.
	Existing *ExistingPartnerFacts `json:"existing,omitempty"`
}

// A DisputeReport is one "this wasn't me" report: the disputed challenge of
// one enrollment.
type DisputeReport struct {
	ChallengeID   string    `json:"challenge_id"`
	EnrollmentID  string    `json:"enrollment_id"`
	Program       string    `json:"program"`
	DisputedAt    time.Time `json:"disputed_at"`
	ProfileChange int       `json:"profile_change,omitempty"`
	ContactChange int       `json:"contact_change,omitempty"`
}

func (d *DisputeContent) named() DisputeReport {
	return DisputeReport{ChallengeID: d.ChallengeID, EnrollmentID: d.EnrollmentID, Program: d.Program, DisputedAt: d.DisputedAt,
		ProfileChange: d.ProfileChange, ContactChange: d.ContactChange}
}

func (d *DisputeContent) name(r DisputeReport) {
	d.ChallengeID, d.EnrollmentID, d.Program, d.DisputedAt, d.ProfileChange = r.ChallengeID, r.EnrollmentID, r.Program, r.DisputedAt, r.ProfileChange
	d.ContactChange = r.ContactChange
}

// reports lists the reports the review decides, the named one first.
func (d *DisputeContent) reports() []DisputeReport {
	return append([]DisputeReport{d.named()}, d.AlsoReported...)
}

// ReviewDecision is the recorded decision of a review.
type ReviewDecision struct {
	ID           string        `json:"id"`
	Outcome      ReviewOutcome `json:"outcome"`
	Reason       ReasonCode    `json:"reason,omitempty"`
	ReasonText   string        `json:"reason_text,omitempty"`
	Message      string        `json:"message,omitempty"`
	InternalNote string        `json:"internal_note,omitempty"`
	DecidedBy    string        `json:"decided_by"`
	DecidedAt    time.Time     `json:"decided_at"`
}

// Review is a duplicate claim or an e-mail dispute awaiting a verifier.
type Review struct {
	ID         string          `json:"id"`
	Kind       ReviewKind      `json:"kind"`
	Status     ReviewStatus    `json:"status"`
	PartnerID  string          `json:"partner_id"` // the existing (claimed) or the disputing partner
	Market     string          `json:"market"`
	CreatedAt  time.Time       `json:"created_at"`
	DueAt      time.Time       `json:"due_at"`
	ClaimedBy  string          `json:"claimed_by,omitempty"`
	LeaseUntil time.Time       `json:"lease_until,omitzero"`
	Started    bool            `json:"started,omitempty"` // a verifier claimed it once (the review-started event went out)
	Claim      *ClaimContent   `json:"claim,omitempty"`
	Dispute    *DisputeContent `json:"dispute,omitempty"`
	Decision   *ReviewDecision `json:"decision,omitempty"`
	UpdatedAt  time.Time       `json:"updated_at"`

	events []Event
}

// Refs are the claim or every challenge the review decides (Ref first).
func (r *Review) Refs() []string {
	if r.Dispute == nil {
		return []string{r.Ref()}
	}
	var out []string
	for _, x := range r.Dispute.reports() {
		out = append(out, x.ChallengeID)
	}
	return out
}

// Gather adds to an open dispute review another report of its address (the
// partner's other enrollment, whose mail went to the same person): true
// when the review now decides it too, or did already. A closed review, or
// one of another address, gathers nothing.
func (r *Review) Gather(d DisputeContent, now time.Time) bool {
	if r.Status != ReviewOpen || r.Dispute == nil || !strings.EqualFold(r.Dispute.Address, d.Address) || d.ChallengeID == "" {
		return false
	}
	for _, x := range r.Dispute.reports() {
		if x.ChallengeID == d.ChallengeID {
			return true
		}
	}
	r.Dispute.AlsoReported = append(r.Dispute.AlsoReported, d.named())
	r.UpdatedAt = now
	return true
}

// Drop takes a report the review no longer decides off an open dispute
// review: its enrollment's confirmation withdrew it, or another decision on
// the address ended it. The review goes on for the reports left (the
// earliest of them named), and is cancelled when none is left. A closed
// review, or a report it does not hold, is left as it is.
func (r *Review) Drop(challengeID string, now time.Time) {
	if r.Status != ReviewOpen || r.Dispute == nil {
		return
	}
	var left []DisputeReport
	for _, x := range r.Dispute.reports() {
		if x.ChallengeID != challengeID {
			left = append(left, x)
		}
	}
	switch {
	case len(left) == len(r.Dispute.AlsoReported)+1:
		return
	case len(left) == 0:
		r.Cancel(now)
		return
	}
	r.Dispute.name(left[0])
	r.Dispute.AlsoReported = left[1:]
	if len(r.Dispute.AlsoReported) == 0 {
		r.Dispute.AlsoReported = nil
	}
	r.UpdatedAt = now
}

// Ref is the review's natural key when it opens (the claim or the
// challenge id): one review per claim, and per disputed challenge that no
// open review of its address gathered.
func (r *Review) Ref() string {
	if r.Claim != nil {
		return r.Claim.ClaimID
	}
	if r.Dispute != nil {
		return r.Dispute.ChallengeID
	}
	return ""
}

// NewClaimReview opens the review of a duplicate claim on partnerID.
func NewClaimReview(id, partnerID, market string, c ClaimContent, now time.Time, rules Rules) (*Review, error) {
	if id == "" || partnerID == "" || c.ClaimID == "" || c.DuplicateAttemptID == "" {
		return nil, invalidReview("claim_id", "a claim review needs the claim, its attempt and the existing partner")
	}
	return openReview(&Review{ID: id, Kind: ReviewDuplicateClaim, PartnerID: partnerID, Market: market, Claim: &c}, now, rules), nil
}

// NewDisputeReview opens the review of a disputed confirmation challenge.
func NewDisputeReview(id, partnerID, market string, d DisputeContent, now time.Time, rules Rules) (*Review, error) {
	if id == "" || partnerID == "" || d.ChallengeID == "" || d.EnrollmentID == "" {
		return nil, invalidReview("challenge_id", "a dispute review needs the partner, the enrollment and the challenge")
	}
	return openReview(&Review{ID: id, Kind: ReviewEmailDispute, PartnerID: partnerID, Market: market, Dispute: &d}, now, rules), nil
}

// openReview opens r at now: open, due within the policy's review business
// days, announced by ReviewOpened.
func openReview(r *Review, now time.Time, rules Rules) *Review {
	r.Status, r.CreatedAt, r.UpdatedAt = ReviewOpen, now, now
	r.DueAt = rules.Calendar.AddBusinessDays(now, rules.Policy.ReviewBusinessDays)
	r.events = append(r.events, ReviewOpened{Review: *r.snapshot()})
	return r
}

func invalidReview(field, msg string) error {
	return &Error{Code: ErrInvalidReviewDecision.Code, Message: msg,
		Fields: []FieldProblem{{Field: field, Code: "review.invalid", Message: msg}}}
}

// ClaimFor gives verifier a lease on the review (or renews its own). A
// verifier that belongs to the reviewed partner may not take it. The first
// claim of a duplicate claim records DuplicateClaimReviewStarted.
func (r *Review) ClaimFor(verifier, verifierPartnerID string, now time.Time, lease time.Duration) error {
	if r.Status != ReviewOpen {
		return ErrReviewClosed
	}
	if verifierPartnerID != "" && verifierPartnerID == r.PartnerID {
		return ErrOwnPartner
	}
	if r.ClaimedBy != "" && r.ClaimedBy != verifier && now.Before(r.LeaseUntil) {
		return &Error{Code: ErrReviewClaimed.Code, Message: ErrReviewClaimed.Message, Details: map[string]any{"lease_until": r.LeaseUntil}}
	}
	r.ClaimedBy, r.LeaseUntil, r.UpdatedAt = verifier, now.Add(lease), now
	if !r.Started {
		r.Started = true
		if r.Kind == ReviewDuplicateClaim {
			r.events = append(r.events, DuplicateClaimReviewStarted{ReviewID: r.ID, PartnerID: r.PartnerID,
				ClaimID: r.Claim.ClaimID, DuplicateAttemptID: r.Claim.DuplicateAttemptID, Verifier: verifier, At: now})
		}
	}
	return nil
}

// ReviewDecisionInput is a verifier's decision on a review.
type ReviewDecisionInput struct {
	ID           string
	Verifier     string
	Outcome      ReviewOutcome
	Reason       ReasonCode
	Message      string
	InternalNote string
}

// Decide records the decision of the verifier holding the lease. A refused
// claim and a dismissed dispute need a reason of ReviewReasons; upheld
// needs none. The same decision id again is a replay (true, no change).
func (r *Review) Decide(in ReviewDecisionInput, now time.Time) (bool, error) {
	if d := r.Decision; d != nil && in.ID != "" && d.ID == in.ID {
		return true, nil
	}
	if r.Status != ReviewOpen {
		return false, ErrReviewClosed
	}
	if err := r.validate(in); err != nil {
		return false, err
	}
	if r.ClaimedBy != in.Verifier || !now.Before(r.LeaseUntil) {
		return false, ErrReviewNotClaimed
	}
	d := &ReviewDecision{ID: in.ID, Outcome: in.Outcome, Reason: in.Reason, Message: strings.TrimSpace(in.Message),
		InternalNote: strings.TrimSpace(in.InternalNote), DecidedBy: in.Verifier, DecidedAt: now}
	if in.Reason != "" {
		d.ReasonText = ReviewReasons[r.Kind][in.Reason]
	}
	r.Decision, r.Status, r.UpdatedAt = d, ReviewDecided, now
	r.ClaimedBy, r.LeaseUntil = "", time.Time{}
	switch r.Kind {
	case ReviewDuplicateClaim:
		r.events = append(r.events, DuplicateClaimDecided{Review: *r.snapshot()})
	case ReviewEmailDispute:
		r.events = append(r.events, EmailDisputeDecided{Review: *r.snapshot()})
	}
	return false, nil
}

func (r *Review) snapshot() *Review {
	c := *r
	c.events = nil
	return &c
}

func (r *Review) validate(in ReviewDecisionInput) error {
	var fields []FieldProblem
	bad := func(field, code, msg string) {
		fields = append(fields, FieldProblem{Field: field, Code: code, Message: msg})
	}
	if p, ok := checkDecisionID(in.ID); !ok {
		fields = append(fields, p)
	}
	negative := ReviewRefused
	if r.Kind == ReviewEmailDispute {
		negative = ReviewDismissed
	}
	switch in.Outcome {
	case ReviewUpheld:
		if in.Reason != "" {
			bad("reason_code", "decision.reason_not_allowed", "an upheld "+string(r.Kind)+" takes no reason")
		}
	case negative:
		if _, ok := ReviewReasons[r.Kind][in.Reason]; !ok {
			bad("reason_code", "decision.reason_unknown", "a "+string(negative)+" "+string(r.Kind)+" needs a reason code of the review catalog")
		}
	default:
		bad("outcome", "decision.outcome_unknown", "outcome must be upheld or "+string(negative))
	}
	if utf8.RuneCountInString(in.Message) > MaxReviewMessage || utf8.RuneCountInString(in.InternalNote) > MaxReviewMessage {
		bad("message", "decision.too_long", "message and internal_note are at most 2000 characters")
	}
	for _, f := range [][2]string{{"message", in.Message}, {"internal_note", in.InternalNote}} {
		if p, found := normalize.CheckFreeText(f[1]); found {
			bad(f[0], "decision.invalid_characters", f[0]+" must not contain a control, invisible or bidirectional-control character ("+p.String()+")")
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: ErrInvalidReviewDecision.Code, Message: ErrInvalidReviewDecision.Message, Fields: fields}
}

// Cancel closes an open review that has nothing left to decide (a dispute
// withdrawn by a confirmation of the enrollment). Closed reviews stay as they are.
func (r *Review) Cancel(now time.Time) bool {
	if r.Status != ReviewOpen {
		return false
	}
	r.Status, r.UpdatedAt, r.ClaimedBy, r.LeaseUntil = ReviewCancelled, now, "", time.Time{}
	return true
}

// PullEvents returns the events recorded since the last pull and forgets them.
func (r *Review) PullEvents() []Event {
	out := r.events
	r.events = nil
	return out
}

// ReviewOpened: a review awaits a verifier (verifier services learn of it
// as of a case's task).
type ReviewOpened struct{ Review Review }

// EventName implements Event.
func (ReviewOpened) EventName() string { return "review.opened" }

// Meta implements the subject lookup: the reviewed partner.
func (e ReviewOpened) Meta() EventMeta {
	return EventMeta{PartnerID: e.Review.PartnerID, At: e.Review.CreatedAt}
}

// DuplicateClaimReviewStarted: a verifier took up a duplicate claim.
type DuplicateClaimReviewStarted struct {
	ReviewID, PartnerID, ClaimID, DuplicateAttemptID, Verifier string
	At                                                         time.Time
}

// DuplicateClaimDecided: a duplicate claim was upheld or refused.
type DuplicateClaimDecided struct{ Review Review }

// EmailDisputeDecided: an e-mail dispute was upheld or dismissed.
type EmailDisputeDecided struct{ Review Review }

// EventName implements Event.
func (DuplicateClaimReviewStarted) EventName() string { return "duplicate_claim.review_started" }

// EventName implements Event.
func (e DuplicateClaimDecided) EventName() string {
	return "duplicate_claim." + string(e.Review.Decision.Outcome)
}

// EventName implements Event.
func (e EmailDisputeDecided) EventName() string {
	return "email_dispute." + string(e.Review.Decision.Outcome)
}

// Meta implements the subject lookup: the reviewed partner.
func (e DuplicateClaimReviewStarted) Meta() EventMeta {
	return EventMeta{PartnerID: e.PartnerID, At: e.At}
}

// Meta implements the subject lookup: the reviewed partner.
func (e DuplicateClaimDecided) Meta() EventMeta {
	return EventMeta{PartnerID: e.Review.PartnerID, At: e.Review.Decision.DecidedAt}
}

// Meta implements the subject lookup: the reviewed partner.
func (e EmailDisputeDecided) Meta() EventMeta {
	return EventMeta{PartnerID: e.Review.PartnerID, At: e.Review.Decision.DecidedAt}
}
