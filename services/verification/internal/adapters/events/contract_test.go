package events

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/registry"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

var t0 = time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC) // Monday 10:00 JST

func rules() domain.Rules {
	return domain.Rules{Policy: domain.DefaultPolicy(), Calendar: domain.JapanCalendar()}
}

func submitted() registrationv1.ApplicationSubmitted {
	return registrationv1.ApplicationSubmitted{
		PartnerID: "PG-7K3M9Q2X", LocationID: "PL-7K3M9Q2X-01", Market: "JP", Language: "ja",
		LegalName:          registrationv1.LegalName{Raw: "（株）サンプル商事", Normalized: "株式会社サンプル商事"},
		Address:            registrationv1.Address{Raw: registrationv1.AddressLines{Line1: "丸の内5-2-3", City: "千代田区", Region: "東京都", PostalCode: "100-0005"}},
		CompanyPhoneE164:   "+81312345678",
		RegistrationNumber: &registrationv1.RegistrationNumber{Scheme: "jp_corporate_number", Value: "9010401123456"},
		Website:            "https://www.sample.co.jp",
		Contact:            registrationv1.Contact{FirstName: "Taro", LastName: "Yamada", Email: "taro@mail.example.jp", EmailDomain: "mail.example.jp"},
		Enrollments: []registrationv1.Enrollment{{EnrollmentID: "EN-1", Program: "partner_network", Status: "pending_verification"},
			{EnrollmentID: "EN-2", Program: "indirect_reseller", Status: "pending_verification"}},
	}
}

// collect runs a case through every kind of fact the service publishes and
// returns the recorded events.
func collect(t *testing.T) []domain.Event {
	t.Helper()
	r := rules()
	in := OpenInput(submitted())
	match, err := registry.Default().Lookup(context.Background(), domain.RegistryQuery{Market: in.Market, Facts: in.Facts})
	if err != nil {
		t.Fatal(err)
	}
	c, err := domain.Open("vc-1", in, domain.NewPreCheck(match, nil, t0), t0, r)
	if err != nil {
		t.Fatal(err)
	}
	var evs []domain.Event
	pull := func() { evs = append(evs, c.PullEvents()...) }
	pull()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		pull()
	}
	if _, err := c.ConfirmEmailOwnership("EN-1", "taro@mail.example.jp", t0, t0, r); err != nil {
		t.Fatal(err)
	}
	pull()
	// employment awaits documents (the domains differ): submit, review, reject RETRY.
	_, _, err = c.SubmitDocument(domain.DocumentInput{Check: domain.CheckEmployment, Type: domain.DocDomainInvoice, IssuedOn: "2026-05-01",
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", SizeBytes: 120_000, MediaType: "application/pdf",
		StorageURI: "s3://partnerhub-docs/PG-7K3M9Q2X/invoice.pdf"}, t0.Add(time.Hour), r)
	must(err)
	var empTask string
	for _, tk := range c.Tasks {
		if tk.Check == domain.CheckEmployment {
			empTask = tk.ID
		}
	}
	_, err = c.Claim(empTask, "verifier-bot", "", t0.Add(2*time.Hour), r)
	must(err)
	_, _, err = c.Decide(domain.DecisionInput{ID: "dec-1", TaskID: empTask, Verifier: "verifier-bot", Outcome: domain.OutcomeReject,
		Reason: domain.ReasonDomainNotOwned, Mode: domain.ModeRetry, InternalNote: "whois differs"}, t0.Add(2*time.Hour+time.Minute), r)
	must(err)
	c.FireTimers(c.Check(domain.CheckEmployment).DocumentsDueAt.Add(-48*time.Hour), r)
	pull()
	// a claim that lapses, an overdue company task and a reminder.
	_, err = c.Claim(c.Tasks[0].ID, "verifier-bot", "", t0.Add(4*time.Hour), r)
	must(err)
	c.FireTimers(t0.AddDate(0, 0, 20), r)
	pull()
	_, err = c.Claim(c.Tasks[0].ID, "verifier-2", "", t0.AddDate(0, 0, 20), r)
	must(err)
	_, _, err = c.Decide(domain.DecisionInput{ID: "dec-2", TaskID: c.Tasks[0].ID, Verifier: "verifier-2", Outcome: domain.OutcomeReject,
		Reason: domain.ReasonCompanyNotFound, Mode: domain.ModeFinal}, t0.AddDate(0, 0, 20), r)
	must(err)
	_, err = c.Claim(c.Tasks[0].ID, "verifier-3", "", t0.AddDate(0, 0, 20), r)
	must(err)
	_, _, err = c.Decide(domain.DecisionInput{ID: "dec-3", TaskID: c.Tasks[0].ID, Verifier: "verifier-3", Outcome: domain.OutcomeReject,
		Reason: domain.ReasonCompanyNotFound, Mode: domain.ModeFinal}, t0.AddDate(0, 0, 20), r)
	must(err)
	return evs
}

func TestEveryPublishedPayloadMatchesItsSchema(t *testing.T) {
	evs := collect(t)
	// An approval, from a second case that passes everything.
	r := rules()
	in := OpenInput(submitted())
	in.PartnerID, in.Contact.Email = "PG-8A1B2C3D", "taro@sample.co.jp"
	c, err := domain.Open("vc-2", in, domain.NewPreCheck(domain.RegistryMatch{Result: domain.MatchFound,
		Record: &domain.RegisterRecord{Market: "JP", Name: "株式会社サンプル商事", Website: "https://www.sample.co.jp"}}, nil, t0), t0, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConfirmEmailOwnership("EN-1", "taro@sample.co.jp", t0, t0, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Claim(c.Tasks[0].ID, "verifier-bot", "", t0, r); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Decide(domain.DecisionInput{ID: "dec-ok", TaskID: c.Tasks[0].ID, Verifier: "verifier-bot", Outcome: domain.OutcomeApprove}, t0, r); err != nil {
		t.Fatal(err)
	}
	// The approval withdrawn by a second reviewer.
	if _, _, err := c.Revoke(domain.RevokeInput{DecisionID: "rev-1", Revoker: "verifier-2", Reason: "the register extract was forged"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Reviewed again.
	if _, err := c.ReopenReview(domain.ReopenForRevocation, "new certificate", "verifier-3", t0.Add(2*time.Hour), r); err != nil {
		t.Fatal(err)
	}
	evs = append(evs, c.PullEvents()...)
	// A third case whose employment is proven by a DNS TXT record.
	in.PartnerID, in.DomainProofToken = "PG-9Z8Y7X6W", "tok-1"
	p, err := domain.Open("vc-3", in, domain.NewPreCheck(domain.RegistryMatch{Result: domain.MatchFound}, nil, t0), t0, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ProveDomain(domain.ProofDNSTXT, []string{p.DomainProof.Value()}, t0, r); err != nil {
		t.Fatal(err)
	}
	evs = append(evs, p.PullEvents()...)

	seen := map[string]int{}
	drafts, err := ToDrafts(evs)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range drafts {
		seen[d.Type]++
		contract.MustValidate(t, d.Type, d.Data)
		if d.Subject == "" || d.Subject[:3] != "PG-" {
			t.Errorf("%s: subject %q is not the global partner id", d.Type, d.Subject)
		}
	}
	for _, typ := range []string{verificationv1.TypeCaseOpened, verificationv1.TypeCheckStateChanged, verificationv1.TypeReviewTaskCreated,
		verificationv1.TypeReviewTaskClaimed, verificationv1.TypeReviewTaskReleased, verificationv1.TypeReviewTaskOverdue,
		verificationv1.TypeDecisionRecorded, verificationv1.TypeDocumentsRequested, verificationv1.TypeDocumentAccepted,
		verificationv1.TypeReminderDue, verificationv1.TypeVerificationApproved, verificationv1.TypeVerificationRejected,
		verificationv1.TypeVerificationRevoked, verificationv1.TypeDocumentsSatisfied, verificationv1.TypeCaseReopened} {
		if seen[typ] == 0 {
			t.Errorf("no %s was produced: the contract of that type is untested", typ)
		}
	}
	for _, d := range drafts {
		switch p := d.Data.(type) {
		case verificationv1.VerificationApproved:
			if p.DecisionID != "dec-ok" {
				t.Errorf("approved carries decision %q, want dec-ok", p.DecisionID)
			}
		case verificationv1.VerificationRejected:
			if p.DecisionID != "dec-3" || p.FailingCheck != "company" || p.Mode != "FINAL" {
				t.Errorf("rejected %+v", p)
			}
		case verificationv1.VerificationRevoked:
			if p.DecisionID != "rev-1" || p.RevokedApprovalID != "dec-ok" || p.LocationID != "PL-7K3M9Q2X-01" || !p.RevokedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("revoked %+v", p)
			}
		case verificationv1.DecisionRecorded:
			if b, _ := json.Marshal(p); json.Valid(b) && contains(string(b), "whois") {
				t.Errorf("the internal note leaked into %s", d.Type)
			}
		case verificationv1.ReviewTaskCreated:
			if p.Check == "company" && p.PartnerID == "PG-7K3M9Q2X" && (p.PreCheck == nil || p.PreCheck.Result != "found" || p.PreCheck.Record == nil) {
				t.Errorf("company task lacks the register findings: %+v", p.PreCheck)
			}
			if len(p.ReasonCodes) == 0 || p.Decide.EventType != intakev1.TypeVerificationDecisionSubmitted {
				t.Errorf("task lacks decision guidance: %+v", p)
			}
		}
	}
}

func TestDecisionEventSampleMatchesItsSchema(t *testing.T) {
	for _, p := range []intakev1.VerificationDecisionSubmitted{
		{DecisionID: "dec-7f3a", TaskID: "vc-1-t1", Outcome: "approve"},
		{DecisionID: "dec-7f3b", TaskID: "vc-1-t1", Outcome: "reject", ReasonCode: "company_name_mismatch", Mode: "RETRY",
			ApplicantMessage: "登記簿の商号と一致しません", InternalNote: "name differs", Documents: []string{"company_register_certificate"}},
		{DecisionID: "dec-7f3c", TaskID: "vc-1-t2", Outcome: "request_documents", ReasonCode: "domain_not_owned"},
	} {
		contract.MustValidate(t, intakev1.TypeVerificationDecisionSubmitted, p)
	}
	if err := contract.Validate(intakev1.TypeVerificationDecisionSubmitted, map[string]any{"task_id": "t", "outcome": "maybe"}); err == nil {
		t.Fatal("the schema accepts a decision without id and with an unknown outcome")
	}
}

func TestOpenInputMapsRegistrationFacts(t *testing.T) {
	p := submitted()
	in := OpenInput(p)
	if in.Facts.Address.Prefecture != "東京都" || in.Facts.RegistrationNumber != "9010401123456" || in.Website != p.Website ||
		len(in.Enrollments) != 2 || in.Enrollments[1].Program != domain.ProgramResellerIndirect {
		t.Fatalf("mapped %+v", in)
	}
	p.RegistrationNumber = &registrationv1.RegistrationNumber{Scheme: "duns", Value: "150483782"}
	if in := OpenInput(p); in.Facts.RegistrationNumber != "" {
		t.Fatalf("a D-U-N-S number in JP must not be checked as a corporate number: %q", in.Facts.RegistrationNumber)
	}
}

// TestOpenInputComparesWhatRegistrationNormalized: registration accepts
// "Tokyo-to" and "(株)" and publishes 東京都 and 株式会社 beside the raw
// input; the register is compared with what registration normalized (one
// normalization, pkg/normalize, through Facts.Registered), so the pre-check
// finds the company, and the verifier still sees the facts as submitted
// beside their normalized form.
func TestOpenInputComparesWhatRegistrationNormalized(t *testing.T) {
	p := submitted()
	p.Address.Raw.Region, p.Address.Raw.City = "Tokyo-to", "千代田区"
	p.Address.Normalized = registrationv1.NormalizedAddress{Line1: "丸の内5-2-3", City: "千代田区", Region: "東京都", RegionCode: "13",
		PostalCode: "100-0005", Key: "13|千代田区|丸の内5-2-3"}
	in := OpenInput(p)
	if in.Facts.Address.Prefecture != "Tokyo-to" || in.Facts.LegalName != "（株）サンプル商事" {
		t.Fatalf("submitted facts %+v", in.Facts)
	}
	if r := in.Facts.Registered; r == nil || r.Address.Prefecture != "東京都" || r.LegalName != "株式会社サンプル商事" {
		t.Fatalf("facts compared with the register %+v", r)
	}
	if n := in.Facts.Normalize("JP"); n.Prefecture != "東京都" || n.LegalName != "株式会社サンプル商事" || n.RegistrationNumber != "9010401123456" {
		t.Fatalf("normalized facts %+v", n)
	}
	match, err := registry.Default().Lookup(context.Background(), domain.RegistryQuery{Market: "JP", Facts: in.Facts})
	if err != nil || match.Result != domain.MatchFound {
		t.Fatalf("registration's normalized facts against the register: %s %+v %v", match.Result, match.Differences, err)
	}
	c, err := domain.Open("vc-1", in, domain.NewPreCheck(match, nil, t0), t0, rules())
	if err != nil {
		t.Fatal(err)
	}
	if c.Submitted.Address.Prefecture != "Tokyo-to" || c.Normalized.Prefecture != "東京都" {
		t.Fatalf("case submitted %+v normalized %+v", c.Submitted, c.Normalized)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// Registration accepts 愛知 and Kyoto-fu as 愛知県 and 京都府 and publishes the
// normalized facts; the register pre-check must compare those (one
// normalization), not the raw input, or it reports an address mismatch for
// an address that matches the register.
func TestPreCheckComparesTheNormalizedFactsRegistrationPublished(t *testing.T) {
	cases := []struct {
		name   string
		raw    registrationv1.AddressLines
		norm   registrationv1.NormalizedAddress
		legal  registrationv1.LegalName
		regNum string
	}{
		{"prefecture without its suffix",
			registrationv1.AddressLines{Line1: "三の丸３－１－２", City: "名古屋市中区", Region: "愛知", PostalCode: "4600001"},
			registrationv1.NormalizedAddress{Line1: "三の丸3-1-2", City: "名古屋市中区", Region: "愛知県", RegionCode: "23", PostalCode: "460-0001"},
			registrationv1.LegalName{Raw: "（株）名城インフォテック", Normalized: "株式会社名城インフォテック"}, "8180001789012"},
		{"prefecture in romaji",
			registrationv1.AddressLines{Line1: "東塩小路町721番地1", City: "京都市下京区", Region: "Kyoto-fu", PostalCode: "600-8216"},
			registrationv1.NormalizedAddress{Line1: "東塩小路町721番地1", City: "京都市下京区", Region: "京都府", RegionCode: "26", PostalCode: "600-8216"},
			registrationv1.LegalName{Raw: "㈱京都クラウドワークス", Normalized: "株式会社京都クラウドワークス"}, "6130001890123"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := submitted()
			p.LegalName = c.legal
			p.Address = registrationv1.Address{Raw: c.raw, Normalized: c.norm}
			p.RegistrationNumber = &registrationv1.RegistrationNumber{Scheme: "jp_corporate_number", Value: c.regNum}
			in := OpenInput(p)
			if in.Facts.Registered == nil || in.Facts.Registered.Address.Prefecture != c.norm.Region {
				t.Fatalf("the published normalized facts are not used: %+v", in.Facts)
			}
			m, err := registry.Default().Lookup(context.Background(), domain.RegistryQuery{Market: "JP", Facts: in.Facts})
			if err != nil {
				t.Fatal(err)
			}
			if m.Result != domain.MatchFound || len(m.Differences) != 0 {
				t.Fatalf("pre-check %s %+v, want found without differences", m.Result, m.Differences)
			}
			if n := in.Facts.Normalize("JP"); n.Prefecture != c.norm.Region || n.LegalName != c.legal.Normalized {
				t.Fatalf("case facts %+v", n)
			}
		})
	}
	// An event without normalized facts falls back to the raw ones, through
	// the same normalizer.
	p := submitted()
	p.Address.Raw.Region = "東京"
	in := OpenInput(p)
	if in.Facts.Registered != nil {
		t.Fatal("no normalized facts were published")
	}
	if m, _ := registry.Default().Lookup(context.Background(), domain.RegistryQuery{Market: "JP", Facts: in.Facts}); m.Result != domain.MatchFound {
		t.Fatalf("raw fallback: %s %+v", m.Result, m.Differences)
	}
}
