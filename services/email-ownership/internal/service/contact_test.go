package service_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
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

	// The membership had confirmed: the change proved its new address first.
	applied := correction(p, "次郎", "jiro@yamada.example.co.jp", true)
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", partner, applied)

	mails := h.mailFor(res, 2)
	if m := mails[1]; m.Recipient != "jiro@yamada.example.co.jp" || m.ContactName != "山田 次郎" {
		t.Fatalf("the reseller enrollment's new mail: %+v", m)
	}
	// The previous contact's link tells its reader that the contact changed
	// (before round 42: "already used, or a newer e-mail replaced this one:
	// use the latest e-mail", an e-mail that went to someone else).
	if code, body, _ := h.confirm(h.secret(old).Token); code != http.StatusGone || !strings.Contains(body, "The contact address was changed") {
		t.Fatalf("the previous contact's link: %d %s", code, body)
	}
	if code, body, _ := h.do("GET", "/confirm?token="+url.QueryEscape(h.secret(old).Token), "", nil); code != http.StatusGone ||
		!strings.Contains(body, "nothing more to do") {
		t.Fatalf("the previous contact's link page: %d %s", code, body)
	}
	if st := h.status(res, partner); st["address"] != "jiro@yamada.example.co.jp" || st["state"] != "pending" {
		t.Fatalf("the reseller enrollment: %v", st)
	}
	// Its mail, and a resend's (since round 44), say which applied change
	// named the address, so that the notifier's words say the company named
	// it rather than thank the reader for a registration.
	if mails[1].ContactChange != 1 || mails[0].ContactChange != 0 {
		t.Fatalf("the mails' contact change: %d then %d", mails[0].ContactChange, mails[1].ContactChange)
	}
	if code, body, _ := h.do("POST", "/v1/resend", h.token(partnerUser(partner)), map[string]string{"enrollment_id": res}); code != 202 {
		t.Fatalf("resend: %d %s", code, body)
	}
	mails = h.mailFor(res, 3)
	if m := mails[2]; m.Reason != "resend" || m.ContactChange != 1 || m.Recipient != "jiro@yamada.example.co.jp" {
		t.Fatalf("the resent mail: %+v", m)
	}
	// Reported, the verifier's review will say which change named the
	// address (the challenge keeps it in its stored state).
	if code, body, _ := h.do("POST", "/dispute", "", "token="+h.secret(mails[2]).Token); code != 200 {
		t.Fatalf("report the resent mail: %d %s", code, body)
	}
	var disputed emailv1.ChallengeDisputed
	if err := json.Unmarshal(h.waitEvents(emailv1.TypeChallengeDisputed, 1, forEnrollment(res))[0].Data, &disputed); err != nil {
		t.Fatal(err)
	}
	if disputed.ContactChange != 1 || disputed.ProfileChange != 0 {
		t.Fatalf("the report: %+v", disputed)
	}
	if code, _, _ := h.confirm(h.secret(mails[2]).Token); code != 200 {
		t.Fatalf("the new contact's link: %d", code)
	}
	// The change heard again (another event id), and the confirmed enrollments: nothing more.
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", partner, applied)
	time.Sleep(300 * time.Millisecond)
	h.mailFor(net, 1)
	h.mailFor(res, 3)
}

// TestACorrectionMadeAsTheMembershipConfirmedAsksTheNewContact: the contact
// followed the membership's link as the contact was corrected, so
// registration applied the correction at once (no e-mail ownership check:
// it had not heard of the confirmation). The membership asks the new
// contact too — a mail to the new address, naming the change —, its earlier
// confirmation standing meanwhile, and the new contact's link confirms it;
// the confirmed reseller enrollment is not mailed again. Before round 49 the
// membership kept the previous address: the new contact was never asked,
// and verification, whose case now named the new contact, waited for its
// confirmation for good.
func TestACorrectionMadeAsTheMembershipConfirmedAsksTheNewContact(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net, res := p.Enrollments[0].EnrollmentID, p.Enrollments[1].EnrollmentID
	for _, e := range []string{net, res} {
		if code, _, _ := h.confirm(h.secret(h.mailFor(e, 1)[0]).Token); code != 200 {
			t.Fatalf("confirm %s: %d", e, code)
		}
	}
	applied := correction(p, "花子", "hanako@yamada.example.co.jp", false)
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", partner, applied)

	mails := h.mailFor(net, 2)
	if m := mails[1]; m.Recipient != "hanako@yamada.example.co.jp" || m.Reason != "profile_change" || m.ContactChange != 1 {
		t.Fatalf("the membership's mail to the new contact: %+v", m)
	}
	st := h.status(net, partner)
	standing, _ := st["standing_confirmation"].(map[string]any)
	if st["address"] != "hanako@yamada.example.co.jp" || st["state"] != "pending" || standing["address"] != "taro@yamada.example.co.jp" {
		t.Fatalf("the membership while the new contact has not confirmed: %v", st)
	}
	if code, _, _ := h.confirm(h.secret(mails[1]).Token); code != 200 {
		t.Fatalf("the new contact's link: %d", code)
	}
	var confirmed emailv1.OwnershipConfirmed
	if err := json.Unmarshal(h.waitEvents(emailv1.TypeOwnershipConfirmed, 2, forEnrollment(net))[1].Data, &confirmed); err != nil {
		t.Fatal(err)
	}
	if confirmed.Address != "hanako@yamada.example.co.jp" {
		t.Fatalf("confirmed %+v", confirmed)
	}
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", partner, applied)
	time.Sleep(300 * time.Millisecond)
	h.mailFor(net, 2)
	h.mailFor(res, 1)
}

// TestACorrectionThatComesBeforeTheRegistration: the upstream system
// corrects a pending partner's contact right after registering it, and the
// correction reaches e-mail ownership before the registration does (two
// durables). It waits for the registration's challenges and then moves
// them to the new contact: each enrollment's latest mail goes to the new
// address. Before round 50 the correction was applied to no enrollment and
// the registration then opened every challenge on the previous address:
// the new contact was never asked, and the previous one's confirmation
// no longer matched the partner's contact anywhere else.
func TestACorrectionThatComesBeforeTheRegistration(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := submitted(partner, "taro@yamada.example.co.jp")
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", partner, correction(p, "花子", "hanako@yamada.example.co.jp", false))
	time.Sleep(100 * time.Millisecond)
	h.submit(partner, "taro@yamada.example.co.jp")
	for _, e := range []string{netOf(partner), resOf(partner)} {
		if m := h.mailFor(e, 2)[1]; m.Recipient != "hanako@yamada.example.co.jp" {
			t.Fatalf("%s's latest mail: %+v", e, m)
		}
		if st := h.status(e, partner); st["address"] != "hanako@yamada.example.co.jp" || st["state"] != "pending" {
			t.Fatalf("%s: %v", e, st)
		}
	}
	if dl := streamMsgs(t, h.js, bus.DeadLetterStream, registrationv1.TypeProfileChangeApplied); len(dl) != 0 {
		t.Fatalf("%d dead letters", len(dl))
	}
}

// TestAProgramAddedBeforeACorrectionHeardAfterIt: registration adds a
// program (its event carries the contact of the moment) and then applies a
// correction of the pending partner's contact; e-mail ownership hears the
// correction first (two durables). The added enrollment's challenge goes
// to the corrected address: the correction's sequence is later than the
// added enrollment's. Before round 50 it went to the address its own event
// carried, which was no longer the contact, and nothing moved it.
func TestAProgramAddedBeforeACorrectionHeardAfterIt(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := submitted(partner, "taro@yamada.example.co.jp")
	publishSeq(t, h.js, registrationv1.TypeApplicationSubmitted, "", partner, 1, p)
	h.mailFor(netOf(partner), 1)
	applied := correction(p, "花子", "hanako@yamada.example.co.jp", false)
	contact := applied.Contact
	publishSeq(t, h.js, registrationv1.TypeProfileChangeApplied, "", partner, 3, applied)
	if m := h.mailFor(netOf(partner), 2)[1]; m.Recipient != contact.Email {
		t.Fatalf("the membership's latest mail: %+v", m)
	}
	added := enrollmentOf(partner, "P")
	publishSeq(t, h.js, registrationv1.TypeEnrollmentAdded, "", partner, 2, registrationv1.EnrollmentAdded{PartnerID: partner,
		EnrollmentID: added, Program: registrationv1.ProgramIndirectProvider, Status: registrationv1.StatusPendingVerification,
		Market: "JP", Language: "ja", LocationID: partner + "-L1", Contact: p.Contact, AddedBy: "upstream-portal", AddedAt: time.Now()})
	m := h.mailFor(added, 1)[0]
	if m.Recipient != contact.Email || m.ContactChange != 1 {
		t.Fatalf("the added enrollment's mail: %+v", m)
	}
	if st := h.status(added, partner); st["address"] != contact.Email || st["state"] != "pending" {
		t.Fatalf("the added enrollment: %v", st)
	}
	// An enrollment added after the correction (a later sequence) opens on
	// its own event's contact: here a second correction's, not heard of yet.
	later, jiro := enrollmentOf(partner, "Q"), contact
	jiro.FirstName, jiro.Email = "次郎", "jiro@yamada.example.co.jp"
	publishSeq(t, h.js, registrationv1.TypeEnrollmentAdded, "", partner, 5, registrationv1.EnrollmentAdded{PartnerID: partner,
		EnrollmentID: later, Program: registrationv1.ProgramIndirectProvider, Status: registrationv1.StatusPendingVerification,
		Market: "JP", Language: "ja", LocationID: partner + "-L1", Contact: jiro, AddedBy: "upstream-portal", AddedAt: time.Now()})
	if m := h.mailFor(later, 1)[0]; m.Recipient != jiro.Email {
		t.Fatalf("the later enrollment's mail: %+v", m)
	}
}

// TestAProgramAddedBeforeTheRegistrationIsHeard: the upstream system adds a
// program the moment it registers the partner, and e-mail ownership hears
// the added enrollment first (two durables). It waits for the registration:
// the added enrollment's proof then names who registered the partner, so
// another upstream system cannot read it. Before round 50 it opened at once
// with no registrant, and every upstream system could read it.
func TestAProgramAddedBeforeTheRegistrationIsHeard(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := submitted(partner, "taro@yamada.example.co.jp")
	added := enrollmentOf(partner, "P")
	publish(t, h.js, registrationv1.TypeEnrollmentAdded, "", partner, registrationv1.EnrollmentAdded{PartnerID: partner,
		EnrollmentID: added, Program: registrationv1.ProgramIndirectProvider, Status: registrationv1.StatusPendingVerification,
		Market: "JP", Language: "ja", LocationID: partner + "-L1", Contact: p.Contact, AddedBy: "upstream-portal", AddedAt: time.Now()})
	time.Sleep(100 * time.Millisecond)
	h.submit(partner, "taro@yamada.example.co.jp")
	if m := h.mailFor(added, 1)[0]; m.Recipient != "taro@yamada.example.co.jp" {
		t.Fatalf("the added enrollment's mail: %+v", m)
	}
	registrant := h.token(auth.Principal{Kind: auth.KindService, Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}})
	other := h.token(auth.Principal{Kind: auth.KindService, Subject: "other-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}})
	if code, body, _ := h.do("GET", "/v1/enrollments/"+added+"/ownership", registrant, nil); code != http.StatusOK {
		t.Fatalf("the registrant reads the added enrollment: %d %s", code, body)
	}
	if code, body, _ := h.do("GET", "/v1/enrollments/"+added+"/ownership", other, nil); code != http.StatusNotFound {
		t.Fatalf("another upstream system reads the added enrollment: %d %s", code, body)
	}
}

// correction is registration's event of change 1 of the registration p:
// its contact became first (given name) at email, the address proven first
// (a confirmed membership's change) or not (a pending partner's
// correction, applied at once).
func correction(p registrationv1.ApplicationSubmitted, first, email string, proven bool) registrationv1.ProfileChangeApplied {
	contact := p.Contact
	contact.FirstName, contact.Email = first, email
	checks := []registrationv1.ProfileCheck{}
	if proven {
		checks = append(checks, registrationv1.ProfileCheck{Check: registrationv1.RecheckEmailOwnership, State: "passed"})
	}
	return registrationv1.ProfileChangeApplied{PartnerID: p.PartnerID, ChangeNumber: 1, Market: p.Market, Language: p.Language,
		Changes: []registrationv1.FieldChange{{Field: registrationv1.FieldContactEmail, From: p.Contact.Email, To: email}},
		Checks:  checks, Contact: contact, AppliedAt: time.Now().UTC()}
}
