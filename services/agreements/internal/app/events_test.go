package app

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

func TestRevocationAfterAcceptance(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	acc := f.mustAccept(admin("P1"), "P1", resellerV1)

	f.decide("P1", "D2", "revoked")
	susp := eventsOf[domain.AcceptanceSuspended](f.store)
	if len(susp) != 1 || susp[0].AcceptanceID != acc.Acceptance.ID || susp[0].DecisionID != "D2" || susp[0].LocationID != "L-P1" {
		t.Fatalf("AcceptanceSuspended = %+v, want one for the reseller acceptance", susp)
	}
	// The record stays (append-only) and is listed as suspended.
	list, err := f.app.ListSigned.Handle(ctx, admin("P1"), ListSignedQuery{PartnerID: "P1"})
	if err != nil {
		t.Fatal(err)
	}
	reseller := list.Programs[0]
	if reseller.Program != domain.ProgramIndirectReseller || len(reseller.Agreements) != 1 || !reseller.Agreements[0].Suspended {
		t.Fatalf("list = %+v", list)
	}
	_, err = f.app.Status.Handle(ctx, upstream, StatusQuery{PartnerID: "P1", Market: "JP"})
	wantCode(t, err, apperr.KindConflict, "agreements.verification_revoked")
	_, err = f.accept(admin("P1"), "P1", resellerV1)
	wantCode(t, err, apperr.KindConflict, "agreements.verification_revoked")
	// The network agreement is not gated: it still stands.
	if _, err := f.app.Status.Handle(ctx, upstream, StatusQuery{PartnerID: "P1", Market: "JP", Program: "partner_network"}); err != nil {
		t.Fatalf("network status: %v", err)
	}

	f.decide("P1", "D3", "approved")
	re := eventsOf[domain.AcceptanceReinstated](f.store)
	if len(re) != 1 || re[0].AcceptanceID != acc.Acceptance.ID || re[0].DecisionID != "D3" {
		t.Fatalf("AcceptanceReinstated = %+v", re)
	}
	st, err := f.app.Status.Handle(ctx, upstream, StatusQuery{PartnerID: "P1", Market: "JP"})
	if err != nil || st.AcceptanceID != acc.Acceptance.ID {
		t.Fatalf("status after re-approval = %+v, %v", st, err)
	}
	if f.store.acceptanceCount() != 2 {
		t.Fatalf("records = %d, want the network and the reseller acceptance only", f.store.acceptanceCount())
	}
}

func TestReplayedEvents(t *testing.T) {
	f := newFixture(t)
	first := f.register("P1", "indirect_reseller")
	if !first.ProjectionChanged || first.Network == nil || first.Network.Existing {
		t.Fatalf("first registration = %+v", first)
	}
	again := f.register("P1", "indirect_reseller")
	if again.ProjectionChanged || again.Network == nil || !again.Network.Existing || again.Network.Acceptance.ID != first.Network.Acceptance.ID {
		t.Fatalf("replayed registration = %+v", again)
	}

	cmd := ApplyVerificationDecisionCommand{PartnerID: "P1", DecisionID: "D1", Outcome: "approved", DecidedAt: start}
	if res, err := f.app.ApplyVerificationDecision.Handle(ctx, cmd); err != nil || !res.Applied {
		t.Fatalf("decision = %+v, %v", res, err)
	}
	if res, err := f.app.ApplyVerificationDecision.Handle(ctx, cmd); err != nil || res.Applied {
		t.Fatalf("replayed decision = %+v, %v; want not applied", res, err)
	}
	acc := f.mustAccept(admin("P1"), "P1", resellerV1)
	revoke := ApplyVerificationDecisionCommand{PartnerID: "P1", DecisionID: "D2", Outcome: "revoked", DecidedAt: start.Add(time.Hour)}
	for range 2 {
		if _, err := f.app.ApplyVerificationDecision.Handle(ctx, revoke); err != nil {
			t.Fatal(err)
		}
	}
	// An old approval redelivered after the revocation changes nothing.
	if res, err := f.app.ApplyVerificationDecision.Handle(ctx, cmd); err != nil || res.Applied || res.Verification.Outcome != domain.VerificationRevoked {
		t.Fatalf("stale decision = %+v, %v", res, err)
	}
	if n := len(eventsOf[domain.AcceptanceSuspended](f.store)); n != 1 {
		t.Fatalf("suspensions = %d, want 1", n)
	}
	if n := len(eventsOf[domain.AcceptanceRecorded](f.store)); n != 2 || acc.Existing {
		t.Fatalf("AcceptanceRecorded events = %d, want 2", n)
	}
}

func TestVerificationBeforeRegistration(t *testing.T) {
	f := newFixture(t)
	f.decide("P1", "D1", "approved") // the verification stream was faster
	f.register("P1", "indirect_reseller")
	acc := f.mustAccept(admin("P1"), "P1", resellerV1)
	if acc.Acceptance.VerificationDecisionID != "D1" {
		t.Fatalf("record = %+v", acc.Acceptance)
	}
}

func TestNetworkAffirmationUsesTheVersionInEffect(t *testing.T) {
	f := newFixture(t)
	later := func(id string, eff time.Time) {
		d := draft(id, domain.PolicyAutoEffective, eff, 0)
		d.Program = "partner_network"
		if _, err := f.app.PublishVersion.Handle(ctx, operator, PublishVersionCommand{Draft: d}); err != nil {
			t.Fatal(err)
		}
	}
	later("network-2026", start.Add(24*time.Hour)) // published but not yet effective
	res := f.register("P1")
	a := res.Network.Acceptance
	if a.VersionID != "partner_network-2025-01" || a.Program != domain.ProgramPartnerNetwork || a.Channel != domain.ChannelRegistration {
		t.Fatalf("network acceptance = %+v", a)
	}
	if a.Acceptor.UserID != "applicant-P1" || a.Acceptor.Role != NetworkAcceptorRole || !a.AcceptedAt.Equal(start.Add(-time.Minute)) ||
		a.ClientIP != "198.51.100.7" || a.VerificationDecisionID != "" {
		t.Fatalf("network evidence = %+v", a)
	}

	// Named version wins over the computed one.
	_, err := f.app.ApplyPartnerRegistered.Handle(ctx, ApplyPartnerRegisteredCommand{Registration: domain.Registration{
		PartnerID: "P2", LocationID: "L-P2", Market: "JP", RegisteredAt: start,
		Affirmation: &domain.NetworkAffirmation{UserID: "u2", At: start, VersionID: resellerV1},
	}})
	wantCode(t, err, apperr.KindInvalid, "agreements.version_program_mismatch")

	// A named network version is taken even before it is in effect.
	res, err = f.app.ApplyPartnerRegistered.Handle(ctx, ApplyPartnerRegisteredCommand{Registration: domain.Registration{
		PartnerID: "P4", LocationID: "L-P4", Market: "JP", RegisteredAt: start,
		Affirmation: &domain.NetworkAffirmation{UserID: "u4", At: start, VersionID: "network-2026"},
	}})
	if err != nil || res.Network == nil || res.Network.Acceptance.VersionID != "network-2026" {
		t.Fatalf("named network version: %+v (%v)", res.Network, err)
	}

	// A version nobody published.
	_, err = f.app.ApplyPartnerRegistered.Handle(ctx, ApplyPartnerRegisteredCommand{Registration: domain.Registration{
		PartnerID: "P5", LocationID: "L-P5", Market: "JP", RegisteredAt: start,
		Affirmation: &domain.NetworkAffirmation{UserID: "u5", At: start, VersionID: "partner_network-1999"},
	}})
	wantCode(t, err, apperr.KindNotFound, "agreements.unknown_version")

	// No version in effect in the market at that time.
	_, err = f.app.ApplyPartnerRegistered.Handle(ctx, ApplyPartnerRegisteredCommand{Registration: domain.Registration{
		PartnerID: "P3", LocationID: "L-P3", Market: "JP", RegisteredAt: start,
		Affirmation: &domain.NetworkAffirmation{UserID: "u3", At: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
	}})
	wantCode(t, err, apperr.KindConflict, "agreements.no_version_in_effect")
}

func TestApplyPartnerRegisteredRefusesMarketChange(t *testing.T) {
	f := newFixture(t)
	f.register("P1")
	_, err := f.app.ApplyPartnerRegistered.Handle(ctx, ApplyPartnerRegisteredCommand{Registration: domain.Registration{
		PartnerID: "P1", LocationID: "L-P1", Market: "US", RegisteredAt: start,
	}})
	wantCode(t, err, apperr.KindConflict, "agreements.market_immutable")
	_, err = f.app.ApplyPartnerRegistered.Handle(ctx, ApplyPartnerRegisteredCommand{Registration: domain.Registration{LocationID: "L", Market: "JP"}})
	wantCode(t, err, apperr.KindInvalid, "agreements.invalid_partner_id")
}
