package domain

import (
	"errors"
	"fmt"
	"github.com/partnerhub/onboarding/pkg/ids"
	"reflect"
	"testing"
	"time"
)

// seqIDs issues deterministic valid IDs.
type seqIDs struct{ n int }

func (s *seqIDs) next(kind ids.Kind) string {
	s.n++
	id, err := ids.Format(kind, fmt.Sprintf("%010d", s.n))
	if err != nil {
		panic(err)
	}
	return id
}
func (s *seqIDs) NewPartnerID() PartnerID       { return PartnerID(s.next(ids.Partner)) }
func (s *seqIDs) NewLocationID() LocationID     { return LocationID(s.next(ids.Location)) }
func (s *seqIDs) NewEnrollmentID() EnrollmentID { return EnrollmentID(s.next(ids.Enrollment)) }
func (s *seqIDs) NewClaimID() ClaimID           { return ClaimID(s.next(ids.DuplicateClaim)) }
func (s *seqIDs) NewAttemptID() DuplicateAttemptID {
	return DuplicateAttemptID(s.next(ids.DuplicateAttempt))
}

// newTestPartner is a new partner in programs whose every enrollment's
// e-mail confirmation came in already (see newUnconfirmedPartner).
func newTestPartner(t *testing.T, programs ...ProgramInput) *Partner {
	t.Helper()
	p := newUnconfirmedPartner(t, programs...)
	for _, e := range p.Enrollments() {
		if _, err := p.ConfirmEnrollmentEmail(e.ID, "taro@test-shoji.co.jp", t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// newUnconfirmedPartner is a new partner whose e-mail confirmations are not in.
func newUnconfirmedPartner(t *testing.T, programs ...ProgramInput) *Partner {
	t.Helper()
	in := validInput()
	if programs != nil {
		in.Programs = programs
	}
	reg, err := NormalizeRegistration(in, DefaultPolicy(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return NewPartner(reg, &seqIDs{}, "upstream-portal", t0)
}

func enrollmentStatus(p *Partner, program Program) EnrollmentStatus {
	e, _ := p.Enrollment(program)
	return e.Status
}

var (
	reseller = ProgramInput{Program: "indirect_reseller", Support: &SupportProfileInput{Website: "test-shoji.co.jp", Email: "help@test-shoji.co.jp"}}
	network  = ProgramInput{Program: "partner_network"}
	provider = ProgramInput{Program: "indirect_provider"}
)

func TestCanTransition(t *testing.T) {
	P, Q, A, R := EnrollmentPendingVerification, EnrollmentQualified, EnrollmentActive, EnrollmentRejected
	tests := []struct {
		program  Program
		from, to EnrollmentStatus
		want     bool
	}{
		{ProgramIndirectReseller, P, Q, true},
		{ProgramIndirectReseller, P, R, true},
		{ProgramIndirectReseller, Q, A, true},
		{ProgramIndirectReseller, P, A, false}, // needs its agreement
		{ProgramIndirectReseller, Q, R, false},
		{ProgramIndirectReseller, R, Q, false},
		{ProgramIndirectReseller, A, Q, true}, // a new agreement version not accepted in time (since round 44)
		{ProgramIndirectReseller, A, P, false},
		{ProgramIndirectProvider, P, Q, true},
		{ProgramIndirectProvider, Q, A, true},
		{ProgramPartnerNetwork, P, A, true}, // its agreement was accepted at registration
		{ProgramPartnerNetwork, P, R, true},
		{ProgramPartnerNetwork, P, Q, false},
		{ProgramPartnerNetwork, Q, A, false},
		{ProgramPartnerNetwork, R, A, false},
		{ProgramPartnerNetwork, A, Q, false}, // its agreement does not lapse
	}
	for _, tt := range tests {
		if got := CanTransition(tt.program, tt.from, tt.to); got != tt.want {
			t.Errorf("%s %s→%s = %v, want %v", tt.program, tt.from, tt.to, got, tt.want)
		}
	}
}

func TestNewPartner(t *testing.T) {
	p := newTestPartner(t)
	if p.Status() != PartnerStatusPending || p.Market() != "JP" {
		t.Fatalf("status %s market %s", p.Status(), p.Market())
	}
	if _, err := ParsePartnerID(string(p.ID())); err != nil {
		t.Fatalf("partner id %q: %v", p.ID(), err)
	}
	locs := p.Locations()
	if len(locs) != 1 || locs[0].Status != LocationStatusPending || locs[0].Country != "JP" {
		t.Fatalf("locations %+v", locs)
	}
	for _, e := range p.Enrollments() {
		if e.Status != EnrollmentPendingVerification {
			t.Errorf("%s starts %s", e.Program, e.Status)
		}
	}
	evs := p.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events %v", evs)
	}
	sub, ok := evs[0].(RegistrationSubmitted)
	if !ok {
		t.Fatalf("want RegistrationSubmitted, got %T", evs[0])
	}
	if sub.PartnerID != p.ID() || sub.LocationID != locs[0].ID || sub.Contact.EmailDomain != "test-shoji.co.jp" ||
		sub.LegalName.Raw != "（株）テスト商事" || sub.LegalName.Normalized != "株式会社テスト商事" ||
		len(sub.Enrollments) != 2 || sub.Enrollments[1].Support == nil || !sub.Affirmations.AffirmedAt.Equal(t0) ||
		sub.Language != "ja" || sub.Contact.PhoneE164 != "+819012345678" || sub.SubmittedBy != "upstream-portal" {
		t.Errorf("RegistrationSubmitted = %+v", sub)
	}
	if len(p.PullEvents()) != 0 {
		t.Error("PullEvents must forget pulled events")
	}
}

func TestApproveVerification(t *testing.T) {
	p := newTestPartner(t, network, reseller, provider)
	p.PullEvents()
	t1 := t0.Add(48 * time.Hour)
	changed, err := p.ApproveVerification(t1, t1)
	if err != nil || !changed {
		t.Fatalf("approve: %v, %v", changed, err)
	}
	if p.Status() != PartnerStatusActive || p.Locations()[0].Status != LocationStatusActive {
		t.Fatalf("partner %s, location %s", p.Status(), p.Locations()[0].Status)
	}
	want := map[Program]EnrollmentStatus{ProgramPartnerNetwork: EnrollmentActive, ProgramIndirectReseller: EnrollmentQualified, ProgramIndirectProvider: EnrollmentQualified}
	for prog, st := range want {
		if got := enrollmentStatus(p, prog); got != st {
			t.Errorf("%s = %s, want %s", prog, got, st)
		}
	}
	evs := p.PullEvents()
	if len(evs) != 4 {
		t.Fatalf("want PartnerActivated + 3 EnrollmentStatusChanged, got %+v", evs)
	}
	act := evs[0].(PartnerActivated)
	if len(act.LocationIDs) != 1 || act.LocationIDs[0] != p.Locations()[0].ID || !act.At.Equal(t1) {
		t.Errorf("PartnerActivated = %+v", act)
	}
	ch := evs[1].(EnrollmentStatusChanged)
	if ch.Program != ProgramPartnerNetwork || ch.From != EnrollmentPendingVerification || ch.To != EnrollmentActive || ch.Reason != ReasonVerificationApproved {
		t.Errorf("EnrollmentStatusChanged = %+v", ch)
	}

	if changed, err := p.ApproveVerification(t1, t1); err != nil || changed || len(p.PullEvents()) != 0 {
		t.Errorf("second approval must be a silent no-op: %v %v", changed, err)
	}
	if _, err := p.RejectVerification("company_mismatch", t1); !errors.Is(err, ErrPartnerDecided) {
		t.Errorf("reject after approval: %v", err)
	}
}

func TestRejectVerification(t *testing.T) {
	p := newTestPartner(t)
	p.PullEvents()
	changed, err := p.RejectVerification("employment_check_failed", t0)
	if err != nil || !changed {
		t.Fatalf("reject: %v %v", changed, err)
	}
	if p.Status() != PartnerStatusRejected || p.HoldsIdentity() {
		t.Fatalf("status %s holds identity %v", p.Status(), p.HoldsIdentity())
	}
	for _, e := range p.Enrollments() {
		if e.Status != EnrollmentRejected || e.RejectionReason != "employment_check_failed" {
			t.Errorf("%s: %s (%q)", e.Program, e.Status, e.RejectionReason)
		}
	}
	if p.Locations()[0].Status != LocationStatusPending {
		t.Error("a rejected partner's location must not become active")
	}
	evs := p.PullEvents()
	if len(evs) != 3 || evs[0].(PartnerRejected).Reason != "employment_check_failed" || evs[2].(EnrollmentStatusChanged).Reason != "employment_check_failed" {
		t.Fatalf("events %+v", evs)
	}
	if changed, err := p.RejectVerification("x", t0); err != nil || changed {
		t.Errorf("second rejection must be a no-op: %v %v", changed, err)
	}
	if _, err := p.ApproveVerification(t0, t0); !errors.Is(err, ErrPartnerDecided) {
		t.Errorf("approve after rejection: %v", err)
	}
}

func TestAcceptAgreement(t *testing.T) {
	approved := func(t *testing.T) *Partner {
		p := newTestPartner(t, network, reseller, provider)
		if _, err := p.ApproveVerification(t0, t0); err != nil {
			t.Fatal(err)
		}
		p.PullEvents()
		return p
	}
	t.Run("reseller with its location becomes active", func(t *testing.T) {
		p := approved(t)
		loc := p.Locations()[0].ID
		changed, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AG-1", "", t0)
		if err != nil || !changed {
			t.Fatalf("accept: %v %v", changed, err)
		}
		e, _ := p.Enrollment(ProgramIndirectReseller)
		if e.Status != EnrollmentActive || e.LocationID != loc || e.AgreementID != "AG-1" {
			t.Fatalf("enrollment %+v", e)
		}
		evs := p.PullEvents()
		if len(evs) != 2 {
			t.Fatalf("want link + status change, got %+v", evs)
		}
		if l := evs[0].(EnrollmentLocationLinked); l.LocationID != loc {
			t.Errorf("link event %+v", l)
		}
		if c := evs[1].(EnrollmentStatusChanged); c.From != EnrollmentQualified || c.To != EnrollmentActive || c.LocationID != loc || c.AgreementID != "AG-1" || c.Reason != ReasonAgreementAccepted {
			t.Errorf("status event %+v", c)
		}
		if changed, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AG-1", "", t0); err != nil || changed {
			t.Errorf("repeat must be a no-op: %v %v", changed, err)
		}
	})
	t.Run("provider needs no location", func(t *testing.T) {
		p := approved(t)
		if _, err := p.AcceptAgreement(ProgramIndirectProvider, "", "AG-2", "", t0); err != nil || enrollmentStatus(p, ProgramIndirectProvider) != EnrollmentActive {
			t.Fatalf("accept: %v", err)
		}
	})
	tests := []struct {
		name    string
		partner func(*testing.T) *Partner
		program Program
		loc     func(*Partner) LocationID
		want    error
	}{
		{"reseller without location", approved, ProgramIndirectReseller, func(*Partner) LocationID { return "" }, ErrLocationRequired},
		{"before approval", func(t *testing.T) *Partner { return newTestPartner(t) }, ProgramIndirectReseller,
			func(p *Partner) LocationID { return p.Locations()[0].ID }, ErrAgreementBeforeApproval},
		{"network before approval", func(t *testing.T) *Partner { return newTestPartner(t) }, ProgramPartnerNetwork,
			func(*Partner) LocationID { return "" }, ErrAgreementBeforeApproval},
		{"not enrolled", func(t *testing.T) *Partner {
			p := newTestPartner(t, network)
			p.ApproveVerification(t0, t0)
			return p
		}, ProgramIndirectProvider, func(*Partner) LocationID { return "" }, ErrNotEnrolled},
		{"rejected", func(t *testing.T) *Partner {
			p := newTestPartner(t)
			p.RejectVerification("r", t0)
			return p
		}, ProgramIndirectReseller, func(p *Partner) LocationID { return p.Locations()[0].ID }, ErrIllegalTransition},
		{"provider with a location", approved, ProgramIndirectProvider, func(p *Partner) LocationID { return p.Locations()[0].ID }, ErrProgramTakesNoLocation},
		{"unknown location", approved, ProgramIndirectReseller, func(*Partner) LocationID { return "PL-0000-0000-000" }, ErrLocationNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.partner(t)
			before := p.Snapshot()
			p.PullEvents()
			if _, err := p.AcceptAgreement(tt.program, tt.loc(p), "AG", "", t0); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if !reflect.DeepEqual(before, p.Snapshot()) || len(p.PullEvents()) != 0 {
				t.Error("a refused change must leave the partner and its events untouched")
			}
		})
	}
	t.Run("transition error names the transition", func(t *testing.T) {
		p := newTestPartner(t)
		p.RejectVerification("r", t0)
		_, err := p.AcceptAgreement(ProgramIndirectReseller, "", "AG", "", t0)
		var te *TransitionError
		if !errors.As(err, &te) || te.From != EnrollmentRejected || te.To != EnrollmentActive || te.Program != ProgramIndirectReseller {
			t.Fatalf("got %#v", err)
		}
	})
}

func TestLinkLocation(t *testing.T) {
	// a partner with a second, active location in another country, as multi-country partners will have
	withForeignLocation := func(t *testing.T) (*Partner, LocationID, LocationID) {
		p := newTestPartner(t, network, reseller)
		p.ApproveVerification(t0, t0)
		s := p.Snapshot()
		foreign, _ := ids.Format(ids.Location, "ZZZZZZZZZZ")
		s.Locations = append(s.Locations, Location{ID: LocationID(foreign), Country: "US", Status: LocationStatusActive})
		p, err := RehydratePartner(s)
		if err != nil {
			t.Fatal(err)
		}
		return p, s.Locations[0].ID, LocationID(foreign)
	}
	t.Run("same country active location", func(t *testing.T) {
		p, home, _ := withForeignLocation(t)
		if changed, err := p.LinkLocation(ProgramIndirectReseller, home, t0); err != nil || !changed {
			t.Fatalf("link: %v %v", changed, err)
		}
		if e, _ := p.Enrollment(ProgramIndirectReseller); e.LocationID != home || e.Status != EnrollmentQualified {
			t.Fatalf("enrollment %+v", e)
		}
		if changed, err := p.LinkLocation(ProgramIndirectReseller, home, t0); err != nil || changed {
			t.Errorf("relinking the same location must be a no-op: %v %v", changed, err)
		}
	})
	t.Run("other country refused", func(t *testing.T) {
		p, _, foreign := withForeignLocation(t)
		if _, err := p.LinkLocation(ProgramIndirectReseller, foreign, t0); !errors.Is(err, ErrLocationCountryMismatch) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("pending location refused", func(t *testing.T) {
		p := newTestPartner(t, network, reseller)
		if _, err := p.LinkLocation(ProgramIndirectReseller, p.Locations()[0].ID, t0); !errors.Is(err, ErrLocationNotActive) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("partner network takes no location", func(t *testing.T) {
		p, home, _ := withForeignLocation(t)
		if _, err := p.LinkLocation(ProgramPartnerNetwork, home, t0); !errors.Is(err, ErrProgramTakesNoLocation) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("active enrollment cannot move", func(t *testing.T) {
		p, home, _ := withForeignLocation(t)
		p.AcceptAgreement(ProgramIndirectReseller, home, "AG", "", t0)
		s := p.Snapshot()
		other, _ := ids.Format(ids.Location, "YYYYYYYYYY")
		s.Locations = append(s.Locations, Location{ID: LocationID(other), Country: "JP", Status: LocationStatusActive})
		p, _ = RehydratePartner(s)
		if _, err := p.LinkLocation(ProgramIndirectReseller, LocationID(other), t0); !errors.Is(err, ErrLocationAlreadyLinked) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestChangeMarketRefused(t *testing.T) {
	p := newTestPartner(t)
	if err := p.ChangeMarket("JP"); err != nil {
		t.Errorf("same market: %v", err)
	}
	if err := p.ChangeMarket("US"); !errors.Is(err, ErrMarketImmutable) {
		t.Errorf("other market: %v", err)
	}
	if p.Market() != "JP" {
		t.Error("market changed")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	p := newTestPartner(t)
	p.ApproveVerification(t0, t0)
	s := p.Snapshot()
	q, err := RehydratePartner(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, q.Snapshot()) || len(q.PullEvents()) != 0 {
		t.Fatal("rehydrated partner differs or carries events")
	}
	bad := s
	bad.Market = "US"
	if _, err := RehydratePartner(bad); !errors.Is(err, ErrCorruptSnapshot) {
		t.Errorf("market differing from the registration: %v", err)
	}
	bad = s
	bad.Status = "approved"
	if _, err := RehydratePartner(bad); !errors.Is(err, ErrCorruptSnapshot) {
		t.Errorf("unknown status: %v", err)
	}
}

func TestDuplicateAttemptFileClaim(t *testing.T) {
	reg, _ := NormalizeRegistration(validInput(), DefaultPolicy(), t0)
	ids := &seqIDs{}
	existing := ids.NewPartnerID()
	newAttempt := func() *DuplicateAttempt {
		return NewDuplicateAttempt(ids.NewAttemptID(), &DuplicateError{MatchedOn: []IdentityKeyKind{KeyNameAddress}, ExistingPartnerID: existing}, reg, "portal", t0)
	}
	a := newAttempt()
	claim := ids.NewClaimID()
	if err := a.FileClaim(claim, "  We are the same company; the account was made by a former employee. ", "portal", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	evs := a.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events %v", evs)
	}
	ev := evs[0].(DuplicateClaimFiled)
	if ev.ClaimID != claim || ev.AttemptID != a.ID || ev.ExistingPartnerID != existing || ev.PartitionKey() != existing ||
		ev.Statement != "We are the same company; the account was made by a former employee." || ev.Contact.Email == "" || ev.LegalName.Normalized != "株式会社テスト商事" {
		t.Errorf("DuplicateClaimFiled = %+v", ev)
	}
	if err := a.FileClaim(ids.NewClaimID(), "again", "portal", t0); !errors.Is(err, ErrClaimAlreadyFiled) {
		t.Errorf("second claim: %v", err)
	}
	if err := newAttempt().FileClaim(ids.NewClaimID(), "late", "portal", t0.Add(ClaimWindow+time.Second)); !errors.Is(err, ErrClaimWindowClosed) {
		t.Errorf("late claim: %v", err)
	}
	var ve *ValidationError
	b := newAttempt()
	if err := b.FileClaim(ids.NewClaimID(), " ", "portal", t0); !errors.As(err, &ve) || ve.Fields[0].Field != "statement" || b.Claim != nil {
		t.Errorf("empty statement: %v", err)
	}
}

// TestAClaimDecidedWithoutAReviewHasNoStart: verification refuses a claim
// about a closed or rejected partner itself, without a verifier taking it
// up. Before round 46 the claim read review_started_at at the decision's
// time; now it has no start, and a start that arrives after a verifier's
// decision (another subscription) still fills it in, changing nothing else.
func TestAClaimDecidedWithoutAReviewHasNoStart(t *testing.T) {
	reg, _ := NormalizeRegistration(validInput(), DefaultPolicy(), t0)
	ids := &seqIDs{}
	existing := ids.NewPartnerID()
	filed := func() *DuplicateAttempt {
		a := NewDuplicateAttempt(ids.NewAttemptID(), &DuplicateError{MatchedOn: []IdentityKeyKind{KeyNameAddress}, ExistingPartnerID: existing}, reg, "portal", t0)
		if err := a.FileClaim(ids.NewClaimID(), "We are the company.", "portal", t0); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := filed()
	if changed, err := a.ApplyClaimReview(ClaimOutcome{ClaimID: a.Claim.ID, ReviewID: "vr-1", Status: ClaimRefused,
		Reason: "existing_partner_closed", At: t0.Add(time.Hour)}); err != nil || !changed {
		t.Fatalf("refusal: %v %v", changed, err)
	}
	if r := a.Claim.Review; r.Status != ClaimRefused || !r.StartedAt.IsZero() || !r.DecidedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("review %+v", r)
	}

	b := filed()
	b.ApplyClaimReview(ClaimOutcome{ClaimID: b.Claim.ID, ReviewID: "vr-2", Status: ClaimUpheld, At: t0.Add(2 * time.Hour)})
	if changed, _ := b.ApplyClaimReview(ClaimOutcome{ClaimID: b.Claim.ID, ReviewID: "vr-2", Status: ClaimUnderReview, At: t0.Add(time.Hour)}); !changed {
		t.Fatal("the late start was not recorded")
	}
	if changed, _ := b.ApplyClaimReview(ClaimOutcome{ClaimID: b.Claim.ID, ReviewID: "vr-2", Status: ClaimUnderReview, At: t0.Add(3 * time.Hour)}); changed {
		t.Fatal("a second start changed the claim")
	}
	if r := b.Claim.Review; r.Status != ClaimUpheld || !r.StartedAt.Equal(t0.Add(time.Hour)) || !r.DecidedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("review %+v", r)
	}
}
