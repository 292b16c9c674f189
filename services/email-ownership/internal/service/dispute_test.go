package service_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
)

// decide publishes verification's decision on the dispute of challenge.
func (h *harness) decide(typ, partner, enrollment, challenge, review string, decidedAt time.Time) {
	h.t.Helper()
	outcome, reason := "upheld", ""
	if typ == verificationv1.TypeEmailDisputeDismissed {
		outcome, reason = "dismissed", "address_belongs_to_contact"
	}
	publish(h.t, h.js, typ, "", partner, verificationv1.EmailDisputeDecided{ReviewID: review, DecisionID: "d-" + review,
		PartnerID: partner, EnrollmentID: enrollment, Program: registrationv1.ProgramPartnerNetwork, ChallengeID: challenge,
		Outcome: outcome, Reason: reason, DecidedBy: "ver-1", DecidedAt: decidedAt})
}

// disputeMail reports enrollment's confirmation mail as "this wasn't me"
// and returns its challenge id.
func (h *harness) disputeMail(enrollment string) string {
	h.t.Helper()
	m := h.mailFor(enrollment, 1)[0]
	if code, body, _ := h.do("POST", "/dispute", "", "token="+h.secret(m).Token); code != 200 {
		h.t.Fatalf("dispute of %s: %d %s", enrollment, code, body)
	}
	h.waitEvents(emailv1.TypeChallengeDisputed, 1, forEnrollment(enrollment))
	return m.ChallengeID
}

func decided(t *testing.T, msgs []*jetstream.RawStreamMsg) emailv1.DisputeDecided {
	t.Helper()
	var d emailv1.DisputeDecided
	if err := json.Unmarshal(msgs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAnUpheldDisputeRemovesTheAddressFromThePartner: each enrollment
// confirms the contact address with its own mail, so one person may report
// one of them. The verifier's upheld decision removes the address from
// every enrollment of the partner — the unreported one's link and code no
// longer confirm, and registration hears of each (email.dispute.upheld.v1)
// — and an enrollment added later on that address mails nothing.
func TestAnUpheldDisputeRemovesTheAddressFromThePartner(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net, res := p.Enrollments[0].EnrollmentID, p.Enrollments[1].EnrollmentID
	resMail := h.mailFor(res, 1)[0]
	challenge := h.disputeMail(net)

	h.decide(verificationv1.TypeEmailDisputeUpheld, partner, net, challenge, "vr-1", time.Now())
	if d := decided(t, h.waitEvents(emailv1.TypeDisputeUpheld, 1, forEnrollment(res))); d.ChallengeID != resMail.ChallengeID ||
		d.ReviewID != "vr-1" || d.Address != "taro@yamada.example.co.jp" {
		t.Fatalf("the unreported enrollment's removal: %+v", d)
	}
	h.waitEvents(emailv1.TypeDisputeUpheld, 1, forEnrollment(net))
	if st := h.status(res, partner); st["state"] != "removed" {
		t.Fatalf("the unreported enrollment: %v", st)
	}
	if code, _, _ := h.confirm(h.secret(resMail).Token); code != 410 {
		t.Fatalf("the unreported enrollment's link after the removal: %d", code)
	}

	added := enrollmentOf(partner, "P")
	publish(t, h.js, registrationv1.TypeEnrollmentAdded, "", partner, registrationv1.EnrollmentAdded{PartnerID: partner,
		EnrollmentID: added, Program: registrationv1.ProgramIndirectProvider, Status: registrationv1.StatusPendingVerification,
		Market: "JP", Language: "ja", LocationID: partner + "-L1", Contact: p.Contact, AddedBy: "upstream-portal", AddedAt: time.Now()})
	if d := decided(t, h.waitEvents(emailv1.TypeDisputeUpheld, 1, forEnrollment(added))); d.ReviewID != "vr-1" {
		t.Fatalf("the added enrollment's removal: %+v", d)
	}
	if st := h.status(added, partner); st["state"] != "removed" {
		t.Fatalf("the added enrollment: %v", st)
	}
	if n := len(h.waitEvents(emailv1.TypeVerificationMailRequested, 0, forEnrollment(added))); n != 0 {
		t.Fatalf("%d mails to the removed address", n)
	}
	if n := len(streamMsgs(t, h.js, "EMAIL", emailv1.TypeChallengeOpened)); n != 2 {
		t.Fatalf("%d challenges opened, want the registration's 2", n)
	}
}

// TestADismissedDisputeDismissesTheSameReportElsewhere: the person
// reported both enrollments' mails; the verifier dismisses one report (the
// address belongs to the contact) and the other is dismissed with it, so
// both links confirm again and the second review has nothing to decide.
func TestADismissedDisputeDismissesTheSameReportElsewhere(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net, res := p.Enrollments[0].EnrollmentID, p.Enrollments[1].EnrollmentID
	challenge := h.disputeMail(net)
	other := h.disputeMail(res)

	h.decide(verificationv1.TypeEmailDisputeDismissed, partner, net, challenge, "vr-1", time.Now())
	if d := decided(t, h.waitEvents(emailv1.TypeDisputeDismissed, 1, forEnrollment(res))); d.ChallengeID != other || d.ReviewID != "vr-1" {
		t.Fatalf("the other report's dismissal: %+v", d)
	}
	for _, e := range []string{net, res} {
		if st := h.status(e, partner); st["state"] != "pending" || st["dispute_open"] != false {
			t.Fatalf("%s after the dismissal: %v", e, st)
		}
	}
	// The second review's late decision changes nothing.
	h.decide(verificationv1.TypeEmailDisputeUpheld, partner, res, other, "vr-2", time.Now())
	time.Sleep(300 * time.Millisecond)
	if st := h.status(res, partner); st["state"] != "pending" {
		t.Fatalf("the second review's late decision applied: %v", st)
	}
	if n := len(streamMsgs(t, h.js, "EMAIL", emailv1.TypeDisputeUpheld)); n != 0 {
		t.Fatalf("%d removals after a dismissal", n)
	}
}
