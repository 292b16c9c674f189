package service_test

import (
	"fmt"
	"testing"
	"time"

	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestAnUndeliverableMailIsShownUntilANewOneIsSent: the notifier's report
// that it gave a confirmation mail up (the receiving server refused the
// address) is shown on the enrollment's status with its reason, so the
// partner corrects the address or asks for another mail instead of waiting;
// a replay, another template's failure and a mail given up because its
// challenge ended change nothing, and a resend's challenge starts afresh.
func TestAnUndeliverableMailIsShownUntilANewOneIsSent(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	res, network := p.Enrollments[1].EnrollmentID, p.Enrollments[0].EnrollmentID
	first := h.mailFor(res, 1)[0]
	h.mailFor(network, 1)
	failed := func(enrollment, challenge, template, reason string) notifierv1.MailFailed {
		return notifierv1.MailFailed{PartnerID: partner, EnrollmentID: enrollment, Program: "indirect_reseller", ChallengeID: challenge,
			TemplateID: template, Attempts: 1, Reason: reason, FailedAt: time.Now().UTC(),
			LastError: "the server answered RCPT TO with 550 5.1.1 <t***@yamada.example.co.jp>: user unknown"}
	}
	// Noise first: a mail given up because its challenge ended, and another
	// template's mail of the same enrollment; neither is a failed
	// confirmation mail.
	publish(t, h.js, notifierv1.TypeMailFailed, "", partner, failed(res, first.ChallengeID, "email_ownership.verify.v1", "challenge_expired"))
	publish(t, h.js, notifierv1.TypeMailFailed, "", partner, failed(network, "", "verification.documents_requested", "permanent_error"))
	id := publish(t, h.js, notifierv1.TypeMailFailed, "", partner, failed(res, first.ChallengeID, "email_ownership.verify.v1", "permanent_error"))
	var mf map[string]any
	testkit.Eventually(t, 10*time.Second, func() error {
		var ok bool
		if mf, ok = h.status(res, partner)["mail_failure"].(map[string]any); !ok {
			return fmt.Errorf("no mail_failure")
		}
		return nil
	})
	if mf["reason"] != "permanent_error" || mf["detail"] == "" || mf["failed_at"] == "" {
		t.Fatalf("mail_failure %v", mf)
	}
	publish(t, h.js, notifierv1.TypeMailFailed, id, partner, failed(res, first.ChallengeID, "email_ownership.verify.v1", "permanent_error"))
	if _, ok := h.status(network, partner)["mail_failure"]; ok {
		t.Fatal("another template's failure shown on the enrollment's confirmation")
	}
	// A resend opens a new challenge with its own mail.
	if code, b, _ := h.do("POST", "/v1/resend", h.token(partnerUser(partner)), map[string]string{"enrollment_id": res}); code != 202 {
		t.Fatalf("resend: %d %s", code, b)
	}
	h.mailFor(res, 2)
	if s := h.status(res, partner); s["mail_failure"] != nil {
		t.Fatalf("the new challenge shows the old mail's failure: %v", s)
	}
}
