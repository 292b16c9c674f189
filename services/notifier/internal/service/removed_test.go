package service_test

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp/smtptest"
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

// TestADismissedReportIsAnsweredToItsReporter: a verifier dismissed a
// "this wasn't me" report; the person who reported the mail hears the
// outcome once (one verification event per review, however many of the
// partner's mails were reported), at the address the reported mail went
// to even after the partner's contact changed, with the reviewer's reason
// and message. Before round 42 the report was answered by silence and the
// verifier's message reached nobody.
func TestADismissedReportIsAnsweredToItsReporter(t *testing.T) {
	h := start(t, opts{})
	req := h.request("ch-reported", time.Now().Add(72*time.Hour))
	p, reporter := req.PartnerID, req.Recipient
	h.registered(p, "株式会社ひかりネットワークス", reporter)
	h.contactsKnown(1)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", p, req)
	h.mails(1) // the confirmation mail
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", p, registrationv1.ProfileChangeApplied{PartnerID: p, ChangeNumber: 1,
		Market: "JP", Language: "ja", Changes: []registrationv1.FieldChange{{Field: registrationv1.FieldContactEmail, From: reporter, To: "jiro@yamada.example.co.jp"}},
		LegalName: registrationv1.LegalName{Raw: "株式会社ひかりネットワークス", Normalized: "株式会社ひかりネットワークス"},
		Contact:   registrationv1.Contact{FirstName: "次郎", LastName: "山田", Email: "jiro@yamada.example.co.jp", EmailDomain: "yamada.example.co.jp"},
		AppliedAt: time.Now().UTC()})
	h.sent(3) // the change, told to both addresses
	publish(t, h.js, verificationv1.TypeEmailDisputeDismissed, "", p, verificationv1.EmailDisputeDecided{ReviewID: "vr-1", DecisionID: "d-1",
		PartnerID: p, EnrollmentID: req.EnrollmentID, Program: req.Program, ChallengeID: "ch-reported", Outcome: "dismissed",
		Reason: "address_belongs_to_contact", ReasonText: "The address was found to belong to the partner's registered contact.",
		Message: "ご登録の会社の代表電話でご本人に確認しました。", DecidedBy: "ver-1", DecidedAt: time.Now().UTC()})
	var answer []smtptest.Parsed
	testkit.Eventually(t, 10*time.Second, func() error {
		answer = answer[:0]
		for _, m := range h.sent(3) {
			if strings.Contains(m.Subject, "We reviewed your report") {
				answer = append(answer, m)
			}
		}
		if len(answer) == 0 {
			return fmt.Errorf("no answer to the report yet")
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(h.smtp.Messages()); n != 4 || len(answer) != 1 {
		t.Fatalf("%d mails, %d answers", n, len(answer))
	}
	a := answer[0]
	if !strings.Contains(a.To, reporter) || !strings.Contains(a.Text, "パートナーに登録されたご担当者のもの") ||
		!strings.Contains(a.Text, "ご本人に確認しました") || !strings.Contains(a.Text, p) || !strings.Contains(a.Text, "cloud reseller (indirect)") ||
		!strings.Contains(a.Text, "までにメールアドレスを確認") {
		t.Fatalf("the answer to the report, to %s:\n%s", a.To, a.Text)
	}
}

// TestAnUpheldReportIsAnsweredToItsReporter: a verifier upheld a "this
// wasn't me" report; the reporter hears that the address was removed —
// the one mail the removed address still gets, whichever of the two
// events (email-ownership's removal, verification's decision) the notifier
// handles first — and the partner's next mail to it is withheld as before.
func TestAnUpheldReportIsAnsweredToItsReporter(t *testing.T) {
	h := start(t, opts{})
	req := h.request("ch-upheld", time.Now().Add(72*time.Hour))
	p, reporter := req.PartnerID, req.Recipient
	h.registered(p, "株式会社ひかりネットワークス", reporter)
	h.contactsKnown(1)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", p, req)
	h.mails(1)
	now := time.Now().UTC()
	publish(t, h.js, emailv1.TypeDisputeUpheld, "", p, emailv1.DisputeDecided{PartnerID: p, EnrollmentID: req.EnrollmentID, Program: req.Program,
		ChallengeID: "ch-upheld", ReviewID: "vr-2", Address: reporter, Outcome: "upheld", DecidedAt: now})
	testkit.Eventually(t, 10*time.Second, func() error {
		var got []string
		err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT removed FROM contacts WHERE partner_id = $1`, p).Scan(&got)
		if err != nil || len(got) != 1 {
			return fmt.Errorf("removed %v (%v)", got, err)
		}
		return nil
	})
	publish(t, h.js, verificationv1.TypeEmailDisputeUpheld, "", p, verificationv1.EmailDisputeDecided{ReviewID: "vr-2", DecisionID: "d-2",
		PartnerID: p, EnrollmentID: req.EnrollmentID, Program: req.Program, ChallengeID: "ch-upheld", Outcome: "upheld",
		Message: "Thank you for telling us.", DecidedBy: "ver-1", DecidedAt: now})
	publish(t, h.js, verificationv1.TypeVerificationRejected, "", p, verificationv1.VerificationRejected{CaseID: "vc-2", PartnerID: p,
		LocationID: p + "-L1", Market: "JP", Enrollments: []verificationv1.Enrollment{{EnrollmentID: req.EnrollmentID, Program: req.Program}},
		FailingCheck: "company", SubStatus: "company_check_failed", Reason: "company_not_found", Mode: "RETRY", RejectedAt: now})
	testkit.Eventually(t, 10*time.Second, func() error {
		if got := strings.Join(h.mailStates(p), ", "); !strings.Contains(got, "verification.rejected suppressed address_removed") {
			return fmt.Errorf("mails %s", got)
		}
		return nil
	})
	sent := h.sent(2)
	time.Sleep(300 * time.Millisecond)
	if n := len(h.smtp.Messages()); n != 2 {
		t.Fatalf("%d mails sent, want the confirmation mail and the answer", n)
	}
	a := sent[1]
	if strings.Contains(sent[0].Subject, "removed from the registration") {
		a = sent[0]
	}
	if !strings.Contains(a.To, reporter) || !strings.Contains(a.Subject, "removed from the registration") ||
		!strings.Contains(a.Text, "Thank you for telling us.") || strings.Contains(a.Text, "太郎") {
		t.Fatalf("the answer to the report, to %s: %s\n%s", a.To, a.Subject, a.Text)
	}
}

// TestAnAnswerToAReportNamesNoOtherPerson: a report of a mail that went to
// another address than the partner's contact (a profile change's new
// address) is answered at that address under no one's name — not the
// contact's (found on make run: "鈴木 一郎 <jiro.suzuki@…>", the verified
// contact's name on the reporter's address).
func TestAnAnswerToAReportNamesNoOtherPerson(t *testing.T) {
	h := start(t, opts{})
	req := h.request("ch-other", time.Now().Add(72*time.Hour))
	p, reporter := req.PartnerID, req.Recipient
	h.registered(p, "株式会社ひかりネットワークス", "hanako.sato@yamada.example.co.jp")
	h.contactsKnown(1)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", p, req)
	h.mails(1)
	now := time.Now().UTC()
	publish(t, h.js, verificationv1.TypeEmailDisputeUpheld, "", p, verificationv1.EmailDisputeDecided{ReviewID: "vr-3", DecisionID: "d-3",
		PartnerID: p, EnrollmentID: req.EnrollmentID, Program: req.Program, ChallengeID: "ch-other", Outcome: "upheld",
		DecidedBy: "ver-1", DecidedAt: now})
	for _, m := range h.sent(2) {
		if !strings.Contains(m.Subject, "removed from the registration") {
			continue
		}
		to, err := mail.ParseAddress(m.Header.Get("To"))
		if err != nil || to.Address != reporter || strings.Contains(to.Name, "花子") || strings.Contains(m.Text, "花子") {
			t.Fatalf("the answer is to %q (%v):\n%s", m.Header.Get("To"), err, m.Text)
		}
		return
	}
	t.Fatal("no answer to the report")
}
