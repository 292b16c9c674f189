package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

var (
	aoba  = company{"有限会社青葉コンピュータ", "2010001901234", "宮城県", "仙台市青葉区", "本町3-8-1", "980-0014", "aoba-computer.co.jp"}
	nihon = company{"一般社団法人日本パートナー協会", "1011101012345", "東京都", "中央区", "日本橋2-1-10", "103-0027", "japan-partners.or.jp"}
)

var japan = time.FixedZone("JST", 9*3600)

// waitMail waits for the mail to address whose subject contains subject.
func waitMail(t *testing.T, s *e2e.Stack, address, subject string) e2e.Mail {
	t.Helper()
	var found e2e.Mail
	e2e.Eventually(t, 20*time.Second, fmt.Sprintf("a mail %q to %s", subject, address), func() error {
		ms, err := s.Mails(address)
		if err != nil {
			return err
		}
		var subjects []string
		for _, m := range ms {
			if strings.Contains(m.Subject, subject) {
				found = m
				return nil
			}
			subjects = append(subjects, m.Subject)
		}
		return fmt.Errorf("mails so far: %q", subjects)
	})
	return found
}

// findMail is waitMail that reports a missing mail to its caller, which
// can then say more about why.
func findMail(s *e2e.Stack, address, subject string, within time.Duration) (e2e.Mail, bool) {
	for deadline := time.Now().Add(within); ; {
		ms, _ := s.Mails(address)
		for _, m := range ms {
			if strings.Contains(m.Subject, subject) {
				return m, true
			}
		}
		if time.Now().After(deadline) {
			return e2e.Mail{}, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantMail fails unless the mail went to address and both its parts hold
// both languages (the Japanese section first) and every want.
func wantMail(t *testing.T, m e2e.Mail, address string, want ...string) {
	t.Helper()
	if !strings.EqualFold(strings.Trim(m.To[strings.LastIndex(m.To, " ")+1:], "<>"), address) {
		t.Errorf("%s: to %q, want %s", m.Subject, m.To, address)
	}
	ja, en := strings.Index(m.HTML, `<section lang="ja">`), strings.Index(m.HTML, `<section lang="en">`)
	sep := strings.Index(m.Text, "────")
	if ja < 0 || en < ja || sep < 0 || !regexp.MustCompile(`\p{Hiragana}`).MatchString(m.Text[:sep]) ||
		!regexp.MustCompile(`(?i)\b(the|your|you)\b`).MatchString(m.Text[sep:]) || !strings.Contains(m.Subject, " / ") {
		t.Errorf("%s: not Japanese then English in both parts:\n%s", m.Subject, m.Text)
	}
	for _, w := range want {
		if !strings.Contains(m.Text, w) {
			t.Errorf("%s: the text part lacks %q:\n%s", m.Subject, w, m.Text)
		}
		if strings.HasPrefix(w, "http") && !strings.Contains(m.HTML, `href="`+strings.ReplaceAll(w, "&", "&amp;")+`"`) {
			t.Errorf("%s: the HTML part does not link %s", m.Subject, w)
		}
	}
}

// scan opens every link of the mail and of the pages they lead to, as a
// mail-security scanner or a prefetching client does: GET and HEAD, with
// and without prefetch hints. It never posts a form. It returns the pages
// it opened.
func scan(t *testing.T, m e2e.Mail) []string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	linkRe := regexp.MustCompile(`https?://[^\s"<>]+`)
	hrefRe := regexp.MustCompile(`(?:href|src|action)="([^"]+)"`)
	queue := linkRe.FindAllString(m.Text+" "+strings.ReplaceAll(m.HTML, "&amp;", "&"), -1)
	seen := map[string]bool{}
	for len(queue) > 0 {
		link := queue[0]
		queue = queue[1:]
		u, err := url.Parse(link)
		if err != nil || seen[link] || !strings.HasPrefix(u.Host, "127.0.0.1") { // the stack's pages, not the portal's
			continue
		}
		seen[link] = true
		for _, method := range []string{"GET", "HEAD"} {
			for _, hint := range [][2]string{{}, {"Purpose", "prefetch"}, {"Sec-Purpose", "prefetch;prerender"}} {
				req, _ := http.NewRequest(method, link, nil)
				if hint[0] != "" {
					req.Header.Set(hint[0], hint[1])
				}
				req.Header.Set("User-Agent", "Mozilla/5.0 (compatible; mail-link-scanner)")
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				for _, h := range hrefRe.FindAllStringSubmatch(string(body), -1) {
					if next, err := u.Parse(h[1]); err == nil {
						queue = append(queue, next.String())
					}
				}
			}
		}
	}
	var out []string
	for l := range seen {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// testPartnerCommunications: every moment a partner must act reaches its
// contact by mail, on a real SMTP server, in Japanese and English in both
// parts: the confirmation (whose links a scanner follows without
// confirming anything), a RETRY rejection with the documents that cure it
// and the deadline in business days, the approval with the link to the
// agreement, the provider's invitation with its link, roles and duration,
// the invitation's reminder (with its unsubscribe link, which a scanner
// opens without unsubscribing), the access expiring, and the access
// terminated; the provider hears that the reseller authorised its request
// and later ended the relationship. Operators see every mail delivered.
func testPartnerCommunications(t *testing.T, s *e2e.Stack) {
	var reseller, provider registered
	t.Run("onboard", func(t *testing.T) {
		t.Run("reseller", func(t *testing.T) { t.Parallel(); reseller = resellerMails(t, s) })
		t.Run("provider", func(t *testing.T) { t.Parallel(); provider = onboard(t, s, nihon, "indirect_provider") })
	})
	if t.Failed() {
		return
	}
	partner, addr := reseller.PartnerID, aoba.Email()
	logOnFailure(t, s, partner)
	rel := s.URL("relationships")
	padm := s.Token(auth.Principal{Subject: "provider-admin-nihon", PartnerID: provider.PartnerID, Roles: []auth.Role{auth.RoleProviderAdmin}})
	radm := s.Token(partnerAdmin(partner, "reseller-admin-aoba"))
	var req struct {
		RelationshipID string `json:"relationship_id"`
		RequestID      string `json:"request_id"`
		InvitationURL  string `json:"invitation_url"`
	}
	e2e.Eventually(t, 10*time.Second, "relationships to see both partners active", func() error {
		r := s.Do(t, "POST", rel+"/v1/relationship-requests", padm, map[string]any{"reseller_location_id": reseller.LocationID,
			"roles": []string{"billing_reader", "support_agent"}, "duration_days": 7})
		if r.Status == http.StatusCreated {
			r.JSON(t, &req)
			return nil
		}
		if r.Problem != nil && strings.HasSuffix(r.Problem.Code, "_not_active") || r.Problem != nil && r.Problem.Code == "relationships.reseller_unknown" {
			return fmt.Errorf("%s", r)
		}
		t.Fatalf("invite: %s", r)
		return nil
	})

	// The invitation reaches the reseller's contact with the very link the
	// provider got, what it grants and for how long.
	inv := waitMail(t, s, addr, "承認依頼が届きました")
	wantMail(t, inv, addr, req.InvitationURL, nihon.Name, "請求情報の閲覧", "billing reader", "support agent", "7 日間", "7 days")
	if inv.Header.Get("List-Unsubscribe") != "" {
		t.Errorf("a transactional mail offers to unsubscribe: %v", inv.Header)
	}
	// Nobody answered: 5 s later (INVITATION_REMINDER_LEAD here), the
	// reminder, with the same link and an unsubscribe link a scanner opens
	// without unsubscribing.
	rem := waitMail(t, s, addr, "未回答です")
	wantMail(t, rem, addr, req.InvitationURL, nihon.Name)
	unsub := strings.Trim(rem.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, s.URL("notifier")+"/unsubscribe?partner="+partner+"&sig=") || rem.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" ||
		!strings.Contains(rem.Text, unsub) {
		t.Fatalf("reminder without its unsubscribe link: %v\n%s", rem.Header, rem.Text)
	}
	if pages := scan(t, rem); !slices.ContainsFunc(pages, func(p string) bool { return strings.Contains(p, "/unsubscribe?") }) {
		t.Fatalf("the scanner did not open the unsubscribe link: %v", pages)
	}

	// The reseller's administrator answers from the link in the mail.
	_, token, _ := strings.Cut(inv.Text[strings.Index(inv.Text, req.InvitationURL):], "#token=")
	token = strings.Fields(token)[0]
	s.Call(t, "POST", rel+"/v1/invitation/authorise", radm, map[string]any{"token": token, "consent": true}, http.StatusOK, nil)
	granted := decodeData[relv1.AccessGranted](t, s.Events.WaitFor(t, relv1.TypeAccessGranted, partner))
	// The provider hears that the reseller authorised it, and with which roles.
	providerLinks := s.PortalURL + "/partners/" + provider.PartnerID + "/relationships"
	ok := waitMail(t, s, nihon.Email(), "が承認依頼を承認しました")
	wantMail(t, ok, nihon.Email(), aoba.Name, partner, "請求情報の閲覧", "support agent", providerLinks)
	// Seven days is inside the 14-day expiring lead: the access is expiring at once.
	exp := waitMail(t, s, addr, "の委任管理者権限は")
	wantMail(t, exp, addr, nihon.Name, jaDate(granted.ExpiresAt), s.PortalURL+"/partners/"+partner+"/relationships")

	s.Call(t, "POST", rel+"/v1/relationships/"+req.RelationshipID+"/end", radm, map[string]any{"reason": "契約を終了しました"}, http.StatusOK, nil)
	end := waitMail(t, s, addr, "取引関係の終了により")
	wantMail(t, end, addr, nihon.Name, "removed")
	// The provider hears that the reseller ended it, with the reseller's words.
	ended := waitMail(t, s, nihon.Email(), "との取引関係が終了しました")
	wantMail(t, ended, nihon.Email(), aoba.Name, "契約を終了しました", "ended its relationship with you", providerLinks)

	// Operators see every mail to the reseller, delivered; never the address.
	var list struct {
		RemindersOff bool `json:"reminders_off"`
		Mails        []struct {
			Template  string `json:"template"`
			Status    string `json:"status"`
			Recipient string `json:"recipient"`
			Category  string `json:"category"`
		} `json:"mails"`
	}
	op := s.Token(auth.Principal{Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}})
	e2e.Eventually(t, 10*time.Second, "every mail delivered", func() error {
		s.Call(t, "GET", s.URL("notifier")+"/v1/mails?partner_id="+partner, op, nil, http.StatusOK, &list)
		var got []string
		for _, m := range list.Mails {
			if m.Status != "delivered" || m.Recipient != "t***@"+aoba.Domain {
				return fmt.Errorf("mail %+v", m)
			}
			got = append(got, m.Template)
		}
		slices.Sort(got)
		want := []string{"email_ownership.verify.v1", "email_ownership.verify.v1", "relationships.access_expiring", "relationships.access_terminated",
			"relationships.invitation", "relationships.invitation_reminder", "verification.approved", "verification.documents_requested"}
		if !slices.Equal(got, want) || list.RemindersOff {
			return fmt.Errorf("mails %v, want %v (reminders off %v)", got, want, list.RemindersOff)
		}
		return nil
	})
}

// jaDate is how a Japanese mail writes the day of t.
func jaDate(t time.Time) string {
	t = t.In(japan)
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

// resellerMails: the confirmation mails (a scanner follows their links
// and confirms nothing; the person's button does), a RETRY rejection that
// tells what is wrong, the document that cures it and the deadline in
// business days, and the approval that links to the agreement.
func resellerMails(t *testing.T, s *e2e.Stack) registered {
	reg := register(t, s, aoba, "indirect_reseller", "comms-"+aoba.Number)
	partner, addr := reg.PartnerID, aoba.Email()
	logOnFailure(t, s, partner)
	mails := s.WaitMails(t, addr, len(reg.Enrollments))
	// One mail per enrollment, each with its own code: the subjects tell
	// them apart by program.
	subjects := map[string]bool{}
	for _, m := range mails {
		wantMail(t, m, addr, "確認コード", "Confirmation code")
		subjects[m.Subject] = true
		if !strings.HasPrefix(m.Subject, "【要確認】メールアドレスの確認（") || !strings.Contains(m.Subject, " / Please confirm your e-mail address for your ") {
			t.Errorf("subject %q", m.Subject)
		}
	}
	if len(subjects) != len(mails) {
		t.Errorf("the confirmation mails of %d enrollments share their subjects: %v", len(mails), subjects)
	}
	pages := scan(t, mails[0])
	if len(pages) < 3 { // the confirm and dispute links, and where their pages lead
		t.Fatalf("the scanner opened %v", pages)
	}
	user := s.Token(auth.Principal{Subject: "user-aoba", PartnerID: partner, Roles: []auth.Role{auth.RolePartnerUser}})
	for _, e := range reg.Enrollments {
		var st struct {
			State       string `json:"state"`
			DisputeOpen bool   `json:"dispute_open"`
		}
		s.Call(t, "GET", s.URL("email-ownership")+"/v1/enrollments/"+e.ID+"/ownership", user, nil, http.StatusOK, &st)
		if st.State != "pending" || st.DisputeOpen {
			t.Fatalf("after a scanner followed every link, enrollment %s is %+v", e.ID, st)
		}
	}
	confirmEmail(t, s, aoba, partner, len(reg.Enrollments))

	ver := verifier("verifier-comms")
	task1 := reviewTask(t, s, partner, 1)
	decide(t, s, ver, task1.TaskID, map[string]any{"decision_id": "comms-reject-" + task1.TaskID, "outcome": "reject",
		"reason_code": "address_mismatch", "mode": "RETRY", "applicant_message": "登記簿の住所は「本町三丁目8番1号」です。"})
	dr := decodeData[verificationv1.DocumentsRequested](t, s.Events.WaitFor(t, verificationv1.TypeDocumentsRequested, partner))
	if dr.BusinessDaysLeft != 10 {
		t.Fatalf("documents requested with %d business days left, want 10", dr.BusinessDaysLeft)
	}
	m := waitMail(t, s, addr, "書類のご提出のお願い")
	last := dr.DueAt.Add(-time.Minute) // due at midnight: the last day is the one before
	wantMail(t, m, addr, "ご登録の住所が登記簿の記載と一致しません", "The address you registered differs from the company register",
		"登記簿の住所は「本町三丁目8番1号」です。", "登記事項証明書", "certified copy of the company register",
		jaDate(last)+"（", "23:59", "あと 10 営業日", "10 business days", s.PortalURL+"/partners/"+partner+"/verification")

	sum := sha256.Sum256([]byte("登記事項証明書 " + partner))
	s.Call(t, "POST", s.URL("verification")+"/v1/verification/partners/"+partner+"/documents", s.Token(upstream), map[string]any{
		"check": "company", "type": "company_register_certificate", "issued_on": time.Now().AddDate(0, -1, 0).Format(time.DateOnly),
		"sha256": hex.EncodeToString(sum[:]), "size_bytes": 120_000, "media_type": "application/pdf",
		"storage_uri": "s3://partner-documents/" + partner + "/register.pdf"}, http.StatusCreated, nil)
	task2 := reviewTask(t, s, partner, 2)
	decide(t, s, ver, task2.TaskID, map[string]any{"decision_id": "comms-approve-" + task2.TaskID, "outcome": "approve"})
	approved := waitMail(t, s, addr, "承認されました")
	wantMail(t, approved, addr, partner, s.PortalURL+"/partners/"+partner+"/agreements", "クラウド リセラー（間接販売）", "accept")
	acceptAgreement(t, s, partner, "indirect_reseller")
	return reg
}
