package service_test

import (
	"testing"
	"time"

	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
)

// TestAContactChangeMovesUnconfirmedEnrollments: the partner-network
// enrollment confirmed the contact address, the reseller enrollment had not
// when registration applied a change of the contact address. The reseller
// enrollment's confirmation now goes to the new contact (a new mail), the
// previous contact's link no longer confirms it, and the confirmed
// enrollment is not mailed again.
func TestAContactChangeMovesUnconfirmedEnrollments(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net, res := p.Enrollments[0].EnrollmentID, p.Enrollments[1].EnrollmentID
	if code, _, _ := h.confirm(h.secret(h.mailFor(net, 1)[0]).Token); code != 200 {
		t.Fatalf("confirm the partner network: %d", code)
	}
	old := h.mailFor(res, 1)[0]

	contact := p.Contact
	contact.FirstName, contact.Email = "次郎", "jiro@yamada.example.co.jp"
	applied := registrationv1.ProfileChangeApplied{PartnerID: partner, ChangeNumber: 1, Market: "JP", Language: "ja",
		Changes: []registrationv1.FieldChange{{Field: registrationv1.FieldContactEmail, From: "taro@yamada.example.co.jp", To: contact.Email}},
		Contact: contact, AppliedAt: time.Now().UTC()}
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", partner, applied)

	mails := h.mailFor(res, 2)
	if m := mails[1]; m.Recipient != "jiro@yamada.example.co.jp" || m.ContactName != "山田 次郎" {
		t.Fatalf("the reseller enrollment's new mail: %+v", m)
	}
	if code, body, _ := h.confirm(h.secret(old).Token); code == 200 {
		t.Fatalf("the previous contact's link still confirms: %s", body)
	}
	if st := h.status(res, partner); st["address"] != "jiro@yamada.example.co.jp" || st["state"] != "pending" {
		t.Fatalf("the reseller enrollment: %v", st)
	}
	if code, _, _ := h.confirm(h.secret(mails[1]).Token); code != 200 {
		t.Fatalf("the new contact's link: %d", code)
	}
	// The change heard again (another event id), and the confirmed enrollments: nothing more.
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", partner, applied)
	time.Sleep(300 * time.Millisecond)
	h.mailFor(net, 1)
	h.mailFor(res, 2)
}
