package service_test

import (
	"encoding/json"
	"testing"
	"time"

	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
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
		c := registrationv1.ProfileChangeRequested{
			PartnerID: partner, ChangeNumber: n, Market: "JP", Language: "ja", Status: "pending_verification",
			Changes: []registrationv1.FieldChange{{Field: "contact.email", From: "taro@yamada.example.co.jp", To: email}},
			Reopens: reopens, ContactEnrollmentID: net, Contact: sub.Contact, LegalName: sub.LegalName, Address: sub.Address,
			RequestedBy: "admin-1", RequestedAt: time.Now().UTC(),
		}
		c.Contact.Email, c.Contact.FirstName = email, "花子"
		if len(reopens) == 0 {
			c.Reopens, c.Status = []string{}, "applied"
		}
		return c
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
	if code, body, _ := h.confirm(h.secret(m).Token); code != 200 {
		t.Fatalf("confirm the new address: %d %s", code, body)
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
