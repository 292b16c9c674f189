package mails_test

import (
	"encoding/json"
	"html"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// TestAReopenedReviewSaysThePartnerStaysSuspended: the mail of a review
// re-opened after a revocation names the case number (for partner support)
// and when the review was re-opened, says a reviewer checks the company
// again, that nothing is needed now and that a separate mail will name any
// documents and their deadline, that the partner account stays suspended
// (no transactions) until the review approves it and that a mail will say
// when it is active again, and links the documents page — in both
// languages and both parts. The note of whoever re-opened it, and who that
// was, have no place in the mail's data: decoded from data that carries
// them, the mail says neither.
func TestAReopenedReviewSaysThePartnerStaysSuspended(t *testing.T) {
	s := set(t)
	const docs, note, reviewer = "https://portal.example/partners/PG-1/verification", "登記簿の住所が移転前のものと判明（内部メモ）", "verifier-sato@vendor.example"
	var d mails.Data
	raw := `{"partner":{"id":"PG-1","market":"JP","contact_first_name":"太郎","contact_last_name":"山田","company_name":"株式会社ひかり"},
		"verification":{"case_id":"vc-01JREOPEN","reopened_at":"2026-12-07T02:30:00Z","note":"` + note + `","reopened_by":"` + reviewer + `"}}`
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	d.Links = mails.Links{Documents: docs}
	want := []string{"vc-01JREOPEN", "山田 太郎 様", "Dear 山田 太郎,",
		"2026年12月7日（月） 11:30（日本時間）に審査を再開しました", "was re-opened on Monday, 7 December 2026, 11:30 Japan time, JST",
		"審査担当者が貴社の会社情報を改めて確認しています", "A reviewer is now checking your company's details again",
		// nothing now; documents, if needed, by a separate mail
		"現時点で、貴社でのご対応は不要です", "Nothing is needed from you now",
		"必要な書類と提出期限を別途メールでお知らせします", "we will send you a separate e-mail saying which documents and by when",
		// suspended until approved; a mail when active again
		"審査で承認されるまで、パートナー アカウント", "は停止されたままとなり、パートナーとしてのお取引はできません",
		"stays suspended until the review approves your registration", "your company cannot transact as a partner",
		"アカウントが再び有効になりましたら、メールでお知らせします", "We will e-mail you when your account is active again",
		"パートナー サポート", "partner support"}
	for _, first := range mails.Languages {
		r, err := s.Render(mails.ReviewReopened, first, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Subject, "パートナー登録の審査を再開しました") || !strings.Contains(r.Subject, "The review of your partner registration has been re-opened") {
			t.Errorf("%s first: subject %q", first, r.Subject)
		}
		body := html.UnescapeString(r.HTML)
		for _, w := range want {
			if !strings.Contains(r.Text, w) || !strings.Contains(body, w) {
				t.Errorf("%s first: a part lacks %q:\n%s\n%s", first, w, r.Text, r.HTML)
			}
		}
		if !strings.Contains(r.Text, docs) || !strings.Contains(r.HTML, `href="`+docs+`"`) {
			t.Errorf("%s first: a part does not link the documents page:\n%s", first, r.Text)
		}
		for _, never := range []string{note, "内部メモ", reviewer, "verifier-sato"} {
			if strings.Contains(r.Subject+r.Text+body, never) {
				t.Errorf("%s first: the mail says %q:\n%s", first, never, r.Text)
			}
		}
	}
}
