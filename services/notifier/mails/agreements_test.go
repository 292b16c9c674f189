package mails_test

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// TestAWithdrawnVersionSaysWhetherThePartnerCanTransactAgain: the mail of a
// re-acceptance withdrawn (its version retired) names the program, the
// version and the deadline, says it need not be accepted and that nothing is
// needed, in both languages and both parts. Withdrawn before its deadline,
// the earlier acceptance simply stays in force; after it — the partner was
// told it could no longer transact — the acceptance counts again, the
// partner can transact again and, for the reseller and provider programs,
// the delegated access held on its side works again as the overdue mail
// said it was held. It never asks to accept anything.
func TestAWithdrawnVersionSaysWhetherThePartnerCanTransactAgain(t *testing.T) {
	s := set(t)
	const agreements = "https://portal.example/partners/PG-1/agreements"
	due := time.Date(2027, 2, 28, 15, 0, 0, 0, time.UTC) // midnight after 28 February in Japan
	common := []string{"2027年3月1日（月） 00:00（日本時間）", "Monday, 1 March 2027, 00:00 Japan time, JST",
		"この改定版は取り下げられました", "That version has been withdrawn", "you need not accept it", "同意いただくことはできず、その必要もありません",
		"貴社での対応は不要です", "Nothing is needed from you", "山田 太郎 様", "Dear 山田 太郎,"}
	inForce := []string{"これまでの契約への同意は、引き続き有効です", "Your earlier acceptance of the partner agreement stays in force as before"}
	again := []string{"これまでの契約への同意は再び有効になり、このプログラムでのお取引を再開できます",
		"Your earlier acceptance, which stopped counting when the deadline passed, counts again, and you can transact in this program again"}
	resellerAccess := []string{"間接プロバイダーが貴社のディレクトリに持つ委任管理者権限は、相手のプロバイダーも弊社とお取引いただける状態になり次第、再び有効になります",
		"Your indirect providers' delegated administrator access over your directory, on hold since the deadline passed, works again",
		"you can authorise providers again"}
	providerAccess := []string{"貴社がリセラー各社のディレクトリに持つ委任管理者権限は、相手のリセラーも弊社とお取引いただける状態になり次第、再び有効になります",
		"Your delegated administrator access over your resellers' directories, on hold since the deadline passed, works again",
		"you can send relationship requests again"}
	asksToAccept := []string{"Read and accept", "契約を確認して同意する", "accepts the new agreement", "新しい契約に同意すると"}
	for name, c := range map[string]struct {
		program, version string
		overdue          bool
		subjJA, subjEN   string
		want, never      []string
	}{
		"reseller, before the deadline": {program: "indirect_reseller", subjJA: "【お知らせ】改定されたパートナー契約への同意は不要になりました（クラウド リセラー（間接販売））",
			subjEN: "No action needed: the revised partner agreement was withdrawn (cloud reseller (indirect))",
			want:   inForce, never: append(append(append([]string{"お取引を再開", "transact"}, again...), resellerAccess...), providerAccess...)},
		"reseller, after the deadline": {program: "indirect_reseller", overdue: true,
			subjJA: "【お知らせ】改定されたパートナー契約が取り下げられ、お取引を再開できます（クラウド リセラー（間接販売））",
			subjEN: "The revised partner agreement was withdrawn: you can transact again (cloud reseller (indirect))",
			want:   append(append([]string{}, again...), resellerAccess...), never: append(append([]string{}, inForce...), providerAccess...)},
		"provider, after the deadline": {program: "indirect_provider", overdue: true, subjJA: "お取引を再開できます（間接プロバイダー）",
			subjEN: "you can transact again (indirect provider)",
			want:   append(append([]string{}, again...), providerAccess...), never: append(append([]string{}, inForce...), resellerAccess...)},
		"partner network, after the deadline": {program: "partner_network", overdue: true, subjJA: "お取引を再開できます", subjEN: "you can transact again",
			want: again, never: append(append(append([]string{"委任管理者権限", "delegated"}, inForce...), resellerAccess...), providerAccess...)},
	} {
		t.Run(name, func(t *testing.T) {
			a := &mails.Agreement{Program: c.program, VersionID: c.program + "-2027-01", DueBy: due}
			if c.overdue {
				a.OverdueAt = due.Add(5 * time.Minute)
			}
			d := mails.Data{Partner: mails.Party{ID: "PG-1", Market: "JP", ContactFirstName: "太郎", ContactLastName: "山田"},
				Links: mails.Links{Agreements: agreements}, Agreement: a}
			for _, first := range mails.Languages {
				r, err := s.Render(mails.ReacceptanceWithdrawn, first, d)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(r.Subject, c.subjJA) || !strings.Contains(r.Subject, c.subjEN) {
					t.Errorf("%s first: subject %q, want %q and %q", first, r.Subject, c.subjJA, c.subjEN)
				}
				body := html.UnescapeString(r.HTML)
				for _, w := range append(append([]string{a.VersionID}, common...), c.want...) {
					if !strings.Contains(r.Text, w) || !strings.Contains(body, w) {
						t.Errorf("%s first: a part lacks %q:\n%s\n%s", first, w, r.Text, r.HTML)
					}
				}
				if !strings.Contains(r.Text, agreements) || !strings.Contains(r.HTML, `href="`+agreements+`"`) {
					t.Errorf("%s first: a part does not link the agreements page:\n%s", first, r.Text)
				}
				for _, w := range append(append([]string{}, asksToAccept...), c.never...) {
					if strings.Contains(r.Subject+r.Text+body, w) {
						t.Errorf("%s first: the mail says %q:\n%s", first, w, r.Text)
					}
				}
			}
		})
	}
}
