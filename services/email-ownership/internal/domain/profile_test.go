package domain_test

import (
	"errors"
	"strings"
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

// TestAWithdrawnChangeIsNotReinstated: a profile change's challenge
// cancelled by a hold and then withdrawn (its change replaced meanwhile) is
// not restored when the partner is active again, and its resend and code
// stay refused; the registration's challenge is never withdrawn.
func TestAWithdrawnChangeIsNotReinstated(t *testing.T) {
	o, s, h := opened(t)
	p := domain.DefaultPolicy()
	if err := o.ConfirmByToken(domain.HashToken(s.Token), t0); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	if !o.WithdrawProfileChange(9, domain.WithdrawnSuperseded, t0) || len(o.PullEvents()) != 0 {
		t.Fatal("closing changes up to 9 is a change; the registration's confirmed challenge is not withdrawn")
	}
	is, s2 := issue(t, h, "ch-2")
	if ok, err := o.OpenForProfileChange(9, domain.Recipient{Address: "hanako@example.co.jp", Language: domain.LanguageJA, Market: "JP"}, "evt-9", is, p, t0); ok || err != nil {
		t.Fatalf("a closed change opened a challenge: %v %v", ok, err)
	}
	if ok, err := o.OpenForProfileChange(10, domain.Recipient{Address: "hanako@example.co.jp", Language: domain.LanguageJA, Market: "JP"}, "evt-10", is, p, t0); !ok || err != nil {
		t.Fatalf("change 10: %v %v", ok, err)
	}
	if !o.HoldFor("suspended", t0.Add(time.Minute), t0.Add(time.Minute)) {
		t.Fatal("hold")
	}
	o.PullEvents()
	if !o.WithdrawProfileChange(10, domain.WithdrawnRejected, t0.Add(2*time.Minute)) {
		t.Fatal("the cancelled challenge of change 10 was not withdrawn")
	}
	if got := strings.Join(names(o.PullEvents()), ","); got != "challenge.withdrawn" {
		t.Fatalf("events %q", got)
	}
	is3, _ := issue(t, h, "ch-3")
	if again, err := o.Release(is3, p, t0.Add(3*time.Minute), t0.Add(3*time.Minute)); again || err != nil {
		t.Fatalf("release re-opened a withdrawn change's challenge: %v %v", again, err)
	}
	if err := o.Resend(is3, p, t0.Add(4*time.Minute)); !errors.Is(err, domain.ErrWithdrawn) {
		t.Fatalf("resend: %v", err)
	}
	if err := o.ConfirmByCode(s2.Code, h, p, t0.Add(4*time.Minute)); !errors.Is(err, domain.ErrWithdrawn) {
		t.Fatalf("code: %v", err)
	}
	if o.WithdrawProfileChange(10, domain.WithdrawnRejected, t0.Add(5*time.Minute)) {
		t.Fatal("a replayed withdrawal changed something")
	}
}

// TestAReportedProfileChangeMailNamesItsChange: the report of a profile
// change's confirmation mail says which change it is of (the verifier's
// stakes: upheld, that change is rejected); a registration's mail names
// none.
func TestAReportedProfileChangeMailNamesItsChange(t *testing.T) {
	o, s, h := opened(t)
	p := domain.DefaultPolicy()
	if err := o.ConfirmByToken(domain.HashToken(s.Token), t0); err != nil {
		t.Fatal(err)
	}
	o.PullEvents()
	is, s2 := issue(t, h, "ch-2")
	if ok, err := o.OpenForProfileChange(7, domain.Recipient{Address: "jiro@example.co.jp", Language: domain.LanguageJA, Market: "JP"}, "evt-7", is, p, t0); !ok || err != nil {
		t.Fatalf("profile change challenge: %v %v", ok, err)
	}
	// Its mail request names the change, and so does a resend's (the
	// notifier says which company named the address).
	mailOf := func(evs []domain.Event) (domain.VerificationMailRequested, bool) {
		for _, e := range evs {
			if m, ok := e.(domain.VerificationMailRequested); ok {
				return m, true
			}
		}
		return domain.VerificationMailRequested{}, false
	}
	if m, ok := mailOf(o.PullEvents()); !ok || m.ProfileChange != 7 || m.Reason != domain.ReasonProfileChange {
		t.Fatalf("the change's mail request %+v", m)
	}
	is3, s3 := issue(t, h, "ch-3")
	if err := o.Resend(is3, p, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m, ok := mailOf(o.PullEvents()); !ok || m.ProfileChange != 7 || m.Reason != domain.ReasonResend {
		t.Fatalf("the resend's mail request %+v", m)
	}
	s2 = s3
	if err := o.Dispute(domain.HashToken(s2.Token), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var got []domain.ChallengeDisputed
	for _, e := range o.PullEvents() {
		if d, ok := e.(domain.ChallengeDisputed); ok {
			got = append(got, d)
		}
	}
	if len(got) != 1 || got[0].ProfileChange != 7 || got[0].Address != "jiro@example.co.jp" {
		t.Fatalf("disputed %+v", got)
	}

	r, rs, _ := opened(t)
	if err := r.Dispute(domain.HashToken(rs.Token), t0); err != nil {
		t.Fatal(err)
	}
	for _, e := range r.PullEvents() {
		if d, ok := e.(domain.ChallengeDisputed); ok && d.ProfileChange != 0 {
			t.Fatalf("a registration's mail names a profile change: %+v", d)
		}
	}
}
