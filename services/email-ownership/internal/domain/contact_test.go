package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

var newContact = domain.Recipient{Address: "jiro@example.co.jp", ContactName: "Jiro", Language: domain.LanguageJA, Market: "JP"}

// TestAnUnconfirmedEnrollmentFollowsTheNewContact: after the contact
// address changed, an enrollment still waiting for its confirmation gets a
// challenge and mail to the new address; the previous address's link no
// longer confirms. A replay, an enrollment that confirmed, or one already
// on the new address changes nothing.
func TestAnUnconfirmedEnrollmentFollowsTheNewContact(t *testing.T) {
	o, s, h := opened(t)
	o.PullEvents()
	is, s2 := issue(t, h, "ch-2")
	at := t0.Add(time.Hour)
	if ok, err := o.FollowContact(2, true, newContact, "evt-applied", is, domain.DefaultPolicy(), at); !ok || err != nil {
		t.Fatalf("follow: %v %v", ok, err)
	}
	evs := o.PullEvents()
	if got := strings.Join(names(evs), ","); got != "challenge.opened,verification_mail.requested" {
		t.Fatalf("events %q", got)
	}
	if m := evs[1].(domain.VerificationMailRequested); m.Recipient != "jiro@example.co.jp" || m.Reason != domain.ReasonProfileChange {
		t.Fatalf("mail %+v", m)
	}
	if op := evs[0].(domain.ChallengeOpened); len(op.Supersedes) != 1 || op.Supersedes[0] != "ch-1" {
		t.Fatalf("opened %+v", op)
	}
	if err := o.ConfirmByToken(domain.HashToken(s.Token), at); !errors.Is(err, domain.ErrContactChanged) {
		t.Fatalf("the previous contact's link: %v", err)
	}
	if _, err := o.LinkTarget(domain.HashToken(s.Token), at); !errors.Is(err, domain.ErrContactChanged) {
		t.Fatalf("the previous contact's link page: %v", err)
	}
	if err := o.Dispute(domain.HashToken(s.Token), at); !errors.Is(err, domain.ErrContactChanged) {
		t.Fatalf("the previous contact's report: %v", err)
	}
	is3, _ := issue(t, h, "ch-3")
	if ok, _ := o.FollowContact(2, true, newContact, "evt-applied", is3, domain.DefaultPolicy(), at); ok {
		t.Fatal("a replay opened another challenge")
	}
	if ok, _ := o.FollowContact(2, true, newContact, "evt-applied-again", is3, domain.DefaultPolicy(), at); ok {
		t.Fatal("an enrollment already on the new address followed again")
	}
	if err := o.ConfirmByToken(domain.HashToken(s2.Token), at); err != nil {
		t.Fatalf("the new contact's link: %v", err)
	}
	if ok, _ := o.FollowContact(3, true, domain.Recipient{Address: "saburo@example.co.jp", Language: domain.LanguageJA}, "evt-next", is3, domain.DefaultPolicy(), at); ok {
		t.Fatal("a confirmed enrollment followed a later contact")
	}
}

// TestAFollowedContactWaitsForTheRelease: while the partner is held nothing
// is opened; the release restores the cancelled challenge to the new
// contact. An address an upheld dispute removed is followed too (the cure
// its requirements view names), and stays removed.
func TestAFollowedContactWaitsForTheRelease(t *testing.T) {
	o, _, h := opened(t)
	o.HoldFor("suspended", t0, t0)
	o.PullEvents()
	is, _ := issue(t, h, "ch-2")
	if ok, err := o.FollowContact(2, true, newContact, "evt-applied", is, domain.DefaultPolicy(), t0.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("follow while held: %v %v", ok, err)
	}
	if evs := o.PullEvents(); len(evs) != 0 {
		t.Fatalf("events while held: %v", names(evs))
	}
	is3, _ := issue(t, h, "ch-3")
	if ok, err := o.Release(is3, domain.DefaultPolicy(), t0.Add(time.Hour), t0.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("release: %v %v", ok, err)
	}
	evs := o.PullEvents()
	if m := evs[len(evs)-1].(domain.VerificationMailRequested); m.Recipient != "jiro@example.co.jp" {
		t.Fatalf("the restored challenge's mail goes to %s", m.Recipient)
	}

	o, s, _ := opened(t)
	if err := o.Dispute(domain.HashToken(s.Token), t0); err != nil {
		t.Fatal(err)
	}
	o.ApplyDisputeDecision(domain.DisputeDecision{ChallengeID: "ch-1", ReviewID: "vr-1", Upheld: true}, t0.Add(time.Minute))
	o.PullEvents()
	is, _ = issue(t, h, "ch-2")
	if ok, err := o.FollowContact(2, true, newContact, "evt-applied", is, domain.DefaultPolicy(), t0.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("follow after a removal: %v %v", ok, err)
	}
	chs := o.Challenges()
	if chs[0].State != domain.StateRemoved || chs[1].State != domain.StatePending || chs[1].Address != "jiro@example.co.jp" {
		t.Fatalf("challenges %+v", chs)
	}
}

// TestAFollowedContactsMailsNameTheChange: the mails to the contact an
// applied change named — the first, a resend, and the one a release
// restores — carry that change (the notifier says the company named the
// address); the registration's mail carries none.
func TestAFollowedContactsMailsNameTheChange(t *testing.T) {
	o, _, h := opened(t)
	evs := o.PullEvents()
	if m := evs[len(evs)-1].(domain.VerificationMailRequested); m.ContactChange != 0 {
		t.Fatalf("the registration's mail names change %d", m.ContactChange)
	}
	is, _ := issue(t, h, "ch-2")
	if ok, err := o.FollowContact(4, true, newContact, "evt-applied", is, domain.DefaultPolicy(), t0.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("follow: %v %v", ok, err)
	}
	lastMail := func(what string) domain.VerificationMailRequested {
		t.Helper()
		evs := o.PullEvents()
		m, ok := evs[len(evs)-1].(domain.VerificationMailRequested)
		if !ok {
			t.Fatalf("%s: no mail in %v", what, names(evs))
		}
		return m
	}
	if m := lastMail("follow"); m.ContactChange != 4 || m.ProfileChange != 0 {
		t.Fatalf("the followed contact's mail: contact change %d, profile change %d", m.ContactChange, m.ProfileChange)
	}
	is3, _ := issue(t, h, "ch-3")
	if err := o.Resend(is3, domain.DefaultPolicy(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if m := lastMail("resend"); m.ContactChange != 4 || m.Reason != domain.ReasonResend {
		t.Fatalf("the resend's mail: contact change %d, reason %s", m.ContactChange, m.Reason)
	}
	o.HoldFor("suspended", t0.Add(2*time.Hour), t0.Add(2*time.Hour))
	o.PullEvents()
	is4, _ := issue(t, h, "ch-4")
	if ok, err := o.Release(is4, domain.DefaultPolicy(), t0.Add(3*time.Hour), t0.Add(3*time.Hour)); !ok || err != nil {
		t.Fatalf("release: %v %v", ok, err)
	}
	if m := lastMail("release"); m.ContactChange != 4 || m.Reason != domain.ReasonReinstated {
		t.Fatalf("the restored mail: contact change %d, reason %s", m.ContactChange, m.Reason)
	}
	back := domain.RestoreOwnership(o.Snapshot())
	if back.Recipient().NamedBy != 4 {
		t.Fatalf("the snapshot lost the naming change: %+v", back.Recipient())
	}
}

// TestACorrectionOfAConfirmedContactAsksTheNewContact: registration applies
// a pending partner's contact correction at once while it knows of no
// confirmed address; when the membership's confirmation was on its way (the
// contact followed the link as the correction was made), the membership
// asks the new contact too, its earlier confirmation standing meanwhile. A
// change that proved its address, and an enrollment other than the
// membership, keep their confirmation.
func TestACorrectionOfAConfirmedContactAsksTheNewContact(t *testing.T) {
	confirmed := func(program string) (*domain.Ownership, domain.Hasher) {
		t.Helper()
		h := hasher(t)
		o, err := domain.NewOwnership(domain.EnrollmentRef{EnrollmentID: "enr-" + program, PartnerID: "p-1", Program: program})
		if err != nil {
			t.Fatal(err)
		}
		is, s := issue(t, h, "ch-1")
		if ok, err := o.Open(rcpt, "evt-1", is, domain.DefaultPolicy(), t0); !ok || err != nil {
			t.Fatalf("open: %v %v", ok, err)
		}
		if err := o.ConfirmByToken(domain.HashToken(s.Token), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		o.PullEvents()
		return o, h
	}
	at := t0.Add(time.Hour)

	o, h := confirmed(domain.ProgramMembership)
	is, s2 := issue(t, h, "ch-2")
	if ok, err := o.FollowContact(2, false, newContact, "evt-applied", is, domain.DefaultPolicy(), at); !ok || err != nil {
		t.Fatalf("follow an unproven correction: %v %v", ok, err)
	}
	evs := o.PullEvents()
	if got := strings.Join(names(evs), ","); got != "challenge.opened,verification_mail.requested" {
		t.Fatalf("events %q", got)
	}
	if m := evs[1].(domain.VerificationMailRequested); m.Recipient != "jiro@example.co.jp" || m.Reason != domain.ReasonProfileChange || m.ContactChange != 2 {
		t.Fatalf("mail %+v", m)
	}
	if st, ok := o.StandingConfirmation(); !ok || st.ID != "ch-1" {
		t.Fatalf("standing confirmation %+v %v", st, ok)
	}
	is3, _ := issue(t, h, "ch-3")
	if ok, _ := o.FollowContact(2, false, newContact, "evt-applied", is3, domain.DefaultPolicy(), at); ok {
		t.Fatal("a replay opened another challenge")
	}
	if err := o.ConfirmByToken(domain.HashToken(s2.Token), at); err != nil {
		t.Fatalf("the new contact's link: %v", err)
	}
	if cur, _ := o.Current(); cur.State != domain.StateConfirmed || cur.Address != "jiro@example.co.jp" {
		t.Fatalf("current %+v", cur)
	}

	o, h = confirmed(domain.ProgramMembership)
	is, _ = issue(t, h, "ch-2")
	if ok, _ := o.FollowContact(2, true, newContact, "evt-applied", is, domain.DefaultPolicy(), at); ok {
		t.Fatal("the membership followed a change that proved its address")
	}
	o, h = confirmed("indirect_reseller")
	is, _ = issue(t, h, "ch-2")
	if ok, _ := o.FollowContact(2, false, newContact, "evt-applied", is, domain.DefaultPolicy(), at); ok {
		t.Fatal("a confirmed reseller enrollment followed the correction")
	}
}
