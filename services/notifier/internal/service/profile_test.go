package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestProfileChangeMails: an applied change of contact replaces the
// contact every mail goes to and is mailed there with what changed (and to
// the previous address, that it changed), and a rejected change is mailed
// there with the failed check and the verifier's reason.
func TestProfileChangeMails(t *testing.T) {
	h := start(t, opts{})
	const pid, old, addr = "PG-PR0F-1000-00T", "taro@minato.example.co.jp", "hanako@minato.example.co.jp"
	h.registered(pid, "株式会社ミナトシステムズ", old)
	h.contactsKnown(1)
	now := time.Now().UTC()
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", pid, registrationv1.ProfileChangeApplied{
		PartnerID: pid, ChangeNumber: 1, Market: "JP", Language: "ja",
		Changes:   []registrationv1.FieldChange{{Field: "contact.email", From: old, To: addr}},
		Checks:    []registrationv1.ProfileCheck{{Check: "email_ownership", State: "passed", DecidedBy: "email-ownership", DecidedAt: now}},
		LegalName: registrationv1.LegalName{Raw: "（株）ミナトシステムズ", Normalized: "株式会社ミナトシステムズ"},
		Contact:   registrationv1.Contact{FirstName: "花子", LastName: "佐藤", Email: addr, EmailDomain: "minato.example.co.jp", PhoneE164: "+819044445555"},
		AppliedAt: now,
	})
	testkit.Eventually(t, 10*time.Second, func() error {
		var got string
		if err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT email FROM contacts WHERE partner_id = $1`, pid).Scan(&got); err != nil || got != addr {
			return fmt.Errorf("contact %q (%v)", got, err)
		}
		return nil
	})
	// The new contact is told what changed; the previous address only that
	// the contact moved away from it (before: neither heard of it).
	applied := h.mails(2)
	for subj, m := range applied {
		switch {
		case strings.Contains(subj, "登録情報が変更されました") && strings.Contains(subj, "Your company profile was changed"):
			if m.To != addr {
				t.Errorf("%s to %s, want %s", subj, m.To, addr)
			}
			for _, w := range []string{"変更番号 1", "ご担当者のメール アドレス：" + old + " → " + addr, "contact e-mail address: " + old + " → " + addr,
				"「メールの所有権」", "Checked before it was applied: e-mail ownership.", "PG-PR0F-1000-00T", "partner support"} {
				if !strings.Contains(m.Text, w) {
					t.Errorf("the mail to the contact lacks %q:\n%s", w, m.Text)
				}
			}
		case strings.Contains(subj, "連絡先メール アドレスが変更されました"):
			if m.To != old || strings.Contains(m.Text, addr) || strings.Contains(m.HTML, addr) || !strings.Contains(m.Text, "no longer to this one") {
				t.Errorf("%s to %s (want %s), without the new address:\n%s", subj, m.To, old, m.Text)
			}
		default:
			t.Errorf("unexpected mail %s to %s", subj, m.To)
		}
	}
	publish(t, h.js, registrationv1.TypeProfileChangeRejected, "", pid, registrationv1.ProfileChangeRejected{
		PartnerID: pid, ChangeNumber: 2, Market: "JP", Check: "company", Reason: "登記簿の住所と一致しません",
		Checks:     []registrationv1.ProfileCheck{{Check: "company", State: "failed", DecidedBy: "verifier-1", DecidedAt: now, Reason: "登記簿の住所と一致しません"}},
		RejectedBy: "verifier-1", RejectedAt: now,
	})
	for subj, m := range h.mails(3) {
		if _, seen := applied[subj]; seen {
			continue
		}
		if m.To != addr || !strings.Contains(subj, "登録情報の変更を承認できませんでした") {
			t.Fatalf("%s to %s", subj, m.To)
		}
		for _, w := range []string{"変更番号 2", "登記簿の住所と一致しません", "会社の確認", "company verification", "keeps the profile we verified before"} {
			if !strings.Contains(m.Text, w) {
				t.Errorf("the mail lacks %q:\n%s", w, m.Text)
			}
		}
	}
}

// TestACorrectionThatComesBeforeTheRegistration: the upstream system
// corrects a pending partner's contact right after registering it, and the
// correction reaches the notifier before the registration does (two
// durables). It waits for the registration: the partner's contact is the
// corrected one afterwards, and the mail that tells of the change goes
// there. Before round 50 the registration's contact replaced the corrected
// one when it came second: every later mail about the partner went to the
// previous address.
func TestACorrectionThatComesBeforeTheRegistration(t *testing.T) {
	h := start(t, opts{})
	const pid, old, addr = "PG-PR0F-2000-0A5", "taro@minato.example.co.jp", "hanako@minato.example.co.jp"
	publish(t, h.js, registrationv1.TypeProfileChangeApplied, "", pid, registrationv1.ProfileChangeApplied{
		PartnerID: pid, ChangeNumber: 1, Market: "JP", Language: "ja",
		Changes:   []registrationv1.FieldChange{{Field: "contact.email", From: old, To: addr}},
		Checks:    []registrationv1.ProfileCheck{},
		LegalName: registrationv1.LegalName{Raw: "（株）ミナトシステムズ", Normalized: "株式会社ミナトシステムズ"},
		Contact:   registrationv1.Contact{FirstName: "花子", LastName: "佐藤", Email: addr, EmailDomain: "minato.example.co.jp", PhoneE164: "+819044445555"},
		AppliedAt: time.Now().UTC(),
	})
	time.Sleep(100 * time.Millisecond)
	h.registered(pid, "株式会社ミナトシステムズ", old)
	for subj, m := range h.mails(2) {
		if strings.Contains(subj, "登録情報が変更されました") && m.To != addr {
			t.Errorf("%s to %s, want %s", subj, m.To, addr)
		}
	}
	h.contactAfter(pid, addr, 2, registrationv1.TypeApplicationSubmitted, registrationv1.TypeProfileChangeApplied)
}

// contactAfter waits until n events of types are handled and then wants
// the partner's kept contact to be want.
func (h *harness) contactAfter(pid, want string, n int, types ...string) {
	h.t.Helper()
	testkit.Eventually(h.t, 10*time.Second, func() error {
		var got int
		err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT count(*) FROM inbox WHERE event_type = ANY($1)`, types).Scan(&got)
		if err != nil || got != n {
			return fmt.Errorf("%d of the %d events handled (%v)", got, n, err)
		}
		return nil
	})
	var got string
	if err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT email FROM contacts WHERE partner_id = $1`, pid).Scan(&got); err != nil || got != want {
		h.t.Fatalf("the partner's contact %q (%v), want %s", got, err, want)
	}
}

// TestAnEarlierCorrectionHeardAfterALaterOne: the upstream system corrects
// a partner's contact twice in a row (花子, then 次郎), and the first
// correction is handled after the second — its handling waited while the
// second's did not: the bus redelivers what waits after a delay and hands on
// what comes next meanwhile. The contact — where every later mail about the
// partner goes — stays the later correction's. Before round 51 the earlier
// correction replaced it: every later mail about the partner went to an
// address the upstream system had already corrected.
func TestAnEarlierCorrectionHeardAfterALaterOne(t *testing.T) {
	h := start(t, opts{})
	const pid, taro, hanako, jiro = "PG-PR0F-3000-0A5", "taro@minato.example.co.jp", "hanako@minato.example.co.jp", "jiro@minato.example.co.jp"
	change := func(n int, from, to, first string) registrationv1.ProfileChangeApplied {
		return registrationv1.ProfileChangeApplied{
			PartnerID: pid, ChangeNumber: n, Market: "JP", Language: "ja",
			Changes:   []registrationv1.FieldChange{{Field: "contact.email", From: from, To: to}},
			Checks:    []registrationv1.ProfileCheck{},
			LegalName: registrationv1.LegalName{Raw: "（株）ミナトシステムズ", Normalized: "株式会社ミナトシステムズ"},
			Contact:   registrationv1.Contact{FirstName: first, LastName: "佐藤", Email: to, EmailDomain: "minato.example.co.jp"},
			AppliedAt: time.Now().UTC(),
		}
	}
	h.registered(pid, "株式会社ミナトシステムズ", taro)
	h.contactsKnown(1)
	publishSeq(t, h, registrationv1.TypeProfileChangeApplied, pid, 3, change(2, hanako, jiro, "次郎"))
	publishSeq(t, h, registrationv1.TypeProfileChangeApplied, pid, 2, change(1, taro, hanako, "花子"))
	h.contactAfter(pid, jiro, 2, registrationv1.TypeProfileChangeApplied)
}
