package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// TestDisputeUpheldRemovesTheAddress: an upheld dispute removes the address
// (also from a resent challenge to it): no confirmation, no resend.
func TestDisputeUpheldRemovesTheAddress(t *testing.T) {
	o, s, h := opened(t)
	tok := domain.HashToken(s.Token)
	if err := o.Dispute(tok, t0); err != nil {
		t.Fatal(err)
	}
	is, s2 := issue(t, h, "ch-2")
	if err := o.Resend(is, domain.DefaultPolicy(), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	if o.ApplyDisputeDecision(domain.DisputeDecision{ChallengeID: "ch-2", ReviewID: "vr-1", Upheld: true}, t0.Add(time.Hour)) {
		t.Fatal("a decision on another challenge than the disputed one applied")
	}
	if !o.ApplyDisputeDecision(domain.DisputeDecision{ChallengeID: "ch-1", ReviewID: "vr-1", Upheld: true}, t0.Add(time.Hour)) {
		t.Fatal("upheld decision not applied")
	}
	if got := strings.Join(names(o.PullEvents()), ","); got != "dispute.upheld" {
		t.Fatalf("events %q", got)
	}
	if _, open := o.DisputeOpen(); open {
		t.Fatal("dispute still open")
	}
	for _, c := range o.Challenges() {
		if c.State != domain.StateRemoved {
			t.Errorf("challenge %s is %s, want removed", c.ID, c.State)
		}
	}
	if err := o.ConfirmByCode(s2.Code, h, domain.DefaultPolicy(), t0.Add(2*time.Hour)); !errors.Is(err, domain.ErrAddressRemoved) {
		t.Fatalf("confirm after removal: %v", err)
	}
	is3, _ := issue(t, h, "ch-3")
	if err := o.Resend(is3, domain.DefaultPolicy(), t0.Add(2*time.Hour)); !errors.Is(err, domain.ErrAddressRemoved) {
		t.Fatalf("resend after removal: %v", err)
	}
	if o.ApplyDisputeDecision(domain.DisputeDecision{ChallengeID: "ch-1", ReviewID: "vr-1", Upheld: true}, t0.Add(3*time.Hour)) {
		t.Fatal("replayed decision applied twice")
	}
}

// TestDisputeDismissedLetsTheChallengeContinue: a dismissed dispute makes
// the challenge confirmable again, without a withdrawal.
func TestDisputeDismissedLetsTheChallengeContinue(t *testing.T) {
	o, s, _ := opened(t)
	tok := domain.HashToken(s.Token)
	if err := o.Dispute(tok, t0); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	if !o.ApplyDisputeDecision(domain.DisputeDecision{ChallengeID: "ch-1", ReviewID: "vr-1", Reason: "insufficient_evidence"}, t0.Add(time.Hour)) {
		t.Fatal("dismissal not applied")
	}
	if got := strings.Join(names(o.PullEvents()), ","); got != "dispute.dismissed" {
		t.Fatalf("events %q", got)
	}
	if err := o.ConfirmByToken(tok, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(o.PullEvents()), ","); got != "ownership.confirmed" {
		t.Fatalf("events after confirmation %q (no withdrawal expected)", got)
	}
}
