package app

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

const day = 24 * time.Hour

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

var (
	bus           = auth.Principal{Kind: auth.KindService, Subject: "registration", Roles: []auth.Role{auth.RoleUpstreamSystem}}
	providerAdmin = auth.Principal{Kind: auth.KindUser, Subject: "alice", PartnerID: "PG-P", Roles: []auth.Role{auth.RoleProviderAdmin}}
	// The reseller's principals carry a location ID: callers may be known by either.
	resellerAdmin   = auth.Principal{Kind: auth.KindUser, Subject: "bob", PartnerID: "PL-R100-0000-006", Roles: []auth.Role{auth.RolePartnerAdmin}}
	resellerUser    = auth.Principal{Kind: auth.KindUser, Subject: "carol", PartnerID: "PG-R", Roles: []auth.Role{auth.RolePartnerUser}}
	otherAdmin      = auth.Principal{Kind: auth.KindUser, Subject: "dave", PartnerID: "PG-O", Roles: []auth.Role{auth.RolePartnerAdmin, auth.RoleProviderAdmin}}
	pendingReseller = auth.Principal{Kind: auth.KindUser, Subject: "erin", PartnerID: "PG-Q", Roles: []auth.Role{auth.RolePartnerAdmin}}
	idleProvider    = auth.Principal{Kind: auth.KindUser, Subject: "frank", PartnerID: "PG-X", Roles: []auth.Role{auth.RoleProviderAdmin}}
	operator        = auth.Principal{Kind: auth.KindUser, Subject: "olga", Roles: []auth.Role{auth.RoleOperator}}
)

type env struct {
	t        *testing.T
	ctx      context.Context
	app      *App
	partners *fakePartners
	rels     *fakeRelationships
	mu       sync.Mutex
	now      time.Time
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) at(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = t
}

// newEnv builds the app over fakes and feeds the projection through the
// projection use cases:
//
//	PG-P  provider, JP, active          PG-X  provider, JP, only qualified
//	PG-R  reseller, JP, active  PL-R100-0000-006   PG-Q  reseller, JP, qualified  PL-Q100-0000-007
//	PG-U  reseller, US, active  PL-V100-0000-003   PG-N  JP, no reseller enrollment PL-N100-0000-009
//	PG-O  reseller and provider, JP, active PL-0100-0000-00Y
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), partners: newFakePartners(), rels: newFakeRelationships(), now: t0}
	ids := &seqIDs{}
	a, err := New(Deps{Partners: e.partners, Relationships: e.rels, Clock: e.clock, NewID: ids.next})
	if err != nil {
		t.Fatal(err)
	}
	e.app = a
	type enr struct {
		program domain.Program
		status  domain.EnrollmentStatus
	}
	seed := []struct {
		id, loc, market string
		enrs            []enr
	}{
		{"PG-P", "PL-P100-0000-008", "JP", []enr{{domain.ProgramIndirectProvider, domain.EnrollmentActive}}},
		{"PG-X", "PL-X100-0000-001", "JP", []enr{{domain.ProgramIndirectProvider, domain.EnrollmentQualified}}},
		{"PG-R", "PL-R100-0000-006", "JP", []enr{{domain.ProgramIndirectReseller, domain.EnrollmentActive}}},
		{"PG-Q", "PL-Q100-0000-007", "JP", []enr{{domain.ProgramIndirectReseller, domain.EnrollmentQualified}}},
		{"PG-U", "PL-V100-0000-003", "US", []enr{{domain.ProgramIndirectReseller, domain.EnrollmentActive}}},
		{"PG-N", "PL-N100-0000-009", "JP", nil},
		{"PG-O", "PL-0100-0000-00Y", "JP", []enr{{domain.ProgramIndirectReseller, domain.EnrollmentActive}, {domain.ProgramIndirectProvider, domain.EnrollmentActive}}},
	}
	for _, s := range seed {
		e.register(s.id, s.market, t0.Add(-48*time.Hour), s.loc)
		for _, en := range s.enrs {
			e.enroll(s.id, en.program, en.status, t0.Add(-24*time.Hour))
		}
	}
	return e
}

func (e *env) register(id, market string, at time.Time, locs ...string) bool {
	e.t.Helper()
	changed, err := e.app.ApplyPartnerRegistered(e.ctx, bus, PartnerRegistered{
		PartnerID: id, LocationIDs: locs, Market: market, LegalName: id + " 株式会社",
		Address: domain.Address{Line1: "5丁目2番地3", City: "Minato-ku", Region: "Tokyo", PostalCode: "105-0001", Country: market}, OccurredAt: at,
	})
	if err != nil {
		e.t.Fatalf("register %s: %v", id, err)
	}
	return changed
}

func (e *env) enroll(id string, program domain.Program, status domain.EnrollmentStatus, at time.Time) bool {
	e.t.Helper()
	changed, err := e.app.ApplyEnrollmentStatusChanged(e.ctx, bus, EnrollmentStatusChanged{PartnerID: id, Program: string(program), Status: string(status), OccurredAt: at})
	if err != nil {
		e.t.Fatalf("enroll %s: %v", id, err)
	}
	return changed
}

// invite creates a request from PG-P to PL-R100-0000-006 (or to) with the given roles and
// clears the outbox.
func (e *env) invite(cmd CreateRequestCommand) CreateRequestResult {
	e.t.Helper()
	if cmd.ResellerLocationID == "" {
		cmd.ResellerLocationID = "PL-R100-0000-006"
	}
	res, err := e.app.CreateRequest(e.ctx, providerAdmin, cmd)
	if err != nil {
		e.t.Fatalf("create request: %v", err)
	}
	e.rels.takeEvents()
	return res
}

// activate invites PG-R and has bob authorise; returns the invitation and grant.
func (e *env) activate(cmd CreateRequestCommand) (CreateRequestResult, AuthoriseResult) {
	e.t.Helper()
	inv := e.invite(cmd)
	g, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token, Consent: true})
	if err != nil {
		e.t.Fatalf("authorise: %v", err)
	}
	e.rels.takeEvents()
	return inv, g
}

func (e *env) expectEvents(want ...string) {
	e.t.Helper()
	if got := e.rels.takeEvents(); !slices.Equal(got, want) && len(got)+len(want) > 0 {
		e.t.Errorf("events = %v, want %v", got, want)
	}
}

// wantCode fails unless err is an *apperr.Error with code (or nil when code is "").
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	if ae.Code != code {
		t.Fatalf("code = %s (%v), want %s", ae.Code, err, code)
	}
}
