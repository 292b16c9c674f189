package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp/smtptest"
)

// TestAWithdrawnVersionReachesThePartner: a re-acceptance cancelled because
// its version was retired mails the partner's contact that the version
// need not be accepted and its earlier acceptance stands — and, when the
// deadline had passed (the partner was told it could no longer transact),
// that it can transact again and its providers' access works again — in
// Japanese then English in both parts. One cancelled because the partner's
// account was closed mails nothing (since round 45; before, the partner
// last heard that it could no longer transact).
func TestAWithdrawnVersionReachesThePartner(t *testing.T) {
	h := start(t, opts{})
	const p, addr = "PG-WDRN-0000-007", "hanako@withdrawn.example.co.jp"
	h.registered(p, "株式会社みなとクラウド", addr)
	h.contactsKnown(1)
	due := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Hour)
	overdue, now := due.Add(time.Minute), time.Now().UTC()
	cancelled := func(id, program string, overdueAt *time.Time, reason string) agreementsv1.ReacceptanceCancelled {
		return agreementsv1.ReacceptanceCancelled{RequirementID: id, PartnerID: p, LocationID: p + "-L1", Program: program, Market: "JP",
			VersionID: program + "-2027-01", CurrentAcceptanceID: "a-" + id, DueBy: due, OverdueAt: overdueAt, Reason: reason, CancelledAt: now}
	}
	// The closure first: the partner's events are handled in order, so once
	// the two after it are mailed it was handled too.
	for _, c := range []agreementsv1.ReacceptanceCancelled{
		cancelled("rr-1", "indirect_provider", &overdue, agreementsv1.CancelledPartnerClosed),
		cancelled("rr-2", "indirect_reseller", &overdue, agreementsv1.CancelledVersionRetired),
		cancelled("rr-3", "indirect_provider", nil, agreementsv1.CancelledVersionRetired),
	} {
		publish(t, h.js, agreementsv1.TypeReacceptanceCancelled, "", p, c)
	}
	h.sent(2)
	time.Sleep(500 * time.Millisecond) // a third mail would have been sent by now
	got := h.sent(2)
	if len(got) != 2 {
		t.Fatalf("%d mails, want 2:\n%s", len(got), subjects(got))
	}
	agreements := "https://partners.example.com/partners/" + p + "/agreements"
	for _, w := range []struct {
		subject     string
		texts, none []string
	}{
		{"改定されたパートナー契約が取り下げられ、お取引を再開できます（クラウド リセラー（間接販売））", []string{"indirect_reseller-2027-01",
			"この改定版は取り下げられました", "このプログラムでのお取引を再開できます", "you can transact in this program again",
			"Your indirect providers' delegated administrator access over your directory, on hold since the deadline passed, works again"},
			[]string{"stays in force as before"}},
		{"改定されたパートナー契約への同意は不要になりました（間接プロバイダー）", []string{"indirect_provider-2027-01", "この改定版は取り下げられました",
			"これまでの契約への同意は、引き続き有効です", "Your earlier acceptance of the partner agreement stays in force as before"},
			[]string{"transact", "お取引を再開", "delegated"}},
	} {
		i := slices.IndexFunc(got, func(m smtptest.Parsed) bool { return strings.Contains(m.Subject, w.subject) })
		if i < 0 {
			t.Errorf("no mail %q among:\n%s", w.subject, subjects(got))
			continue
		}
		m := got[i]
		if m.To != addr || !strings.Contains(m.Subject, " / ") || !strings.Contains(m.Text, "────") ||
			!strings.Contains(m.HTML, `<section lang="ja">`) || strings.Index(m.HTML, `<section lang="ja">`) > strings.Index(m.HTML, `<section lang="en">`) ||
			!strings.Contains(m.HTML, `href="`+agreements+`"`) || m.Header.Get("List-Unsubscribe") != "" {
			t.Errorf("%s: to %s, not a transactional mail in Japanese then English linking the agreements:\n%s", m.Subject, m.To, m.Text)
		}
		for _, s := range append(w.texts, "株式会社みなとクラウド", "Nothing is needed from you", "貴社での対応は不要です", agreements) {
			if !strings.Contains(m.Text, s) {
				t.Errorf("%s lacks %q:\n%s", m.Subject, s, m.Text)
			}
		}
		for _, s := range append(w.none, "Read and accept", "契約を確認して同意する") {
			if strings.Contains(m.Text+m.HTML, s) {
				t.Errorf("%s says %q:\n%s", m.Subject, s, m.Text)
			}
		}
	}
	var list mailList
	testkit.Eventually(t, 10*time.Second, func() error {
		list = mailList{}
		h.get("/v1/mails?partner_id="+p, h.operator(), 200, &list)
		if len(list.Mails) != 2 || slices.ContainsFunc(list.Mails, func(m mailView) bool { return m.Status != "delivered" }) {
			return fmt.Errorf("operator's list: %+v", list.Mails)
		}
		return nil
	})
	for _, m := range list.Mails {
		if m.Template != "agreements.reacceptance_withdrawn" || m.Category != "transactional" ||
			m.Trigger.Type != agreementsv1.TypeReacceptanceCancelled {
			t.Errorf("mail %+v", m)
		}
	}
}
