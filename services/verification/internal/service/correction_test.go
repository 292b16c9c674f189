package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestACorrectedContactConfirmsThePendingCase: registration corrects a
// pending partner's contact address (a profile change applied at once) and
// the new address's confirmation may reach the case before the change
// does — two durables. It waits for the change (redelivered while young)
// instead of being dead-lettered as a mismatch, and then passes the e-mail
// check; before, a pending case's e-mail check could never pass on another
// address.
func TestACorrectedContactConfirmsThePendingCase(t *testing.T) {
	e := startWithGrace(t, time.Minute)
	const partner = "PG-C0RR-ECT1-0AB"
	e.openCase(partner, "")
	conf := confirmed(partner)
	conf.Address = "hanako@sample-shoji.co.jp"
	e.publish(emailv1.TypeOwnershipConfirmed, partner, conf, nil)
	time.Sleep(300 * time.Millisecond)
	emailChecks := func() (out []map[string]any) {
		for _, ch := range e.events(verificationv1.TypeCheckStateChanged, partner) {
			if ch["check"] == "email_ownership" {
				out = append(out, ch)
			}
		}
		return out
	}
	if n := len(emailChecks()); n != 0 {
		t.Fatalf("%d e-mail check changes before the correction reached the case", n)
	}
	e.publish(registrationv1.TypeProfileChangeApplied, partner, correction(partner, conf.Address), nil)
	testkit.Eventually(t, 15*time.Second, func() error {
		if chs := emailChecks(); len(chs) != 1 || chs[0]["to"] != "passed" {
			return fmt.Errorf("e-mail check changes %v", chs)
		}
		return nil
	})
	if n := len(e.msgs(bus.DeadLetterStream)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// correction is registration's event of a pending partner's contact
// corrected at once to address (sample-shoji.co.jp's 山田 花子).
func correction(partner, address string) registrationv1.ProfileChangeApplied {
	return registrationv1.ProfileChangeApplied{PartnerID: partner, ChangeNumber: 1,
		Market: "JP", Language: "ja", Changes: []registrationv1.FieldChange{{Field: registrationv1.FieldContactEmail,
			From: "taro@sample-shoji.co.jp", To: address}},
		LegalName: registrationv1.LegalName{Raw: "（株）サンプル商事", Normalized: "株式会社サンプル商事"},
		Address: registrationv1.Address{Raw: registrationv1.AddressLines{Line1: "丸の内5-2-3", City: "千代田区", Region: "東京都", PostalCode: "100-0005"},
			Normalized: registrationv1.NormalizedAddress{Line1: "丸の内5丁目2番3号", City: "千代田区", Region: "東京都", PostalCode: "100-0005", Key: "k"}},
		CompanyPhoneE164: "+81312345678", Website: "https://www.sample-shoji.co.jp", WebsiteDomain: "sample-shoji.co.jp",
		Contact: registrationv1.Contact{FirstName: "花子", LastName: "山田", Email: address, EmailDomain: "sample-shoji.co.jp",
			PhoneE164: "+819012345678"}, EmailDomainMatchesWebsite: true, AppliedAt: time.Now().UTC()}
}

// TestAConfirmationOfTheCorrectedAddressWaitsForTheNewContact: the other
// order — the contact confirmed the first address as registration
// corrected it at once, and that confirmation reaches the case after the
// correction. It no longer counts: neither a pass nor an error (before
// round 49 it was redelivered for the grace period and then dead-lettered as
// verification.email_mismatch, the e-mail check waiting for good); the
// check waits for the new contact's confirmation, which e-mail ownership
// asks for, and passes on it.
func TestAConfirmationOfTheCorrectedAddressWaitsForTheNewContact(t *testing.T) {
	e := startWithGrace(t, 500*time.Millisecond)
	const partner = "PG-C0RR-ECT2-0AB"
	e.openCase(partner, "")
	e.publish(registrationv1.TypeProfileChangeApplied, partner, correction(partner, "hanako@sample-shoji.co.jp"), nil)
	time.Sleep(300 * time.Millisecond)
	e.publish(emailv1.TypeOwnershipConfirmed, partner, confirmed(partner), nil) // taro's
	emailChecks := func() (out []map[string]any) {
		for _, ch := range e.events(verificationv1.TypeCheckStateChanged, partner) {
			if ch["check"] == "email_ownership" {
				out = append(out, ch)
			}
		}
		return out
	}
	time.Sleep(2 * time.Second) // past the grace: a mismatch would be dead-lettered by now
	if n := len(emailChecks()); n != 0 {
		t.Fatalf("%d e-mail check changes on the previous address's confirmation", n)
	}
	if n := len(e.msgs(bus.DeadLetterStream)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
	conf := confirmed(partner)
	conf.Address = "hanako@sample-shoji.co.jp"
	e.publish(emailv1.TypeOwnershipConfirmed, partner, conf, nil)
	testkit.Eventually(t, 15*time.Second, func() error {
		if chs := emailChecks(); len(chs) != 1 || chs[0]["to"] != "passed" {
			return fmt.Errorf("e-mail check changes %v", chs)
		}
		return nil
	})
}

// TestACorrectionThatComesBeforeTheCase: the upstream system corrects a
// pending partner's contact right after registering it, and the correction
// reaches verification before the registration does (two durables). It
// waits for the case instead of being dead-lettered, and the new address's
// confirmation then passes the e-mail check (the case holds the corrected
// contact). Before round 50 the correction was dead-lettered at once
// (verification.case_not_found) and the case kept the first address: the
// new contact's confirmation — the one e-mail ownership asks for — was a
// mismatch, and the check waited for good.
func TestACorrectionThatComesBeforeTheCase(t *testing.T) {
	e := startWithGrace(t, time.Minute)
	const partner = "PG-C0RR-ECT3-0AH"
	const hanako = "hanako@sample-shoji.co.jp"
	e.publish(registrationv1.TypeProfileChangeApplied, partner, correction(partner, hanako), nil)
	time.Sleep(100 * time.Millisecond)
	e.openCase(partner, "")
	e.confirmPasses(partner, hanako)
}

// TestAnEarlierCorrectionHeardAfterALaterOne: the upstream system corrects
// a partner's contact twice in a row (花子, then 次郎), and the first
// correction is handled after the second — its handling waited (the case
// not opened yet when it came) while the second's did not: the bus
// redelivers what waits after a delay and hands on what comes next
// meanwhile. The case keeps the later correction's contact, whose
// confirmation passes the e-mail check; 花子's, asked for while she was the
// contact, is a previous contact's: neither a pass nor a dead letter. Before
// round 51 the earlier correction replaced the later one: 次郎's
// confirmation counted as a previous contact's, and the check waited for
// good (or passed on 花子's).
func TestAnEarlierCorrectionHeardAfterALaterOne(t *testing.T) {
	e := startWithGrace(t, 500*time.Millisecond)
	const partner = "PG-C0RR-ECT4-0AH"
	const hanako, jiro = "hanako@sample-shoji.co.jp", "jiro@sample-shoji.co.jp"
	e.openCase(partner, "")
	second := correction(partner, jiro)
	second.ChangeNumber, second.Contact.FirstName = 2, "次郎"
	second.Changes[0].From = hanako
	e.publish(registrationv1.TypeProfileChangeApplied, partner, second, map[string]string{ce.HSequence: ce.FormatSequence(3)})
	time.Sleep(300 * time.Millisecond)
	e.publish(registrationv1.TypeProfileChangeApplied, partner, correction(partner, hanako), map[string]string{ce.HSequence: ce.FormatSequence(2)})
	time.Sleep(300 * time.Millisecond)
	early := confirmed(partner)
	early.Address = hanako
	e.publish(emailv1.TypeOwnershipConfirmed, partner, early, nil)
	time.Sleep(2 * time.Second) // past the grace: a mismatch would be dead-lettered by now
	for _, ch := range e.events(verificationv1.TypeCheckStateChanged, partner) {
		if ch["check"] == "email_ownership" {
			t.Fatalf("花子's confirmation moved the e-mail check: %v", ch)
		}
	}
	if n := len(e.msgs(bus.DeadLetterStream)); n != 0 {
		t.Fatalf("花子's confirmation: %d dead letters", n)
	}
	e.confirmPasses(partner, jiro)
}

// confirmPasses publishes e-mail ownership's confirmation of address for
// the partner's contact and waits for the case's e-mail check to pass,
// with nothing dead-lettered.
func (e *env) confirmPasses(partner, address string) {
	e.t.Helper()
	conf := confirmed(partner)
	conf.Address = address
	e.publish(emailv1.TypeOwnershipConfirmed, partner, conf, nil)
	testkit.Eventually(e.t, 15*time.Second, func() error {
		for _, ch := range e.events(verificationv1.TypeCheckStateChanged, partner) {
			if ch["check"] == "email_ownership" && ch["to"] == "passed" {
				return nil
			}
		}
		return fmt.Errorf("the e-mail check has not passed")
	})
	if n := len(e.msgs(bus.DeadLetterStream)); n != 0 {
		e.t.Fatalf("%d dead letters", n)
	}
}

// startWithGrace starts the service with its ConfirmationGrace: how long a
// confirmation or correction waits for what it needs (see Handlers.awaitCase).
func startWithGrace(t *testing.T, grace time.Duration) *env {
	e := newEnv(t)
	cfg := e.config()
	cfg.ConfirmationGrace = grace
	e.start(cfg)
	return e
}
