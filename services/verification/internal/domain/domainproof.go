package domain

import (
	"slices"
	"strings"
	"time"
)

// DomainProof lets an applicant prove that the company controls its
// contact e-mail's domain without a document: it publishes the case's
// token as a DNS TXT record at TXTName, or serves it at URL, and asks for
// the check. Only someone who controls the domain can do either.
type DomainProof struct {
	Domain string `json:"domain"`
	Token  string `json:"token"`
}

// Where and what the applicant publishes.
const (
	domainProofLabel  = "_partnerhub-verification."
	domainProofPrefix = "partnerhub-verification="
	domainProofPath   = "/.well-known/partnerhub-verification.txt"
)

// TXTName is the DNS name of the TXT record.
func (d DomainProof) TXTName() string { return domainProofLabel + d.Domain }

// Value is the TXT record's value and the well-known file's content.
func (d DomainProof) Value() string { return domainProofPrefix + d.Token }

// URL is the well-known URL that serves Value.
func (d DomainProof) URL() string { return "https://" + d.Domain + domainProofPath }

// FoundIn reports whether one of the TXT strings, or a line of the
// well-known file, is the proof's value.
func (d DomainProof) FoundIn(texts []string) bool {
	return slices.ContainsFunc(texts, func(s string) bool {
		return slices.ContainsFunc(strings.Split(s, "\n"), func(line string) bool { return strings.TrimSpace(line) == d.Value() })
	})
}

// ProofMethod is how the applicant published the proof.
type ProofMethod string

// Proof methods.
const (
	ProofDNSTXT        ProofMethod = "dns_txt"
	ProofHTTPWellKnown ProofMethod = "http_well_known"
)

// Validate refuses a method that is not one of the two: the request is
// wrong whatever the case's state, so it is told first.
func (m ProofMethod) Validate() error {
	if m != ProofDNSTXT && m != ProofHTTPWellKnown {
		return invalid(ErrInvalidDomainProof, []FieldProblem{{"method", "domain_proof.method_unknown", "method must be dns_txt or http_well_known"}})
	}
	return nil
}

// ProveDomain passes the employment check on the domain proof found by
// method (found: what the lookup returned). The check must await the
// applicant (action_required, or rejected RETRY); a proof that is not
// there is ErrDomainProofNotFound with where it was looked for.
func (c *Case) ProveDomain(method ProofMethod, found []string, now time.Time, r Rules) error {
	if err := method.Validate(); err != nil {
		return err
	}
	if c.Closed() {
		return violation(ErrCaseClosed, "case "+c.ID+" is "+string(c.Status), "status", c.Status)
	}
	if c.DomainProof == nil {
		return violation(ErrNoDocumentsDue, "this case offers no domain proof", "check", CheckEmployment)
	}
	ck := c.Check(CheckEmployment)
	if !ck.awaitsDocuments() {
		return violation(ErrNoDocumentsDue, "the employment check is "+string(ck.State)+" and awaits nothing from the applicant",
			"check", ck.Kind, "state", ck.State)
	}
	var where string
	var kind EvidenceKind
	switch method {
	case ProofDNSTXT:
		where, kind = c.DomainProof.TXTName(), EvidenceDNSTXT
	case ProofHTTPWellKnown:
		where, kind = c.DomainProof.URL(), EvidenceHTTPWellKnown
	}
	if !c.DomainProof.FoundIn(found) {
		return violation(ErrDomainProofNotFound, "the proof "+c.DomainProof.Value()+" was not found at "+where,
			"method", method, "looked_at", where, "expected", c.DomainProof.Value())
	}
	if err := c.transition(ck, StatePassed, "", "", now, &Evidence{Kind: kind, Detail: where, At: now}); err != nil {
		return err
	}
	c.settle(now, r)
	return nil
}

// Why a decided case is reviewed again.
const (
	ReopenForRevocation   = "revocation"   // the approval was revoked; a re-review may approve it again
	ReopenForReactivation = "reactivation" // the partner returns after a long inactivity
	ReopenForReview       = "review"       // a verifier or operator asked for a new review of an approved case
)

// ReopenReview reviews a decided case again: an approved case (reactivation
// after a long inactivity) or a revoked one (after new facts or documents).
// The company check is in review with a new task; a later approval publishes
// VerificationApproved again, which lifts the partner's hold. A case already
// in review changes nothing.
func (c *Case) ReopenReview(reason, note, by string, now time.Time, r Rules) (bool, error) {
	if err := c.refuseClosedPartner("reviewed again"); err != nil {
		return false, err
	}
	switch c.Status {
	case CasePending:
		return false, nil
	case CaseApproved, CaseRevoked:
	default:
		return false, violation(ErrCaseNotReopenable, "case "+c.ID+" is "+string(c.Status)+"; only an approved or revoked case is reviewed again",
			"case_id", c.ID, "status", c.Status)
	}
	from := c.Status
	co := c.Check(CheckCompany)
	prev := co.State
	co.State, co.Reason, co.Mode, co.Evidence, co.UpdatedAt = StateInReview, "", "", nil, now
	c.record(CheckStateChanged{EventMeta: c.meta(now), Check: co.Kind, From: prev, To: StateInReview})
	c.Status, c.SubStatus, c.ClosedAt = CasePending, "in_review_company", time.Time{}
	t := c.createTask(co, c.nextID("t"), "", now, r)
	c.record(CaseReopened{EventMeta: c.meta(now), From: from, Reason: reason, Note: note, TaskID: t.ID, By: by})
	c.settle(now, r)
	return true, nil
}
