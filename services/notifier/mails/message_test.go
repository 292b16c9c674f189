package mails_test

import (
	"bytes"
	"net/mail"
	"testing"

	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// TestTheRecipientsNameIsQuotedWhateverItHolds: the contact's name is the
// partner's own text. A quote, a comma with an address in angle brackets,
// an encoded-word look-alike or Japanese all make one To header naming the
// one recipient, with the name as given. go-mail's AddToFormat pasted the
// name between quotes, so the first two failed the mail for good.
func TestTheRecipientsNameIsQuotedWhateverItHolds(t *testing.T) {
	for _, name := range []string{`Bob",`, `<evil@attacker.example>, x Bob"`, `=?utf-8?q?evil?=`, `山田 "太郎"`, `O'Brien; \ (K.K.)`, ``} {
		var buf bytes.Buffer
		err := mails.WriteEML(&buf, mails.Envelope{From: "no-reply@partnerhub.example", FromName: "Partner Onboarding",
			To: "taro@yamada.example.co.jp", ToName: name, Rendered: mails.Rendered{Subject: "s", Text: "t", HTML: "<p>h</p>"}})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		m, err := mail.ReadMessage(&buf)
		if err != nil {
			t.Fatal(err)
		}
		to, err := m.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != "taro@yamada.example.co.jp" || to[0].Name != name {
			t.Fatalf("%q: To %q parses as %v (%v)", name, m.Header.Get("To"), to, err)
		}
	}
	if err := mails.WriteEML(&bytes.Buffer{}, mails.Envelope{From: "no-reply@partnerhub.example", To: "Eve <eve@attacker.example>",
		Rendered: mails.Rendered{Subject: "s", Text: "t", HTML: "h"}}); err == nil {
		t.Fatal("a recipient that is not a bare address was taken")
	}
}
