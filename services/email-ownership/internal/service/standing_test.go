package service_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/contract"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
)

// TestStandingCancelsAndRestoresChallenges: registration suspends the
// partner while both challenges are open: both are cancelled (the link
// answers the on-hold page); active again, each is restored by a fresh
// challenge and mail (reason reinstated, which the mail request says too).
func TestStandingCancelsAndRestoresChallenges(t *testing.T) {
	h := start(t)
	const partner = "PG-H01D-1000-00K"
	h.submit(partner, "taro@yamada.example.co.jp")
	old := h.secret(h.mailFor(resOf(partner), 1)[0])
	standing := func(from, to string, at time.Time) {
		publish(t, h.js, registrationv1.TypePartnerStandingChanged, "", partner, registrationv1.PartnerStandingChanged{
			PartnerID: partner, From: from, To: to, Reasons: []string{"compliance_hold"}, Added: []string{}, Lifted: []string{}, ChangedAt: at})
	}
	now := time.Now().UTC()
	standing("active", "suspended", now)
	for _, m := range h.waitEvents(emailv1.TypeChallengeCancelled, 2, nil) {
		if err := contract.ValidateJSON(emailv1.TypeChallengeCancelled, m.Data); err != nil {
			t.Fatal(err)
		}
	}
	if status, _, _ := h.do("GET", "/confirm?token="+url.QueryEscape(old.Token), "", nil); status != 409 {
		t.Fatalf("the link of a cancelled challenge: %d", status)
	}
	standing("suspended", "active", now.Add(time.Second))
	mails := h.mailFor(resOf(partner), 2)
	if mails[0].Reason != emailv1.ReasonRegistration || mails[1].Reason != emailv1.ReasonReinstated {
		t.Errorf("the mail requests say %q then %q, want registration then reinstated (the notifier holds the latter)", mails[0].Reason, mails[1].Reason)
	}
	var opened []emailv1.ChallengeOpened
	for _, m := range h.waitEvents(emailv1.TypeChallengeOpened, 4, nil) {
		var o emailv1.ChallengeOpened
		json.Unmarshal(m.Data, &o)
		if o.Reason == emailv1.ReasonReinstated {
			opened = append(opened, o)
		}
	}
	if len(opened) != 2 {
		t.Fatalf("reinstated challenges %+v", opened)
	}
	if status, _, _ := h.do("GET", "/confirm?token="+url.QueryEscape(h.secret(mails[1]).Token), "", nil); status != 200 {
		t.Fatalf("the restored challenge's link: %d", status)
	}
}

// TestAHoldThatComesBeforeTheRegistration: an operator holds a partner the
// moment it registers, and the hold reaches e-mail ownership before the
// registration does (two durables). It waits for the registration: the
// registration's challenges are cancelled once opened, and their links
// say the partner is not in good standing. Before round 50 the hold was
// applied to no enrollment, and the challenges stayed open as if the
// partner were in good standing.
func TestAHoldThatComesBeforeTheRegistration(t *testing.T) {
	h := start(t)
	partner := newPartner()
	publish(t, h.js, registrationv1.TypePartnerStandingChanged, "", partner, registrationv1.PartnerStandingChanged{
		PartnerID: partner, From: "active", To: "suspended", Reasons: []string{"compliance_hold"}, Added: []string{"compliance_hold"},
		Lifted: []string{}, ChangedAt: time.Now().UTC()})
	time.Sleep(100 * time.Millisecond)
	h.submit(partner, "taro@yamada.example.co.jp")
	h.waitEvents(emailv1.TypeChallengeCancelled, 2, func(m *jetstream.RawStreamMsg) bool {
		return forEnrollment(netOf(partner))(m) || forEnrollment(resOf(partner))(m)
	})
	if status, _, _ := h.do("GET", "/confirm?token="+url.QueryEscape(h.secret(h.mailFor(resOf(partner), 1)[0]).Token), "", nil); status != 409 {
		t.Fatalf("the link of a held partner's challenge: %d", status)
	}
}
