package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestAnAddressRemovedFromThePartnerIsMailedNothing: a verifier upheld a
// "this wasn't me" report of the partner's contact address. Its owner is
// not the partner's: the partner's mails to it — a documents request named
// to it, a mail to the partner's contact — are recorded suppressed
// (address_removed), nothing reaches the SMTP server, and when the partner
// corrects its contact the removed address is not told of the change (the
// new one is, and the partner's next mail goes there). Found on make run:
// the person who had reported the registration was sent "the contact
// address of your company's partner account was changed" with the
// partner's ID, and would have been sent every reminder before.
func TestAnAddressRemovedFromThePartnerIsMailedNothing(t *testing.T) {
	h := start(t, opts{})
	const p, removed, corrected = "PG-REMV-0000-0AD", "hikaru@hikari.example.co.jp", "akari@hikari.example.co.jp"
	h.registered(p, "株式会社ひかりネットワークス", removed)
	h.contactsKnown(1)
	for _, enr := range []string{p + "-NET", p + "-RES"} { // one event per enrollment on the address
		publish(t, h.js, emailv1.TypeDisputeUpheld, "", p, emailv1.DisputeDecided{PartnerID: p, EnrollmentID: enr, Program: "partner_network",
			ChallengeID: "ch-" + enr, ReviewID: "vr-1", Address: removed, Outcome: "upheld", DecidedAt: time.Now().UTC()})
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		var got []string
		err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT removed FROM contacts WHERE partner_id = $1`, p).Scan(&got)
		if err != nil || !slices.Equal(got, []string{removed}) {
			return fmt.Errorf("removed %v (%v)", got, err)
		}
		return nil
	})
	now := time.Now().UTC()
	publish(t, h.js, verificationv1.TypeDocumentsRequested, "", p, verificationv1.DocumentsRequested{CaseID: "vc-1", PartnerID: p,
		Check: "employment", Reason: "domain_not_owned", AcceptedDocuments: []string{"domain_invoice"}, DueAt: now.Add(240 * time.Hour),
		BusinessDaysLeft: 10, AppealsRemaining: 2, ContactEmail: removed, At: now})
	publish(t, h.js, verificationv1.TypeVerificationRejected, "", p, verificationv1.VerificationRejected{CaseID: "vc-1", PartnerID: p,
		LocationID: p + "-L1", Market: "JP", Enrollments: []verificationv1.Enrollment{{EnrollmentID: p + "-NET", Program: "partner_network"}},
		FailingCheck: "company", SubStatus: "company_check_failed", Reason: "company_not_found", Mode: "RETRY", RejectedAt: now})
	testkit.Eventually(t, 10*time.Second, func() error {
		if got := strings.Join(h.mailStates(p), ", "); got != "verification.documents_requested suppressed address_removed, "+
			"verification.rejected suppressed address_removed" {
			return fmt.Errorf("mails %s", got)
		}
		return nil
	})

	// The partner corrects its contact: the new address hears of it, the
	// removed one does not.
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", p, registrationv1.ProfileChangeApplied{PartnerID: p, ChangeNumber: 1,
		Market: "JP", Language: "ja", Changes: []registrationv1.FieldChange{{Field: registrationv1.FieldContactEmail, From: removed, To: corrected}},
		LegalName: registrationv1.LegalName{Raw: "株式会社ひかりネットワークス", Normalized: "株式会社ひかりネットワークス"},
		Contact:   registrationv1.Contact{FirstName: "あかり", LastName: "大宮", Email: corrected, EmailDomain: "hikari.example.co.jp"}, AppliedAt: now})
	got := h.mails(1)
	time.Sleep(300 * time.Millisecond)
	for _, m := range h.smtp.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, removed) {
				t.Fatalf("mailed the removed address: %+v", m.To)
			}
		}
	}
	if n := len(h.smtp.Messages()); n != 1 {
		t.Fatalf("%d mails sent, want the new contact's one (%v)", n, got)
	}
}
