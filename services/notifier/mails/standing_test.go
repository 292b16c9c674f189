package mails_test

import (
	"html"
	"strings"
	"testing"
	"time"

	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// standingReasons are every reason of registration.partner.standing_changed.
var standingReasons = []string{regv1.ReasonVerificationRevoked, regv1.ReasonReverificationRequired, regv1.ReasonComplianceHold,
	regv1.ReasonMFANoncompliant, regv1.ReasonInactivity, regv1.ReasonClosedByPartner, regv1.ReasonClosedByOperator}

// TestTermsWordEveryStandingReason: each standing reason says what happened
// and what the partner can do in both languages, and each reason that can
// be lifted says what its lifting means.
func TestTermsWordEveryStandingReason(t *testing.T) {
	s := set(t)
	for _, l := range mails.Languages {
		terms := s.Terms(l)
		for _, r := range standingReasons {
			st := terms.Standing[r]
			if st.What == "" || st.Cure == "" {
				t.Errorf("terms/%s.yaml: standing.%s needs what and cure", l, r)
			}
			closed := r == regv1.ReasonClosedByPartner || r == regv1.ReasonClosedByOperator
			if closed == (st.Lifted != "") {
				t.Errorf("terms/%s.yaml: standing.%s.lifted %q (closure is never lifted; the others are)", l, r, st.Lifted)
			}
		}
	}
}

// TestStandingMailTellsWhatHappenedAndTheCure: every kind of standing
// change renders a mail whose subject says the new standing in both
// languages and whose both parts carry, in both languages, what each
// placed reason means and what cures it (enforce MFA, a new review with
// the documents page, partner support, reactivation with its link), the
// reasons lifted and those still in force; active again says what is
// restored, closed that it is final and what remains possible.
func TestStandingMailTellsWhatHappenedAndTheCure(t *testing.T) {
	s := set(t)
	ja, en := s.Terms(mails.Japanese), s.Terms(mails.English)
	const account, docs, react = "https://portal.example/partners/PG-1", "https://portal.example/partners/PG-1/verification",
		"https://portal.example/partners/PG-1/reactivation"
	at := time.Date(2026, 12, 3, 1, 30, 0, 0, time.UTC)
	type want struct {
		subjJA, subjEN string
		what, cure     []string // reasons whose what and cure both parts carry
		lifted         []string // reasons whose lifting both parts tell
		links          []string
		absent         []string // what the mail must not say
		text           []string // more the text part carries
	}
	for name, c := range map[string]struct {
		st   mails.Standing
		want want
	}{
		"suspended for MFA": {mails.Standing{From: "active", To: "suspended", Reasons: []string{"mfa_noncompliant"}, Added: []string{"mfa_noncompliant"}},
			want{subjJA: "パートナー アカウントが停止されました", subjEN: "Your partner account is suspended", what: []string{"mfa_noncompliant"},
				cure: []string{"mfa_noncompliant"}, links: []string{account}, absent: []string{docs, react},
				text: []string{"MFA", "2026年12月3日（木） 10:30（日本時間）", "Thursday, 3 December 2026, 10:30 Japan time, JST", "no agreement can be accepted"}}},
		"revoked": {mails.Standing{From: "active", To: "suspended", Reasons: []string{"verification_revoked"}, Added: []string{"verification_revoked"}},
			want{subjJA: "停止されました", subjEN: "is suspended", what: []string{"verification_revoked"}, cure: []string{"verification_revoked"},
				links: []string{docs, account},
				// verification takes no documents on a revoked case (409
				// verification.case_closed): the mail said to submit them on
				// the documents page
				text:   []string{"contact partner support with your partner ID", "パートナー サポートにご連絡ください"},
				absent: []string{"Submit documents", "書類ページから提出"}}},
		"one more hold": {mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"mfa_noncompliant", "compliance_hold"}, Added: []string{"compliance_hold"}},
			want{subjJA: "停止理由が追加されました", subjEN: "suspended for one more reason", what: []string{"compliance_hold", "mfa_noncompliant"},
				cure: []string{"compliance_hold", "mfa_noncompliant"}, text: []string{"引き続き有効な理由", "Still in force", "partner support"}}},
		"one hold lifted": {mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"compliance_hold"}, Lifted: []string{"mfa_noncompliant"}},
			want{subjJA: "停止理由の一部が解除されました", subjEN: "it stays suspended", what: []string{"compliance_hold"}, cure: []string{"compliance_hold"},
				lifted: []string{"mfa_noncompliant"}}},
		"inactive": {mails.Standing{From: "active", To: "inactive", Reasons: []string{"inactivity"}, Added: []string{"inactivity"}},
			want{subjJA: "休止状態になりました", subjEN: "Your partner account is inactive", what: []string{"inactivity"}, cure: []string{"inactivity"},
				links: []string{react, account}}},
		"reactivated under review": {mails.Standing{From: "inactive", To: "suspended", Reasons: []string{"reverification_required"},
			Added: []string{"reverification_required"}, Lifted: []string{"inactivity"}},
			want{subjJA: "再開しました", subjEN: "was reactivated", what: []string{"reverification_required"}, cure: []string{"reverification_required"},
				lifted: []string{"inactivity"}, links: []string{docs}, absent: []string{react}}},
		"active again": {mails.Standing{From: "suspended", To: "active", Reasons: []string{}, Lifted: []string{"compliance_hold"}},
			want{subjJA: "再び有効になりました", subjEN: "Your partner account is active again", lifted: []string{"compliance_hold"},
				text:   []string{"元に戻るもの", "What is restored", "The partner agreements you accepted count again", "the provider must ask again"},
				absent: []string{"While your account is not active", docs, react}}},
		"closed by the partner": {mails.Standing{From: "active", To: "closed", Reasons: []string{"closed_by_partner"}, Added: []string{"closed_by_partner"}},
			want{subjJA: "閉鎖されました", subjEN: "Your partner account is closed", what: []string{"closed_by_partner"}, cure: []string{"closed_by_partner"},
				text: []string{"今後できること", "What remains possible", "cannot be reactivated"}, absent: []string{react, "active again"}}},
		"closed by an operator": {mails.Standing{From: "suspended", To: "closed", Reasons: []string{"closed_by_operator"}, Added: []string{"closed_by_operator"},
			Lifted: []string{"compliance_hold"}},
			want{subjJA: "閉鎖されました", subjEN: "is closed", what: []string{"closed_by_operator"}, cure: []string{"closed_by_operator"}}},
	} {
		t.Run(name, func(t *testing.T) {
			st := c.st
			st.ChangedAt = at
			d := mails.Data{Partner: mails.Party{ID: "PG-1", Market: "JP", ContactFirstName: "太郎", ContactLastName: "山田", CompanyName: "株式会社ひかり"},
				Links: mails.Links{Account: account, Documents: docs, Reactivation: react}, Standing: &st}
			for _, first := range mails.Languages {
				r, err := s.Render(mails.StandingChanged, first, d)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(r.Subject, c.want.subjJA) || !strings.Contains(r.Subject, c.want.subjEN) {
					t.Errorf("%s first: subject %q, want %q and %q", first, r.Subject, c.want.subjJA, c.want.subjEN)
				}
				var wants []string
				for _, terms := range []*mails.Terms{ja, en} {
					for _, code := range c.want.what {
						wants = append(wants, terms.Standing[code].What)
					}
					for _, code := range c.want.cure {
						wants = append(wants, terms.Standing[code].Cure)
					}
					for _, code := range c.want.lifted {
						wants = append(wants, terms.Standing[code].Lifted)
					}
				}
				for _, w := range append(wants, "PG-1", "山田 太郎 様", "Dear 山田 太郎,") {
					if !strings.Contains(r.Text, w) || !strings.Contains(r.HTML, html.EscapeString(w)) {
						t.Errorf("%s first: a part lacks %q:\n%s\n%s", first, w, r.Text, r.HTML)
					}
				}
				for _, l := range c.want.links {
					if !strings.Contains(r.Text, l) || !strings.Contains(r.HTML, `href="`+l+`"`) {
						t.Errorf("%s first: a part does not link %s:\n%s", first, l, r.Text)
					}
				}
				for _, w := range c.want.text {
					if !strings.Contains(r.Text, w) {
						t.Errorf("%s first: the text part lacks %q:\n%s", first, w, r.Text)
					}
				}
				for _, w := range c.want.absent {
					if strings.Contains(r.Text, w) || strings.Contains(r.HTML, w) {
						t.Errorf("%s first: the mail says %q:\n%s", first, w, r.Text)
					}
				}
			}
		})
	}
}
