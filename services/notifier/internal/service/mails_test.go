package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/contract"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp/smtptest"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// registered publishes a partner's registration (the notifier keeps its
// contact).
func (h *harness) registered(partnerID, company, email string) {
	h.t.Helper()
	publish(h.t, h.js, registrationv1.TypeApplicationSubmitted, "", partnerID, registrationv1.ApplicationSubmitted{
		PartnerID: partnerID, LocationID: partnerID + "-L1", Market: "JP", Language: "ja",
		LegalName: registrationv1.LegalName{Raw: company, Normalized: company},
		Contact:   registrationv1.Contact{FirstName: "花子", LastName: "佐藤", Email: email, EmailDomain: strings.SplitN(email, "@", 2)[1]},
		Enrollments: []registrationv1.Enrollment{{EnrollmentID: partnerID + "-NET", Program: registrationv1.ProgramPartnerNetwork,
			Status: registrationv1.StatusPendingVerification}},
		SubmittedBy: "test", SubmittedAt: time.Now().UTC()})
}

// contactsKnown waits until the notifier recorded n contacts (a partner
// registers long before the events that mail it).
func (h *harness) contactsKnown(n int) {
	h.t.Helper()
	testkit.Eventually(h.t, 10*time.Second, func() error {
		var got int
		if err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT count(*) FROM contacts`).Scan(&got); err != nil || got < n {
			return fmt.Errorf("%d contacts (%v)", got, err)
		}
		return nil
	})
}

// mails waits for n mails and returns them parsed, by subject.
func (h *harness) mails(n int) map[string]smtptest.Parsed {
	h.t.Helper()
	out := map[string]smtptest.Parsed{}
	for _, p := range h.sent(n) {
		out[p.Subject] = p
	}
	return out
}

// sent waits until the SMTP server holds at least n mails and returns
// every mail it holds, parsed, each with its recipient.
func (h *harness) sent(n int) []smtptest.Parsed {
	h.t.Helper()
	var got []smtptest.Received
	testkit.Eventually(h.t, 15*time.Second, func() error {
		if got = h.smtp.Messages(); len(got) < n {
			return fmt.Errorf("%d of %d mails", len(got), n)
		}
		return nil
	})
	out := make([]smtptest.Parsed, 0, len(got))
	for _, m := range got {
		p, err := smtptest.Parse(m.Data)
		if err != nil {
			h.t.Fatal(err)
		}
		p.To = m.To[0]
		out = append(out, p)
	}
	return out
}

func (h *harness) operator() string {
	tok, err := h.signer.Mint(auth.Principal{Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}}, auth.DevIssuer, auth.DevAudience, time.Minute)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) get(path, token string, want int, out any) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+h.svc.Addr()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		h.t.Fatalf("GET %s: %d, want %d: %s", path, res.StatusCode, want, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			h.t.Fatal(err)
		}
	}
}

type mailView struct {
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
	Template  string `json:"template"`
	Category  string `json:"category"`
	Recipient string `json:"recipient"`
	Status    string `json:"status"`
	// SuppressedReason: why a suppressed mail was never sent.
	SuppressedReason string `json:"suppressed_reason"`
	Trigger          struct{ Type, ID string }
	Attempts         []struct {
		Number   int    `json:"number"`
		Outcome  string `json:"outcome"`
		SMTPCode int    `json:"smtp_code"`
		Error    string `json:"error"`
	} `json:"attempts"`
}

type mailList struct {
	PartnerID    string     `json:"partner_id"`
	RemindersOff bool       `json:"reminders_off"`
	Mails        []mailView `json:"mails"`
	Next         string     `json:"next"`
}

func parties(reseller, provider string) relv1.Parties {
	return relv1.Parties{RelationshipID: "rel-1", ProviderID: provider, ResellerID: reseller, ResellerLocationID: reseller + "-L1",
		OccurredAt: time.Now().UTC()}
}

// TestEveryMomentReachesThePartner: each event of the catalog sends its
// mail to the partner's contact (known from its registration), with both
// languages in both parts; reminders carry a one-click unsubscribe link,
// transactional mails none; the invitation and its reminder carry the link
// relationships sealed to the notifier; a grant superseded by a widening
// sends nothing. Operators see each mail, delivered, with its trigger and
// the address masked.
func TestEveryMomentReachesThePartner(t *testing.T) {
	h := start(t, opts{})
	const res, prv, addr = "PG-RES1-0000-00H", "PG-PRV1-0000-00W", "hanako@reseller.example.co.jp"
	h.registered(res, "株式会社なにわソリューションズ", addr)
	h.registered(prv, "株式会社名城インフォテック", "ops@provider.example.co.jp")
	h.contactsKnown(2)
	due := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Hour)
	now := time.Now().UTC()
	link := "https://partners.example.com/invitations#token=INVITE-SECRET-1"
	sealed, err := h.sealer.SealPayload(sealedbox.Payload{ChallengeID: "rq-1", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	enr := []verificationv1.Enrollment{{EnrollmentID: res + "-NET", Program: "partner_network"}, {EnrollmentID: res + "-RES", Program: "indirect_reseller"}}
	for _, e := range []struct {
		typ  string
		data any
	}{
		{verificationv1.TypeDocumentsRequested, verificationv1.DocumentsRequested{CaseID: "vc-1", PartnerID: res, Check: "company",
			Reason: "address_mismatch", ApplicantMessage: "番地の表記が違います", AcceptedDocuments: []string{"company_register_certificate"},
			DueAt: due, BusinessDaysLeft: 10, AppealsRemaining: 3, ContactEmail: addr, At: now}},
		{verificationv1.TypeReminderDue, verificationv1.ReminderDue{CaseID: "vc-1", PartnerID: res, Check: "company", Reason: "address_mismatch",
			DueAt: due, BusinessDaysLeft: 3, LeadSeconds: 259200, AcceptedDocuments: []string{"company_register_certificate"}, ContactEmail: addr, At: now}},
		{verificationv1.TypeVerificationRejected, verificationv1.VerificationRejected{CaseID: "vc-1", PartnerID: res, LocationID: res + "-L1",
			Market: "JP", Enrollments: enr, FailingCheck: "company", SubStatus: "company_check_failed", Reason: "company_not_found", Mode: "FINAL", RejectedAt: now}},
		{verificationv1.TypeVerificationApproved, verificationv1.VerificationApproved{CaseID: "vc-1", PartnerID: res, LocationID: res + "-L1",
			Market: "JP", DecisionID: "d-1", Enrollments: enr, ApprovedAt: now}},
		{agreementsv1.TypeReacceptanceRequired, agreementsv1.ReacceptanceRequired{RequirementID: "rr-1", PartnerID: res, LocationID: res + "-L1",
			Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2027-01", CurrentAcceptanceID: "a-1", DueBy: due}},
		{agreementsv1.TypeReacceptanceOverdue, agreementsv1.ReacceptanceOverdue{RequirementID: "rr-1", PartnerID: res, LocationID: res + "-L1",
			Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2027-01", DueBy: due, OverdueAt: now}},
		// A pending acceptance not recorded: mailed with its reason; one the
		// rejection mail already explains is not.
		{agreementsv1.TypeAcceptanceRefused, agreementsv1.AcceptanceRefused{PendingAcceptanceID: "pa-1", PartnerID: res, Program: "indirect_provider",
			Market: "JP", VersionID: "indirect_provider-2025-01", Code: "agreements.no_enrollment", RequestedAt: now.Add(-time.Hour), RefusedAt: now}},
		{agreementsv1.TypeAcceptanceRefused, agreementsv1.AcceptanceRefused{PendingAcceptanceID: "pa-2", PartnerID: res, Program: "indirect_reseller",
			Market: "JP", VersionID: "indirect_reseller-2026-04", Code: "agreements.verification_not_approved", RequestedAt: now.Add(-time.Hour), RefusedAt: now}},
		{relv1.TypeRequestCreated, relv1.RequestCreated{Parties: parties(res, prv), RequestID: "rq-1", Kind: "initial", Market: "JP",
			Roles: []string{"billing_reader", "customer_management"}, DurationDays: 30, ExpiresAt: due, CreatedBy: "padm", SealedInvitation: sealed}},
		{relv1.TypeAccessExpiring, relv1.AccessExpiring{Parties: parties(res, prv), GrantID: "g-1", ExpiresAt: due}},
		{relv1.TypeAccessExpired, relv1.AccessExpired{Parties: parties(res, prv), GrantID: "g-1", ExpiresAt: now}},
		{relv1.TypeAccessTerminated, relv1.AccessTerminated{Parties: parties(res, prv), GrantID: "g-0", Reason: relv1.TerminatedSuperseded}},
		{relv1.TypeAccessTerminated, relv1.AccessTerminated{Parties: parties(res, prv), GrantID: "g-2", Reason: relv1.TerminatedRelationshipEnded}},
	} {
		publish(t, h.js, e.typ, "", res, e.data)
	}
	h.mails(11)
	// Days later (its own durable: after the invitation was handled).
	publish(t, h.js, relv1.TypeRequestReminderDue, "", res, relv1.RequestReminderDue{Parties: parties(res, prv), RequestID: "rq-1", ExpiresAt: due})
	got := h.mails(12)
	find := func(ja string) smtptest.Parsed {
		t.Helper()
		for subj, m := range got {
			if strings.Contains(subj, ja) {
				return m
			}
		}
		t.Fatalf("no mail with %q among %d", ja, len(got))
		return smtptest.Parsed{}
	}
	reminders := []string{"【リマインダー】書類の提出期限", "【リマインダー】株式会社名城インフォテック からの承認依頼"}
	for subj, m := range got {
		if m.To != addr || !strings.Contains(m.HTML, `<section lang="ja">`) || !strings.Contains(m.HTML, `<section lang="en">`) ||
			!strings.Contains(subj, " / ") || !strings.Contains(m.Text, "────") {
			t.Errorf("%s: to %s, not bilingual in both parts:\n%s", subj, m.To, m.Text)
		}
		// The To header names the contact as the greeting does.
		if to, err := (&mail.AddressParser{WordDecoder: new(mime.WordDecoder)}).Parse(m.Header.Get("To")); err != nil || to.Name != "佐藤 花子" {
			t.Errorf("%s: To %q (%v), want the contact's name", subj, m.Header.Get("To"), err)
		}
		isReminder := slices.ContainsFunc(reminders, func(r string) bool { return strings.Contains(subj, r) })
		if lu := m.Header.Get("List-Unsubscribe"); isReminder != (lu != "") || (isReminder && m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click") {
			t.Errorf("%s: List-Unsubscribe %q", subj, lu)
		}
	}
	for ja, wants := range map[string][]string{
		"書類のご提出のお願い":      {"登記事項証明書", "あと 10 営業日", "番地の表記が違います", "https://partners.example.com/partners/PG-RES1-0000-00H/verification", "certified copy of the company register"},
		"【審査結果】":          {"vc-1", "最終", "final", "partner support"},
		"【審査完了】":          {"https://partners.example.com/partners/PG-RES1-0000-00H/agreements", "PG-RES1-0000-00H", "accept"},
		"パートナー契約が改定されました": {"indirect_reseller-2027-01", "https://partners.example.com/partners/PG-RES1-0000-00H/agreements"},
		"同意の期限が過ぎました":     {"indirect_reseller-2027-01", "間接プロバイダーが貴社のディレクトリに持つ委任管理者権限は一時停止され", "providers' delegated administrator access over your directory is on hold"},
		"同意を記録できませんでした":   {"indirect_provider-2025-01", "この契約のプログラムのお申し込みがありません", "is not enrolled in this agreement's program", "(agreements.no_enrollment)", "https://partners.example.com/partners/PG-RES1-0000-00H/agreements"},
		"承認依頼が届きました":      {link, "株式会社名城インフォテック", "30 日間", "30 days", "請求情報の閲覧", "customer management"},
		"からの承認依頼が未回答です":   {link},
		"の委任管理者権限は":       {"株式会社名城インフォテック", "満了します", "reaches its end"},
		"期間が満了しました":       {"PG-PRV1-0000-00W"},
		"取引関係の終了により":      {"removed"},
		"【リマインダー】書類の提出期限": {"あと 3 営業日", "https://notify.example.com/unsubscribe?partner=PG-RES1-0000-00H"},
	} {
		m := find(ja)
		for _, w := range wants {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%q lacks %q:\n%s", ja, w, m.Text)
			}
		}
	}

	// Each outcome is recorded just after the SMTP server accepted the
	// mail (the senders record outcomes that finish together at once).
	var list mailList
	testkit.Eventually(t, 5*time.Second, func() error {
		list = mailList{}
		h.get("/v1/mails?partner_id="+res, h.operator(), 200, &list)
		for _, m := range list.Mails {
			if m.Status != "delivered" {
				return fmt.Errorf("mail %s %s", m.ID, m.Status)
			}
		}
		return nil
	})
	if len(list.Mails) != 12 || list.RemindersOff {
		t.Fatalf("operator's list: %+v", list)
	}
	for _, m := range list.Mails {
		if m.Status != "delivered" || m.Recipient != "h***@reseller.example.co.jp" || m.Trigger.ID != m.ID || len(m.Attempts) != 1 ||
			m.MessageID != "<"+m.ID+"@partners.example.com>" {
			t.Errorf("mail %+v", m)
		}
	}
	// The same list a page at a time: 5, 5 and 2 mails, in the same order,
	// the last page's next empty.
	var paged []string
	for q, pages := "/v1/mails?limit=5&partner_id="+res, 0; ; pages++ {
		var pg mailList
		h.get(q, h.operator(), 200, &pg)
		if pages > 2 || len(pg.Mails) != []int{5, 5, 2}[pages] {
			t.Fatalf("page %d: %d mails, next %q", pages, len(pg.Mails), pg.Next)
		}
		for _, m := range pg.Mails {
			paged = append(paged, m.ID)
		}
		if pg.Next == "" {
			break
		}
		q = "/v1/mails?limit=5&partner_id=" + res + "&after=" + url.QueryEscape(pg.Next)
	}
	for i, m := range list.Mails {
		if paged[i] != m.ID {
			t.Fatalf("paged %v, listed at once %+v", paged, list.Mails)
		}
	}
	var foreign struct{ Code string }
	if h.get("/v1/mails?partner_id="+res+"&after=eyJpIjoieCJ9", h.operator(), 422, &foreign); foreign.Code != "notifier.invalid_cursor" {
		t.Errorf("a cursor not given here: %+v", foreign)
	}
	var one mailView
	h.get("/v1/mails/"+url.PathEscape(list.Mails[0].ID), h.operator(), 200, &one)
	if one.ID != list.Mails[0].ID || one.Attempts[0].Outcome != "delivered" {
		t.Fatalf("one mail %+v", one)
	}
	admin, _ := h.signer.Mint(auth.Principal{Subject: "adm", PartnerID: res, Roles: []auth.Role{auth.RolePartnerAdmin}}, auth.DevIssuer, auth.DevAudience, time.Minute)
	h.get("/v1/mails?partner_id="+res, admin, 403, nil)
	h.get("/v1/mails?partner_id="+res, "", 401, nil)
	h.get("/v1/mails?partner_id=nope&limit=0", h.operator(), 422, nil)
	var refused struct{ Errors []struct{ Field string } }
	h.get("/v1/mails?partner_id="+res+"&limit=0", h.operator(), 422, &refused) // was 200 with the default page
	if len(refused.Errors) != 1 || refused.Errors[0].Field != "query.limit" {
		t.Fatalf("limit 0: %+v, want the field query.limit", refused)
	}
	// A missing partner is a missing field, a malformed one an ID that does
	// not read, as in every service.
	var missing, malformed struct {
		Errors []struct{ Field, Code string }
	}
	h.get("/v1/mails", h.operator(), 422, &missing)
	h.get("/v1/mails?partner_id="+res[:len(res)-1]+"X", h.operator(), 422, &malformed)
	if len(missing.Errors) != 1 || missing.Errors[0].Code != "field.required" || len(malformed.Errors) != 1 ||
		malformed.Errors[0] != (struct{ Field, Code string }{"query.partner_id", "id.invalid"}) {
		t.Errorf("no partner_id: %+v; a wrong check symbol: %+v", missing, malformed)
	}
	h.get("/v1/mails/unknown", h.operator(), 404, nil)
}

// TestMailWaitsForTheRegistration: an approval consumed before the
// partner's registration (another durable) waits for the contact and goes
// out as soon as it arrives.
func TestMailWaitsForTheRegistration(t *testing.T) {
	h := start(t, opts{})
	publish(t, h.js, verificationv1.TypeVerificationApproved, "", "PG-1ATE-1000-00M", verificationv1.VerificationApproved{CaseID: "vc-9",
		PartnerID: "PG-1ATE-1000-00M", LocationID: "PG-1ATE-1110-00H", Market: "JP", DecisionID: "d-9",
		Enrollments: []verificationv1.Enrollment{{EnrollmentID: "PG-1ATE-1NET-006", Program: "partner_network"}}, ApprovedAt: time.Now().UTC()})
	var list mailList
	testkit.Eventually(t, 10*time.Second, func() error {
		h.get("/v1/mails?partner_id=PG-1ATE-1000-00M", h.operator(), 200, &list)
		if len(list.Mails) != 1 || list.Mails[0].Status != "pending" || list.Mails[0].Recipient != "" {
			return fmt.Errorf("mails %+v", list.Mails)
		}
		return nil
	})
	h.registered("PG-1ATE-1000-00M", "有限会社青葉コンピュータ", "taro@aoba.example.co.jp")
	m := h.mails(1)
	for subj, p := range m {
		if p.To != "taro@aoba.example.co.jp" || !strings.Contains(subj, "承認されました") || !strings.Contains(p.Text, "有限会社青葉コンピュータ") {
			t.Fatalf("mail %q to %s:\n%s", subj, p.To, p.Text)
		}
	}
}

// TestReminderOneClickUnsubscribe: the reminder's List-Unsubscribe URL is
// opened by a scanner (GET, HEAD: nothing changes), then posted by a mail
// client's one-click (RFC 8058): the next reminder is not sent (suppressed)
// while a transactional mail still is; the page's button resumes them.
func TestReminderOneClickUnsubscribe(t *testing.T) {
	h := start(t, opts{})
	const p, addr = "PG-VNSV-B100-00X", "jiro@unsub.example.co.jp"
	h.registered(p, "株式会社京都クラウドワークス", addr)
	h.contactsKnown(1)
	reminder := func() {
		publish(t, h.js, verificationv1.TypeReminderDue, "", p, verificationv1.ReminderDue{CaseID: "vc-u", PartnerID: p, Check: "employment",
			Reason: "domain_not_owned", DueAt: time.Now().Add(72 * time.Hour).UTC(), BusinessDaysLeft: 3, LeadSeconds: 259200,
			AcceptedDocuments: []string{"domain_invoice", "domain_purchase_proof"}, ContactEmail: addr, At: time.Now().UTC()})
	}
	reminder()
	var lu string
	for _, m := range h.mails(1) {
		lu = strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")
	}
	u, err := url.Parse(lu)
	if err != nil || u.Path != "/unsubscribe" {
		t.Fatalf("List-Unsubscribe %q", lu)
	}
	local := "http://" + h.svc.Addr() + "/unsubscribe?" + u.RawQuery
	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, local, nil)
		req.Header.Set("Sec-Purpose", "prefetch")
		res, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || (method == "GET" && (!strings.Contains(string(body), "株式会社京都クラウドワークス") ||
			!strings.Contains(string(body), `name="reminders" value="off"`))) {
			t.Fatalf("%s page: %d %s", method, res.StatusCode, body)
		}
	}
	var list mailList
	h.get("/v1/mails?partner_id="+p, h.operator(), 200, &list)
	if list.RemindersOff {
		t.Fatal("opening the link stopped reminders")
	}
	res, err := h.client.Post(local, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "リマインダーを停止しました") {
		t.Fatalf("one-click: %d %s", res.StatusCode, body)
	}
	forged := strings.Replace(local, "sig=", "sig=x", 1)
	if res, _ := h.client.Post(forged, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click")); res.StatusCode != 404 {
		t.Fatalf("a forged link: %d", res.StatusCode)
	}
	reminder()
	publish(t, h.js, verificationv1.TypeDocumentsRequested, "", p, verificationv1.DocumentsRequested{CaseID: "vc-u", PartnerID: p,
		Check: "employment", Reason: "domain_not_owned", AcceptedDocuments: []string{"domain_invoice"}, DueAt: time.Now().Add(240 * time.Hour).UTC(),
		BusinessDaysLeft: 10, AppealsRemaining: 2, ContactEmail: addr, At: time.Now().UTC()})
	testkit.Eventually(t, 10*time.Second, func() error {
		h.get("/v1/mails?partner_id="+p, h.operator(), 200, &list)
		var st []string
		for _, m := range list.Mails {
			st = append(st, m.Template+":"+m.Status)
		}
		slices.Sort(st)
		if want := "verification.documents_reminder:delivered verification.documents_reminder:suppressed verification.documents_requested:delivered"; strings.Join(st, " ") != want || !list.RemindersOff {
			return fmt.Errorf("mails %v (reminders off %v)", st, list.RemindersOff)
		}
		return nil
	})
	if n := len(h.smtp.Messages()); n != 2 {
		t.Fatalf("%d mails, want the first reminder and the transactional mail", n)
	}
	form := url.Values{"partner": {u.Query().Get("partner")}, "sig": {u.Query().Get("sig")}, "reminders": {"on"}}
	res, err = h.client.PostForm("http://"+h.svc.Addr()+"/unsubscribe", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h.get("/v1/mails?partner_id="+p, h.operator(), 200, &list)
	if res.StatusCode != 200 || list.RemindersOff {
		t.Fatalf("resume: %d, reminders off %v", res.StatusCode, list.RemindersOff)
	}
}

// refusedMail has partner p (contact addr) sent a mail the server refuses
// and returns the partner's mails once it is failed.
func (h *harness) refusedMail(t *testing.T, p, addr string) mailList {
	t.Helper()
	h.registered(p, "合同会社ふじデータラボ", addr)
	h.contactsKnown(1)
	publish(t, h.js, agreementsv1.TypeReacceptanceRequired, "", p, agreementsv1.ReacceptanceRequired{RequirementID: "rr-" + p, PartnerID: p,
		LocationID: p + "-L1", Program: "indirect_reseller", Market: "JP", VersionID: "v-9", CurrentAcceptanceID: "a-" + p,
		DueBy: time.Now().Add(30 * 24 * time.Hour).UTC()})
	return h.onlyMail(p, "failed")
}

// onlyMail waits until partner p has one mail, with status, and returns
// the list.
func (h *harness) onlyMail(p, status string) mailList {
	h.t.Helper()
	var list mailList
	testkit.Eventually(h.t, 10*time.Second, func() error {
		h.get("/v1/mails?partner_id="+p, h.operator(), 200, &list)
		if len(list.Mails) != 1 || list.Mails[0].Status != status {
			return fmt.Errorf("%s's mails %+v, want one %s", p, list.Mails, status)
		}
		return nil
	})
	return list
}

// mailStates are partner p's mails as "template status suppressed_reason",
// sorted.
func (h *harness) mailStates(p string) []string {
	h.t.Helper()
	var list mailList
	h.get("/v1/mails?partner_id="+p+"&limit=500", h.operator(), 200, &list)
	var out []string
	for _, m := range list.Mails {
		out = append(out, m.Template+" "+m.Status+" "+m.SuppressedReason)
	}
	slices.Sort(out)
	return out
}

// TestARefusalInTheServersOwnWordsIsRecorded: a server that refuses in
// Japanese at length, with a byte that is not UTF-8, has its reply kept
// as the attempt's error — cut to 500 bytes at a character. Cut at a byte,
// the reason was not UTF-8, Postgres refused it, and the mail stayed
// "sending" with the failure unrecorded.
func TestARefusalInTheServersOwnWordsIsRecorded(t *testing.T) {
	reply := strings.Repeat("宛先のメールボックスは存在しません。", 20) + "\xff"
	h := start(t, opts{smtp: smtptest.Options{RejectRcpt: true, RejectText: reply}})
	list := h.refusedMail(t, "PG-REFV-SED2-000", "nobody@refused2.example.co.jp")
	if len(list.Mails[0].Attempts) != 1 {
		t.Fatalf("attempts %+v", list.Mails[0].Attempts)
	}
	if e := list.Mails[0].Attempts[0].Error; !utf8.ValidString(e) || len(e) > 500 || !strings.Contains(e, "宛先のメールボックスは存在しません。") {
		t.Fatalf("the attempt's error (%d bytes): %q", len(e), e)
	}
}

// TestRefusedMailIsWatchable: a recipient the server refuses (550) gives
// one JSON log line for the failed attempt and one for the mail given up,
// with the reply code and the address masked, the Prometheus counters of
// the attempt and of the dead mail, and the status operators read.
func TestRefusedMailIsWatchable(t *testing.T) {
	h := start(t, opts{smtp: smtptest.Options{RejectRcpt: true}})
	const addr = "nobody@refused.example.co.jp"
	list := h.refusedMail(t, "PG-REFV-SED1-002", addr)
	if a := list.Mails[0].Attempts; len(a) != 1 || a[0].Outcome != "permanent_failure" || a[0].SMTPCode != 550 || strings.Contains(a[0].Error, addr) {
		t.Fatalf("attempts %+v", a)
	}
	logs := h.logs.String()
	if strings.Contains(logs, addr) {
		t.Fatalf("the address in clear in the logs:\n%s", logs)
	}
	var failed, dead bool
	for _, l := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil || m["mail_id"] != list.Mails[0].ID {
			continue
		}
		failed = failed || (m["msg"] == "mail attempt failed" && m["smtp_code"] == 550.0 && m["level"] == "WARN")
		dead = dead || (m["msg"] == "mail given up" && m["reason"] == "permanent_error" && m["level"] == "ERROR")
	}
	if !failed || !dead {
		t.Fatalf("log lines (attempt failed %v, given up %v):\n%s", failed, dead, logs)
	}
	res, err := http.Get("http://" + h.svc.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`partnerhub_mail_attempts_total{outcome="permanent_failure",smtp_code="550",template="agreements.reacceptance_required"} 1`,
		`partnerhub_mail_dead_total{reason="permanent_error",template="agreements.reacceptance_required"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestAnUndeliverableInvitationIsPublished: a provider's invitation that
// the reseller's mail server refuses is published as
// notifier.invitation_mail.failed.v1 naming the relationship, the request
// and the provider (relationships tells the provider), without the address
// or the link; a refused mail of another kind publishes nothing of it.
func TestAnUndeliverableInvitationIsPublished(t *testing.T) {
	h := start(t, opts{smtp: smtptest.Options{RejectRcpt: true}})
	const res, prv, addr = "PG-RES7-0000-005", "PG-PRV7-0000-00G", "nobody@reseller7.example.co.jp"
	h.registered(res, "株式会社なにわソリューションズ", addr)
	h.registered(prv, "株式会社名城インフォテック", "ops@provider7.example.co.jp")
	h.contactsKnown(2)
	link := "https://partners.example.com/invitations#token=INVITE-SECRET-7"
	sealed, err := h.sealer.SealPayload(sealedbox.Payload{ChallengeID: "rq-7", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, h.js, relv1.TypeRequestCreated, "", res, relv1.RequestCreated{Parties: parties(res, prv), RequestID: "rq-7", Kind: "initial",
		Market: "JP", Roles: []string{"billing_reader"}, DurationDays: 30, ExpiresAt: time.Now().Add(90 * 24 * time.Hour).UTC(),
		CreatedBy: "padm", SealedInvitation: sealed})
	msg := h.waitStream("NOTIFIER", notifierv1.TypeInvitationMailFailed, 1)[0]
	if err := contract.ValidateJSON(notifierv1.TypeInvitationMailFailed, msg.Data); err != nil {
		t.Fatal(err)
	}
	var p notifierv1.InvitationMailFailed
	if err := json.Unmarshal(msg.Data, &p); err != nil {
		t.Fatal(err)
	}
	if p.PartnerID != res || p.RelationshipID != "rel-1" || p.RequestID != "rq-7" || p.ProviderID != prv || p.TemplateID != mails.Invitation ||
		p.Reason != notifierv1.ReasonPermanentError || p.Attempts != 1 || !strings.Contains(p.LastError, "550") {
		t.Fatalf("invitation_mail.failed %+v", p)
	}
	if s := string(msg.Data); strings.Contains(s, addr) || strings.Contains(s, "INVITE-SECRET-7") {
		t.Fatalf("the event carries the address or the link: %s", s)
	}
	if got := msg.Header.Get("ce-subject"); got != res {
		t.Fatalf("subject %q, want the reseller", got)
	}
	// Another kind of mail refused: nothing of the kind published.
	h.refusedMail(t, "PG-REFV-SED7-00P", "nobody@refused7.example.co.jp")
	if n := len(streamMsgs(t, h.js, "NOTIFIER", notifierv1.TypeInvitationMailFailed)); n != 1 {
		t.Fatalf("%d invitation_mail.failed events, want 1", n)
	}
}

// TestANewContactsMailSaysWhoNamedIt: the confirmation mail of a profile
// change's new contact address says which company named the address as
// its contact and asks to report it if the reader is not that company's
// contact — not "thank you for registering" to someone who did not (found
// on make run); a registration's mail still thanks for the registration.
func TestANewContactsMailSaysWhoNamedIt(t *testing.T) {
	h := start(t, opts{})
	reg := h.request("ch-registered", time.Now().Add(72*time.Hour))
	h.registered(reg.PartnerID, "株式会社ひかりネットワークス", "hanako.sato@yamada.example.co.jp")
	h.contactsKnown(1)
	changed := h.request("ch-new-contact", time.Now().Add(72*time.Hour))
	changed.Reason, changed.ProfileChange = emailv1.ReasonProfileChange, 3
	resent := h.request("ch-new-contact-resent", time.Now().Add(72*time.Hour))
	resent.Reason, resent.ProfileChange = emailv1.ReasonResend, 3
	// A pending partner's correction applied at once: the enrollment's
	// challenge followed the contact (change 4), and was resent.
	corrected := h.request("ch-corrected-resent", time.Now().Add(72*time.Hour))
	corrected.Reason, corrected.ContactChange = emailv1.ReasonResend, 4
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", reg.PartnerID, reg)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", changed.PartnerID, changed)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", resent.PartnerID, resent)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", corrected.PartnerID, corrected)
	sent := h.sent(4)
	var registration, contact, again, correction string
	for _, m := range sent {
		switch id := m.Header.Get("Message-Id"); {
		case strings.Contains(id, "ch-corrected-resent"):
			correction = m.Text
		case strings.Contains(id, "ch-new-contact-resent"):
			again = m.Text
		case strings.Contains(id, "ch-new-contact"):
			contact = m.Text
		default:
			registration = m.Text
		}
	}
	if !strings.Contains(again, "named this e-mail address as the contact") {
		t.Errorf("a resend of the new contact's mail (since round 43 it names the change too):\n%s", again)
	}
	if !strings.Contains(correction, "named this e-mail address as the contact") || strings.Contains(correction, "Thank you for registering") {
		t.Errorf("a resend of a corrected contact's mail (since round 44 it names the change too):\n%s", correction)
	}
	for _, want := range []string{"株式会社ひかりネットワークス named this e-mail address as the contact of its partner account " + reg.PartnerID,
		"株式会社ひかりネットワークスのパートナー アカウント " + reg.PartnerID + " の連絡先として", "If you are not this company's contact",
		"この会社の連絡先としてお心当たりがない場合は"} {
		if !strings.Contains(contact, want) {
			t.Errorf("the new contact's mail lacks %q:\n%s", want, contact)
		}
	}
	if strings.Contains(contact, "Thank you for registering") || !strings.Contains(registration, "Thank you for registering") ||
		strings.Contains(registration, "named this e-mail address") {
		t.Errorf("registration's mail:\n%s\nthe new contact's:\n%s", registration, contact)
	}
}
