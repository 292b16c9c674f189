package domain

import (
	"errors"
	"slices"
	"testing"
)

func networkMember(t *testing.T, approved bool) *Partner {
	t.Helper()
	p := newTestPartner(t, ProgramInput{Program: "partner_network"})
	if approved {
		if _, err := p.ApproveVerification(t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	p.PullEvents()
	return p
}

func resellerRequest(t *testing.T) ProgramRequest {
	t.Helper()
	req, err := NormalizeEnrollment(EnrollmentInput{Program: " Indirect_Reseller ",
		Support:      &SupportProfileInput{Website: "support.test-shoji.co.jp", Email: "support@test-shoji.co.jp", Phone: "0120-123-456"},
		Affirmations: EnrollmentAffirmationsInput{AuthorityToRepresent: true, CanProvideSupport: true}}, "JP", DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestNormalizeEnrollment(t *testing.T) {
	req := resellerRequest(t)
	if req.Program != ProgramIndirectReseller || req.Support == nil || req.Support.PhoneE164 != "+81120123456" ||
		req.Support.Website != "https://support.test-shoji.co.jp" {
		t.Fatalf("normalized %+v %+v", req, req.Support)
	}
	_, err := NormalizeEnrollment(EnrollmentInput{Program: "indirect_reseller"}, "JP", DefaultPolicy())
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	codes := map[string]string{}
	for _, f := range ve.Fields {
		codes[f.Field] = f.Code
	}
	want := map[string]string{"support": CodeSupportProfileRequired, "affirmations.authority_to_represent": CodeAffirmationRequired,
		"affirmations.can_provide_support": CodeAffirmationRequired}
	for f, c := range want {
		if codes[f] != c {
			t.Errorf("%s: %q, want %q (all: %v)", f, codes[f], c, codes)
		}
	}
	_, err = NormalizeEnrollment(EnrollmentInput{Program: "indirect_provider",
		Support:      &SupportProfileInput{Website: "x.co.jp", Email: "help@gmail.com"},
		Affirmations: EnrollmentAffirmationsInput{AuthorityToRepresent: true}}, "JP", DefaultPolicy())
	if !errors.As(err, &ve) || ve.Fields[0].Field != "support.email" || ve.Fields[0].Code != CodeEmailFreeMail {
		t.Errorf("free-mail support address: %v", err)
	}
	if _, err := NormalizeEnrollment(EnrollmentInput{Program: "partner_network"}, "JP", DefaultPolicy()); !errors.Is(err, ErrNetworkComesWithReg) {
		t.Errorf("partner_network: %v", err)
	}
}

func TestAddEnrollmentToApprovedMember(t *testing.T) {
	p := networkMember(t, true)
	e, err := p.AddEnrollment(resellerRequest(t), "", &seqIDs{n: 100}, "admin-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != EnrollmentPendingEmailConfirmation || e.LocationID != "" || e.Country != "JP" {
		t.Fatalf("enrollment %+v", e)
	}
	evs := p.PullEvents()
	added, ok := evs[0].(EnrollmentAdded)
	if len(evs) != 1 || !ok || added.LocationID != p.Locations()[0].ID || added.Contact.Email != "taro.yamada@test-shoji.co.jp" ||
		added.Status != EnrollmentPendingEmailConfirmation || added.AddedBy != "admin-1" {
		t.Fatalf("events %+v", evs)
	}
	// The same program at the same location again: refused.
	if _, err := p.AddEnrollment(resellerRequest(t), p.Locations()[0].ID, &seqIDs{n: 200}, "admin-1", t0); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Fatalf("second reseller enrollment: %v", err)
	}
	// Its own confirmation, then its agreement: active, like a registered one.
	if _, err := p.ConfirmEnrollmentEmail(e.ID, "taro.yamada@test-shoji.co.jp", t0, t0); err != nil {
		t.Fatal(err)
	}
	if got := enrollmentStatus(p, ProgramIndirectReseller); got != EnrollmentQualified {
		t.Fatalf("after confirmation: %s", got)
	}
	if _, err := p.AcceptAgreement(ProgramIndirectReseller, p.Locations()[0].ID, "AC-1", "", t0); err != nil {
		t.Fatal(err)
	}
	if got := enrollmentStatus(p, ProgramIndirectReseller); got != EnrollmentActive {
		t.Fatalf("after agreement: %s", got)
	}
}

func TestAddEnrollmentWhilePendingWaitsForApproval(t *testing.T) {
	p := networkMember(t, false)
	e, err := p.AddEnrollment(resellerRequest(t), "", &seqIDs{n: 100}, "upstream-portal", t0)
	if err != nil || e.Status != EnrollmentPendingVerification {
		t.Fatalf("%+v %v", e, err)
	}
	if _, err := p.ApproveVerification(t0, t0); err != nil {
		t.Fatal(err)
	}
	if got := enrollmentStatus(p, ProgramIndirectReseller); got != EnrollmentPendingEmailConfirmation {
		t.Fatalf("after approval: %s", got)
	}
}

func TestAddEnrollmentRefusals(t *testing.T) {
	p := networkMember(t, true)
	if _, err := p.AddEnrollment(ProgramRequest{Program: ProgramPartnerNetwork}, "", &seqIDs{n: 100}, "x", t0); !errors.Is(err, ErrNetworkComesWithReg) {
		t.Errorf("network: %v", err)
	}
	if _, err := p.AddEnrollment(resellerRequest(t), LocationID(mustLocationID(t, 999)), &seqIDs{n: 100}, "x", t0); !errors.Is(err, ErrLocationNotFound) {
		t.Errorf("unknown location: %v", err)
	}
	rejected := networkMember(t, false)
	if _, err := rejected.RejectVerification("company_check_failed", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := rejected.AddEnrollment(resellerRequest(t), "", &seqIDs{n: 100}, "x", t0); !errors.Is(err, ErrPartnerRejected) {
		t.Errorf("rejected partner: %v", err)
	}
	if _, err := p.Close(ReasonClosedByOperator, "ops", "fraud", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddEnrollment(resellerRequest(t), "", &seqIDs{n: 100}, "x", t0); !errors.Is(err, ErrPartnerClosed) {
		t.Errorf("closed partner: %v", err)
	}
}

func mustLocationID(t *testing.T, n int) string {
	t.Helper()
	s := &seqIDs{n: n - 1}
	return string(s.NewLocationID())
}

func osakaOffice(t *testing.T) AddressFacts {
	t.Helper()
	a, err := NormalizeLocation(LocationInput{Country: "jp", Address: AddressInput{Line1: "梅田１－１－３", City: "大阪市北区",
		Region: "大阪府", PostalCode: "５３０－０００１"}}, "JP")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAddLocationAndEnrollThere(t *testing.T) {
	p := networkMember(t, true)
	addr := osakaOffice(t)
	if addr.Normalized.PostalCode != "530-0001" || addr.Normalized.RegionCode != "27" || addr.Normalized.Line1 == addr.Raw.Line1 {
		t.Fatalf("normalized %+v", addr.Normalized)
	}
	ids := &seqIDs{n: 100}
	loc, err := p.AddLocation(addr, ids, "admin-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Status != LocationStatusActive || loc.ID == p.Locations()[0].ID || loc.Country != "JP" {
		t.Fatalf("location %+v", loc)
	}
	if keys := p.IdentityKeys(); keys[len(keys)-1].Value != p.Registration().Normalized.Company.LegalNameKey+"|"+addr.Normalized.Key {
		t.Errorf("identity keys %v", keys)
	}
	if _, err := p.AddLocation(osakaOffice(t), ids, "admin-1", t0); !errors.Is(err, ErrLocationExists) {
		t.Errorf("same address again: %v", err)
	}
	registered := AddressFacts{Normalized: p.Registration().Normalized.Company.Address}
	if _, err := p.AddLocation(registered, ids, "admin-1", t0); !errors.Is(err, ErrLocationExists) {
		t.Errorf("registered address: %v", err)
	}
	// A reseller enrollment at the registered location and one at Osaka.
	main, err := p.AddEnrollment(resellerRequest(t), "", ids, "admin-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	osaka, err := p.AddEnrollment(resellerRequest(t), loc.ID, ids, "admin-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if osaka.LocationID != loc.ID || main.LocationID != "" {
		t.Fatalf("locations: main %q, osaka %q", main.LocationID, osaka.LocationID)
	}
	if _, err := p.AddEnrollment(resellerRequest(t), loc.ID, ids, "admin-1", t0); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("second reseller at Osaka: %v", err)
	}
	// The main enrollment cannot be linked to Osaka, which has its own.
	if _, err := p.LinkLocation(ProgramIndirectReseller, loc.ID, t0); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("link main to Osaka: %v", err)
	}
	// Accepting at Osaka activates Osaka's enrollment, and the agreement,
	// which binds the company, the main one (linked to the registered
	// location on the way).
	for _, e := range []Enrollment{main, osaka} {
		if _, err := p.ConfirmEnrollmentEmail(e.ID, "taro.yamada@test-shoji.co.jp", t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	p.PullEvents()
	if _, err := p.AcceptAgreement(ProgramIndirectReseller, loc.ID, "AC-2", "", t0); err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Enrollments() {
		if e.Program == ProgramIndirectReseller && (e.Status != EnrollmentActive || e.AgreementID != "AC-2") {
			t.Errorf("%s at %q: %s %q", e.ID, e.LocationID, e.Status, e.AgreementID)
		}
		if e.ID == main.ID && e.LocationID != p.Locations()[0].ID {
			t.Errorf("main enrollment linked to %q", e.LocationID)
		}
	}
	var kinds []string
	for _, ev := range p.PullEvents() {
		kinds = append(kinds, ev.EventName())
	}
	if want := []string{"enrollment.status_changed", "enrollment.location_linked", "enrollment.status_changed"}; !slices.Equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}

	// A third location enrolled after the agreement: its own confirmation
	// is all it waits for.
	kobe, err := p.AddLocation(AddressFacts{Normalized: NormalizedAddress{Line1: "加納町6-5-1", City: "神戸市中央区", Region: "兵庫県",
		PostalCode: "650-8570", Key: "6508570|28|神戸市中央区|加納町6-5-1"}}, ids, "admin-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	third, err := p.AddEnrollment(resellerRequest(t), kobe.ID, ids, "admin-1", t0)
	if err != nil || third.AgreementID != "AC-2" || third.Status != EnrollmentPendingEmailConfirmation {
		t.Fatalf("%+v %v", third, err)
	}
	if _, err := p.ConfirmEnrollmentEmail(third.ID, "taro.yamada@test-shoji.co.jp", t0, t0); err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Enrollments() {
		if e.ID == third.ID && e.Status != EnrollmentActive {
			t.Errorf("third enrollment %s", e.Status)
		}
	}
}

func TestAddLocationPendingPartnerAndOtherMarket(t *testing.T) {
	p := networkMember(t, false)
	loc, err := p.AddLocation(osakaOffice(t), &seqIDs{n: 100}, "upstream-portal", t0)
	if err != nil || loc.Status != LocationStatusPending {
		t.Fatalf("%+v %v", loc, err)
	}
	if _, err := p.ApproveVerification(t0, t0); err != nil {
		t.Fatal(err)
	}
	if got := p.Locations()[1].Status; got != LocationStatusActive {
		t.Errorf("after approval: %s", got)
	}
	if _, err := NormalizeLocation(LocationInput{Country: "US", Address: AddressInput{Line1: "1 Main St", City: "Austin",
		Region: "TX", PostalCode: "78701"}}, "JP"); !errors.Is(err, ErrMarketImmutable) {
		t.Errorf("another market: %v", err)
	}
	_, err = NormalizeLocation(LocationInput{Address: AddressInput{Line1: "梅田1-1-3", City: "大阪市北区", Region: "大坂", PostalCode: "12"}}, "JP")
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Errorf("bad address: %v", err)
	}
}
