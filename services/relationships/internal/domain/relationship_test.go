package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func partner(id, market string, locs []string, enr map[Program]EnrollmentStatus) Partner {
	p := Partner{ID: id, LocationIDs: locs, Market: market, LegalName: id + " KK", Registered: true}
	for prog, st := range enr {
		if p.Enrollments == nil {
			p.Enrollments = map[Program]Enrollment{}
		}
		p.Enrollments[prog] = Enrollment{Program: prog, Status: st, ChangedAt: t0}
	}
	return p
}

func activeProvider() Partner {
	return partner("PG-P", "JP", []string{"PL-P1"}, map[Program]EnrollmentStatus{ProgramIndirectProvider: EnrollmentActive})
}

func reseller(st EnrollmentStatus) Partner {
	return partner("PG-R", "JP", []string{"PL-R1"}, map[Program]EnrollmentStatus{ProgramIndirectReseller: st})
}

func terms(t *testing.T, days int, auto bool, roles ...AccessRole) AccessTerms {
	t.Helper()
	if len(roles) == 0 {
		roles = DefaultRoles()
	}
	at, err := NewAccessTerms(roles, days, auto)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func hashOf(b byte) TokenHash { return TokenHash{b} }

func proposal(t *testing.T, at AccessTerms) Proposal {
	return Proposal{
		RelationshipID: "rel-1", RequestID: "req-1", Provider: activeProvider(), Reseller: reseller(EnrollmentActive),
		ResellerLocationID: "PL-R1", Terms: at, TokenHash: hashOf(1), CreatedBy: "alice", Now: t0,
	}
}

func names(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventName()
	}
	return out
}

// activeRel returns a relationship authorised at t0 with a grant of days days.
func activeRel(t *testing.T, days int, auto bool, roles ...AccessRole) *Relationship {
	t.Helper()
	r, err := NewProposal(proposal(t, terms(t, days, auto, roles...)), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Accept(hashOf(1), "bob", "grant-1", t0, DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	r.PullEvents()
	return r
}

func TestNewProposalRules(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Proposal)
		wantErr error
	}{
		{"valid", func(*Proposal) {}, nil},
		{"reseller enrollment pending is fine for inviting", func(p *Proposal) { p.Reseller = reseller(EnrollmentPendingVerification) }, nil},
		{"provider enrollment pending", func(p *Proposal) {
			p.Provider.Enrollments[ProgramIndirectProvider] = Enrollment{Status: EnrollmentPendingVerification}
		}, ErrProviderNotActive},
		{"provider without provider enrollment", func(p *Proposal) { p.Provider.Enrollments = nil }, ErrProviderNotActive},
		{"target is a global id", func(p *Proposal) { p.ResellerLocationID = "PG-R" }, ErrTargetNotLocation},
		{"target is garbage", func(p *Proposal) { p.ResellerLocationID = "R1" }, ErrResellerUnknown},
		{"location not the reseller's", func(p *Proposal) { p.ResellerLocationID = "PL-X" }, ErrResellerUnknown},
		{"reseller not registered", func(p *Proposal) { p.Reseller.Registered = false }, ErrResellerUnknown},
		{"markets differ", func(p *Proposal) { p.Reseller.Market = "US" }, ErrMarketMismatch},
		{"target is no reseller", func(p *Proposal) { p.Reseller.Enrollments = nil }, ErrTargetNotReseller},
		{"self", func(p *Proposal) {
			p.Reseller = p.Provider
			p.Reseller.LocationIDs = []string{"PL-R1"}
			p.Reseller.Enrollments[ProgramIndirectReseller] = Enrollment{Status: EnrollmentActive}
		}, ErrSelfRelationship},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proposal(t, terms(t, 30, false))
			tt.mutate(&p)
			r, err := NewProposal(p, DefaultPolicy())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			evs := r.PullEvents()
			if len(evs) != 1 {
				t.Fatalf("events = %v", names(evs))
			}
			rc := evs[0].(RequestCreated)
			if !rc.ExpiresAt.Equal(t0.Add(90*day)) || rc.Kind != RequestInitial || rc.ProviderID != "PG-P" || rc.ResellerLocationID != "PL-R1" {
				t.Errorf("RequestCreated = %+v", rc)
			}
			if r.State != StateProposed || !r.Requests[0].RemindAt.Equal(t0.Add(83*day)) {
				t.Errorf("relationship = %+v", r)
			}
		})
	}
}

func TestInvitationStates(t *testing.T) {
	pol := DefaultPolicy()
	fresh := func() *Relationship {
		r, err := NewProposal(proposal(t, terms(t, 30, false)), pol)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name    string
		setup   func(*Relationship)
		hash    TokenHash
		at      time.Time
		wantErr error
	}{
		{"open", func(*Relationship) {}, hashOf(1), t0.Add(day), nil},
		{"unknown", func(*Relationship) {}, hashOf(2), t0.Add(day), ErrInvitationUnknown},
		{"past expiry before the timer fired", func(*Relationship) {}, hashOf(1), t0.Add(90 * day), ErrInvitationExpired},
		{"expired by timer", func(r *Relationship) { r.Tick(t0.Add(91*day), pol) }, hashOf(1), t0.Add(91 * day), ErrInvitationExpired},
		{"reused after accept", func(r *Relationship) { _ = r.Accept(hashOf(1), "bob", "g", t0, pol) }, hashOf(1), t0.Add(day), ErrInvitationUsed},
		{"reused after decline", func(r *Relationship) { _ = r.Decline(hashOf(1), "bob", "", t0) }, hashOf(1), t0.Add(day), ErrInvitationUsed},
		{"deferred is still open", func(r *Relationship) { _ = r.Defer(hashOf(1), "bob", t0) }, hashOf(1), t0.Add(day), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fresh()
			tt.setup(r)
			_, err := r.Invitation(tt.hash, tt.at)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestAcceptCreatesActiveGrant(t *testing.T) {
	pol := DefaultPolicy()
	r, _ := NewProposal(proposal(t, terms(t, 30, false, RoleBillingReader)), pol)
	r.PullEvents()
	now := t0.Add(2 * day)
	if err := r.Accept(hashOf(1), "bob", "grant-1", now, pol); err != nil {
		t.Fatal(err)
	}
	if got := names(r.PullEvents()); !slices.Equal(got, []string{"RequestAccepted", "AccessGranted"}) {
		t.Fatalf("events = %v", got)
	}
	g := r.Grant
	if r.State != StateActive || g.State != GrantActive || !g.ExpiresAt.Equal(now.Add(30*day)) || !g.ExpiringAt.Equal(now.Add(16*day)) {
		t.Errorf("grant = %+v, state %s", g, r.State)
	}
	if err := r.Accept(hashOf(1), "bob", "grant-2", now, pol); !errors.Is(err, ErrInvitationUsed) {
		t.Errorf("second accept: %v", err)
	}
}

func TestDeclineAndDefer(t *testing.T) {
	pol := DefaultPolicy()
	r, _ := NewProposal(proposal(t, terms(t, 30, false)), pol)
	r.PullEvents()
	if err := r.Defer(hashOf(1), "bob", t0); err != nil {
		t.Fatal(err)
	}
	if err := r.Defer(hashOf(1), "bob", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := names(r.PullEvents()); !slices.Equal(got, []string{"RequestDeferred"}) {
		t.Fatalf("deferring twice: events = %v", got)
	}
	if err := r.Decline(hashOf(1), "bob", "not now", t0.Add(day)); err != nil {
		t.Fatal(err)
	}
	if r.State != StateDeclined || r.Requests[0].Status != StatusDeclined {
		t.Errorf("state %s, request %s", r.State, r.Requests[0].Status)
	}
}

func TestEndTwiceEndsOnce(t *testing.T) {
	r := activeRel(t, 30, false)
	now := t0.Add(day)
	if _, err := r.End(SideReseller, "bob", "  ", now); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("blank reason: %v", err)
	}
	already, err := r.End(SideReseller, "bob", "switching distributor", now)
	if err != nil || already {
		t.Fatalf("first end: already=%v err=%v", already, err)
	}
	evs := r.PullEvents()
	if got := names(evs); !slices.Equal(got, []string{"RelationshipEnded", "AccessTerminated"}) {
		t.Fatalf("events = %v", got)
	}
	if e := evs[0].(RelationshipEnded); e.Cause != EndChosen || e.Reason != "switching distributor" || !e.AccessTerminated {
		t.Fatalf("ended %+v", e)
	}
	already, err = r.End(SideProvider, "alice", "contract over", now)
	if err != nil || !already {
		t.Fatalf("second end: already=%v err=%v", already, err)
	}
	if evs := r.PullEvents(); len(evs) != 0 {
		t.Errorf("second end recorded %v", names(evs))
	}
	if r.EndedBy != SideReseller || r.EndReason != "switching distributor" || r.Grant.State != GrantTerminated {
		t.Errorf("relationship = %+v", r)
	}
}

func TestEndWithdrawsPendingWidening(t *testing.T) {
	pol := DefaultPolicy()
	r := activeRel(t, 30, false, RoleBillingReader)
	if err := r.RequestWider(Widening{RequestID: "req-2", Terms: terms(t, 30, false, RoleBillingReader, RoleSupportAgent), TokenHash: hashOf(2), Now: t0}, pol); err != nil {
		t.Fatal(err)
	}
	if _, err := r.End(SideProvider, "alice", "done", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Invitation(hashOf(2), t0.Add(2*time.Hour)); !errors.Is(err, ErrInvitationWithdrawn) {
		t.Errorf("widening token after end: %v", err)
	}
	if !r.NextDueAt().IsZero() {
		t.Errorf("ended relationship still has a due time %v", r.NextDueAt())
	}
}

func TestNarrow(t *testing.T) {
	tests := []struct {
		name    string
		roles   RoleSet
		wantErr error
	}{
		{"strict subset", RoleSet{RoleSupportAgent}, nil},
		{"same set", RoleSet{RoleCustomerManagement, RoleSupportAgent}, ErrNotNarrower},
		{"empty", RoleSet{}, ErrNotNarrower},
		{"adds a role", RoleSet{RoleBillingReader}, ErrNotNarrower},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := activeRel(t, 30, false, RoleCustomerManagement, RoleSupportAgent)
			err := r.Narrow(tt.roles, SideReseller, "bob", t0.Add(day))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			evs := r.PullEvents()
			n, ok := evs[0].(AccessNarrowed)
			if !ok || !slices.Equal(n.Removed, []string{"customer_management"}) || !slices.Equal(r.Grant.Roles, tt.roles) {
				t.Errorf("events %v, grant roles %v", names(evs), r.Grant.Roles)
			}
		})
	}
	r := activeRel(t, 30, false, RoleCustomerManagement, RoleSupportAgent)
	if err := r.Narrow(RoleSet{RoleSupportAgent}, SideProvider, "alice", t0.Add(31*day)); !errors.Is(err, ErrGrantNotActive) {
		t.Errorf("narrowing an expired grant: %v", err)
	}
}

func TestWidenNeedsNewRoleAndSupersedesGrant(t *testing.T) {
	pol := DefaultPolicy()
	r := activeRel(t, 30, false, RoleBillingReader)
	same := Widening{RequestID: "req-2", Terms: terms(t, 60, false, RoleBillingReader), TokenHash: hashOf(2), Now: t0}
	if err := r.RequestWider(same, pol); !errors.Is(err, ErrNotWider) {
		t.Fatalf("same roles: %v", err)
	}
	wide := Widening{RequestID: "req-2", Terms: terms(t, 60, false, RoleBillingReader, RoleHelpdeskAdmin), TokenHash: hashOf(2), Now: t0}
	if err := r.RequestWider(wide, pol); err != nil {
		t.Fatal(err)
	}
	wide.RequestID, wide.TokenHash = "req-3", hashOf(3)
	if err := r.RequestWider(wide, pol); !errors.Is(err, ErrRequestPending) {
		t.Fatalf("second widening while one is pending: %v", err)
	}
	r.PullEvents()
	if r.Grant.Roles.Has(RoleHelpdeskAdmin) {
		t.Fatal("widening applied before consent")
	}
	if err := r.Accept(hashOf(2), "bob", "grant-2", t0.Add(day), pol); err != nil {
		t.Fatal(err)
	}
	evs := r.PullEvents()
	if got := names(evs); !slices.Equal(got, []string{"RequestAccepted", "AccessGranted", "AccessTerminated"}) {
		t.Fatalf("events = %v", got)
	}
	if g := evs[1].(AccessGranted); g.Supersedes != "grant-1" || g.GrantID != "grant-2" {
		t.Errorf("AccessGranted = %+v", g)
	}
	if evs[2].(AccessTerminated).Reason != TerminatedSuperseded {
		t.Errorf("AccessTerminated = %+v", evs[2])
	}
}

func TestWidenAfterExpiryIsARenewal(t *testing.T) {
	pol := DefaultPolicy()
	r := activeRel(t, 30, false, RoleBillingReader)
	w := Widening{RequestID: "req-2", Terms: terms(t, 30, false, RoleBillingReader), TokenHash: hashOf(2), Now: t0.Add(40 * day)}
	if err := r.RequestWider(w, pol); err != nil {
		t.Fatalf("same roles after expiry: %v", err)
	}
	if got := names(r.PullEvents()); !slices.Equal(got, []string{"AccessExpired", "RequestCreated"}) {
		t.Errorf("events = %v", got)
	}
}

func TestRequestTimers(t *testing.T) {
	pol := DefaultPolicy() // TTL 90 days, reminder 7 days before
	tests := []struct {
		name       string
		ticks      []time.Duration // offsets from t0
		wantEvents []string
		wantState  State
	}{
		{"nothing due a second before the reminder", []time.Duration{83*day - time.Second}, nil, StateProposed},
		{"reminder exactly 83 days in", []time.Duration{83 * day}, []string{"RequestReminderDue"}, StateProposed},
		{"reminder fires once", []time.Duration{83 * day, 84 * day, 85 * day}, []string{"RequestReminderDue"}, StateProposed},
		{"expires exactly at 90 days", []time.Duration{83 * day, 90 * day}, []string{"RequestReminderDue", "RequestExpired"}, StateLapsed},
		{"after downtime: expiry without a late reminder", []time.Duration{200 * day}, []string{"RequestExpired"}, StateLapsed},
		{"expired once", []time.Duration{90 * day, 91 * day}, []string{"RequestExpired"}, StateLapsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := NewProposal(proposal(t, terms(t, 30, false)), pol)
			r.PullEvents()
			for _, d := range tt.ticks {
				r.Tick(t0.Add(d), pol)
			}
			if got := names(r.PullEvents()); !slices.Equal(got, tt.wantEvents) && len(got)+len(tt.wantEvents) > 0 {
				t.Errorf("events = %v, want %v", got, tt.wantEvents)
			}
			if r.State != tt.wantState {
				t.Errorf("state = %s, want %s", r.State, tt.wantState)
			}
		})
	}
}

func TestDeferredRequestGetsReminderAndNextDue(t *testing.T) {
	pol := DefaultPolicy()
	r, _ := NewProposal(proposal(t, terms(t, 30, false)), pol)
	if err := r.Defer(hashOf(1), "bob", t0.Add(day)); err != nil {
		t.Fatal(err)
	}
	if due := r.NextDueAt(); !due.Equal(t0.Add(83 * day)) {
		t.Fatalf("next due = %v", due)
	}
	r.Tick(t0.Add(83*day), pol)
	if due := r.NextDueAt(); !due.Equal(t0.Add(90 * day)) {
		t.Fatalf("next due after reminder = %v", due)
	}
}

func TestGrantTimers(t *testing.T) {
	pol := DefaultPolicy() // expiring 14 days ahead
	tests := []struct {
		name       string
		days       int
		auto       bool
		ticks      []time.Duration
		wantEvents []string
		wantState  GrantState
		wantExpiry time.Duration
	}{
		{"nothing due before expiring", 30, false, []time.Duration{16*day - time.Second}, nil, GrantActive, 30 * day},
		{"expiring 14 days before expiry", 30, false, []time.Duration{16 * day}, []string{"AccessExpiring"}, GrantExpiring, 30 * day},
		{"expiring then expired", 30, false, []time.Duration{16 * day, 30 * day}, []string{"AccessExpiring", "AccessExpired"}, GrantExpired, 30 * day},
		{"after downtime: straight to expired", 30, false, []time.Duration{45 * day}, []string{"AccessExpired"}, GrantExpired, 30 * day},
		{"short grant is expiring from the start", 5, false, []time.Duration{0}, []string{"AccessExpiring"}, GrantExpiring, 5 * day},
		{"auto-extension renews at expiry", 30, true, []time.Duration{16 * day, 30 * day}, []string{"AccessExpiring", "AccessExtended"}, GrantActive, 60 * day},
		{"auto-extension catches up several periods", 30, true, []time.Duration{95 * day}, []string{"AccessExtended"}, GrantActive, 120 * day},
		{"auto-extension then expiring again", 30, true, []time.Duration{30 * day, 46 * day}, []string{"AccessExtended", "AccessExpiring"}, GrantExpiring, 60 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := activeRel(t, tt.days, tt.auto, RoleBillingReader)
			for _, d := range tt.ticks {
				r.Tick(t0.Add(d), pol)
			}
			got := names(r.PullEvents())
			if !slices.Equal(got, tt.wantEvents) && len(got)+len(tt.wantEvents) > 0 {
				t.Errorf("events = %v, want %v", got, tt.wantEvents)
			}
			if r.Grant.State != tt.wantState || !r.Grant.ExpiresAt.Equal(t0.Add(tt.wantExpiry)) {
				t.Errorf("grant state %s expires %v, want %s at %v", r.Grant.State, r.Grant.ExpiresAt, tt.wantState, t0.Add(tt.wantExpiry))
			}
			if r.State != StateActive {
				t.Errorf("relationship state %s after grant timers", r.State)
			}
		})
	}
}

func TestGrantNextDueAndStateAt(t *testing.T) {
	r := activeRel(t, 30, false, RoleBillingReader)
	if due := r.NextDueAt(); !due.Equal(t0.Add(16 * day)) {
		t.Errorf("next due = %v, want expiring time", due)
	}
	g := *r.Grant
	for _, c := range []struct {
		at   time.Duration
		want GrantState
	}{{day, GrantActive}, {16 * day, GrantExpiring}, {30 * day, GrantExpired}} {
		if got := g.StateAt(t0.Add(c.at)); got != c.want {
			t.Errorf("StateAt(+%v) = %s, want %s", c.at, got, c.want)
		}
	}
	r.Tick(t0.Add(30*day), DefaultPolicy())
	if !r.NextDueAt().IsZero() {
		t.Errorf("expired grant still due at %v", r.NextDueAt())
	}
}

// TestReasonsReadAsWritten: a reason reaches the other party as written
// (its mail, its events), so one that could read as something else — a
// bidirectional override, an invisible or a control character (U+0000
// among them, which no consumer can store) — is refused; line breaks are
// kept, the ends trimmed, and the bound counts characters after that.
func TestReasonsReadAsWritten(t *testing.T) {
	for _, bad := range []string{"abc\u202edef", "a\u200bb", "a\x00b", "ok\x07bell", "\u2066isolated\u2069"} {
		r := activeRel(t, 30, false)
		if _, err := r.End(SideReseller, "bob", bad, t0.Add(day)); !errors.Is(err, ErrReasonCharacters) || r.State != StateActive {
			t.Errorf("end with %q: %v (state %s)", bad, err, r.State)
		}
		p, err := NewProposal(proposal(t, terms(t, 30, false)), DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		p.PullEvents()
		if err := p.Decline(hashOf(1), "bob", bad, t0); !errors.Is(err, ErrReasonCharacters) || p.State != StateProposed || len(p.PullEvents()) != 0 {
			t.Errorf("decline with %q: %v (state %s)", bad, err, p.State)
		}
	}
	r := activeRel(t, 30, false)
	if _, err := r.End(SideReseller, "bob", strings.Repeat("あ", MaxReasonLength)+"  \n ", t0.Add(day)); err != nil {
		t.Fatalf("a reason of the maximum length with trailing white space: %v", err)
	}
	r = activeRel(t, 30, false)
	if _, err := r.End(SideReseller, "bob", strings.Repeat("あ", MaxReasonLength+1), t0.Add(day)); !errors.Is(err, ErrReasonTooLong) {
		t.Fatalf("too long: %v", err)
	}
	if _, err := r.End(SideReseller, "bob", "  販売契約を\n\t終了しました  ", t0.Add(day)); err != nil {
		t.Fatal(err)
	}
	if e := r.PullEvents()[0].(RelationshipEnded); e.Reason != "販売契約を\n\t終了しました" || r.EndReason != e.Reason {
		t.Fatalf("kept %q, published %q", r.EndReason, e.Reason)
	}
}

// TestEndAfterTheAccessExpiredSaysNoAccessEnded: a provider that ends a
// relationship whose grant already expired terminates nothing; the event
// says so, and the notifier then tells the reseller by the
// relationship_ended mail (no access_terminated mail follows).
func TestEndAfterTheAccessExpiredSaysNoAccessEnded(t *testing.T) {
	r := activeRel(t, 30, false, RoleSupportAgent)
	late := r.Grant.ExpiresAt.Add(time.Hour)
	r.Tick(late, DefaultPolicy())
	if r.Grant.State != GrantExpired {
		t.Fatalf("grant %+v", r.Grant)
	}
	r.PullEvents()
	if _, err := r.End(SideProvider, "alice", "contract over", late); err != nil {
		t.Fatal(err)
	}
	evs := r.PullEvents()
	if got := names(evs); !slices.Equal(got, []string{"RelationshipEnded"}) || evs[0].(RelationshipEnded).AccessTerminated {
		t.Fatalf("events %v %+v", got, evs)
	}
}
