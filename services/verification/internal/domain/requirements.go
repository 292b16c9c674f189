package domain

import (
	"slices"
	"time"
)

// AcceptedWay is one way to satisfy a requirement.
type AcceptedWay struct {
	Kind         string       `json:"kind"` // "document" or "action"
	DocumentType DocumentType `json:"document_type,omitempty"`
	Action       string       `json:"action,omitempty"` // e.g. "confirm_email_link", "resend_confirmation"
	Description  string       `json:"description"`
	// IssuedOnOrAfter bounds the issue date of company documents.
	IssuedOnOrAfter string   `json:"issued_on_or_after,omitempty"`
	MediaTypes      []string `json:"media_types,omitempty"`
}

// Requirement is something the applicant must do for one check.
type Requirement struct {
	Check            CheckKind     `json:"check"`
	State            CheckState    `json:"state"`
	Reason           ReasonCode    `json:"reason,omitempty"`
	Description      string        `json:"description"`
	ApplicantMessage string        `json:"applicant_message,omitempty"`
	DueAt            time.Time     `json:"due_at,omitzero"`
	AppealsRemaining int           `json:"appeals_remaining"`
	AcceptedWays     []AcceptedWay `json:"accepted_ways"`
}

// ReviewWait is a check waiting on a verifier, with the review's due time.
type ReviewWait struct {
	Check  CheckKind `json:"check"`
	TaskID string    `json:"task_id"`
	DueAt  time.Time `json:"due_at"`
}

// RequirementsView tells the applicant what is due, what is past due, and
// what waits on the vendor.
type RequirementsView struct {
	CaseID    string        `json:"case_id"`
	PartnerID string        `json:"partner_id"`
	Status    CaseStatus    `json:"status"`
	SubStatus string        `json:"sub_status"`
	Failure   *Failure      `json:"failure,omitempty"`
	Due       []Requirement `json:"due"`
	PastDue   []Requirement `json:"past_due"`
	InReview  []ReviewWait  `json:"in_review"`
	AsOf      time.Time     `json:"as_of"`
}

// Requirements computes the requirements view at now.
func (c *Case) Requirements(now time.Time, r Rules) RequirementsView {
	v := RequirementsView{CaseID: c.ID, PartnerID: c.PartnerID, Status: c.Status, SubStatus: c.SubStatus,
		Failure: c.Failure, Due: []Requirement{}, PastDue: []Requirement{}, InReview: []ReviewWait{}, AsOf: now}
	if c.Closed() {
		return v
	}
	loc := r.Calendar.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, ck := range c.Checks {
		switch {
		case ck.Kind == CheckEmailOwnership && ck.State == StatePending:
			v.Due = append(v.Due, Requirement{Check: ck.Kind, State: ck.State,
				Description: "Confirm ownership of " + c.Contact.Email + " with the link in the confirmation e-mail",
				AcceptedWays: []AcceptedWay{
					{Kind: "action", Action: "confirm_email_link", Description: "Open the verification link sent to " + c.Contact.Email},
					{Kind: "action", Action: "resend_confirmation", Description: "Ask for the confirmation e-mail again (check the spam folder first)"},
				}})
		case ck.awaitsDocuments() && ck.AppealsRemaining(r.Policy) > 0:
			req := Requirement{Check: ck.Kind, State: ck.State, Reason: ck.Reason, Description: Reasons[ck.Reason].Description,
				ApplicantMessage: ck.ApplicantMessage, DueAt: ck.DocumentsDueAt, AppealsRemaining: ck.AppealsRemaining(r.Policy)}
			for _, dt := range ck.AcceptedDocuments {
				info := DocumentTypes[dt]
				w := AcceptedWay{Kind: "document", DocumentType: dt, Description: info.Description, MediaTypes: slices.Clone(r.Policy.MediaTypes)}
				if info.CompanyDocument {
					w.IssuedOnOrAfter = OldestAcceptedIssueDate(r.Policy, loc, now).Format(time.DateOnly)
				}
				req.AcceptedWays = append(req.AcceptedWays, w)
			}
			if dp := c.DomainProof; ck.Kind == CheckEmployment && dp != nil {
				req.AcceptedWays = append(req.AcceptedWays,
					AcceptedWay{Kind: "action", Action: string(ProofDNSTXT),
						Description: "Publish the DNS TXT record " + dp.TXTName() + " with the value " + dp.Value() + ", then ask for the check"},
					AcceptedWay{Kind: "action", Action: string(ProofHTTPWellKnown),
						Description: "Serve " + dp.Value() + " at " + dp.URL() + ", then ask for the check"})
			}
			if !ck.DocumentsDueAt.IsZero() && !now.Before(ck.DocumentsDueAt) {
				v.PastDue = append(v.PastDue, req)
			} else {
				v.Due = append(v.Due, req)
			}
		case ck.State == StateInReview:
			for _, t := range c.Tasks {
				if t.Check == ck.Kind && t.Active() {
					v.InReview = append(v.InReview, ReviewWait{Check: ck.Kind, TaskID: t.ID, DueAt: t.DueAt})
				}
			}
		}
	}
	return v
}
