package domain_test

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// TestProfileChangeBackToAProvenAddressProvesItAgain: a profile change
// back to an address confirmed before opens a new challenge for it (the
// registration's replay guard would not); one still pending for the address
// makes it moot, and a replayed change opens nothing.
func TestProfileChangeBackToAProvenAddressProvesItAgain(t *testing.T) {
	o, s, h := opened(t)
	p := domain.DefaultPolicy()
	if err := o.ConfirmByToken(domain.HashToken(s.Token), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	is, _ := issue(t, h, "ch-2")
	if ok, err := o.OpenFor(domain.ReasonRegistration, rcpt, "evt-2", is, p, t0.Add(time.Hour)); ok || err != nil {
		t.Fatalf("a registration event for a proven address: %v %v", ok, err)
	}
	if ok, err := o.OpenFor(domain.ReasonProfileChange, rcpt, "evt-3", is, p, t0.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("a profile change back to the address: %v %v", ok, err)
	}
	if got := names(o.PullEvents()); len(got) != 2 || got[0] != "challenge.opened" {
		t.Fatalf("events %v", got)
	}
	is3, _ := issue(t, h, "ch-3")
	for _, cause := range []string{"evt-3", "evt-4"} { // replay; another change while the challenge is open
		if ok, err := o.OpenFor(domain.ReasonProfileChange, rcpt, cause, is3, p, t0.Add(2*time.Hour)); ok || err != nil {
			t.Fatalf("%s: %v %v", cause, ok, err)
		}
	}
	if n := len(o.Challenges()); n != 2 {
		t.Fatalf("%d challenges", n)
	}
}
