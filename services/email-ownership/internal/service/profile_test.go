package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestProfileChangeOpensAChallengeForTheNewAddress: a profile change that
// re-opens email_ownership mails the new address on the membership
// enrollment (reason profile_change), and confirming it publishes
// ownership.confirmed with the new address; a change that re-opens nothing
// opens nothing.
func TestProfileChangeOpensAChallengeForTheNewAddress(t *testing.T) {
	h := start(t)
	partner := newPartner()
	sub := h.submit(partner, "taro@yamada.example.co.jp")
	net := sub.Enrollments[0].EnrollmentID
	first := h.mailFor(net, 1)[0]
	if code, body, _ := h.confirm(h.secret(first).Token); code != 200 {
		t.Fatalf("confirm: %d %s", code, body)
	}
	h.waitEvents(emailv1.TypeOwnershipConfirmed, 1, forEnrollment(net))

	change := func(n int, email string, reopens ...string) registrationv1.ProfileChangeRequested {
		return profileChange(sub, n, 0, email, reopens...)
	}
	publish(t, h.js, registrationv1.TypeProfileChangeRequested, "", partner, change(1, "ignored@yamada.example.co.jp"))
	publish(t, h.js, registrationv1.TypeProfileChangeRequested, "", partner, change(2, "hanako@yamada.example.co.jp", registrationv1.RecheckEmailOwnership))

	mails := h.mailFor(net, 2)
	m := mails[1]
	if m.Recipient != "hanako@yamada.example.co.jp" || m.ContactName != "山田 花子" {
		t.Fatalf("mail %+v", m)
	}
	opened := h.waitEvents(emailv1.TypeChallengeOpened, 2, forEnrollment(net))
	var o emailv1.ChallengeOpened
	if err := json.Unmarshal(opened[1].Data, &o); err != nil {
		t.Fatal(err)
	}
	if o.Reason != emailv1.ReasonProfileChange || o.ChallengeID != m.ChallengeID {
		t.Fatalf("opened %+v", o)
	}
	// The status says whose challenge this is and that the enrollment stays
	// confirmed on the verified address meanwhile (since round 43; before,
	// an upstream system read "pending", later "removed" or "withdrawn",
	// on an active enrollment).
	st := h.status(net, partner)
	standing, _ := st["standing_confirmation"].(map[string]any)
	if st["state"] != "pending" || st["address"] != "hanako@yamada.example.co.jp" || st["profile_change"] != float64(2) ||
		standing["address"] != "taro@yamada.example.co.jp" || standing["confirmed_at"] == nil {
		t.Fatalf("status while the new address is pending: %v", st)
	}
	if code, body, _ := h.confirm(h.secret(m).Token); code != 200 {
		t.Fatalf("confirm the new address: %d %s", code, body)
	}
	if st := h.status(net, partner); st["state"] != "confirmed" || st["standing_confirmation"] != nil || st["profile_change"] != float64(2) {
		t.Fatalf("status once the new address confirmed: %v", st)
	}
	if st := h.status(sub.Enrollments[1].EnrollmentID, partner); st["profile_change"] != nil || st["standing_confirmation"] != nil {
		t.Fatalf("the reseller enrollment's status: %v", st)
	}
	confirmed := h.waitEvents(emailv1.TypeOwnershipConfirmed, 2, forEnrollment(net))
	var c emailv1.OwnershipConfirmed
	if err := json.Unmarshal(confirmed[1].Data, &c); err != nil {
		t.Fatal(err)
	}
	if c.Address != "hanako@yamada.example.co.jp" {
		t.Fatalf("confirmed %+v", c)
	}
	// Nothing else was mailed: the change that re-opened nothing opened nothing.
	if got := streamMsgs(t, h.js, "EMAIL", emailv1.TypeVerificationMailRequested); len(got) != 3 {
		t.Fatalf("%d mail requests, want 3 (two for the registration, one for the new address)", len(got))
	}
}

// profileChange is registration's request of change n (replacing change
// supersedes when not 0) giving the contact of sub the address email;
// without reopens it is applied at once.
func profileChange(sub registrationv1.ApplicationSubmitted, n, supersedes int, email string, reopens ...string) registrationv1.ProfileChangeRequested {
	c := registrationv1.ProfileChangeRequested{
		PartnerID: sub.PartnerID, ChangeNumber: n, Supersedes: supersedes, Market: "JP", Language: "ja", Status: "pending_verification",
		Changes: []registrationv1.FieldChange{{Field: "contact.email", From: sub.Contact.Email, To: email}},
		Reopens: reopens, ContactEnrollmentID: sub.Enrollments[0].EnrollmentID, Contact: sub.Contact, LegalName: sub.LegalName,
		Address: sub.Address, RequestedBy: "admin-1", RequestedAt: time.Now().UTC(),
	}
	c.Contact.Email, c.Contact.FirstName = email, "花子"
	if len(reopens) == 0 {
		c.Reopens, c.Status = []string{}, "applied"
	}
	return c
}

// TestAReplacedOrRejectedChangeWithdrawsItsChallenge: the challenge of a
// profile change's new address ends with the change. A newer change to the
// same address keeps it (no second mail); a newer change that re-opens
// nothing, or a rejection, withdraws it (challenge.withdrawn, once): its
// link and code answer 409 challenge_withdrawn, a resend mails nothing, and the
// address it was for is never confirmed here, since registration will not
// make it the contact.
func TestAReplacedOrRejectedChangeWithdrawsItsChallenge(t *testing.T) {
	h := start(t)
	partner := newPartner()
	sub := h.submit(partner, "taro@yamada.example.co.jp")
	net := sub.Enrollments[0].EnrollmentID
	if code, body, _ := h.confirm(h.secret(h.mailFor(net, 1)[0]).Token); code != 200 {
		t.Fatalf("confirm: %d %s", code, body)
	}
	h.waitEvents(emailv1.TypeOwnershipConfirmed, 1, forEnrollment(net))
	mine := h.token(partnerUser(partner))

	publish(t, h.js, registrationv1.TypeProfileChangeRequested, "", partner, profileChange(sub, 1, 0, "hanako@yamada.example.co.jp", registrationv1.RecheckEmailOwnership))
	toHanako := h.mailFor(net, 2)[1]
	// Change 2 gives the same new address: change 1's challenge now proves it.
	publish(t, h.js, registrationv1.TypeProfileChangeRequested, "", partner, profileChange(sub, 2, 1, "hanako@yamada.example.co.jp", registrationv1.RecheckEmailOwnership))
	// Change 3 re-opens nothing (the address back to the verified one): change 2 will never apply.
	replaced := profileChange(sub, 3, 2, "taro@yamada.example.co.jp")
	replacedID := publish(t, h.js, registrationv1.TypeProfileChangeRequested, "", partner, replaced)
	withdrawn := h.waitEvents(emailv1.TypeChallengeWithdrawn, 1, forEnrollment(net))
	var w emailv1.ChallengeWithdrawn
	if err := json.Unmarshal(withdrawn[0].Data, &w); err != nil {
		t.Fatal(err)
	}
	if w.ChallengeID != toHanako.ChallengeID || w.ProfileChange != 2 || w.Cause != emailv1.WithdrawnSuperseded || w.PartnerID != partner {
		t.Fatalf("withdrawn %+v, want change 2's challenge %s superseded", w, toHanako.ChallengeID)
	}
	if n := len(h.mailFor(net, 2)); n != 2 {
		t.Fatalf("%d mails", n)
	}
	if code, body, _ := h.confirm(h.secret(toHanako).Token); code != 409 || !strings.Contains(body, "This confirmation was withdrawn") {
		t.Fatalf("the withdrawn link: %d %s", code, body)
	}
	code, body, _ := h.do("POST", "/v1/enrollments/"+net+"/confirm-code", mine, map[string]string{"code": h.secret(toHanako).Code})
	if code != 409 || !strings.Contains(body, "emailownership.challenge_withdrawn") {
		t.Fatalf("the withdrawn code: %d %s", code, body)
	}
	// A resend answers as for a confirmed address (202, nothing mailed: see below).
	if code, body, _ := h.do("POST", "/v1/resend", mine, map[string]string{"enrollment_id": net}); code != 202 {
		t.Fatalf("resend: %d %s", code, body)
	}
	if st := h.status(net, partner); st["state"] != "withdrawn" {
		t.Fatalf("status %v", st)
	}

	// Change 4 gives another address; a failed check rejects it.
	publish(t, h.js, registrationv1.TypeProfileChangeRequested, "", partner, profileChange(sub, 4, 0, "jiro@yamada.example.co.jp", registrationv1.RecheckEmailOwnership, registrationv1.RecheckCompany))
	toJiro := h.mailFor(net, 3)[2]
	rejected := registrationv1.ProfileChangeRejected{PartnerID: partner, ChangeNumber: 4, Market: "JP", Check: "company",
		Reason: "the register names another company", RejectedBy: "v-1", RejectedAt: time.Now().UTC()}
	rejectedID := publish(t, h.js, registrationv1.TypeProfileChangeRejected, "", partner, rejected)
	withdrawn = h.waitEvents(emailv1.TypeChallengeWithdrawn, 2, forEnrollment(net))
	if err := json.Unmarshal(withdrawn[1].Data, &w); err != nil {
		t.Fatal(err)
	}
	if w.ChallengeID != toJiro.ChallengeID || w.ProfileChange != 4 || w.Cause != emailv1.WithdrawnRejected {
		t.Fatalf("withdrawn %+v, want change 4's challenge %s rejected", w, toJiro.ChallengeID)
	}
	if code, body, _ := h.confirm(h.secret(toJiro).Token); code != 409 {
		t.Fatalf("the rejected change's link: %d %s", code, body)
	}

	// Change 5's rejection heard before its request (two consumers): the request opens nothing.
	publish(t, h.js, registrationv1.TypeProfileChangeRejected, "", partner, registrationv1.ProfileChangeRejected{
		PartnerID: partner, ChangeNumber: 5, Market: "JP", Check: "company", Reason: "no", RejectedBy: "v-1", RejectedAt: time.Now().UTC()})
	testkit.Eventually(t, 10*time.Second, func() error {
		var changed struct {
			ChangesClosed int `json:"profile_changes_closed"`
		}
		var doc []byte
		if err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT snapshot FROM email_ownership.ownerships WHERE enrollment_id = $1`, net).Scan(&doc); err != nil {
			return err
		}
		if err := json.Unmarshal(doc, &changed); err != nil || changed.ChangesClosed != 5 {
			return fmt.Errorf("changes closed %d %v", changed.ChangesClosed, err)
		}
		return nil
	})
	publish(t, h.js, registrationv1.TypeProfileChangeRequested, "", partner, profileChange(sub, 5, 0, "saburo@yamada.example.co.jp", registrationv1.RecheckEmailOwnership, registrationv1.RecheckCompany))
	// Change 6 after it is mailed as ever.
	publish(t, h.js, registrationv1.TypeProfileChangeRequested, "", partner, profileChange(sub, 6, 0, "shiro@yamada.example.co.jp", registrationv1.RecheckEmailOwnership))
	if m := h.mailFor(net, 4)[3]; m.Recipient != "shiro@yamada.example.co.jp" {
		t.Fatalf("mail to %s, want change 6's address alone", m.Recipient)
	}

	// Replays withdraw nothing twice; nothing but the registration's address was ever confirmed.
	publish(t, h.js, registrationv1.TypeProfileChangeRejected, rejectedID, partner, rejected)
	publish(t, h.js, registrationv1.TypeProfileChangeRequested, replacedID, partner, replaced)
	publish(t, h.js, registrationv1.TypeProfileChangeRejected, "", partner, rejected)
	time.Sleep(300 * time.Millisecond)
	h.waitEvents(emailv1.TypeChallengeWithdrawn, 2, forEnrollment(net))
	h.waitEvents(emailv1.TypeOwnershipConfirmed, 1, forEnrollment(net))
}
