// Package domain holds the verification case aggregate: three checks per
// partner legal profile, their review tasks, decisions, documents and SLA
// timers. It is pure Go; time arrives as arguments.
package domain

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// CaseStatus is the roll-up of the three checks.
type CaseStatus string

// Case statuses.
const (
	CasePending  CaseStatus = "pending"
	CaseApproved CaseStatus = "approved"
	CaseRejected CaseStatus = "rejected"
)

// Failure names the step a rejected case failed at.
type Failure struct {
	Check            CheckKind     `json:"check"`
	Reason           ReasonCode    `json:"reason"`
	Mode             RejectionMode `json:"mode"`
	ApplicantMessage string        `json:"applicant_message,omitempty"`
}

// Case is the verification of one partner legal profile. Its fields are
// exported so that the repository adapter can store it as a document; change
// it only through its methods.
type Case struct {
	ID             string          `json:"id"`
	RegistrationID string          `json:"registration_id,omitempty"`
	PartnerID      string          `json:"partner_id"`
	LocationID     string          `json:"location_id,omitempty"`
	Market         string          `json:"market"`
	Submitted      CompanyFacts    `json:"submitted"`
	Normalized     NormalizedFacts `json:"normalized"`
	Contact        Contact         `json:"contact"`
	// PreviousContacts are the contact addresses profile changes replaced
	// (ApplyProfile), oldest first: a confirmation of one of them is no
	// longer the case's to count (ConfirmEmailOwnership).
	PreviousContacts []string `json:"previous_contacts,omitempty"`
	// ProfileSequence is the sequence of the last profile change applied
	// (ApplyProfile): an earlier one is not applied after it.
	ProfileSequence uint64        `json:"profile_sequence,omitempty"`
	WebsiteDomain   string        `json:"website_domain,omitempty"`
	Enrollments     []Enrollment  `json:"enrollments"`
	Checks          []*Check      `json:"checks"`
	Tasks           []*ReviewTask `json:"tasks,omitempty"`
	Documents       []*Document   `json:"documents,omitempty"`
	Decisions       []*Decision   `json:"decisions,omitempty"`
	Status          CaseStatus    `json:"status"`
	SubStatus       string        `json:"sub_status"`
	Failure         *Failure      `json:"failure,omitempty"`
	Revocation      *Revocation   `json:"revocation,omitempty"`
	// DomainProof is the token the applicant may publish on its e-mail
	// domain to pass the employment check without a document.
	DomainProof *DomainProof `json:"domain_proof,omitempty"`
	OpenedAt    time.Time    `json:"opened_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	ClosedAt    time.Time    `json:"closed_at,omitzero"`
	// PartnerClosedAt: when the partner's account was closed
	// (WithdrawForClosure); the case is then never reviewed again.
	PartnerClosedAt time.Time `json:"partner_closed_at,omitzero"`
	// PartnerRejectedAt: when registration rejected the partner (since
	// round 46; MarkPartnerRejected).
	PartnerRejectedAt time.Time `json:"partner_rejected_at,omitzero"`
	// TimerAt is the earliest instant FireTimers has work to do (zero: none);
	// the repository indexes it so a poller finds due cases after a restart.
	TimerAt time.Time `json:"timer_at,omitzero"`
	// Seq numbers the task and document ids of this case.
	Seq int `json:"seq"`
	// RegisteredBy is the principal that submitted the partner's
	// registration (an upstream system acts only for the partners it
	// registered); empty on cases opened before it was recorded.
	RegisteredBy string `json:"registered_by,omitempty"`
	// EarlierAccounts are the company's earlier accounts that registration
	// named when it registered again (rejected, closed): for staff only.
	EarlierAccounts []EarlierAccount `json:"earlier_accounts,omitempty"`

	events []Event
}

// EarlierAccount is an earlier account of the same company (an identity
// key equal) that had let go of the company's identity — its registration
// rejected, or the account closed — when the company registered again. Its
// own case here tells the reviewer how it ended.
type EarlierAccount struct {
	PartnerID  string    `json:"partner_id"`
	Status     string    `json:"status"`
	MatchedOn  []string  `json:"matched_on"`
	ReleasedAt time.Time `json:"released_at"`
}

// OpenInput is the registration as the verification service needs it.
type OpenInput struct {
	RegistrationID string
	PartnerID      string
	LocationID     string
	Market         string
	RegisteredBy   string // who submitted the registration (its submitted_by)
	// Facts are the facts as the applicant submitted them (shown to the
	// verifier) and, in Facts.Registered, as registration normalized and
	// published them, which the register is compared with (one
	// normalization: pkg/normalize).
	Facts       CompanyFacts
	Contact     Contact
	Website     string // URL or domain of the company website
	Enrollments []Enrollment
	// DomainProofToken is a random token for the domain proof (see DomainProof).
	DomainProofToken string
	// EarlierAccounts: the company's earlier accounts (registration's).
	EarlierAccounts []EarlierAccount
}

var marketRE = regexp.MustCompile(`^[A-Z]{2}$`)

// ValidMarket reports whether s is a market as cases carry it: an ISO
// 3166-1 alpha-2 code in upper case.
func ValidMarket(s string) bool { return marketRE.MatchString(s) }

func (in OpenInput) validate() []FieldProblem {
	var fs []FieldProblem
	add := func(field, code, msg string) { fs = append(fs, FieldProblem{field, code, msg}) }
	if strings.TrimSpace(in.PartnerID) == "" {
		add("partner_id", CodeRequired, "partner id is required")
	}
	if !ValidMarket(in.Market) {
		add("market", "market.invalid", "market must be an ISO 3166-1 alpha-2 code")
	}
	if strings.TrimSpace(in.Facts.LegalName) == "" {
		add("company.legal_name", CodeRequired, "legal name is required")
	}
	if strings.TrimSpace(in.Facts.Address.Line1) == "" {
		add("company.address.line1", CodeRequired, "address line 1 is required")
	}
	if strings.TrimSpace(in.Facts.Address.City) == "" {
		add("company.address.city", CodeRequired, "city is required")
	}
	if n, _ := normalize.Digits(in.Facts.RegistrationNumber); in.Market == "JP" && n != "" && !ValidCorporateNumber(n) {
		add("company.registration_number", "registration_number.check_digit", "not a valid 13-digit corporate number")
	}
	if a, err := mail.ParseAddress(in.Contact.Email); err != nil || a.Address != in.Contact.Email || EmailDomain(in.Contact.Email) == "" {
		add("contact.email", "email.invalid", "contact e-mail is not a valid address")
	}
	if len(in.Enrollments) == 0 {
		add("enrollments", CodeRequired, "at least one enrollment is required")
	}
	for i, e := range in.Enrollments {
		if e.ID == "" || !slices.Contains([]Program{ProgramPartnerNetwork, ProgramResellerIndirect, ProgramIndirectProvider}, e.Program) {
			add(fmt.Sprintf("enrollments/%d", i), "enrollment.invalid", "enrollment needs an id and a known program")
		}
	}
	return fs
}

// Open opens a case for a submitted registration: the employment check is
// decided automatically, the company check goes to review with the
// registry pre-check's findings.
func Open(id string, in OpenInput, pre PreCheck, now time.Time, r Rules) (*Case, error) {
	if id == "" {
		return nil, invalid(ErrInvalidCase, []FieldProblem{{"id", CodeRequired, "case id is required"}})
	}
	if fs := in.validate(); len(fs) > 0 {
		return nil, invalid(ErrInvalidCase, fs)
	}
	c := &Case{
		ID: id, RegistrationID: in.RegistrationID, PartnerID: in.PartnerID, LocationID: in.LocationID,
		RegisteredBy: in.RegisteredBy, Market: in.Market, Submitted: in.Facts, Normalized: in.Facts.Normalize(in.Market),
		Contact:       Contact{FirstName: in.Contact.FirstName, LastName: in.Contact.LastName, Email: in.Contact.Email, EmailDomain: EmailDomain(in.Contact.Email)},
		WebsiteDomain: WebsiteDomain(in.Website),
		Enrollments:   slices.Clone(in.Enrollments),
		Status:        CasePending, OpenedAt: now, UpdatedAt: now,
		EarlierAccounts: slices.Clone(in.EarlierAccounts),
	}
	if in.DomainProofToken != "" && c.Contact.EmailDomain != "" {
		c.DomainProof = &DomainProof{Domain: c.Contact.EmailDomain, Token: in.DomainProofToken}
	}
	for _, k := range CheckKinds {
		c.Checks = append(c.Checks, &Check{Kind: k, State: StatePending, UpdatedAt: now})
	}
	c.record(CaseOpened{EventMeta: c.meta(now), LocationID: c.LocationID, RegistrationID: c.RegistrationID,
		Market: c.Market, Enrollments: slices.Clone(c.Enrollments), Checks: slices.Clone(CheckKinds)})

	// Employment passes on evidence only: the register's own website for
	// the company (the website the applicant typed proves nothing). Else
	// the applicant proves the domain (documents, or the domain proof).
	emp := c.Check(CheckEmployment)
	if site := pre.RegisterWebsite(); r.Policy.AutoPassEmploymentOnRegisterWebsite && site != "" && DomainCovers(c.Contact.EmailDomain, WebsiteDomain(site)) {
		if err := c.transition(emp, StatePassed, "", "", now, &Evidence{Kind: EvidenceRegisterWebsite, Detail: site, At: now}); err != nil {
			return nil, err
		}
	} else {
		code := ReasonEmailDomainUnverified
		if !DomainCovers(c.Contact.EmailDomain, c.WebsiteDomain) {
			code = ReasonEmailDomainMismatch
		}
		reason := Reasons[code]
		if err := c.requireDocuments(emp, reason.Code, reason.ApplicantHint, reason.Cures(CheckEmployment), "", now, r); err != nil {
			return nil, err
		}
	}

	co := c.Check(CheckCompany)
	pc := pre
	co.PreCheck = &pc
	if err := c.transition(co, StateInReview, "", "", now, nil); err != nil {
		return nil, err
	}
	c.createTask(co, c.nextID("t"), "", now, r)
	c.settle(now, r)
	return c, nil
}

// Check returns the check of kind k.
func (c *Case) Check(k CheckKind) *Check {
	for _, ck := range c.Checks {
		if ck.Kind == k {
			return ck
		}
	}
	return nil
}

// Task returns the task with id, or nil.
func (c *Case) Task(id string) *ReviewTask {
	for _, t := range c.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// PullEvents returns the events recorded since the last pull and forgets them.
func (c *Case) PullEvents() []Event {
	ev := c.events
	c.events = nil
	return ev
}

// Closed reports whether the case is approved, rejected, revoked or withdrawn.
func (c *Case) Closed() bool { return c.Status != CasePending }

// Clone returns a deep copy without pending events.
func (c *Case) Clone() *Case {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // the aggregate is plain data; marshalling cannot fail
	}
	var out Case
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

// Redacted is a copy without what only staff may read: the decisions'
// internal notes and a revocation's reason, which the revoking verifier
// wrote for staff (a tip, a fraud finding); the revocation itself and when
// stay. hide is given each subject of whoever acted — the deciding
// verifiers, the revoking one, a task's holder and proposer, a document's
// submitter — to replace what the reader may not read.
func (c *Case) Redacted(hide func(subject *string)) *Case {
	out := c.Clone()
	for _, d := range out.Decisions {
		d.InternalNote = ""
		hide(&d.Verifier)
	}
	if out.Revocation != nil {
		out.Revocation.Reason = ""
		hide(&out.Revocation.RevokedBy)
	}
	for _, t := range out.Tasks {
		hide(&t.ClaimedBy)
		hide(&t.ProposedBy)
	}
	for _, d := range out.Documents {
		hide(&d.SubmittedBy)
	}
	out.EarlierAccounts = nil // another account's history
	return out
}

// ConfirmEmailOwnership records the e-mail service's ownership confirmation
// for one enrollment. The email_ownership check passes on the confirmation
// of the partner_network enrollment (or of the only program enrolled when
// there is none): that proves the contact owns the address. A reseller
// enrollment's later re-confirmation is recorded on the enrollment only; it
// gates that enrollment, not the company's verification. Replays are no-ops.
func (c *Case) ConfirmEmailOwnership(enrollmentID, email string, confirmedAt, now time.Time, r Rules) (changed bool, err error) {
	i := slices.IndexFunc(c.Enrollments, func(e Enrollment) bool { return e.ID == enrollmentID })
	if i < 0 {
		return false, violation(ErrEnrollmentNotFound, "enrollment "+enrollmentID+" is not part of case "+c.ID, "enrollment_id", enrollmentID)
	}
	if !strings.EqualFold(strings.TrimSpace(email), c.Contact.Email) {
		// Once the check passed, another address confirmed is a registration
		// profile change's new contact (registration follows that one).
		if c.Check(CheckEmailOwnership).State == StatePassed {
			return false, nil
		}
		// An address the contact was corrected from, confirmed as the
		// correction was made: e-mail ownership asks the new contact, whose
		// confirmation passes the check.
		if slices.ContainsFunc(c.PreviousContacts, func(a string) bool { return strings.EqualFold(a, strings.TrimSpace(email)) }) {
			return false, nil
		}
		return false, violation(ErrEmailMismatch, "", "enrollment_id", enrollmentID)
	}
	e := &c.Enrollments[i]
	if e.EmailConfirmedAt.IsZero() {
		e.EmailConfirmedAt = confirmedAt
		changed = true
	}
	gate := e.Program == ProgramPartnerNetwork ||
		!slices.ContainsFunc(c.Enrollments, func(e Enrollment) bool { return e.Program == ProgramPartnerNetwork })
	if ck := c.Check(CheckEmailOwnership); gate && ck.State == StatePending {
		if err := c.transition(ck, StatePassed, "", "", now, &Evidence{Kind: EvidenceEmailConfirmed, Detail: enrollmentID, At: now}); err != nil {
			return false, err
		}
		changed = true
	}
	if changed {
		c.settle(now, r)
	}
	return changed, nil
}

// Claim gives verifier a lease on task taskID; the holder may renew it.
func (c *Case) Claim(taskID, verifier, verifierPartnerID string, now time.Time, r Rules) (ReviewTask, error) {
	t, err := c.activeTask(taskID, verifier, verifierPartnerID)
	if err != nil {
		return ReviewTask{}, err
	}
	if t.Status == TaskPendingConfirmation && t.ProposedBy == verifier {
		return ReviewTask{}, violation(ErrFourEyes, "the proposer of a FINAL rejection cannot confirm it", "task_id", t.ID, "proposed_by", t.ProposedBy)
	}
	holder, held := t.ClaimedAt(now)
	if held && holder != verifier {
		return ReviewTask{}, violation(ErrTaskClaimed, "task "+t.ID+" is claimed by "+holder+" until "+t.LeaseUntil.Format(time.RFC3339),
			"task_id", t.ID, "claimed_by", holder, "lease_until", t.LeaseUntil)
	}
	t.ClaimedBy, t.LeaseUntil = verifier, now.Add(r.Policy.LeaseDuration)
	c.record(ReviewTaskClaimed{EventMeta: c.meta(now), TaskID: t.ID, Check: t.Check, Verifier: verifier, LeaseUntil: t.LeaseUntil, Renewed: held})
	c.settle(now, r)
	return *t, nil
}

func (c *Case) activeTask(taskID, verifier, verifierPartnerID string) (*ReviewTask, error) {
	t := c.Task(taskID)
	if t == nil {
		return nil, violation(ErrTaskNotFound, "no review task "+taskID, "task_id", taskID)
	}
	if verifierPartnerID != "" && verifierPartnerID == c.PartnerID {
		return nil, violation(ErrOwnPartner, "verifier "+verifier+" belongs to partner "+c.PartnerID, "task_id", taskID)
	}
	if !t.Active() {
		return nil, violation(ErrTaskAlreadyDecided, "task "+taskID+" is "+string(t.Status), "task_id", taskID, "status", t.Status)
	}
	return t, nil
}

// transition moves ck to state to and records CheckStateChanged; ev is
// what passed it (to passed). A check that awaited the applicant's
// documents and no longer does records DocumentsSatisfied.
func (c *Case) transition(ck *Check, to CheckState, reason ReasonCode, mode RejectionMode, now time.Time, ev *Evidence) error {
	if err := CheckTransition(ck.Kind, ck.State, ck.Mode, to); err != nil {
		return err
	}
	from, awaited := ck.State, ck.awaitsDocuments()
	ck.State, ck.Reason, ck.Mode, ck.UpdatedAt, ck.Evidence = to, reason, mode, now, nil
	if to == StatePassed {
		ck.Evidence = ev
	}
	if to != StateActionRequired && to != StateRejected {
		ck.AcceptedDocuments, ck.DocumentsDueAt, ck.RemindersSent, ck.ApplicantMessage = nil, time.Time{}, nil, ""
	}
	c.record(CheckStateChanged{EventMeta: c.meta(now), Check: ck.Kind, From: from, To: to, Reason: reason, Mode: mode, Evidence: ck.Evidence})
	if awaited && !ck.awaitsDocuments() {
		by := "document"
		if ev != nil {
			by = string(ev.Kind)
		}
		c.record(DocumentsSatisfied{EventMeta: c.meta(now), Check: ck.Kind, By: by})
	}
	return nil
}

// requireDocuments moves ck to action_required (or to rejected RETRY when
// rejectMode is set) with the documents that cure reason and their deadline.
func (c *Case) requireDocuments(ck *Check, reason ReasonCode, msg string, docs []DocumentType, rejectMode RejectionMode, now time.Time, r Rules) error {
	to := StateActionRequired
	if rejectMode != "" {
		to = StateRejected
	}
	if err := c.transition(ck, to, reason, rejectMode, now, nil); err != nil {
		return err
	}
	ck.ApplicantMessage = msg
	ck.AcceptedDocuments = slices.Clone(docs)
	ck.RemindersSent = nil
	if ck.AppealsRemaining(r.Policy) == 0 {
		ck.DocumentsDueAt = time.Time{}
		return nil // nothing can cure it any more; settle rejects the case
	}
	ck.DocumentsDueAt = r.Calendar.AddBusinessDays(now, r.Policy.ApplicantBusinessDays)
	for _, lead := range r.Policy.ReminderLeads {
		if !now.Before(ck.DocumentsDueAt.Add(-lead)) { // a deadline shorter than the lead: no reminder
			ck.RemindersSent = append(ck.RemindersSent, lead)
		}
	}
	req := DocumentsRequested{EventMeta: c.meta(now), Check: ck.Kind, Reason: reason, ApplicantMessage: msg,
		AcceptedDocuments: slices.Clone(docs), DueAt: ck.DocumentsDueAt, BusinessDaysLeft: r.Calendar.BusinessDaysLeft(now, ck.DocumentsDueAt),
		AppealsRemaining: ck.AppealsRemaining(r.Policy), ContactEmail: c.Contact.Email}
	if ck.Kind == CheckEmployment && c.DomainProof != nil {
		dp := *c.DomainProof
		req.DomainProof = &dp
	}
	c.record(req)
	return nil
}

// createTask opens a review task for ck with the content a verifier needs.
func (c *Case) createTask(ck *Check, id string, respondsTo ReasonCode, now time.Time, r Rules) *ReviewTask {
	round := 1
	for _, t := range c.Tasks {
		if t.Check == ck.Kind {
			round++
		}
	}
	t := &ReviewTask{
		ID: id, Check: ck.Kind, Round: round, Status: TaskOpen,
		CreatedAt: now, DueAt: r.Calendar.AddBusinessDays(now, r.Policy.ReviewBusinessDays),
	}
	t.Content = TaskContent{
		PartnerID: c.PartnerID, LocationID: c.LocationID, Market: c.Market, Check: ck.Kind,
		Submitted: c.Submitted, Normalized: c.Normalized,
		ContactEmail: c.Contact.Email, ContactDomain: c.Contact.EmailDomain, WebsiteDomain: c.WebsiteDomain,
		PreCheck: ck.PreCheck, RespondsTo: respondsTo, DueAt: t.DueAt, EarlierAccounts: slices.Clone(c.EarlierAccounts),
	}
	for _, d := range c.Documents {
		if d.Check == ck.Kind {
			t.Content.Documents = append(t.Content.Documents, *d)
		}
	}
	c.Tasks = append(c.Tasks, t)
	c.record(ReviewTaskCreated{EventMeta: c.meta(now), TaskID: t.ID, Check: t.Check, Round: t.Round, DueAt: t.DueAt, Content: t.Content})
	return t
}

// settle rolls the checks up into the case status and recomputes the timer.
func (c *Case) settle(now time.Time, r Rules) {
	c.UpdatedAt = now
	if !c.Closed() {
		c.rollUp(now, r)
	}
	c.TimerAt = c.nextTimer(r)
}

// rollUp: rejected when any check is rejected FINAL or RETRY with no appeals
// left; approved when all checks passed; pending otherwise.
func (c *Case) rollUp(now time.Time, r Rules) {
	for _, ck := range c.Checks {
		if ck.State == StateRejected && (ck.Mode == ModeFinal || ck.AppealsRemaining(r.Policy) == 0) {
			c.close(CaseRejected, string(ck.Kind)+"_check_failed", now)
			c.Failure = &Failure{Check: ck.Kind, Reason: ck.Reason, Mode: ck.Mode, ApplicantMessage: ck.ApplicantMessage}
			c.record(VerificationRejected{EventMeta: c.meta(now), DecisionID: c.lastDecisionID(), LocationID: c.LocationID, RegistrationID: c.RegistrationID,
				Market: c.Market, Enrollments: slices.Clone(c.Enrollments), FailingCheck: ck.Kind, SubStatus: c.SubStatus,
				Reason: ck.Reason, Mode: ck.Mode, ApplicantMessage: ck.ApplicantMessage})
			return
		}
	}
	if !slices.ContainsFunc(c.Checks, func(ck *Check) bool { return ck.State != StatePassed }) {
		c.close(CaseApproved, "all_checks_passed", now)
		c.record(VerificationApproved{EventMeta: c.meta(now), DecisionID: c.lastDecisionID(), LocationID: c.LocationID, RegistrationID: c.RegistrationID,
			Market: c.Market, Enrollments: slices.Clone(c.Enrollments)})
		return
	}
	c.SubStatus = c.pendingSubStatus()
}

// lastDecisionID is the decision that closed the case: the latest one
// recorded (an e-mail confirmation may close it later, but a case always
// needs the company review's decision first).
func (c *Case) lastDecisionID() string {
	if len(c.Decisions) == 0 {
		return ""
	}
	return c.Decisions[len(c.Decisions)-1].ID
}

// pendingSubStatus names what a pending case waits for, applicant first.
func (c *Case) pendingSubStatus() string {
	for _, ck := range c.Checks {
		if ck.awaitsDocuments() {
			return "awaiting_documents_" + string(ck.Kind)
		}
	}
	if c.Check(CheckEmailOwnership).State == StatePending {
		return "awaiting_email_confirmation"
	}
	for _, ck := range c.Checks {
		if ck.State == StateInReview {
			return "in_review_" + string(ck.Kind)
		}
	}
	return "pending"
}

func (c *Case) close(s CaseStatus, sub string, now time.Time) {
	c.Status, c.SubStatus, c.ClosedAt = s, sub, now
	c.cancelActiveTasks()
}

// cancelActiveTasks cancels the tasks still awaiting a decision (their
// leases too) and returns their ids.
func (c *Case) cancelActiveTasks() []string {
	var ids []string
	for _, t := range c.Tasks {
		if t.Active() {
			t.Status, t.ClaimedBy, t.LeaseUntil = TaskCancelled, "", time.Time{}
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// nextID numbers the tasks ("t") and documents ("d") of the case.
func (c *Case) nextID(kind string) string {
	c.Seq++
	return fmt.Sprintf("%s-%s%d", c.ID, kind, c.Seq)
}

func (c *Case) meta(now time.Time) EventMeta {
	return EventMeta{CaseID: c.ID, PartnerID: c.PartnerID, At: now}
}

func (c *Case) record(e Event) { c.events = append(c.events, e) }
