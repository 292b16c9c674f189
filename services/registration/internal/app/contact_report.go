package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// RequirementContactRemoved: a reviewer upheld a "this wasn't me" dispute
// of the enrollment's contact address; the address was removed from the
// enrollment, which cannot proceed on it.
const RequirementContactRemoved = "contact_email_removed"

// ReasonContactReported is the e-mail confirmation requirement's reason
// while its mail's recipient has reported it and a verifier reviews the
// report.
const ReasonContactReported = "confirmation_mail_reported"

// ContactReportState is where a "this wasn't me" report of an enrollment's
// confirmation mail stands, as e-mail ownership told it.
type ContactReportState string

// Report states: reported (a verifier reviews it), removed (upheld: the
// address was removed from the enrollment), ended (withdrawn by a
// confirmation, or dismissed).
const (
	ContactReported    ContactReportState = "reported"
	ContactRemoved     ContactReportState = "removed"
	ContactReportEnded ContactReportState = "ended"
)

// ContactReport is the latest "this wasn't me" report of an enrollment's
// contact address and its outcome, as registration keeps it for the
// requirements view (At: when e-mail ownership recorded that state).
type ContactReport struct {
	PartnerID    domain.PartnerID
	EnrollmentID domain.EnrollmentID
	ChallengeID  string
	Address      string
	State        ContactReportState
	At           time.Time
}

// ContactReports is registration's read model of reported and removed
// contact addresses (fed by email.challenge.disputed.v1 and
// email.dispute.withdrawn/dismissed/upheld.v1, one durable each, so in any
// order: the state recorded latest by e-mail ownership wins). A report or
// removal counts while the partner's contact address is still the
// reported one: a changed contact address ends it without another event.
type ContactReports interface {
	// SaveContactReport keeps r unless the enrollment's report is of a
	// later time.
	SaveContactReport(ctx context.Context, r ContactReport) error
	// ContactReport is the enrollment's latest report, or nil.
	ContactReport(ctx context.Context, id domain.EnrollmentID) (*ContactReport, error)
	// ContactAddressRemoved reports whether an upheld report removed
	// address from one of the partner's enrollments, ever (case-insensitive):
	// the latest report of an enrollment may be another address's.
	ContactAddressRemoved(ctx context.Context, partner domain.PartnerID, address string) (bool, error)
}

// ReasonProfileEmailRemoved is why a profile change whose new contact
// address was removed is rejected (its e-mail ownership check failed).
const ReasonProfileEmailRemoved = "the owner of the new contact e-mail address reported its confirmation mail (\"this wasn't me\") " +
	"and a verifier upheld the report: the address was removed from the partner; ask for the change again with another address"

// RecordContactReport keeps a report of an enrollment's confirmation mail
// or its outcome. The least invasive reaction: the partner's standing and
// the enrollment's status do not change (an enrollment whose address was
// removed simply cannot be confirmed on it, so it waits, as for any
// unconfirmed address); the requirements view names the cause and the
// cure. A removal of the new contact address of a pending profile change
// rejects the change (its e-mail ownership check failed; before round 43
// it stayed pending for good, the partner told nothing). Internal trigger.
func (a *App) RecordContactReport(ctx context.Context, p auth.Principal, r ContactReport) error {
	if err := a.repo.SaveContactReport(ctx, r); err != nil {
		return fmt.Errorf("record the %s contact of %s: %w", r.State, r.EnrollmentID, err)
	}
	if r.State != ContactRemoved {
		return nil
	}
	_, err := a.change(ctx, p, string(r.PartnerID), "refuse the profile change's removed address", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		return partner.RefuseProfileEmail(r.Address, ReasonProfileEmailRemoved, r.At, now), nil
	})
	return err
}

// withContactReport tells in the enrollment's e-mail confirmation
// requirement what a report of its address (still the partner's contact
// address) changed: under review, the enrollment waits on a verifier and
// the partner is not sent to a resend that would mail the reporter again;
// removed, confirming or resending cannot cure it, another address can.
func (a *App) withContactReport(ctx context.Context, v *RequirementsView, contactEmail string) error {
	r, err := a.repo.ContactReport(ctx, v.EnrollmentID)
	if err != nil || r == nil || r.State == ContactReportEnded || !strings.EqualFold(r.Address, contactEmail) {
		return err
	}
	cure := "change the primary contact's e-mail address (a profile change), to another address than a removed one; every enrollment still to be confirmed gets a confirmation mail to the new address"
	if v.PartnerStatus == domain.PartnerStatusPending {
		// Under review, a correction of the contact keeps the domain
		// (registration.not_yet_approved otherwise).
		cure += "; while verification reviews the registration, an address on the same domain"
	}
	change := Cure{Action: "change_contact_email", Description: cure, Service: "registration", Method: "POST",
		Path: "/v1/partners/" + string(v.PartnerID) + "/profile-changes"}
	for i, q := range v.Requirements {
		if q.Kind != RequirementEmailConfirmation {
			continue
		}
		if r.State == ContactReported {
			v.Requirements[i] = Requirement{Kind: RequirementEmailConfirmation, Party: PartyVendor, Reason: ReasonContactReported, Since: r.At,
				Description: "the recipient of the confirmation mail reported it (\"this wasn't me\"); a verifier reviews the report: " +
					"upheld, the address is removed from the partner and another contact address is needed; dismissed, the mail's link " +
					"confirms again",
				Cures: []Cure{
					{Action: "confirm_email_link", Description: "if the report was a mistake, the contact opens the link in the confirmation mail: " +
						"confirming withdraws the report"},
					change,
				}}
			for _, c := range q.Cures {
				if c.Action == "check_confirmation_mail" {
					v.Requirements[i].Cures = append(v.Requirements[i].Cures, c)
				}
			}
			continue
		}
		v.Requirements[i] = Requirement{Kind: RequirementContactRemoved, Party: PartyPartner, Reason: "dispute_upheld", Since: r.At,
			Description: "a reviewer upheld a \"this wasn't me\" report of the contact e-mail address: the address was removed from this " +
				"enrollment, which cannot be confirmed on it; give the enrollment another contact e-mail address",
			Cures: []Cure{change}}
	}
	return nil
}
