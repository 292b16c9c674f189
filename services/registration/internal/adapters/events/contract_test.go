package events_test

import (
	"encoding/json"
	"fmt"
	"github.com/partnerhub/onboarding/pkg/ids"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/contract"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

type seqIDs struct{ n int }

func (s *seqIDs) next(kind ids.Kind) string { s.n++; return mustID(kind, s.n) }

func mustID(kind ids.Kind, n int) string {
	id, err := ids.Format(kind, fmt.Sprintf("%010d", n))
	if err != nil {
		panic(err)
	}
	return id
}
func (s *seqIDs) NewPartnerID() domain.PartnerID { return domain.PartnerID(s.next(ids.Partner)) }
func (s *seqIDs) NewLocationID() domain.LocationID {
	return domain.LocationID(s.next(ids.Location))
}
func (s *seqIDs) NewEnrollmentID() domain.EnrollmentID {
	return domain.EnrollmentID(s.next(ids.Enrollment))
}

// mustMatchSchemas drafts each event as published, checks that it names its
// subject and validates it against its schema in schemas/; it counts the
// event types seen.
func mustMatchSchemas(t *testing.T, evs []domain.Event) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, ev := range evs {
		d, err := events.Draft(ev)
		if err != nil {
			t.Fatal(err)
		}
		if d.Subject == "" {
			t.Errorf("%s has no subject", d.Type)
		}
		contract.MustValidate(t, d.Type, d.Data)
		seen[d.Type]++
	}
	return seen
}

// verifiedMember is a JP partner network member whose registration was
// verified at now, its events so far pulled.
func verifiedMember(t *testing.T, gen *seqIDs, now time.Time) *domain.Partner {
	t.Helper()
	in := domain.RegistrationInput{
		Market: "JP", Language: "ja",
		Company: domain.CompanyInput{LegalName: "（株）みらいクラウド", Phone: "03-1234-5678", Website: "mirai-cloud.co.jp",
			Address:            domain.AddressInput{Line1: "丸の内5-2-3", City: "千代田区", Region: "東京都", PostalCode: "1000005"},
			RegistrationNumber: &domain.RegistrationNumberInput{Scheme: "jp_corporate_number", Value: "7000012050002"}},
		Contact:      domain.ContactInput{FirstName: "太郎", LastName: "山田", Email: "taro@mirai-cloud.co.jp", Phone: "090-1234-5678"},
		Programs:     []domain.ProgramInput{{Program: "partner_network"}},
		Affirmations: domain.AffirmationsInput{AuthorityToRepresent: true, ConsentToVerification: true, AcceptNetworkTerms: true},
	}
	reg, err := domain.NormalizeRegistration(in, domain.DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	p := domain.NewPartner(reg, gen, "upstream-portal", now)
	if _, err := p.ApproveVerification(now, now); err != nil {
		t.Fatal(err)
	}
	p.PullEvents()
	return p
}

// TestEveryPublishedEventMatchesItsSchema drives a partner through its whole
// lifecycle and checks each published payload against schemas/.
func TestEveryPublishedEventMatchesItsSchema(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := domain.RegistrationInput{
		Market: "JP", Language: "ja",
		Company: domain.CompanyInput{LegalName: "（株）みらいクラウド", Phone: "03-1234-5678", Website: "mirai-cloud.co.jp",
			Address:            domain.AddressInput{Line1: "丸の内5-2-3", City: "千代田区", Region: "東京都", PostalCode: "1000005"},
			RegistrationNumber: &domain.RegistrationNumberInput{Scheme: "jp_corporate_number", Value: "7000012050002"}},
		Contact: domain.ContactInput{FirstName: "太郎", LastName: "山田", Email: "taro@mirai-cloud.co.jp", Phone: "090-1234-5678"},
		Programs: []domain.ProgramInput{{Program: "partner_network"}, {Program: "indirect_reseller",
			Support: &domain.SupportProfileInput{Website: "https://mirai-cloud.co.jp/support", Email: "support@mirai-cloud.co.jp", Phone: "0120-123-456"}}},
		Affirmations: domain.AffirmationsInput{AuthorityToRepresent: true, ConsentToVerification: true, AcceptNetworkTerms: true, CanProvideSupport: true},
	}
	reg, err := domain.NormalizeRegistration(in, domain.DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	gen := &seqIDs{}
	p := domain.NewPartner(reg, gen, "upstream-portal", now)
	var all []domain.Event
	all = append(all, p.PullEvents()...)
	if _, err := p.ApproveVerification(now.Add(time.Hour), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	all = append(all, p.PullEvents()...)
	if _, err := p.AcceptAgreement(domain.ProgramIndirectReseller, p.Locations()[0].ID, "AC-1", "", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	all = append(all, p.PullEvents()...)

	// Standing: revoked, an MFA report, closed.
	if _, err := p.RevokeVerification("vc-1", "rev-1", "false register entry", now.Add(3*time.Hour), now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	share := 62.5
	if _, err := p.ReportSecurity(domain.SecurityReport{Status: domain.SecurityNoncompliant, MFAEnforcedUsersPercent: &share,
		MeasuredAt: now.Add(4 * time.Hour), ReportedBy: "idp"}, now.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Close(domain.ReasonClosedByOperator, "ops-1", "fraud", now.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	all = append(all, p.PullEvents()...)

	rejected := domain.NewPartner(reg, gen, "upstream-portal", now)
	rejected.PullEvents()
	if _, err := rejected.RejectVerification("company_check_failed", now); err != nil {
		t.Fatal(err)
	}
	all = append(all, rejected.PullEvents()...)

	attempt := domain.NewDuplicateAttempt(domain.DuplicateAttemptID(mustID(ids.DuplicateAttempt, 1)),
		&domain.DuplicateError{ExistingPartnerID: p.ID(), MatchedOn: []domain.IdentityKeyKind{domain.KeyNameAddress}}, reg, "upstream-portal", now)
	if err := attempt.FileClaim(domain.ClaimID(mustID(ids.DuplicateClaim, 1)), "we are that company", "upstream-portal", now); err != nil {
		t.Fatal(err)
	}
	all = append(all, attempt.PullEvents()...)

	seen := mustMatchSchemas(t, all)
	for _, want := range []string{"application.submitted", "enrollment.status_changed", "partner.activated", "partner.rejected", "duplicate_claim.filed",
		"partner.standing_changed", "partner.security_status_changed"} {
		found := false
		for typ := range seen {
			if strings.HasPrefix(typ, "com.partnerhub.registration."+want+".") {
				found = true
			}
		}
		if !found {
			t.Errorf("lifecycle produced no %s event (saw %v)", want, seen)
		}
	}
}

// TestTheAnswerToARefusedIntakeMatchesItsSchema: the rejection of an intake
// registration carries the problem the same request gets over HTTP, flat in
// its data (status, code, detail, errors), as its schema says.
func TestTheAnswerToARefusedIntakeMatchesItsSchema(t *testing.T) {
	err := apperr.Invalid("validation_failed", "the registration is not valid",
		apperr.FieldError{Field: "company.phone", Code: "phone.invalid", Message: "not a phone number"})
	rej := events.Rejection("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", err)
	contract.MustValidate(t, regv1.TypeApplicationRejected, rej)
	data, jerr := json.Marshal(rej)
	if jerr != nil {
		t.Fatal(jerr)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	errs, _ := got["errors"].([]any)
	if got["status"] != float64(422) || got["code"] != "validation_failed" || len(errs) != 1 {
		t.Errorf("answer %s: want status 422, code validation_failed and the field error at the top level", data)
	}
}
