package app

import (
	"context"
	"fmt"
	"github.com/partnerhub/onboarding/pkg/ids"
	"slices"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Requirement kinds of the requirements view.
const (
	RequirementEmailConfirmation   = "email_confirmation"
	RequirementVerificationReview  = "verification_review"
	RequirementDocuments           = "documents"
	RequirementAgreement           = "agreement"
	RequirementStanding            = "standing"
	RequirementSecurity            = "security_requirements"
	RequirementRegistrationRefused = "registration_rejected"
)

// Who a requirement waits on.
const (
	PartyPartner  = "partner"  // the partner must act
	PartyVendor   = "vendor"   // a verifier reviews; nothing to do but wait
	PartyOperator = "operator" // only partner support can lift it
)

// Requirement is one reason an enrollment cannot transact yet, and what
// cures it.
type Requirement struct {
	Kind        string        `json:"kind"`
	Party       string        `json:"party"`
	Reason      string        `json:"reason,omitempty"`
	Description string        `json:"description"`
	Since       time.Time     `json:"since,omitzero"`
	DueAt       time.Time     `json:"due_at,omitzero"`
	PastDue     bool          `json:"past_due,omitempty"`
	Documents   *DocumentsDue `json:"documents,omitempty"`
	Cures       []Cure        `json:"cures"`
}

// Cure is one way to meet a requirement: an action, and the API call that
// performs it where there is one (service, method, path).
type Cure struct {
	Action      string `json:"action"`
	Description string `json:"description"`
	Service     string `json:"service,omitempty"`
	Method      string `json:"method,omitempty"`
	Path        string `json:"path,omitempty"`
}

// RequirementsView answers "why can this enrollment not transact yet, and
// what cures it": every open requirement — e-mail confirmation, review,
// documents, agreement, standing, security requirements — with deadlines
// where there are.
type RequirementsView struct {
	PartnerID        domain.PartnerID        `json:"partner_id"`
	EnrollmentID     domain.EnrollmentID     `json:"enrollment_id"`
	Program          domain.Program          `json:"program"`
	EnrollmentStatus domain.EnrollmentStatus `json:"enrollment_status"`
	PartnerStatus    domain.PartnerStatus    `json:"partner_status"`
	CanTransact      bool                    `json:"can_transact"`
	Requirements     []Requirement           `json:"requirements"`
	AsOf             time.Time               `json:"as_of"`
}

// EnrollmentRequirements returns the requirements view of the partner's
// enrollment in program. Callers: the partner's users and staff (others get
// registration.partner_not_found).
//
// program may also be an enrollment ID, which names one of several
// enrollments in a program (one per location, see AddEnrollment).
func (a *App) EnrollmentRequirements(ctx context.Context, p auth.Principal, partnerID, program string) (RequirementsView, error) {
	match, what, err := enrollmentMatcher(program)
	if err != nil {
		return RequirementsView{}, err
	}
	s, err := a.load(ctx, p, partnerID)
	if err != nil {
		return RequirementsView{}, err
	}
	i := slices.IndexFunc(s.Enrollments, match)
	if i < 0 {
		return RequirementsView{}, apperr.NotFound(CodeEnrollmentNotFound, "the partner has no enrollment "+what)
	}
	docs, err := a.repo.DocumentsDue(ctx, s.ID)
	if err != nil {
		return RequirementsView{}, fmt.Errorf("documents due of %s: %w", s.ID, err)
	}
	now := a.now()
	e := s.Enrollments[i]
	v := RequirementsView{PartnerID: s.ID, EnrollmentID: e.ID, Program: e.Program, EnrollmentStatus: e.Status,
		PartnerStatus: s.Status, Requirements: requirements(s, e, docs, now), AsOf: now}
	if err := a.withContactReport(ctx, &v, s.Registration.Normalized.Contact.Email); err != nil {
		return RequirementsView{}, fmt.Errorf("removed contact of %s: %w", e.ID, err)
	}
	v.CanTransact = !slices.ContainsFunc(v.Requirements, Requirement.blocks) && e.Status == domain.EnrollmentActive &&
		s.Status == domain.PartnerStatusActive
	return v, nil
}

// ReasonReacceptanceRequired: an agreement requirement that does not stop
// the enrollment transacting yet — a new version to accept by due_at
// (agreement_reacceptance_overdue once past it).
const ReasonReacceptanceRequired = "agreement_reacceptance_required"

// blocks reports whether the requirement stops the enrollment transacting:
// every one but a re-acceptance still due.
func (r Requirement) blocks() bool {
	return !(r.Kind == RequirementAgreement && r.Reason == ReasonReacceptanceRequired)
}

func requirements(s domain.PartnerSnapshot, e domain.Enrollment, docs []DocumentsDue, now time.Time) []Requirement {
	out := []Requirement{}
	pid := string(s.ID)
	if s.Status == domain.PartnerStatusRejected || e.Status == domain.EnrollmentRejected {
		reason := e.RejectionReason
		if reason == "" {
			reason = s.RejectionReason
		}
		return append(out, Requirement{Kind: RequirementRegistrationRefused, Party: PartyVendor, Reason: reason,
			Description: "verification rejected the registration; it cannot be cured — register again with corrected facts",
			Cures:       []Cure{}})
	}
	if c := s.Standing.Closure; c != nil {
		return append(out, Requirement{Kind: RequirementStanding, Party: PartyOperator, Reason: string(c.Reason), Since: c.At,
			Description: "the partner account is closed: " + c.Note, Cures: []Cure{}})
	}
	// The enrollment's own e-mail confirmation (the partner network's is
	// part of the verification; the others confirm again, seed 002 step 17).
	if e.EmailConfirmedAt.IsZero() && (e.Program != domain.ProgramPartnerNetwork || s.Status == domain.PartnerStatusPending) {
		out = append(out, Requirement{Kind: RequirementEmailConfirmation, Party: PartyPartner,
			Description: "confirm the contact e-mail address for this enrollment with the link or code in its confirmation mail",
			Cures: []Cure{
				{Action: "confirm_email_link", Description: "open the link in the confirmation mail"},
				{Action: "confirm_email_code", Description: "enter the 6-digit code of the mail", Service: "email-ownership", Method: "POST",
					Path: "/v1/enrollments/" + string(e.ID) + "/confirm-code"},
				{Action: "resend_confirmation", Description: "ask for a new mail (check the spam folder first)", Service: "email-ownership",
					Method: "POST", Path: "/v1/resend"},
				{Action: "check_confirmation_mail", Description: "see the confirmation's state: when it expires, the codes left, " +
					"and whether its mail could not be delivered (then correct the contact address or ask for a new mail)",
					Service: "email-ownership", Method: "GET", Path: "/v1/enrollments/" + string(e.ID) + "/ownership"},
			}})
	}
	for _, d := range docs {
		d := d
		req := Requirement{Kind: RequirementDocuments, Party: PartyPartner, Reason: d.Reason, Since: d.RequestedAt, DueAt: d.DueAt,
			PastDue: !d.DueAt.IsZero() && !now.Before(d.DueAt), Documents: &d,
			Description: "verification needs evidence for the " + d.Check + " check: " + d.ApplicantMessage,
			Cures: []Cure{{Action: "upload_document", Description: "submit one of the accepted documents", Service: "verification",
				Method: "POST", Path: "/v1/verification/partners/" + pid + "/documents"}}}
		if d.DomainProof != nil {
			req.Cures = append(req.Cures, Cure{Action: "prove_domain", Service: "verification", Method: "POST",
				Path: "/v1/verification/partners/" + pid + "/domain-proofs",
				Description: fmt.Sprintf("publish the DNS TXT record %s = %q (or serve it at %s), then ask for the check",
					d.DomainProof.DNSTXTName, d.DomainProof.DNSTXTValue, d.DomainProof.HTTPURL)})
		}
		out = append(out, req)
	}
	if s.Status == domain.PartnerStatusPending {
		out = append(out, Requirement{Kind: RequirementVerificationReview, Party: PartyVendor,
			Description: "the vendor reviews the company and employment facts (usually 2–3 business days)", Cures: []Cure{}})
	}
	if e.Program != domain.ProgramPartnerNetwork && e.AgreementID == "" && e.Status != domain.EnrollmentActive {
		desc := "accept the " + string(e.Program) + " agreement as the partner's administrator (with MFA)"
		if s.Status == domain.PartnerStatusPending {
			desc += "; possible once verification approves the partner"
		}
		req := Requirement{Kind: RequirementAgreement, Party: PartyPartner, Description: desc,
			Cures: []Cure{{Action: "accept_agreement", Description: "accept the newest version for the market", Service: "agreements",
				Method: "POST", Path: "/v1/partners/" + pid + "/agreements/acceptances"}}}
		if l := e.AgreementLapsed; l != nil {
			// The earlier acceptance stopped counting (since round 44).
			req.Reason, req.Since, req.DueAt, req.PastDue = domain.ReasonReacceptanceOverdue, l.At, l.DueBy, true
			req.Description = "the " + string(e.Program) + " agreement's version " + l.VersionID + " was not accepted by " +
				l.DueBy.UTC().Format(time.RFC3339) + ", so the earlier acceptance no longer counts: accept that version as the " +
				"partner's administrator (with MFA) to make the enrollment active again"
			req.Cures[0].Description = "accept version " + l.VersionID
			if d := e.AgreementDue; d != nil {
				// A newer version was published since the lapse (since
				// round 46): accepting it clears both.
				req.Description = "the " + string(e.Program) + " agreement's version " + l.VersionID + " was not accepted by " +
					l.DueBy.UTC().Format(time.RFC3339) + ", so the earlier acceptance no longer counts, and version " + d.VersionID +
					" was published since (due by " + d.DueBy.UTC().Format(time.RFC3339) + "): accept version " + d.VersionID +
					" as the partner's administrator (with MFA) to make the enrollment active again (accepting " + l.VersionID +
					" instead leaves " + d.VersionID + " due)"
				req.Cures[0].Description = "accept version " + d.VersionID
			}
		}
		out = append(out, req)
	}
	if d := e.AgreementDue; d != nil && e.AgreementLapsed == nil && e.Status == domain.EnrollmentActive {
		// Since round 44: ahead of the lapse, beside agreements' own status.
		out = append(out, Requirement{Kind: RequirementAgreement, Party: PartyPartner, Reason: ReasonReacceptanceRequired,
			Since: d.At, DueAt: d.DueBy, PastDue: !now.Before(d.DueBy),
			Description: "the " + string(e.Program) + " agreement was revised: accept version " + d.VersionID + " by " +
				d.DueBy.UTC().Format(time.RFC3339) + " as the partner's administrator (with MFA), or the earlier acceptance " +
				"stops counting and the enrollment can no longer transact",
			Cures: []Cure{{Action: "accept_agreement", Description: "accept version " + d.VersionID, Service: "agreements",
				Method: "POST", Path: "/v1/partners/" + pid + "/agreements/acceptances"}}})
	}
	for _, h := range s.Standing.Holds {
		out = append(out, holdRequirement(pid, h))
	}
	if !s.Standing.InactiveSince.IsZero() {
		out = append(out, Requirement{Kind: RequirementStanding, Party: PartyPartner, Reason: string(domain.ReasonInactivity),
			Since:       s.Standing.InactiveSince,
			Description: "the partner has been inactive since " + s.Standing.InactiveSince.UTC().Format(time.DateOnly),
			Cures: []Cure{{Action: "reactivate", Description: "ask for reactivation as the partner's administrator (a long inactivity is reviewed again)",
				Service: "registration", Method: "POST", Path: "/v1/partners/" + pid + "/reactivation"}}})
	}
	return out
}

// inWords is a staff note as a requirement's description quotes it: staff
// read it, the partner's side reads it empty (seenBy), and nothing.
func inWords(note string) string {
	if note == "" {
		return ""
	}
	return " (" + note + ")"
}

func holdRequirement(pid string, h domain.Hold) Requirement {
	r := Requirement{Kind: RequirementStanding, Reason: string(h.Reason), Since: h.Since, Cures: []Cure{}}
	switch h.Reason {
	case domain.ReasonVerificationRevoked:
		r.Party = PartyVendor
		r.Description = "verification withdrew its approval" + inWords(h.Note) + "; the partner is suspended until a re-review approves it"
		// Verification takes no documents on a revoked case (409
		// verification.case_closed): what answers the revocation goes to
		// partner support, and a verifier or an operator reviews the case
		// again.
		r.Cures = append(r.Cures, Cure{Action: "contact_support",
			Description: "contact partner support with what answers the revocation; a verifier reviews the case again"})
		reopen := Cure{Action: "reopen_review",
			Description: "a verifier (not of the partner) or an operator reviews the case again; its approval lifts the suspension",
			Service:     "verification", Method: "POST", Path: "/v1/verification/cases/" + h.Case + "/reviews"}
		if h.Case == "" { // a hold placed before round 33: the case is the partner's
			reopen.Description += " (the case: GET /v1/verification/partners/" + pid + "/case)"
			reopen.Method, reopen.Path = "", ""
		}
		r.Cures = append(r.Cures, reopen)
	case domain.ReasonReverificationRequired:
		r.Party = PartyVendor
		r.Description = "reactivated after a long inactivity: verification reviews the partner again"
	case domain.ReasonComplianceHold:
		r.Party = PartyOperator
		r.Description = "an operator placed a compliance hold" + inWords(h.Note)
		r.Cures = append(r.Cures, Cure{Action: "contact_support", Description: "contact partner support; an operator lifts the hold"})
	case domain.ReasonMFANoncompliant:
		r.Kind, r.Party = RequirementSecurity, PartyPartner
		r.Description = "the partner tenant does not enforce multi-factor authentication for every user (security requirements)"
		r.Cures = append(r.Cures, Cure{Action: "enforce_mfa",
			Description: "enforce MFA for every user, service accounts included; the hold is lifted when your identity platform reports compliance"})
	}
	return r
}

// enrollmentMatcher selects an enrollment by its ID (EN-…) or, for a
// program name, the program's first enrollment (the registered location's).
func enrollmentMatcher(s string) (func(domain.Enrollment) bool, string, error) {
	if id, err := ids.Parse(ids.Enrollment, s); err == nil {
		return func(e domain.Enrollment) bool { return string(e.ID) == id }, id, nil
	}
	prog, err := parseProgram(s)
	if err != nil {
		return nil, "", err
	}
	return func(e domain.Enrollment) bool { return e.Program == prog }, fmt.Sprintf("in %s", prog), nil
}
