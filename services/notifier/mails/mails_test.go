package mails_test

import (
	"bytes"
	"html"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode"

	"github.com/partnerhub/onboarding/pkg/contract"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

func set(t *testing.T) *mails.Set {
	t.Helper()
	s, err := mails.Default()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var englishWords = regexp.MustCompile(`[A-Za-z]{2,} [a-z]{2,} [a-z]{2,}`)

func hasJapanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return true
		}
	}
	return false
}

// TestEveryMailRendersBothLanguagesInBothParts: each mail of the catalog,
// with its sample data, renders with either language first, and both the
// plain-text and the HTML part carry the whole mail in both languages, the
// first one first; reminders carry the unsubscribe link, transactional
// mails say they cannot be unsubscribed.
func TestEveryMailRendersBothLanguagesInBothParts(t *testing.T) {
	s := set(t)
	ja, en := s.Terms(mails.Japanese), s.Terms(mails.English)
	for _, k := range mails.Kinds {
		t.Run(k.ID, func(t *testing.T) {
			d, err := s.Sample(k.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, first := range mails.Languages {
				r, err := s.Render(k.ID, first, d)
				if err != nil {
					t.Fatal(err)
				}
				for part, body := range map[string]string{"subject": r.Subject, "text": r.Text, "html": r.HTML} {
					if strings.Contains(body, "<no value>") || strings.Contains(body, "%!") {
						t.Errorf("%s first, %s: a missing value:\n%s", first, part, body)
					}
				}
				jaSubj, enSubj, ok := strings.Cut(r.Subject, " / ")
				if first == mails.English {
					jaSubj, enSubj = enSubj, jaSubj
				}
				if !ok || !hasJapanese(jaSubj) || !englishWords.MatchString(enSubj) || englishWords.MatchString(jaSubj) {
					t.Errorf("%s first: subject %q, want Japanese / English in that order", first, r.Subject)
				}
				// Both languages in both parts, the first language first.
				jaAt, enAt := strings.Index(r.HTML, `<section lang="ja">`), strings.Index(r.HTML, `<section lang="en">`)
				if jaAt < 0 || enAt < 0 || (first == mails.Japanese) != (jaAt < enAt) {
					t.Errorf("%s first: html sections at ja %d, en %d", first, jaAt, enAt)
				}
				sep := strings.Index(r.Text, "────")
				if sep < 0 {
					t.Fatalf("%s first: no section separator in the text part:\n%s", first, r.Text)
				}
				head, tail := r.Text[:sep], r.Text[sep:]
				if first == mails.English {
					head, tail = tail, head
				}
				if !hasJapanese(head) || !strings.Contains(tail, "e") || len(tail) < 200 || len(head) < 100 {
					t.Errorf("%s first: text part does not hold both languages:\n%s", first, r.Text)
				}
				switch k.Category {
				case mails.Reminder:
					if !strings.Contains(r.Text, d.Links.Unsubscribe) || !strings.Contains(r.HTML, `href="`+strings.ReplaceAll(d.Links.Unsubscribe, "&", "&amp;")+`"`) ||
						!strings.Contains(r.Text, ja.Phrases["footer_reminder"]) || !strings.Contains(r.Text, en.Phrases["footer_reminder"]) {
						t.Errorf("%s first: reminder without its unsubscribe link or footer:\n%s", first, r.Text)
					}
				case mails.Transactional:
					if strings.Contains(strings.ToLower(r.Text), "unsubscribe?") || !strings.Contains(r.Text, ja.Phrases["footer_transactional"]) ||
						!strings.Contains(r.HTML, en.Phrases["footer_transactional"]) {
						t.Errorf("%s first: transactional footer missing:\n%s", first, r.Text)
					}
				}
			}
		})
	}
}

// TestTheCureIsSpelledOut: the documents-requested mail names what is
// wrong, the exact documents that cure it, the deadline as the last day at
// 23:59 Japan time and the business days, in both languages.
func TestTheCureIsSpelledOut(t *testing.T) {
	s := set(t)
	d := mails.Data{Partner: mails.Party{ID: "PG-1", Market: "JP", ContactFirstName: "太郎", ContactLastName: "山田"},
		Links: mails.Links{Documents: "https://portal.example/partners/PG-1/verification"},
		Verification: &mails.Verification{Check: "employment", Reason: "domain_not_owned",
			Documents: []string{"domain_invoice", "domain_purchase_proof"}, BusinessDaysLeft: 10, AppealsRemaining: 3,
			// Midnight after Wednesday 16 December 2026 in Japan.
			DueAt: time.Date(2026, 12, 16, 15, 0, 0, 0, time.UTC)}}
	r, err := s.Render(mails.DocumentsRequested, mails.Japanese, d)
	if err != nil {
		t.Fatal(err)
	}
	rem, err := s.Render(mails.DocumentsReminder, mails.Japanese, mails.Data{Partner: d.Partner, Links: mails.Links{Documents: "x", Unsubscribe: "y"},
		Verification: d.Verification})
	if err != nil || !strings.Contains(rem.Subject, "2026年12月16日（水）まで") || !strings.Contains(rem.Subject, "Wednesday, 16 December 2026") {
		t.Errorf("reminder subject %q (%v), want the last day", rem.Subject, err)
	}
	for _, want := range []string{"山田 太郎 様", "Dear 山田 太郎,", "ドメインが記載された貴社宛ての請求書のコピー", "invoice addressed to your company that shows the domain",
		"貴社がドメインを購入したことを証明する書類", "2026年12月16日（水） 23:59（日本時間）まで", "あと 10 営業日",
		"Wednesday, 16 December 2026, 23:59 Japan time, JST", "10 business days", "雇用関係の確認", "employment verification",
		"https://portal.example/partners/PG-1/verification", "残り 3 回"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, r.Text)
		}
	}
}

// TestTheDomainProofIsSpelledOut: an employment request that offers the
// domain proof names the DNS TXT record and the URL, with their values, in
// both languages and both parts, beside the documents.
func TestTheDomainProofIsSpelledOut(t *testing.T) {
	s := set(t)
	d := mails.Data{Partner: mails.Party{ID: "PG-1", Market: "JP"},
		Links: mails.Links{Documents: "https://portal.example/partners/PG-1/verification"},
		Verification: &mails.Verification{Check: "employment", Reason: "email_domain_unverified",
			Documents: []string{"domain_invoice", "domain_purchase_proof"}, BusinessDaysLeft: 10, AppealsRemaining: 3,
			DueAt: time.Date(2026, 12, 16, 15, 0, 0, 0, time.UTC),
			DomainProof: &mails.DomainProof{Domain: "example.co.jp", DNSTXTName: "_partnerhub-verification.example.co.jp",
				DNSTXTValue: "partnerhub-verification=tok-1", HTTPURL: "https://example.co.jp/.well-known/partnerhub-verification.txt",
				HTTPBody: "partnerhub-verification=tok-1"}}}
	r, err := s.Render(mails.DocumentsRequested, mails.English, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DNS の TXT レコード", "a DNS TXT record", "_partnerhub-verification.example.co.jp", "partnerhub-verification=tok-1",
		"https://example.co.jp/.well-known/partnerhub-verification.txt", "登記情報に貴社の Web サイトがありません", "the register lists no website"} {
		if !strings.Contains(r.Text, want) || !strings.Contains(r.HTML, want) {
			t.Errorf("a part lacks %q:\n%s\n%s", want, r.Text, r.HTML)
		}
	}
	d.Verification.DomainProof = nil
	if r, _ := s.Render(mails.DocumentsRequested, mails.English, d); strings.Contains(r.Text, "Instead of a document") {
		t.Errorf("a request without a domain proof offers one:\n%s", r.Text)
	}
}

// TestHTMLIsEscaped: what a reviewer or a partner typed cannot inject
// markup into the HTML part.
func TestHTMLIsEscaped(t *testing.T) {
	s := set(t)
	d, _ := s.Sample(mails.DocumentsRequested)
	d.Verification.ApplicantMessage = `<script>alert(1)</script><a href="https://evil.example">x</a>`
	d.Partner.CompanyName = `"><img src=x>`
	r, err := s.Render(mails.DocumentsRequested, mails.Japanese, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || strings.Contains(r.HTML, `href="https://evil.example"`) || strings.Contains(r.HTML, "<img") {
		t.Fatalf("unescaped input in the HTML part:\n%s", r.HTML)
	}
}

// TestTermsNameEveryPublishedCode: checks, programs and roles of the
// published language have a name in both languages (a code without one
// would be written as the code).
func TestTermsNameEveryPublishedCode(t *testing.T) {
	s := set(t)
	checks := []string{verificationv1.CheckEmailOwnership, verificationv1.CheckEmployment, verificationv1.CheckCompany}
	programs := []string{regv1.ProgramPartnerNetwork, regv1.ProgramIndirectReseller, regv1.ProgramIndirectProvider}
	roles := []string{relv1.RoleBillingReader, relv1.RoleSupportAgent, relv1.RoleCustomerManagement, relv1.RoleHelpdeskAdmin, relv1.RoleFullAdministrator}
	for _, l := range mails.Languages {
		terms := s.Terms(l)
		for what, codes := range map[string][]string{"checks": checks, "programs": programs, "roles": roles} {
			m := map[string]map[string]string{"checks": terms.Checks, "programs": terms.Programs, "roles": terms.Roles}[what]
			for _, c := range codes {
				if m[c] == "" {
					t.Errorf("terms/%s.yaml: %s.%s is missing", l, what, c)
				}
			}
		}
		for _, c := range verificationv1.DocumentTypes {
			if terms.Documents[c] == "" {
				t.Errorf("terms/%s.yaml: documents.%s is missing", l, c)
			}
		}
		for _, c := range verificationv1.ReasonCodes {
			if terms.Reasons[c].What == "" {
				t.Errorf("terms/%s.yaml: reasons.%s.what is missing", l, c)
			}
		}
	}
}

// TestLoadReportsEveryProblem: an edited copy of the templates with a
// missing file, a directory no mail sends and a template that does not
// parse is refused, naming each.
func TestLoadReportsEveryProblem(t *testing.T) {
	m := fstest.MapFS{}
	err := fs.WalkDir(mails.Files(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(mails.Files(), p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mails.Load(m); err != nil {
		t.Fatalf("a faithful copy: %v", err)
	}
	delete(m, mails.Invitation+"/en.html")
	m["verification.typo/ja.txt"] = &fstest.MapFile{Data: []byte("x")}
	m[mails.VerificationApproved+"/ja.txt"] = &fstest.MapFile{Data: []byte("{{if}")}
	_, err = mails.Load(m)
	for _, want := range []string{"relationships.invitation: open relationships.invitation/en.html", "templates/verification.typo", "verification.approved/ja.txt"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("load error %v, want it to name %q", err, want)
		}
	}
}

// TestWriteEML: the composed message parses as a mail client reads it:
// headers (stable Message-ID, languages, auto-submitted, one-click
// unsubscribe for reminders) and a multipart/alternative text + HTML body.
func TestWriteEML(t *testing.T) {
	s := set(t)
	d, _ := s.Sample(mails.DocumentsReminder)
	r, err := s.Render(mails.DocumentsReminder, mails.Japanese, d)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = mails.WriteEML(&buf, mails.Envelope{ID: "mail-1", MessageIDDomain: "partnerhub.example", From: "no-reply@partnerhub.example",
		FromName: "Partner Onboarding", To: "taro@yamada.example.co.jp", ToName: "山田 太郎", Rendered: r, Unsubscribe: d.Links.Unsubscribe})
	if err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	msg, err := mail.ReadMessage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if h.Get("Message-Id") != "<mail-1@partnerhub.example>" || subj != r.Subject || h.Get("Content-Language") != "ja, en" ||
		h.Get("Auto-Submitted") != "auto-generated" || h.Get("List-Unsubscribe") != "<"+d.Links.Unsubscribe+">" ||
		h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("headers %v", h)
	}
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("content type %s", mt)
	}
	var types []string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Fatalf("parts %v", types)
	}
	if regexp.MustCompile(`[^\x00-\x7f]`).MatchString(strings.SplitN(raw, "\r\n\r\n", 2)[0]) {
		t.Fatal("non-ASCII bytes in the headers (they must be encoded)")
	}
}

// TestREADMEListsEveryMail: the README's table of mails names every mail of
// the catalog with the event that sends it and its category.
func TestREADMEListsEveryMail(t *testing.T) {
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range mails.Kinds {
		row := regexp.MustCompile("(?m)^\\| [^|`]*`" + regexp.QuoteMeta(k.ID) + "` \\| `" + regexp.QuoteMeta(strings.TrimPrefix(k.Trigger, "com.partnerhub.")) +
			"`[^|]*\\|[^|]+\\| " + string(k.Category) + " \\|")
		if !row.Match(readme) {
			t.Errorf("README.md: no row for %s (sent on %s, %s) in the table of mails", k.ID, k.Trigger, k.Category)
		}
	}
}

// TestRendersAreTheSameConcurrentlyAndRepeated: the templates bound once per
// zone give every render, concurrent or repeated, in Japan time or UTC,
// what the first one gave, and a mail rendered in Japan time first is
// still written in UTC for another market (the zone is part of the key).
func TestRendersAreTheSameConcurrentlyAndRepeated(t *testing.T) {
	s := set(t)
	zoned := 0
	for _, k := range mails.Kinds {
		d, err := s.Sample(k.ID)
		if err != nil {
			t.Fatal(err)
		}
		d.Partner.Market = "JP"
		jp, err := s.Render(k.ID, mails.Japanese, d)
		if err != nil {
			t.Fatal(err)
		}
		d.Partner.Market = "US"
		us, err := s.Render(k.ID, mails.Japanese, d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(jp.Text, "日本時間") {
			zoned++
			if strings.Contains(us.Text, "日本時間") || !strings.Contains(us.Text, "協定世界時") {
				t.Errorf("%s for a US partner is written in Japan time after a JP render", k.ID)
			}
		}
		for _, market := range []string{"JP", "US"} {
			d.Partner.Market = market
			want, err := s.Render(k.ID, mails.Japanese, d)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan mails.Rendered, 4)
			for range cap(done) {
				go func() {
					r, _ := s.Render(k.ID, mails.Japanese, d)
					done <- r
				}()
			}
			for range cap(done) {
				if got := <-done; got.Subject != want.Subject || got.Text != want.Text || got.HTML != want.HTML {
					t.Fatalf("%s (%s): a concurrent render differs from the first", k.ID, market)
				}
			}
		}
	}
	if zoned == 0 {
		t.Fatal("no mail writes a time in Japan time: the zone check checked nothing")
	}
}

// BenchmarkRender renders a confirmation mail (both languages, both parts).
func BenchmarkRender(b *testing.B) {
	s, err := mails.Default()
	if err != nil {
		b.Fatal(err)
	}
	id := mails.Kinds[0].ID
	d, err := s.Sample(id)
	if err != nil {
		b.Fatal(err)
	}
	d.Partner.Market = "JP"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Render(id, mails.Japanese, d); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTheResellerHearsItsProviderEndedIt: relationship_ended goes to the
// other side; to the reseller (the provider ended it, or its account
// closed, with no access live, or its pending invitation withdrawn) it
// names the provider and says what was removed, in both languages and
// both parts — never the provider-side wording.
func TestTheResellerHearsItsProviderEndedIt(t *testing.T) {
	s := set(t)
	base := mails.Data{Partner: mails.Party{ID: "PG-R", Market: "JP", CompanyName: "株式会社ひかりネットワークス"},
		Links: mails.Links{Relationships: "https://portal.example/partners/PG-R/relationships"}}
	for _, c := range []struct {
		name string
		r    mails.Relationship
		want []string
	}{
		{"ended by the provider", mails.Relationship{EndedBy: "provider", Cause: "chosen", ProviderID: "PG-P", ProviderName: "株式会社名城インフォテック",
			Message: "契約期間が満了しました", OccurredAt: time.Date(2027, 3, 3, 6, 0, 0, 0, time.UTC)},
			[]string{"Your relationship with 株式会社名城インフォテック ended", "ended its relationship with you", "so nothing was removed",
				"の管理者が、", "削除された権限はありません", "契約期間が満了しました", "PG-P"}},
		{"the provider's account closed", mails.Relationship{EndedBy: "provider", Cause: "account_closed", ProviderID: "PG-P", ProviderName: "株式会社名城インフォテック",
			OccurredAt: time.Date(2027, 3, 3, 6, 0, 0, 0, time.UTC)},
			[]string{"because its partner account was closed", "パートナー アカウントが閉鎖されたため", "so nothing was removed"}},
		{"the invitation withdrawn", mails.Relationship{EndedBy: "provider", Cause: "account_closed", InvitationWithdrawn: true, ProviderID: "PG-P",
			ProviderName: "株式会社名城インフォテック", OccurredAt: time.Date(2027, 3, 3, 6, 0, 0, 0, time.UTC)},
			[]string{"The invitation from 株式会社名城インフォテック was withdrawn", "Its invitation link no longer works", "招待が取り消されました",
				"招待のリンクは使用できなくなり"}},
	} {
		d := base
		r := c.r
		d.Relationship = &r
		got, err := s.Render(mails.RelationshipEnded, mails.Japanese, d)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, want := range c.want {
			if !strings.Contains(got.Subject+got.Text, want) || (!strings.Contains(got.Subject, want) && !strings.Contains(got.HTML, want)) {
				t.Errorf("%s: lacks %q:\n%s\n%s\n%s", c.name, want, got.Subject, got.Text, got.HTML)
			}
		}
		for _, provider := range []string{"Your resellers", "貴社のリセラーの一覧", "you can no longer sell to its customers"} {
			if strings.Contains(got.Text+got.HTML, provider) {
				t.Errorf("%s: the provider's wording %q in the reseller's mail", c.name, provider)
			}
		}
		if c.r.InvitationWithdrawn && strings.Contains(got.Text, "nothing was removed") {
			t.Errorf("%s: a withdrawn invitation is told as an ended relationship:\n%s", c.name, got.Text)
		}
	}
}

// TestAccessHeldSpeaksToTheOtherSide: the hold and give-back mails speak to
// whichever side receives them — the reseller about its provider, the
// provider about its reseller — in both languages and both parts.
func TestAccessHeldSpeaksToTheOtherSide(t *testing.T) {
	s := set(t)
	at := time.Date(2027, 3, 3, 6, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		id, side    string
		want, never []string
	}{
		{mails.AccessSuspended, "provider", []string{"株式会社名城インフォテック's delegated access is on hold", "PG-P", "it cannot manage your directory",
			"同社が貴社のディレクトリに持つ委任管理者権限を一時停止"}, []string{"PG-R)", "you cannot manage its directory", "Your resellers"}},
		{mails.AccessSuspended, "reseller", []string{"Your delegated access to 株式会社ひかりネットワークス is on hold", "PG-R", "you cannot manage its directory",
			"貴社が同社のディレクトリに持つ委任管理者権限を一時停止"}, []string{"PG-P)", "it cannot manage your directory", "Your indirect providers"}},
		{mails.AccessReinstated, "provider", []string{"株式会社名城インフォテック's delegated access works again", "Its current term ends on",
			"同社が貴社のディレクトリに持つ委任管理者権限が再び有効"}, []string{"PG-R)", "Your resellers"}},
		{mails.AccessReinstated, "reseller", []string{"Your delegated access to 株式会社ひかりネットワークス works again", "Its current term ends on",
			"貴社が同社のディレクトリに持つ委任管理者権限が再び有効"}, []string{"PG-P)", "Your indirect providers"}},
	} {
		d := mails.Data{Partner: mails.Party{ID: "PG-X", Market: "JP"}, Links: mails.Links{Relationships: "https://portal.example/partners/PG-X/relationships"},
			Relationship: &mails.Relationship{StandingOf: c.side, ProviderID: "PG-P", ProviderName: "株式会社名城インフォテック",
				ResellerID: "PG-R", ResellerName: "株式会社ひかりネットワークス", OccurredAt: at, ExpiresAt: at.AddDate(0, 6, 0)}}
		got, err := s.Render(c.id, mails.Japanese, d)
		if err != nil {
			t.Fatalf("%s %s: %v", c.id, c.side, err)
		}
		for _, w := range c.want {
			if !strings.Contains(got.Subject+got.Text, w) || (!strings.Contains(got.Subject, w) && !strings.Contains(got.HTML, w)) {
				t.Errorf("%s, %s left: lacks %q:\n%s\n%s\n%s", c.id, c.side, w, got.Subject, got.Text, got.HTML)
			}
		}
		for _, n := range c.never {
			if strings.Contains(got.Subject+got.Text+got.HTML, n) {
				t.Errorf("%s, %s left: the other side's wording %q", c.id, c.side, n)
			}
		}
	}
}

// TestARejectedProfileChangeSaysWhatToDoForItsCheck: the mail of a
// rejected profile change gives the advice of the check that failed — a
// company change the register's spelling, an employment change a domain
// the company owns, a new contact address removed after an upheld "this
// wasn't me" report another address and why (before round 43 every
// rejection advised the register's spelling) — in both languages and
// both parts.
func TestARejectedProfileChangeSaysWhatToDoForItsCheck(t *testing.T) {
	s := set(t)
	register := []string{"登記簿の記載どおり", "exactly as in the company register"}
	for _, c := range []struct {
		check     string
		want, not []string
	}{
		{"company", append([]string{"The register shows another building."}, register...), []string{"another contact e-mail address"}},
		{"employment", []string{"a domain your company owns", "貴社が所有するドメイン", "The register shows another building."}, register},
		{"email_ownership", []string{"this wasn't me", "心当たりがない", "another contact e-mail address", "別の連絡先メールアドレス",
			"removed from your registration"}, append([]string{"The register shows another building."}, register...)},
	} {
		d := mails.Data{Partner: mails.Party{ID: "PG-1", Market: "JP", ContactFirstName: "太郎", ContactLastName: "山田"},
			Links:         mails.Links{Portal: "https://portal.example"},
			ProfileChange: &mails.ProfileChange{Number: 2, Check: c.check, Reason: "The register shows another building."}}
		r, err := s.Render(mails.ProfileChangeRejected, mails.Japanese, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range c.want {
			if !strings.Contains(r.Text, want) || !strings.Contains(html.UnescapeString(r.HTML), want) {
				t.Errorf("%s: a part lacks %q:\n%s\n%s", c.check, want, r.Text, r.HTML)
			}
		}
		for _, not := range c.not {
			if strings.Contains(r.Text+html.UnescapeString(r.HTML), not) {
				t.Errorf("%s: says %q:\n%s", c.check, not, r.Text)
			}
		}
	}
}
