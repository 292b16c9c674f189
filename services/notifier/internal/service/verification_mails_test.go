package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestAReopenedReviewReachesThePartner: a review re-opened after the
// partner's approval was revoked mails the partner's contact that its
// company is reviewed again, that nothing is needed now (a separate mail
// names any documents) and that its account stays suspended until the
// review approves it, with the case number and the documents page, in
// Japanese then English in both parts — never the note of whoever re-opened
// it, nor who that was. A review re-opened for a reactivation mails nothing
// (the standing mail of the reactivation said the company is reviewed
// again), nor does one for a reason the notifier does not know.
func TestAReopenedReviewReachesThePartner(t *testing.T) {
	h := start(t, opts{})
	const p, addr = "PG-RE0P-0000-0RE", "hanako@reopened.example.co.jp"
	const note, reviewer = "登記簿の住所が移転前のものと判明した（社内確認用）", "verifier-kimura"
	h.registered(p, "株式会社みなとクラウド", addr)
	h.contactsKnown(1)
	at := time.Now().UTC().Truncate(time.Second)
	reopened := func(caseID, from, reason string) verificationv1.CaseReopened {
		return verificationv1.CaseReopened{CaseID: caseID, PartnerID: p, From: from, Reason: reason, Note: note,
			TaskID: "task-" + caseID, ReopenedBy: reviewer, ReopenedAt: at}
	}
	// The skipped ones first: the partner's events are handled in order, so
	// once the last is mailed they were handled too.
	for _, c := range []verificationv1.CaseReopened{
		reopened("vc-REACT", "approved", verificationv1.ReopenedForReactivation),
		reopened("vc-NEWER", "revoked", "some_newer_reason"),
		reopened("vc-REVOKED", "revoked", verificationv1.ReopenedForRevocation),
	} {
		publish(t, h.js, verificationv1.TypeCaseReopened, "", p, c)
	}
	h.sent(1)
	time.Sleep(500 * time.Millisecond) // a second mail would have been sent by now
	got := h.sent(1)
	if len(got) != 1 {
		t.Fatalf("%d mails, want 1:\n%s", len(got), subjects(got))
	}
	m := got[0]
	docs := "https://partners.example.com/partners/" + p + "/verification"
	if m.To != addr || !strings.Contains(m.Subject, "【審査再開】パートナー登録の審査を再開しました") ||
		!strings.Contains(m.Subject, "The review of your partner registration has been re-opened") {
		t.Errorf("to %s, subject %q", m.To, m.Subject)
	}
	if !strings.Contains(m.Text, "────") || !strings.Contains(m.HTML, `<section lang="ja">`) ||
		strings.Index(m.HTML, `<section lang="ja">`) > strings.Index(m.HTML, `<section lang="en">`) ||
		!strings.Contains(m.HTML, `href="`+docs+`"`) || m.Header.Get("List-Unsubscribe") != "" {
		t.Errorf("not a transactional mail in Japanese then English linking the documents page:\n%s", m.Text)
	}
	for _, s := range []string{"株式会社みなとクラウド", "佐藤 花子 様", "vc-REVOKED", docs,
		"審査担当者が貴社の会社情報を改めて確認しています", "A reviewer is now checking your company's details again",
		"現時点で、貴社でのご対応は不要です", "Nothing is needed from you now",
		"必要な書類と提出期限を別途メールでお知らせします", "we will send you a separate e-mail saying which documents and by when",
		"パートナー アカウント " + p + " は停止されたままとなり", "stays suspended until the review approves your registration",
		"We will e-mail you when your account is active again"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("the mail lacks %q:\n%s", s, m.Text)
		}
	}
	for _, s := range []string{note, "社内確認用", reviewer, "vc-REACT", "vc-NEWER"} {
		if strings.Contains(m.Subject+m.Text+m.HTML, s) {
			t.Errorf("the mail says %q:\n%s", s, m.Text)
		}
	}
	var list mailList
	testkit.Eventually(t, 10*time.Second, func() error {
		list = mailList{}
		h.get("/v1/mails?partner_id="+p, h.operator(), 200, &list)
		if len(list.Mails) != 1 || list.Mails[0].Status != "delivered" {
			return fmt.Errorf("operator's list: %+v", list.Mails)
		}
		return nil
	})
	if v := list.Mails[0]; v.Template != "verification.review_reopened" || v.Category != "transactional" ||
		v.Trigger.Type != verificationv1.TypeCaseReopened {
		t.Errorf("mail %+v", v)
	}
}
