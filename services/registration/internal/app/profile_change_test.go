package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

func ptr[T any](v T) *T { return &v }

func reopens(c *domain.ProfileChange) []domain.Recheck {
	if c == nil {
		return nil
	}
	return c.Reopens()
}

func TestProfileChangeReopensOnlyWhatItTouches(t *testing.T) {
	cases := []struct {
		name   string
		change domain.ProfileChangeInput
		want   []domain.Recheck
	}{
		{"phone", domain.ProfileChangeInput{Phone: ptr("03-9999-0000")}, nil},
		{"contact name", domain.ProfileChangeInput{Contact: &domain.ContactInput{FirstName: "次郎", LastName: "山田",
			Email: "taro@test-shoji.co.jp", Phone: "090-1234-5678"}}, nil},
		{"support", domain.ProfileChangeInput{Support: []domain.ProgramInput{{Program: "indirect_reseller",
			Support: &domain.SupportProfileInput{Website: "test-shoji.co.jp/help", Email: "help@test-shoji.co.jp"}}}}, nil},
		{"contact e-mail, same domain", domain.ProfileChangeInput{Contact: &domain.ContactInput{FirstName: "太郎", LastName: "山田",
			Email: "hanako@test-shoji.co.jp", Phone: "090-1234-5678"}}, []domain.Recheck{domain.RecheckEmailOwnership}},
		{"contact e-mail, other domain", domain.ProfileChangeInput{Contact: &domain.ContactInput{FirstName: "太郎", LastName: "山田",
			Email: "taro@shoji-group.co.jp", Phone: "090-1234-5678"}}, []domain.Recheck{domain.RecheckEmailOwnership, domain.RecheckEmployment}},
		{"address", domain.ProfileChangeInput{Address: &domain.AddressInput{Line1: "芝浦3-4-1", City: "港区", Region: "東京", PostalCode: "108-0023"}},
			[]domain.Recheck{domain.RecheckCompany}},
		{"legal name", domain.ProfileChangeInput{LegalName: ptr("（株）テスト商事ホールディングス")}, []domain.Recheck{domain.RecheckCompany}},
		{"website domain", domain.ProfileChangeInput{Website: ptr("https://shoji-group.co.jp")}, []domain.Recheck{domain.RecheckEmployment}},
		{"website path", domain.ProfileChangeInput{Website: ptr("https://test-shoji.co.jp/ja")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness()
			v := h.activePartner(t)
			res, err := h.app.RequestProfileChange(context.Background(), adminOf(v.PartnerID), RequestProfileChangeCmd{PartnerID: string(v.PartnerID), Change: c.change})
			if err != nil {
				t.Fatal(err)
			}
			if got := reopens(res.Change); !slices.Equal(got, c.want) {
				t.Fatalf("reopens %v, want %v", got, c.want)
			}
			evs := h.repo.pullOutbox()
			req := eventsOf[domain.ProfileChangeRequested](evs)
			if len(req) != 1 || !slices.Equal(req[0].Reopens, c.want) || (req[0].Status == domain.ChangeApplied) != (len(c.want) == 0) {
				t.Fatalf("requested events %+v", req)
			}
			applied := eventsOf[domain.ProfileChangeApplied](evs)
			if len(c.want) == 0 {
				if res.Change.Status != domain.ChangeApplied || len(applied) != 1 {
					t.Fatalf("a change re-opening nothing is applied at once: %s, %d applied", res.Change.Status, len(applied))
				}
				if res.Verified.Company.Address.Key != res.Change.Proposed.Normalized.Company.Address.Key ||
					res.Verified.Contact != res.Change.Proposed.Normalized.Contact {
					t.Fatal("the verified profile is not the applied change")
				}
				return
			}
			if res.Change.Status != domain.ChangePending || len(applied) != 0 {
				t.Fatalf("status %s, %d applied", res.Change.Status, len(applied))
			}
			if res.Verified.Company.LegalName != "株式会社テスト商事" || res.Verified.Contact.Email != "taro@test-shoji.co.jp" {
				t.Fatalf("the verified profile moved before its checks: %+v", res.Verified.Company)
			}
		})
	}
}

func TestProfileChangeNormalizesAndSaysWhat(t *testing.T) {
	h := newHarness()
	v := h.activePartner(t)
	res, err := h.app.RequestProfileChange(context.Background(), adminOf(v.PartnerID), RequestProfileChangeCmd{PartnerID: string(v.PartnerID),
		Change: domain.ProfileChangeInput{Address: &domain.AddressInput{Line1: "芝浦３－４－１", City: "港区", Region: "東京", PostalCode: "〒108-0023"}}})
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]domain.NormalizationNote{}
	for _, n := range res.Change.Normalization {
		notes[n.Field] = n
	}
	// Notes name what was submitted where it was (address.region), like
	// the problems; changes name the profile's fields.
	if n := notes["address.region"]; n.Submitted != "東京" || n.Normalized != "東京都" {
		t.Fatalf("region note %+v (all: %+v)", n, res.Change.Normalization)
	}
	if n := notes["address.postal_code"]; n.Normalized != "108-0023" {
		t.Fatalf("postal note %+v", n)
	}
	if _, ok := notes["legal_name"]; ok {
		t.Fatal("an untouched field is not reported")
	}
	var fields []string
	for _, c := range res.Change.Changes {
		fields = append(fields, c.Field)
	}
	if !slices.Contains(fields, "company.address.line1") || !slices.Contains(fields, "company.address.line2") || slices.Contains(fields, "company.legal_name") {
		t.Fatalf("changes %v", fields)
	}
}

func TestProfileChangeRefusals(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.activePartner(t)
	other := h.submit2(t)
	id := string(v.PartnerID)
	admin := adminOf(v.PartnerID)

	_, err := h.app.RequestProfileChange(ctx, admin, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{Market: ptr("US")}})
	wantAppErr(t, err, apperr.KindConflict, CodeMarketImmutable)
	_, err = h.app.RequestProfileChange(ctx, admin, RequestProfileChangeCmd{PartnerID: id})
	ae := wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	if ae.Fields[0].Code != domain.CodeProfileChangeEmpty {
		t.Fatalf("fields %+v", ae.Fields)
	}
	_, err = h.app.RequestProfileChange(ctx, admin, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
		Phone: ptr("03-1234-5678 内線12"), Contact: &domain.ContactInput{FirstName: "太郎", LastName: "山田", Email: "taro@gmail.com", Phone: "090-1234-5678"}}})
	ae = wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	var codes []string
	for _, f := range ae.Fields {
		codes = append(codes, f.Field+"="+f.Code)
	}
	// Each problem points at the request's field (phone, not company.phone).
	if !slices.Equal(codes, []string{"phone=" + domain.CodePhoneExtension, "contact.email=" + domain.CodeEmailFreeMail}) {
		t.Fatalf("codes %v", codes)
	}
	_, err = h.app.RequestProfileChange(ctx, admin, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
		Address: &domain.AddressInput{Line1: "芝浦3-4-1", City: "港区", Region: "東京都", PostalCode: "1"},
		Support: []domain.ProgramInput{{Program: "indirect_reseller", Support: &domain.SupportProfileInput{Website: "https://mirai-cloud.co.jp/support", Email: "not an address", Phone: "0120-123-456"}}}}})
	ae = wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	codes = nil
	for _, f := range ae.Fields {
		codes = append(codes, f.Field)
	}
	if !slices.Equal(codes, []string{"address.postal_code", "support[0].support.email"}) {
		t.Fatalf("fields %v, want address.postal_code and support[0].support.email", codes)
	}
	_, err = h.app.RequestProfileChange(ctx, admin, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{Phone: ptr("０３－１２３４－５６７８")}})
	ae = wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	if ae.Fields[0].Code != domain.CodeProfileNothingChanged {
		t.Fatalf("fields %+v", ae.Fields)
	}
	_, err = h.app.RequestProfileChange(ctx, admin, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
		Support: []domain.ProgramInput{{Program: "indirect_provider", Support: &domain.SupportProfileInput{Website: "x.co.jp", Email: "s@x.co.jp"}}}}})
	ae = wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	if ae.Fields[0].Code != domain.CodeSupportProgramNotFound {
		t.Fatalf("fields %+v", ae.Fields)
	}
	// Two profiles for one program: refused, not the last one kept unseen.
	_, err = h.app.RequestProfileChange(ctx, admin, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
		Support: []domain.ProgramInput{
			{Program: "indirect_reseller", Support: &domain.SupportProfileInput{Website: "a.co.jp", Email: "s@a.co.jp"}},
			{Program: "Indirect_Reseller ", Support: &domain.SupportProfileInput{Website: "b.co.jp", Email: "s@b.co.jp"}}}}})
	ae = wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	if len(ae.Fields) != 1 || ae.Fields[0].Field != "support[1].program" || ae.Fields[0].Code != domain.CodeProgramDuplicate {
		t.Fatalf("fields %+v", ae.Fields)
	}
	// Moving onto another partner's legal identity is the duplicate rule of registration.
	_, err = h.app.RequestProfileChange(ctx, admin, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
		LegalName:          ptr("株式会社ほかの会社"),
		Address:            &domain.AddressInput{Line1: "芝浦3-4-1", City: "港区", Region: "東京都", PostalCode: "106-0032"},
		RegistrationNumber: &domain.RegistrationNumberInput{}}})
	ae = wantAppErr(t, err, apperr.KindConflict, CodeDuplicateEntity)
	if m, _ := ae.Details["matched_on"].([]string); !slices.Equal(m, []string{"name+address"}) {
		t.Fatalf("matched_on %v", ae.Details)
	}
	// A pending registration cannot change yet; another partner's admin does not see this one.
	_, err = h.app.RequestProfileChange(ctx, adminOf(other.PartnerID), RequestProfileChangeCmd{PartnerID: string(other.PartnerID),
		Change: domain.ProfileChangeInput{Phone: ptr("03-9999-0000")}})
	wantAppErr(t, err, apperr.KindConflict, CodeNotYetApproved)
	_, err = h.app.RequestProfileChange(ctx, adminOf(other.PartnerID), RequestProfileChangeCmd{PartnerID: id,
		Change: domain.ProfileChangeInput{Phone: ptr("03-9999-0000")}})
	wantAppErr(t, err, apperr.KindNotFound, CodePartnerNotFound)
	user := auth.Principal{Subject: "u", PartnerID: id, Roles: []auth.Role{auth.RolePartnerUser}}
	_, err = h.app.RequestProfileChange(ctx, user, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{Phone: ptr("03-9999-0000")}})
	wantAppErr(t, err, apperr.KindForbidden, "auth.role_required")
}

func TestProfileChangeEmailConfirmationAppliesIt(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.activePartner(t)
	id := string(v.PartnerID)
	res, err := h.changeContact(v.PartnerID, "花子", "Hanako@Test-Shoji.co.jp")
	if err != nil {
		t.Fatal(err)
	}
	req := eventsOf[domain.ProfileChangeRequested](h.repo.pullOutbox())
	if len(req) != 1 || req[0].Contact.Email != "hanako@test-shoji.co.jp" || req[0].ContactEnrollmentID != v.Enrollments[0].ID {
		t.Fatalf("requested %+v", req)
	}
	// The old address confirmed again (a late duplicate) changes nothing.
	if _, err := h.app.ApplyEmailConfirmed(ctx, operator, EmailConfirmed{PartnerID: id, EnrollmentID: string(v.Enrollments[0].ID), Address: "taro@test-shoji.co.jp"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.app.GetProfile(ctx, operator, id); p.Change.Status != domain.ChangePending {
		t.Fatalf("status %s", p.Change.Status)
	}
	// The new address on another enrollment is not the membership's confirmation.
	if _, err := h.app.ApplyEmailConfirmed(ctx, operator, EmailConfirmed{PartnerID: id, EnrollmentID: string(v.Enrollments[1].ID), Address: "hanako@test-shoji.co.jp"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.app.GetProfile(ctx, operator, id); p.Change.Status != domain.ChangePending {
		t.Fatalf("status %s", p.Change.Status)
	}
	if _, err := h.app.ApplyEmailConfirmed(ctx, operator, EmailConfirmed{PartnerID: id, EnrollmentID: string(v.Enrollments[0].ID), Address: "hanako@test-shoji.co.jp"}); err != nil {
		t.Fatal(err)
	}
	p, err := h.app.GetProfile(ctx, adminOf(v.PartnerID), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Change.Status != domain.ChangeApplied || p.Verified.Contact.Email != "hanako@test-shoji.co.jp" || p.Verified.Contact.FirstName != "花子" {
		t.Fatalf("after confirmation: %s %+v", p.Change.Status, p.Verified.Contact)
	}
	if applied := eventsOf[domain.ProfileChangeApplied](h.repo.pullOutbox()); len(applied) != 1 || applied[0].ChangeNumber != res.Change.Number {
		t.Fatalf("applied %+v", applied)
	}
	reg, _ := h.app.GetRegistration(ctx, operator, id)
	if reg.Normalized.Contact.Email != "hanako@test-shoji.co.jp" || reg.Enrollments[0].EmailAddress != "hanako@test-shoji.co.jp" {
		t.Fatalf("registration view %+v / %+v", reg.Normalized.Contact, reg.Enrollments[0])
	}
}

func TestProfileChangeCompanyReview(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.activePartner(t)
	id := string(v.PartnerID)
	newAddress := &domain.AddressInput{Line1: "芝浦3-4-1", City: "港区", Region: "東京都", PostalCode: "108-0023"}
	first, err := h.app.RequestProfileChange(ctx, adminOf(v.PartnerID), RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{Address: newAddress}})
	if err != nil {
		t.Fatal(err)
	}
	n := func(c *domain.ProfileChange) string { return string(rune('0' + c.Number)) }
	_, err = h.app.DecideProfileCheck(ctx, adminOf(v.PartnerID), DecideProfileCheckCmd{PartnerID: id, ChangeNumber: n(first.Change), Check: "company", Outcome: "passed"})
	wantAppErr(t, err, apperr.KindForbidden, "auth.role_required")
	// Verifiers decide in verification's queue; this route is the operators' override.
	_, err = h.app.DecideProfileCheck(ctx, verifier, DecideProfileCheckCmd{PartnerID: id, ChangeNumber: n(first.Change), Check: "company", Outcome: "passed"})
	wantAppErr(t, err, apperr.KindForbidden, "auth.role_required")
	_, err = h.app.DecideProfileCheck(ctx, operator, DecideProfileCheckCmd{PartnerID: id, ChangeNumber: n(first.Change), Check: "employment", Outcome: "passed"})
	wantAppErr(t, err, apperr.KindConflict, CodeCheckNotReopened)
	_, err = h.app.DecideProfileCheck(ctx, operator, DecideProfileCheckCmd{PartnerID: id, ChangeNumber: n(first.Change), Check: "company", Outcome: "failed"})
	wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	_, err = h.app.DecideProfileCheck(ctx, operator, DecideProfileCheckCmd{PartnerID: id, ChangeNumber: "9", Check: "company", Outcome: "passed"})
	wantAppErr(t, err, apperr.KindNotFound, CodeProfileChangeNotFound)

	// Rejected: the verified profile stays as it was.
	res, err := h.app.DecideProfileCheck(ctx, operator, DecideProfileCheckCmd{PartnerID: id, ChangeNumber: n(first.Change), Check: "company", Outcome: "failed", Reason: "the register shows the old address"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != domain.ChangeRejected || res.Verified.Company.Address.Line1 != "六本木5-2-3" {
		t.Fatalf("rejected: %s %+v", res.Change.Status, res.Verified.Company.Address)
	}
	evs := h.repo.pullOutbox()
	if rej := eventsOf[domain.ProfileChangeRejected](evs); len(rej) != 1 || rej[0].Check != domain.RecheckCompany {
		t.Fatalf("rejected events %+v", evs)
	}
	_, err = h.app.DecideProfileCheck(ctx, operator, DecideProfileCheckCmd{PartnerID: id, ChangeNumber: n(first.Change), Check: "company", Outcome: "passed"})
	wantAppErr(t, err, apperr.KindConflict, CodeProfileChangeDecided)

	// Asked again, superseded by a third, which is approved.
	second, err := h.app.RequestProfileChange(ctx, adminOf(v.PartnerID), RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{Address: newAddress}})
	if err != nil {
		t.Fatal(err)
	}
	third, err := h.app.RequestProfileChange(ctx, operator, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{Address: newAddress, LegalName: ptr("テスト商事（株）")}})
	if err != nil {
		t.Fatal(err)
	}
	if third.Change.Supersedes != second.Change.Number || third.Change.Number != 3 {
		t.Fatalf("third %+v", third.Change)
	}
	_, err = h.app.DecideProfileCheck(ctx, operator, DecideProfileCheckCmd{PartnerID: id, ChangeNumber: n(second.Change), Check: "company", Outcome: "passed"})
	wantAppErr(t, err, apperr.KindConflict, CodeProfileChangeDecided)
	res, err = h.app.DecideProfileCheck(ctx, operator, DecideProfileCheckCmd{PartnerID: id, ChangeNumber: n(third.Change), Check: "company", Outcome: "passed"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != domain.ChangeApplied || res.Verified.Company.Address.Line1 != "芝浦3-4-1" || res.Verified.Company.LegalName != "テスト商事株式会社" {
		t.Fatalf("applied: %s %+v", res.Change.Status, res.Verified.Company)
	}
	// The identity keys moved with it: the old name and address are free
	// (the registration number, unchanged, is still this partner's).
	again := input()
	again.Company.RegistrationNumber = nil
	if _, err := h.app.SubmitRegistration(ctx, upstream, again); err != nil {
		t.Fatalf("the old identity should be free: %v", err)
	}
	again.Company.LegalName, again.Company.Address = "テスト商事株式会社", *newAddress
	_, err = h.app.SubmitRegistration(ctx, upstream, again)
	wantAppErr(t, err, apperr.KindConflict, CodeDuplicateEntity)
}

func TestProfileCheckDecidedByVerification(t *testing.T) {
	// The consumer's principal: the producing service, as operator.
	verificationService := auth.Principal{Kind: auth.KindService, Subject: "verification", Roles: []auth.Role{auth.RoleOperator}}
	ctx := context.Background()
	h := newHarness()
	v := h.activePartner(t)
	id := string(v.PartnerID)
	res, err := h.app.RequestProfileChange(ctx, adminOf(v.PartnerID), RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
		Website: ptr("https://shoji-group.co.jp"), LegalName: ptr("株式会社テスト商事グループ")}})
	if err != nil {
		t.Fatal(err)
	}
	number := res.Change.Number
	decided := func(check string, passed bool, reason string) LifecycleResult {
		t.Helper()
		r, err := h.app.ApplyProfileCheckDecided(ctx, verificationService, ProfileCheckDecided{PartnerID: id, ChangeNumber: number, Check: check, Passed: passed,
			Reason: reason, Verifier: "v-9"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	_, err = h.app.ApplyProfileCheckDecided(ctx, adminOf(v.PartnerID), ProfileCheckDecided{PartnerID: id, ChangeNumber: number, Check: "company", Passed: true})
	wantAppErr(t, err, apperr.KindForbidden, "auth.role_required")
	if r := decided("employment", true, ""); !r.Changed {
		t.Fatal("the employment check passed changed nothing")
	}
	if p, _ := h.app.GetProfile(ctx, operator, id); p.Change.Status != domain.ChangePending || p.Verified.Company.WebsiteDomain != "test-shoji.co.jp" {
		t.Fatalf("applied before the company check: %+v", p.Change)
	}
	decided("company", false, "")
	p, _ := h.app.GetProfile(ctx, operator, id)
	if p.Change.Status != domain.ChangeRejected || p.Change.RejectionReason != "the company check failed" || p.Change.Checks[1].DecidedBy != "verification:v-9" {
		t.Fatalf("rejected: %+v", p.Change)
	}
	// A redelivery, or a decision on a change decided meanwhile, changes nothing.
	if r := decided("company", true, ""); r.Changed {
		t.Fatal("a decision on a decided change changed it")
	}
}

// TestAPendingPartnerCorrectsItsContact: while verification reviews the
// registration, the primary contact may be corrected — a mistyped address,
// or one whose owner reported "this wasn't me", would otherwise leave the
// registration waiting for a confirmation that cannot come. The correction
// keeps the e-mail domain (another would re-open the employment check under
// way), re-opens nothing and applies at once, so that e-mail ownership moves
// the unconfirmed enrollments to the new address; any other change waits for
// the approval.
func TestAPendingPartnerCorrectsItsContact(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id := string(v.PartnerID)
	up := adminOf(v.PartnerID)
	for _, c := range []struct {
		name   string
		change domain.ProfileChangeInput
	}{
		{"another domain", domain.ProfileChangeInput{Contact: &domain.ContactInput{FirstName: "太郎", LastName: "山田",
			Email: "taro@shoji-group.co.jp", Phone: "090-1234-5678"}}},
		{"the phone", domain.ProfileChangeInput{Phone: ptr("03-9999-0000")}},
		{"the contact and the phone", domain.ProfileChangeInput{Phone: ptr("03-9999-0000"), Contact: &domain.ContactInput{FirstName: "太郎",
			LastName: "山田", Email: "hanako@test-shoji.co.jp", Phone: "090-1234-5678"}}},
	} {
		_, err := h.app.RequestProfileChange(ctx, up, RequestProfileChangeCmd{PartnerID: id, Change: c.change})
		if ae := wantAppErr(t, err, apperr.KindConflict, CodeNotYetApproved); !strings.Contains(ae.Message, "same domain") {
			t.Fatalf("%s: %s", c.name, ae.Message)
		}
	}
	h.repo.pullOutbox()
	res, err := h.app.RequestProfileChange(ctx, up, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
		Contact: &domain.ContactInput{FirstName: "花子", LastName: "山田", Email: "Hanako@test-shoji.co.jp", Phone: "090-1234-5678"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != domain.ChangeApplied || len(res.Change.Checks) != 0 || res.Verified.Contact.Email != "hanako@test-shoji.co.jp" {
		t.Fatalf("correction %+v, verified contact %+v", res.Change, res.Verified.Contact)
	}
	applied := eventsOf[domain.ProfileChangeApplied](h.repo.pullOutbox())
	if len(applied) != 1 || applied[0].Contact.Email != "hanako@test-shoji.co.jp" {
		t.Fatalf("applied events %+v", applied)
	}
	if p, _ := h.app.GetPartner(ctx, up, id); p.Status != domain.PartnerStatusPending {
		t.Fatalf("the partner moved: %s", p.Status)
	}

	// Once the membership confirmed the address, a new one proves itself
	// first, as an approved partner's does.
	var netID string
	for _, e := range v.Enrollments {
		if e.Program == domain.ProgramPartnerNetwork {
			netID = string(e.ID)
		}
	}
	if _, err := h.app.ApplyEmailConfirmed(ctx, operator, EmailConfirmed{PartnerID: id, EnrollmentID: netID, Address: "hanako@test-shoji.co.jp"}); err != nil {
		t.Fatal(err)
	}
	res, err = h.app.RequestProfileChange(ctx, up, RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
		Contact: &domain.ContactInput{FirstName: "次郎", LastName: "山田", Email: "jiro@test-shoji.co.jp", Phone: "090-1234-5678"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := reopens(res.Change); res.Change.Status != domain.ChangePending || !slices.Equal(got, []domain.Recheck{domain.RecheckEmailOwnership}) ||
		res.Verified.Contact.Email != "hanako@test-shoji.co.jp" {
		t.Fatalf("a correction after the confirmation: %s %v, verified %s", res.Change.Status, got, res.Verified.Contact.Email)
	}
	if _, err := h.app.ApplyEmailConfirmed(ctx, operator, EmailConfirmed{PartnerID: id, EnrollmentID: netID, Address: "jiro@test-shoji.co.jp"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.app.GetProfile(ctx, up, id); p.Change.Status != domain.ChangeApplied || p.Verified.Contact.Email != "jiro@test-shoji.co.jp" {
		t.Fatalf("after the new address confirmed: %s, %s", p.Change.Status, p.Verified.Contact.Email)
	}
}

// TestACorrectionMadeAsThePreviousAddressConfirmed: the contact followed
// the first mail's link as the correction was made, so registration applied
// the correction at once while the membership's confirmation of the previous
// address was on its way. That confirmation is recorded when it comes, and
// the new contact's confirmation — e-mail ownership asks for it — takes its
// place: the membership's confirmed address is the contact's again. Another
// address, or another enrollment, keeps what it confirmed.
func TestACorrectionMadeAsThePreviousAddressConfirmed(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id := string(v.PartnerID)
	res, err := h.changeContact(v.PartnerID, "花子", "hanako@test-shoji.co.jp")
	if err != nil || res.Change.Status != domain.ChangeApplied {
		t.Fatalf("correction %+v %v", res.Change, err)
	}
	var netID, otherID string
	for _, e := range v.Enrollments {
		if e.Program == domain.ProgramPartnerNetwork {
			netID = string(e.ID)
		} else {
			otherID = string(e.ID)
		}
	}
	confirm := func(enrollment, address string) {
		t.Helper()
		if _, err := h.app.ApplyEmailConfirmed(ctx, operator, EmailConfirmed{PartnerID: id, EnrollmentID: enrollment, Address: address}); err != nil {
			t.Fatal(err)
		}
	}
	confirmed := func() map[domain.EnrollmentID]string {
		t.Helper()
		r, err := h.app.GetRegistration(ctx, operator, id)
		if err != nil {
			t.Fatal(err)
		}
		out := map[domain.EnrollmentID]string{}
		for _, c := range r.EmailOwnership {
			out[c.EnrollmentID] = c.Address
		}
		return out
	}
	confirm(netID, "taro@test-shoji.co.jp")
	confirm(otherID, "taro@test-shoji.co.jp")
	confirm(netID, "eve@test-shoji.co.jp")
	if got := confirmed(); got[domain.EnrollmentID(netID)] != "taro@test-shoji.co.jp" {
		t.Fatalf("before the new contact confirmed: %v", got)
	}
	confirm(netID, "hanako@test-shoji.co.jp")
	confirm(otherID, "hanako@test-shoji.co.jp")
	if got := confirmed(); got[domain.EnrollmentID(netID)] != "hanako@test-shoji.co.jp" || got[domain.EnrollmentID(otherID)] != "taro@test-shoji.co.jp" {
		t.Fatalf("after the new contact confirmed: %v", got)
	}
}

// A profile change waiting for its checks when the partner's account is
// closed is withdrawn (before round 45 it waited for good, while
// verification and e-mail ownership ended its review and challenge); a
// verifier's decision on it is refused as on any decided change.
func TestClosureWithdrawsAPendingProfileChange(t *testing.T) {
	h := newHarness()
	v := h.activePartner(t)
	ctx := context.Background()
	res, err := h.app.RequestProfileChange(ctx, adminOf(v.PartnerID), RequestProfileChangeCmd{PartnerID: string(v.PartnerID),
		Change: domain.ProfileChangeInput{LegalName: ptr("（株）テスト商事ホールディングス")}})
	if err != nil || res.Change.Status != domain.ChangePending {
		t.Fatalf("request: %+v %v", res.Change, err)
	}
	if _, err := h.app.ClosePartner(ctx, adminOf(v.PartnerID), ClosePartnerCmd{PartnerID: string(v.PartnerID), Note: "we stop"}); err != nil {
		t.Fatal(err)
	}
	got, err := h.app.GetProfile(ctx, operator, string(v.PartnerID))
	if err != nil || got.Change == nil || got.Change.Status != domain.ChangeWithdrawn || got.Change.DecidedAt.IsZero() ||
		got.Verified.Company.LegalName != "株式会社テスト商事" {
		t.Fatalf("profile after the closure: %+v %v", got.Change, err)
	}
	_, err = h.app.DecideProfileCheck(ctx, operator, DecideProfileCheckCmd{PartnerID: string(v.PartnerID), ChangeNumber: "1",
		Check: "company", Outcome: "passed"})
	if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.KindConflict {
		t.Fatalf("deciding a withdrawn change: %v", err)
	}
}
