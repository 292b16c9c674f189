package app

import (
	"context"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

var (
	ctx   = context.Background()
	start = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
)

const resellerV1 = "indirect_reseller-2025-01"

type fixture struct {
	t     *testing.T
	store *memStore
	clock *fakeClock
	app   Application
}

// newFixture returns an application over an empty store with the dev seed
// versions published.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, store: newMemStore(), clock: &fakeClock{now: start}}
	f.app = New(f.store.deps(f.clock))
	if _, err := f.app.SeedVersions.Handle(ctx); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return f
}

var operator = auth.Principal{Kind: auth.KindUser, Subject: "op-1", Roles: []auth.Role{auth.RoleOperator}}

func admin(partnerID string) auth.Principal {
	return auth.Principal{
		Kind: auth.KindUser, Subject: "user-" + partnerID, Name: "Hanako Sato", Email: "hanako@example.co.jp",
		PartnerID: partnerID, Roles: []auth.Role{auth.RolePartnerAdmin},
		SourceIP: "192.0.2.10", UserAgent: "Mozilla/5.0 test", RequestID: "req-1",
	}
}

func partnerUser(partnerID string) auth.Principal {
	p := admin(partnerID)
	p.Roles = []auth.Role{auth.RolePartnerUser}
	return p
}

// register applies a registration of partnerID (location "L-"+partnerID,
// market JP) enrolled in programs, with a network affirmation.
func (f *fixture) register(partnerID string, programs ...string) ApplyPartnerRegisteredResult {
	f.t.Helper()
	enroll := map[string]string{}
	for _, p := range programs {
		enroll[p] = "E-" + p + "-" + partnerID
	}
	res, err := f.app.ApplyPartnerRegistered.Handle(ctx, ApplyPartnerRegisteredCommand{Registration: domain.Registration{
		PartnerID: partnerID, LocationID: "L-" + partnerID, Market: "JP", Programs: programs, Enrollments: enroll,
		RegisteredAt: f.clock.Now().Add(-time.Minute),
		Affirmation: &domain.NetworkAffirmation{
			UserID: "applicant-" + partnerID, Name: "Taro Yamada", Email: "taro@example.co.jp",
			At: f.clock.Now().Add(-time.Minute), ClientIP: "198.51.100.7", UserAgent: "signup",
		},
	}})
	if err != nil {
		f.t.Fatalf("register %s: %v", partnerID, err)
	}
	return res
}

func (f *fixture) decide(partnerID, decisionID, outcome string) ApplyVerificationDecisionResult {
	f.t.Helper()
	f.clock.advance(time.Second)
	res, err := f.app.ApplyVerificationDecision.Handle(ctx, ApplyVerificationDecisionCommand{
		PartnerID: partnerID, DecisionID: decisionID, Outcome: outcome, DecidedAt: f.clock.Now(),
	})
	if err != nil {
		f.t.Fatalf("decision %s: %v", decisionID, err)
	}
	return res
}

// approvedReseller registers P1 as a reseller and approves it.
func (f *fixture) approvedReseller(partnerID string) {
	f.t.Helper()
	f.register(partnerID, "indirect_reseller")
	f.decide(partnerID, "D-"+partnerID, "approved")
}

func (f *fixture) accept(p auth.Principal, partnerID, version string) (AcceptanceResult, error) {
	return f.app.Accept.Handle(ctx, p, AcceptCommand{PartnerID: partnerID, Market: "JP", VersionID: version})
}

func (f *fixture) mustAccept(p auth.Principal, partnerID, version string) AcceptanceResult {
	f.t.Helper()
	res, err := f.accept(p, partnerID, version)
	if err != nil {
		f.t.Fatalf("accept %s: %v", version, err)
	}
	return res
}

func (f *fixture) publish(id string, policy domain.VersionPolicy, effective time.Time, window time.Duration) PublishVersionResult {
	f.t.Helper()
	res, err := f.app.PublishVersion.Handle(ctx, operator, PublishVersionCommand{Draft: draft(id, policy, effective, window)})
	if err != nil {
		f.t.Fatalf("publish %s: %v", id, err)
	}
	return res
}

func draft(id string, policy domain.VersionPolicy, effective time.Time, window time.Duration) domain.VersionDraft {
	return domain.VersionDraft{
		ID: id, Program: "indirect_reseller", Name: "Reseller agreement " + id, Languages: []string{"en"},
		EffectiveFrom: effective, TextURL: "https://example.test/" + id + ".md",
		TextSHA256: string(domain.HashText([]byte(id))), Policy: string(policy), ReacceptanceWindow: window,
	}
}

// wantCode fails unless err is an *apperr.Error with kind and code.
func wantCode(t *testing.T, err error, kind apperr.Kind, code string) {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error = %v, want %s (%s)", err, code, kind)
	}
	if ae.Kind != kind || ae.Code != code {
		t.Fatalf("error = %s (%s), want %s (%s)", ae.Code, ae.Kind, code, kind)
	}
}
