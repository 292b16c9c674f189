package app

import (
	"context"
	"errors"
	"github.com/partnerhub/onboarding/pkg/ids"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

var (
	t0       = time.Date(2026, 4, 1, 9, 0, 0, 123456789, time.UTC)
	upstream = auth.Principal{Kind: auth.KindService, Subject: "signup-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}
	crm      = auth.Principal{Kind: auth.KindService, Subject: "crm", Roles: []auth.Role{auth.RoleUpstreamSystem}}
	verifier = auth.Principal{Kind: auth.KindService, Subject: "verification", Roles: []auth.Role{auth.RoleVerifier}}
	operator = auth.Principal{Kind: auth.KindUser, Subject: "op-1", Roles: []auth.Role{auth.RoleOperator}}
)

type harness struct {
	app   *App
	repo  *fakeRepo
	ids   *seqIDs
	clock *fakeClock
}

func newHarness() *harness {
	h := &harness{repo: newFakeRepo(), ids: &seqIDs{}, clock: &fakeClock{t: t0}}
	h.app = New(h.repo, h.ids, h.clock, domain.DefaultPolicy())
	return h
}

func input() domain.RegistrationInput {
	return domain.RegistrationInput{
		Market: "JP",
		Company: domain.CompanyInput{
			LegalName: "（株）テスト商事",
			Address: domain.AddressInput{Line1: "六本木5-2-3", Line2: "テストビル5階", City: "港区",
				Region: "東京都", PostalCode: "106-0032"},
			Phone:              "03-1234-5678",
			Website:            "test-shoji.co.jp",
			RegistrationNumber: &domain.RegistrationNumberInput{Scheme: "jp_corporate_number", Value: "7000012050002"},
		},
		Contact: domain.ContactInput{FirstName: "太郎", LastName: "山田", Email: "taro@test-shoji.co.jp", Phone: "090-1234-5678"},
		Programs: []domain.ProgramInput{{Program: "partner_network"},
			{Program: "indirect_reseller", Support: &domain.SupportProfileInput{Website: "test-shoji.co.jp/support", Email: "support@test-shoji.co.jp"}}},
		Affirmations: domain.AffirmationsInput{AuthorityToRepresent: true, ConsentToVerification: true, AcceptNetworkTerms: true, CanProvideSupport: true},
	}
}

// changeContact has the partner's administrator change its contact to
// 山田 first at email.
func (h *harness) changeContact(partner domain.PartnerID, first, email string) (ProfileView, error) {
	return h.app.RequestProfileChange(context.Background(), adminOf(partner), RequestProfileChangeCmd{PartnerID: string(partner),
		Change: domain.ProfileChangeInput{Contact: &domain.ContactInput{FirstName: first, LastName: "山田", Email: email, Phone: "090-1234-5678"}}})
}

func (h *harness) submit(t *testing.T) RegistrationView {
	t.Helper()
	v, err := h.app.SubmitRegistration(context.Background(), upstream, input())
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	h.repo.pullOutbox()
	return v
}

// confirmAll has e-mail ownership confirm every enrollment of v (before
// the approval, as when the contact opens both mails at once).
func (h *harness) confirmAll(t *testing.T, v RegistrationView) {
	t.Helper()
	for _, e := range v.Enrollments {
		if _, err := h.app.ApplyEmailConfirmed(context.Background(), operator, EmailConfirmed{PartnerID: string(v.PartnerID),
			EnrollmentID: string(e.ID), Address: "taro@test-shoji.co.jp", ConfirmedAt: t0}); err != nil {
			t.Fatalf("confirm %s: %v", e.ID, err)
		}
	}
	h.repo.pullOutbox()
}

// wantAppErr checks err is an *apperr.Error of kind and code.
func wantAppErr(t *testing.T, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("want apperr %s/%s, got %v", kind, code, err)
	}
	if ae.Kind != kind || ae.Code != code {
		t.Fatalf("want %s/%s, got %s/%s (%v)", kind, code, ae.Kind, ae.Code, err)
	}
	return ae
}

func eventsOf[T domain.Event](evs []domain.Event) []T {
	var out []T
	for _, e := range evs {
		if x, ok := e.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func TestSubmitRegistration(t *testing.T) {
	h := newHarness()
	v, err := h.app.SubmitRegistration(context.Background(), upstream, input())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := domain.ParsePartnerID(string(v.PartnerID)); err != nil {
		t.Errorf("partner id %q: %v", v.PartnerID, err)
	}
	if _, err := domain.ParseLocationID(string(v.LocationID)); err != nil {
		t.Errorf("location id %q: %v", v.LocationID, err)
	}
	if v.Status != domain.PartnerStatusPending || v.Locations[0].Status != domain.LocationStatusPending || len(v.Enrollments) != 2 {
		t.Errorf("view %+v", v.PartnerView)
	}
	if v.Submitted.Company.LegalName != "（株）テスト商事" || v.Normalized.Company.LegalName != "株式会社テスト商事" || v.LegalName != "株式会社テスト商事" {
		t.Errorf("raw %q normalized %q", v.Submitted.Company.LegalName, v.Normalized.Company.LegalName)
	}
	if !v.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Errorf("created at %v: the clock's time at microsecond precision expected", v.CreatedAt)
	}
	subs := eventsOf[domain.RegistrationSubmitted](h.repo.pullOutbox())
	if len(subs) != 1 || subs[0].PartnerID != v.PartnerID || subs[0].SubmittedBy != "signup-portal" {
		t.Fatalf("outbox: %+v", subs)
	}
}

func TestSubmitRegistrationAuthorization(t *testing.T) {
	tests := []struct {
		name string
		p    auth.Principal
		kind apperr.Kind
	}{
		{"anonymous", auth.Principal{}, apperr.KindUnauthenticated},
		{"partner admin", auth.Principal{Subject: "u", Roles: []auth.Role{auth.RolePartnerAdmin}}, apperr.KindForbidden},
		{"verifier", verifier, apperr.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			_, err := h.app.SubmitRegistration(context.Background(), tt.p, input())
			if apperr.KindOf(err) != tt.kind {
				t.Fatalf("got %v", err)
			}
			if len(h.repo.partners) != 0 {
				t.Error("nothing may be stored")
			}
		})
	}
	if _, err := newHarness().app.SubmitRegistration(context.Background(), operator, input()); err != nil {
		t.Errorf("operator: %v", err)
	}
}

func TestSubmitRegistrationInvalid(t *testing.T) {
	h := newHarness()
	in := input()
	in.Market = "ZZ"
	in.Contact.Email = "taro@gmail.com"
	_, err := h.app.SubmitRegistration(context.Background(), upstream, in)
	ae := wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	codes := map[string]string{}
	for _, f := range ae.Fields {
		codes[f.Field] = f.Code
	}
	if codes["market"] != domain.CodeCountryInvalid || codes["contact.email"] != domain.CodeEmailFreeMail {
		t.Fatalf("fields %+v", ae.Fields)
	}
	if len(h.repo.partners) != 0 {
		t.Error("nothing may be stored")
	}
}

func TestSubmitRegistrationDuplicate(t *testing.T) {
	h := newHarness()
	first := h.submit(t)
	again := input()
	again.Company.LegalName = "株式会社 ﾃｽﾄ商事."    // spacing, width and a dot
	again.Company.Address.Line1 = "六本木五丁目2番地3" // other block notation
	again.Contact.Email = "hanako@test-shoji.co.jp"
	_, err := h.app.SubmitRegistration(context.Background(), crm, again)
	ae := wantAppErr(t, err, apperr.KindConflict, CodeDuplicateEntity)
	matched, _ := ae.Details["matched_on"].([]string)
	for _, want := range []string{"name+address", "name+registration_number", "registration_number"} {
		if !slices.Contains(matched, want) {
			t.Errorf("matched_on %v lacks %s", matched, want)
		}
	}
	attemptID, _ := ae.Details["duplicate_attempt_id"].(string)
	if _, err := domain.ParseDuplicateAttemptID(attemptID); err != nil {
		t.Fatalf("duplicate_attempt_id %q: %v", attemptID, err)
	}
	for k, v := range ae.Details {
		if s, ok := v.(string); ok && s == string(first.PartnerID) {
			t.Errorf("detail %s leaks the existing partner id", k)
		}
	}
	at := h.repo.attempts[domain.DuplicateAttemptID(attemptID)]
	if at.ExistingPartnerID != first.PartnerID || at.AttemptedBy != "crm" || at.Registration.Input.Contact.Email != "hanako@test-shoji.co.jp" {
		t.Errorf("attempt %+v", at)
	}
	if len(h.repo.partners) != 1 || len(h.repo.pullOutbox()) != 0 {
		t.Error("a refused duplicate creates no partner and no event")
	}
}

func TestSubmitRegistrationOtherMarketIsNoDuplicate(t *testing.T) {
	h := newHarness()
	h.submit(t)
	in := input()
	in.Market = "US"
	in.Company.RegistrationNumber = nil
	in.Company.Address.Region, in.Company.Address.PostalCode = "CA", "94105"
	in.Company.Phone, in.Contact.Phone = "+81 3-1234-5678", "+81 90-1234-5678"
	if _, err := h.app.SubmitRegistration(context.Background(), upstream, in); err != nil {
		t.Fatalf("same company in another market: %v", err)
	}
}

func TestSubmitRegistrationRetriesIDCollision(t *testing.T) {
	h := newHarness()
	first := h.submit(t)
	h.ids.repeat = map[ids.Kind]int{ids.Partner: 1}
	in := input()
	in.Company.LegalName = "株式会社別会社"
	in.Company.RegistrationNumber = nil
	v, err := h.app.SubmitRegistration(context.Background(), upstream, in)
	if err != nil {
		t.Fatalf("collision not retried: %v", err)
	}
	if v.PartnerID == first.PartnerID {
		t.Fatal("the colliding ID was kept")
	}
}

func TestSubmitRegistrationRepositoryFailureIsInternal(t *testing.T) {
	h := newHarness()
	h.repo.failNext = errors.New("connection reset")
	_, err := h.app.SubmitRegistration(context.Background(), upstream, input())
	if err == nil || apperr.KindOf(err) != apperr.KindInternal || apperr.Permanent(err) {
		t.Fatalf("want a retryable internal error, got %v", err)
	}
}

func TestRejectedPartnerReleasesItsIdentity(t *testing.T) {
	h := newHarness()
	v := h.submit(t)
	if _, err := h.app.ApplyVerificationRejected(context.Background(), verifier, VerificationRejected{PartnerID: string(v.PartnerID), Reason: "company_check_failed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.SubmitRegistration(context.Background(), upstream, input()); err != nil {
		t.Fatalf("re-registration after rejection: %v", err)
	}
}

// duplicateAttempt registers a partner and then the same company again:
// the harness, the refused attempt's ID and the existing partner.
func duplicateAttempt(t *testing.T) (*harness, string, domain.PartnerID) {
	t.Helper()
	h := newHarness()
	first := h.submit(t)
	_, err := h.app.SubmitRegistration(context.Background(), upstream, input())
	ae := wantAppErr(t, err, apperr.KindConflict, CodeDuplicateEntity)
	return h, ae.Details["duplicate_attempt_id"].(string), first.PartnerID
}

func TestFileDuplicateClaim(t *testing.T) {
	t.Run("filed and emitted", func(t *testing.T) {
		h, attempt, existing := duplicateAttempt(t)
		h.clock.t = t0.Add(time.Hour)
		res, err := h.app.FileDuplicateClaim(context.Background(), upstream, FileDuplicateClaimCmd{DuplicateAttemptID: attempt, Statement: "We are this company."})
		if err != nil {
			t.Fatal(err)
		}
		if string(res.DuplicateAttemptID) != attempt || res.ClaimID == "" || !res.FiledAt.Equal(h.clock.t.Truncate(time.Microsecond)) {
			t.Errorf("result %+v", res)
		}
		evs := eventsOf[domain.DuplicateClaimFiled](h.repo.pullOutbox())
		if len(evs) != 1 || evs[0].ExistingPartnerID != existing || evs[0].ClaimID != res.ClaimID || evs[0].Statement != "We are this company." {
			t.Fatalf("events %+v", evs)
		}
		_, err = h.app.FileDuplicateClaim(context.Background(), upstream, FileDuplicateClaimCmd{DuplicateAttemptID: attempt, Statement: "again"})
		wantAppErr(t, err, apperr.KindConflict, CodeDuplicateClaimExists)
	})
	tests := []struct {
		name string
		p    auth.Principal
		cmd  func(attempt string) FileDuplicateClaimCmd
		kind apperr.Kind
		code string
	}{
		{"another upstream cannot see the attempt", crm, func(a string) FileDuplicateClaimCmd { return FileDuplicateClaimCmd{a, "x"} }, apperr.KindNotFound, CodeDuplicateAttemptNotFound},
		{"unknown attempt", upstream, func(string) FileDuplicateClaimCmd {
			id, _ := ids.Format(ids.DuplicateAttempt, "ZZZZZZZZZZ")
			return FileDuplicateClaimCmd{id, "x"}
		}, apperr.KindNotFound, CodeDuplicateAttemptNotFound},
		{"malformed attempt id", upstream, func(string) FileDuplicateClaimCmd { return FileDuplicateClaimCmd{"DA-1234", "x"} }, apperr.KindInvalid, CodeInvalidID},
		{"partner id instead of attempt id", upstream, func(string) FileDuplicateClaimCmd {
			id, _ := ids.Format(ids.Partner, "ZZZZZZZZZZ")
			return FileDuplicateClaimCmd{id, "x"}
		}, apperr.KindInvalid, CodeIDKindMismatch},
		{"empty statement", upstream, func(a string) FileDuplicateClaimCmd { return FileDuplicateClaimCmd{a, "  "} }, apperr.KindInvalid, CodeInvalidInput},
		{"partner admin", auth.Principal{Subject: "u", Roles: []auth.Role{auth.RolePartnerAdmin}}, func(a string) FileDuplicateClaimCmd { return FileDuplicateClaimCmd{a, "x"} }, apperr.KindForbidden, "auth.role_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, attempt, _ := duplicateAttempt(t)
			_, err := h.app.FileDuplicateClaim(context.Background(), tt.p, tt.cmd(attempt))
			wantAppErr(t, err, tt.kind, tt.code)
			if len(h.repo.pullOutbox()) != 0 {
				t.Error("a refused claim emits nothing")
			}
		})
	}
	t.Run("operator may file for anyone", func(t *testing.T) {
		h, attempt, _ := duplicateAttempt(t)
		if _, err := h.app.FileDuplicateClaim(context.Background(), operator, FileDuplicateClaimCmd{attempt, "on behalf"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("after the window", func(t *testing.T) {
		h, attempt, _ := duplicateAttempt(t)
		h.clock.t = t0.Add(domain.ClaimWindow + time.Minute)
		_, err := h.app.FileDuplicateClaim(context.Background(), upstream, FileDuplicateClaimCmd{attempt, "late"})
		wantAppErr(t, err, apperr.KindConflict, CodeDuplicateClaimExpired)
	})
	t.Run("claim id collision retried", func(t *testing.T) {
		h, attempt, _ := duplicateAttempt(t)
		h.app.FileDuplicateClaim(context.Background(), operator, FileDuplicateClaimCmd{attempt, "first"})
		_, err := h.app.SubmitRegistration(context.Background(), upstream, input())
		second := wantAppErr(t, err, apperr.KindConflict, CodeDuplicateEntity).Details["duplicate_attempt_id"].(string)
		h.ids.repeat = map[ids.Kind]int{ids.DuplicateClaim: 1}
		if _, err := h.app.FileDuplicateClaim(context.Background(), upstream, FileDuplicateClaimCmd{second, "second"}); err != nil {
			t.Fatalf("collision not retried: %v", err)
		}
	})
}
