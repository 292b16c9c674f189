package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// TestDisputeUpheldRemovesTheAddress: an upheld dispute removes the address:
// no confirmation, no resend (nor one before the decision).
func TestDisputeUpheldRemovesTheAddress(t *testing.T) {
	o, s, h := opened(t)
	tok := domain.HashToken(s.Token)
	if err := o.Dispute(tok, t0); err != nil {
		t.Fatal(err)
	}
	is, _ := issue(t, h, "ch-2")
	if err := o.Resend(is, domain.DefaultPolicy(), t0.Add(time.Minute)); !errors.Is(err, domain.ErrDisputeOpen) {
		t.Fatalf("resend while the report is open: %v", err)
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
	if err := o.ConfirmByCode(s.Code, h, domain.DefaultPolicy(), t0.Add(2*time.Hour)); !errors.Is(err, domain.ErrAddressRemoved) {
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

// TestAnUpheldDisputeIsCarriedToTheAddress: another enrollment's upheld
// dispute removes the address here too — a pending challenge, or one with
// its own open dispute (closed by the decision) — and says so once; a
// confirmation made before, or another address, is left alone.
func TestAnUpheldDisputeIsCarriedToTheAddress(t *testing.T) {
	addr, err := domain.NormalizeAddress(rcpt.Address)
	if err != nil {
		t.Fatal(err)
	}
	d := domain.DisputeDecision{ChallengeID: "elsewhere", ReviewID: "vr-1", Upheld: true}
	at := t0.Add(time.Hour)

	o, s, h := opened(t)
	o.PullEvents()
	if o.RemoveAddress("someone.else@example.co.jp", d, at) {
		t.Fatal("another address removed")
	}
	if !o.RemoveAddress(addr, d, at) {
		t.Fatal("pending challenge to the address not removed")
	}
	evs := o.PullEvents()
	if got := strings.Join(names(evs), ","); got != "dispute.upheld" {
		t.Fatalf("events %q", got)
	}
	if up := evs[0].(domain.DisputeUpheld); up.ChallengeID != "ch-1" || up.ReviewID != "vr-1" || up.Address != addr {
		t.Fatalf("upheld %+v", up)
	}
	if review, ok := o.Removal(addr); !ok || review != "vr-1" {
		t.Fatalf("removal %q %v", review, ok)
	}
	if err := o.ConfirmByToken(domain.HashToken(s.Token), at); !errors.Is(err, domain.ErrAddressRemoved) {
		t.Fatalf("confirm after removal: %v", err)
	}
	is, _ := issue(t, h, "ch-2")
	if err := o.Resend(is, domain.DefaultPolicy(), at); !errors.Is(err, domain.ErrAddressRemoved) {
		t.Fatalf("resend after removal: %v", err)
	}
	if o.RemoveAddress(addr, d, at.Add(time.Minute)) || len(o.PullEvents()) != 0 {
		t.Fatal("removed twice")
	}

	// Its own report is closed by the other's decision.
	o, s, _ = opened(t)
	if err := o.Dispute(domain.HashToken(s.Token), t0); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	if !o.RemoveAddress(addr, d, at) {
		t.Fatal("disputed challenge not removed")
	}
	if _, open := o.DisputeOpen(); open {
		t.Fatal("its dispute is still open")
	}
	if evs := o.PullEvents(); len(evs) != 1 || evs[0].(domain.DisputeUpheld).ChallengeID != "ch-1" {
		t.Fatalf("events %v", names(evs))
	}
	// A late decision of its own review changes nothing.
	if o.ApplyDisputeDecision(domain.DisputeDecision{ChallengeID: "ch-1", ReviewID: "vr-2"}, at.Add(time.Minute)) {
		t.Fatal("the second review's dismissal applied after the first's removal")
	}

	// Confirmed before the decision: left as it is.
	o, s, _ = opened(t)
	if err := o.ConfirmByToken(domain.HashToken(s.Token), t0); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	if o.RemoveAddress(addr, d, at) || len(o.PullEvents()) != 0 {
		t.Fatal("a confirmed challenge was removed")
	}
	if c, _ := o.Current(); c.State != domain.StateConfirmed {
		t.Fatalf("state %s", c.State)
	}
}

// TestADismissedDisputeIsCarriedToReportsMadeBefore: another enrollment's
// dismissal dismisses this enrollment's report of the same address when it
// was made by the time the verifier decided; a later report stays open.
func TestADismissedDisputeIsCarriedToReportsMadeBefore(t *testing.T) {
	addr, err := domain.NormalizeAddress(rcpt.Address)
	if err != nil {
		t.Fatal(err)
	}
	d := domain.DisputeDecision{ChallengeID: "elsewhere", ReviewID: "vr-1", Reason: "address_belongs_to_contact", DecidedAt: t0.Add(time.Hour)}

	o, s, _ := opened(t)
	if o.DismissDisputeOf(addr, d, t0.Add(time.Hour)) {
		t.Fatal("dismissed without a dispute")
	}
	if err := o.Dispute(domain.HashToken(s.Token), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	if o.DismissDisputeOf(addr, d, t0.Add(3*time.Hour)) {
		t.Fatal("a report made after the decision was dismissed by it")
	}

	o, s, _ = opened(t)
	if err := o.Dispute(domain.HashToken(s.Token), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	if o.DismissDisputeOf("someone.else@example.co.jp", d, t0.Add(3*time.Hour)) {
		t.Fatal("another address's decision dismissed the report")
	}
	if !o.DismissDisputeOf(addr, d, t0.Add(3*time.Hour)) {
		t.Fatal("report made before the decision not dismissed")
	}
	evs := o.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events %v", names(evs))
	}
	if dis := evs[0].(domain.DisputeDismissed); dis.ChallengeID != "ch-1" || dis.ReviewID != "vr-1" || dis.Reason != "address_belongs_to_contact" {
		t.Fatalf("dismissed %+v", dis)
	}
	if err := o.ConfirmByToken(domain.HashToken(s.Token), t0.Add(4*time.Hour)); err != nil {
		t.Fatalf("confirm after the dismissal: %v", err)
	}
}

// TestAnEnrollmentAddedOnARemovedAddressMailsNothing: a later enrollment
// whose contact address an upheld dispute removed from the partner opens no
// challenge to it — no mail, no link — and says why (DisputeUpheld); a
// replay changes nothing, a resend is refused.
func TestAnEnrollmentAddedOnARemovedAddressMailsNothing(t *testing.T) {
	h := hasher(t)
	o := newOwnership(t)
	is, _ := issue(t, h, "ch-1")
	ok, err := o.OpenRemoved(rcpt, "evt-added", "vr-1", is, t0)
	if err != nil || !ok {
		t.Fatalf("open removed: %v %v", ok, err)
	}
	evs := o.PullEvents()
	if got := strings.Join(names(evs), ","); got != "dispute.upheld" {
		t.Fatalf("events %q (no challenge opened, no mail requested)", got)
	}
	if up := evs[0].(domain.DisputeUpheld); up.ChallengeID != "ch-1" || up.ReviewID != "vr-1" {
		t.Fatalf("upheld %+v", up)
	}
	if c, _ := o.Current(); c.State != domain.StateRemoved {
		t.Fatalf("state %s", c.State)
	}
	if _, due := o.NextDeadline(); due {
		t.Fatal("a removed record has a deadline")
	}
	is2, _ := issue(t, h, "ch-2")
	if ok, err := o.OpenRemoved(rcpt, "evt-added", "vr-1", is2, t0); ok || err != nil {
		t.Fatalf("replay: %v %v", ok, err)
	}
	if ok, err := o.Open(rcpt, "evt-other", is2, domain.DefaultPolicy(), t0); ok || err != nil {
		t.Fatalf("a registration's open after the removal: %v %v", ok, err)
	}
	if err := o.Resend(is2, domain.DefaultPolicy(), t0); !errors.Is(err, domain.ErrAddressRemoved) {
		t.Fatalf("resend: %v", err)
	}
}
