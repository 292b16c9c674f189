package mails_test

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
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

// TestTheSubjectStartsOnItsOwnLine: a long subject is folded between
// encoded-words into lines of at most 76 characters, its first word on the
// Subject line. go-mail's folding put a first word too long for that line
// on the next one, and a reader that unfolds literally (Python's email
// package) read the subject with a leading space.
func TestTheSubjectStartsOnItsOwnLine(t *testing.T) {
	for _, subject := range []string{
		"【要対応】さくらクラウドテック株式会社 から間接プロバイダーとしての取引関係の承認依頼が届きました / Action required: さくらクラウドテック株式会社 asks you to authorise it as your indirect provider",
		"Action required: a long subject in plain ASCII that does not fit one header line of seventy-six characters",
		"短い件名", "line\r\nBcc: injected@attacker.example", "=?utf-8?q?looks_encoded?= but is not",
	} {
		var buf bytes.Buffer
		err := mails.WriteEML(&buf, mails.Envelope{From: "no-reply@partnerhub.example", To: "taro@yamada.example.co.jp",
			Rendered: mails.Rendered{Subject: subject, Text: "t", HTML: "<p>h</p>"}})
		if err != nil {
			t.Fatal(err)
		}
		raw := buf.String()
		head, _, _ := strings.Cut(raw, "\r\n\r\n")
		start := strings.Index(head, "\r\nSubject:")
		if start < 0 {
			t.Fatalf("no Subject header in\n%s", head)
		}
		field := head[start+2:]
		lines := strings.Split(field, "\r\n")
		n := 1
		for n < len(lines) && strings.HasPrefix(lines[n], " ") {
			n++
		}
		if strings.TrimSpace(strings.TrimPrefix(lines[0], "Subject:")) == "" {
			t.Errorf("%q: the Subject line is empty, its value starts on the next line:\n%s", subject, strings.Join(lines[:n], "\r\n"))
		}
		for _, l := range lines[:n] {
			if len(l) > 76 {
				t.Errorf("%q: a header line of %d characters: %q", subject, len(l), l)
			}
		}
		m, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || got != subject {
			t.Errorf("the subject reads %q (%v), want %q", got, err, subject)
		}
		if m.Header.Get("Bcc") != "" {
			t.Errorf("%q added a header", subject)
		}
	}
}
