package domain

import (
	"slices"
	"strings"
	"time"
)

// ProfileFacts are a partner's verified profile after registration applied
// a profile change: the company facts (as submitted and, in
// Facts.Registered, as registration normalized them), the contact and the
// website.
type ProfileFacts struct {
	Facts   CompanyFacts
	Contact Contact
	Website string
	// Sequence is the partner sequence of registration's event that
	// carried the profile (0: not known).
	Sequence uint64
}

// ApplyProfile keeps the case's facts equal to the partner's verified
// profile after a profile change, so that a later review (after a
// revocation, or a reactivation) and the domain proof look at what the
// partner transacts on now. Checks, tasks, decisions and the status do not
// move: registration had the change's own checks decided. A replaced contact
// address is kept in PreviousContacts. A profile of an earlier sequence
// than the one applied is older news: a change whose handling waited (its
// case not opened yet) may be applied after the next one of the same
// partner, which did not. It changes nothing but PreviousContacts, where
// its contact address goes (the partner's contact between the two changes:
// a confirmation of it, asked for meanwhile, is no longer the case's to
// count). It reports whether anything changed.
func (c *Case) ApplyProfile(f ProfileFacts, now time.Time) bool {
	if f.Sequence > 0 {
		if f.Sequence <= c.ProfileSequence {
			return !strings.EqualFold(f.Contact.Email, c.Contact.Email) && c.replaced(f.Contact.Email)
		}
		c.ProfileSequence = f.Sequence
	}
	contact := Contact{FirstName: f.Contact.FirstName, LastName: f.Contact.LastName, Email: f.Contact.Email, EmailDomain: EmailDomain(f.Contact.Email)}
	normalized := f.Facts.Normalize(c.Market)
	website := WebsiteDomain(f.Website)
	if normalized == c.Normalized && contact == c.Contact && website == c.WebsiteDomain && f.Facts.LegalName == c.Submitted.LegalName &&
		f.Facts.Address == c.Submitted.Address && f.Facts.Phone == c.Submitted.Phone {
		return false
	}
	if !strings.EqualFold(c.Contact.Email, contact.Email) {
		c.replaced(c.Contact.Email)
	}
	c.Submitted, c.Normalized, c.Contact, c.WebsiteDomain = f.Facts, normalized, contact, website
	if c.DomainProof != nil && contact.EmailDomain != "" {
		c.DomainProof.Domain = contact.EmailDomain
	}
	c.UpdatedAt = now
	return true
}

// ProfileReviewInput is a registration profile change that re-opened the
// company or employment check: its number, the checks, the proposed profile
// and the register pre-check of the proposed facts (company).
type ProfileReviewInput struct {
	ChangeNumber int
	Checks       []CheckKind
	Proposed     ProfileFacts
	PreCheck     PreCheck
}

// OpenProfileReview opens one review task per re-opened check of a
// profile change, with the proposed facts (and, for the company check, the
// register pre-check of them). The case's own checks and status do not move:
// the partner keeps its verified profile, and the decision is published as
// ProfileCheckDecided for registration. Tasks of an earlier change still open
// are cancelled (a newer change supersedes it); a change already reviewed
// opens nothing again (a redelivery).
func (c *Case) OpenProfileReview(in ProfileReviewInput, now time.Time, r Rules) (opened []ReviewTask) {
	if in.ChangeNumber < 1 {
		return nil
	}
	for _, t := range c.Tasks {
		if t.Content.ProfileChange >= in.ChangeNumber {
			return nil
		}
	}
	for _, t := range c.Tasks {
		if t.Content.ProfileChange > 0 && t.Active() {
			t.Status, t.ClaimedBy, t.LeaseUntil = TaskCancelled, "", time.Time{}
		}
	}
	facts := in.Proposed.Facts
	contact := Contact{FirstName: in.Proposed.Contact.FirstName, LastName: in.Proposed.Contact.LastName,
		Email: in.Proposed.Contact.Email, EmailDomain: EmailDomain(in.Proposed.Contact.Email)}
	for _, k := range in.Checks {
		if k != CheckCompany && k != CheckEmployment {
			continue
		}
		round := 1
		for _, t := range c.Tasks {
			if t.Check == k {
				round++
			}
		}
		t := &ReviewTask{ID: c.nextID("t"), Check: k, Round: round, Status: TaskOpen, CreatedAt: now,
			DueAt: r.Calendar.AddBusinessDays(now, r.Policy.ReviewBusinessDays)}
		t.Content = TaskContent{PartnerID: c.PartnerID, LocationID: c.LocationID, Market: c.Market, Check: k,
			Submitted: facts, Normalized: facts.Normalize(c.Market), ContactEmail: contact.Email, ContactDomain: contact.EmailDomain,
			WebsiteDomain: WebsiteDomain(in.Proposed.Website), DueAt: t.DueAt, ProfileChange: in.ChangeNumber}
		if k == CheckCompany {
			pc := in.PreCheck
			t.Content.PreCheck = &pc
		}
		c.Tasks = append(c.Tasks, t)
		c.record(ReviewTaskCreated{EventMeta: c.meta(now), TaskID: t.ID, Check: t.Check, Round: t.Round, DueAt: t.DueAt, Content: t.Content})
		opened = append(opened, *t)
	}
	c.settle(now, r)
	return opened
}

// decideProfileTask records a verifier's decision on a profile change's
// task: approve passes the check, a rejection (either mode; it leaves the
// verified profile as it was, so no second verifier confirms it) fails it.
// Documents are not requested of a profile change: the partner asks again
// with corrected facts.
func (c *Case) decideProfileTask(t *ReviewTask, in DecisionInput, now time.Time, r Rules) (Decision, error) {
	if in.Outcome == OutcomeRequestDocuments {
		return Decision{}, invalid(ErrInvalidDecision, []FieldProblem{{"outcome", "decision.no_documents_for_profile_change",
			"a profile change's check is approved or rejected; the partner asks again with corrected facts"}})
	}
	rec := &Decision{ID: in.ID, TaskID: t.ID, Check: t.Check, Verifier: in.Verifier, Outcome: in.Outcome,
		Reason: in.Reason, Mode: in.Mode, ApplicantMessage: in.ApplicantMessage, InternalNote: in.InternalNote,
		Status: DecisionFinal, At: now}
	if rec.ApplicantMessage == "" && in.Reason != "" {
		rec.ApplicantMessage = Reasons[in.Reason].ApplicantHint
	}
	t.Status, t.DecidedAt, t.ClaimedBy, t.LeaseUntil = TaskDecided, now, "", time.Time{}
	c.Decisions = append(c.Decisions, rec)
	c.record(DecisionRecorded{EventMeta: c.meta(now), DecisionID: rec.ID, TaskID: t.ID, Check: t.Check, Verifier: rec.Verifier,
		Outcome: rec.Outcome, Reason: rec.Reason, Mode: rec.Mode, ApplicantMessage: rec.ApplicantMessage, Status: rec.Status})
	c.record(ProfileCheckDecided{EventMeta: c.meta(now), ChangeNumber: t.Content.ProfileChange, TaskID: t.ID, Check: t.Check,
		Passed: in.Outcome == OutcomeApprove, Reason: rec.Reason, ApplicantMessage: rec.ApplicantMessage, DecisionID: rec.ID, Verifier: rec.Verifier})
	c.settle(now, r)
	return *rec, nil
}

// ProfileCheckDecided: a verifier decided a check a registration profile
// change re-opened; registration applies or rejects the change.
type ProfileCheckDecided struct {
	EventMeta
	ChangeNumber     int        `json:"change_number"`
	TaskID           string     `json:"task_id"`
	Check            CheckKind  `json:"check"`
	Passed           bool       `json:"passed"`
	Reason           ReasonCode `json:"reason,omitempty"`
	ApplicantMessage string     `json:"applicant_message,omitempty"`
	DecisionID       string     `json:"decision_id"`
	Verifier         string     `json:"verifier"`
}

// EventName implements Event.
func (ProfileCheckDecided) EventName() string { return "profile_check.decided" }

// replaced keeps address among the contact addresses profile changes
// replaced, unless it is empty or kept already; it reports whether it was
// added.
func (c *Case) replaced(address string) bool {
	if address == "" || slices.ContainsFunc(c.PreviousContacts, func(a string) bool { return strings.EqualFold(a, address) }) {
		return false
	}
	c.PreviousContacts = append(c.PreviousContacts, address)
	return true
}
