package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestStandingChangesReachThePartner: each standing change registration
// publishes (suspended for MFA, a compliance hold added, active again,
// closed) mails the partner's contact, known from its registration, in
// Japanese then English in both parts, with what happened and the cure of
// each reason placed and the portal links; the operator's note is never in
// it. Operators see each as a transactional mail, delivered.
func TestStandingChangesReachThePartner(t *testing.T) {
	h := start(t, opts{})
	const p, addr = "PG-STAN-D100-00E", "kenji@standing.example.co.jp"
	const note = "社内メモ：反社チェック再確認中"
	h.registered(p, "株式会社しまなみクラウド", addr)
	h.contactsKnown(1)
	at := time.Now().UTC()
	for _, ch := range []registrationv1.PartnerStandingChanged{
		{From: "active", To: "suspended", Reasons: []string{"mfa_noncompliant"}, Added: []string{"mfa_noncompliant"}, ChangedBy: "idp"},
		{From: "suspended", To: "suspended", Reasons: []string{"mfa_noncompliant", "compliance_hold"}, Added: []string{"compliance_hold"},
			Lifted: []string{}, ChangedBy: "ops-1", Note: note},
		{From: "suspended", To: "active", Reasons: []string{}, Added: []string{}, Lifted: []string{"mfa_noncompliant", "compliance_hold"}, ChangedBy: "ops-1", Note: note},
		{From: "active", To: "closed", Reasons: []string{"closed_by_operator"}, Added: []string{"closed_by_operator"}, Lifted: []string{}, ChangedBy: "ops-1", Note: note},
	} {
		ch.PartnerID, ch.ChangedAt = p, at
		publish(t, h.js, registrationv1.TypePartnerStandingChanged, "", p, ch)
	}
	got := h.mails(4)
	account := "https://partners.example.com/partners/" + p
	for ja, wants := range map[string][]string{
		"パートナー アカウントが停止されました": {"多要素認証（MFA）", "multi-factor authentication (MFA)", "例外なく MFA を適用してください",
			"Enforce MFA for every user of your tenant", "next report of your identity platform", account},
		"停止理由が追加されました": {"コンプライアンス上の理由", "compliance hold", "パートナー サポートにお問い合わせください", "contact partner support",
			"引き続き有効な理由", "Still in force", "MFA", account},
		"再び有効になりました": {"元に戻るもの", "What is restored", "The partner agreements you accepted count again", "lifted its compliance hold"},
		"閉鎖されました":    {"閉鎖は取り消せず", "Closure is final", "What remains possible", "contact partner support with your partner ID"},
	} {
		var found bool
		for subj, m := range got {
			if !strings.Contains(subj, ja) {
				continue
			}
			found = true
			if m.To != addr || !strings.Contains(subj, " / ") || !strings.Contains(m.Text, "────") ||
				strings.Index(m.HTML, `<section lang="ja">`) > strings.Index(m.HTML, `<section lang="en">`) || !strings.Contains(m.HTML, `<section lang="ja">`) {
				t.Errorf("%s: to %s, not Japanese then English in both parts:\n%s", subj, m.To, m.Text)
			}
			if m.Header.Get("List-Unsubscribe") != "" {
				t.Errorf("%s: a transactional mail with List-Unsubscribe", subj)
			}
			for _, w := range append(wants, "株式会社しまなみクラウド", p) {
				if !strings.Contains(m.Text, w) {
					t.Errorf("%s: the text part lacks %q:\n%s", subj, w, m.Text)
				}
			}
			for _, w := range wants {
				if strings.HasPrefix(w, "http") && !strings.Contains(m.HTML, `href="`+w+`"`) {
					t.Errorf("%s: the HTML part does not link %s", subj, w)
				}
			}
			if strings.Contains(m.Text, note) || strings.Contains(m.HTML, note) {
				t.Errorf("%s: the operator's note is in the mail", subj)
			}
		}
		if !found {
			t.Errorf("no mail %q among %d", ja, len(got))
		}
	}
	var list mailList
	testkit.Eventually(t, 10*time.Second, func() error { // the record commits right after the send
		h.get("/v1/mails?partner_id="+p, h.operator(), 200, &list)
		if len(list.Mails) != 4 || slices.ContainsFunc(list.Mails, func(m mailView) bool { return m.Status != "delivered" }) {
			return fmt.Errorf("operator's list: %+v", list.Mails)
		}
		return nil
	})
	for _, m := range list.Mails {
		if m.Template != "registration.standing_changed" || m.Category != "transactional" || m.Status != "delivered" ||
			m.Trigger.Type != registrationv1.TypePartnerStandingChanged {
			t.Errorf("mail %+v", m)
		}
	}
}
