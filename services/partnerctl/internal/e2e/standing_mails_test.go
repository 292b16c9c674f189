package e2e_test

import (
	"html"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/services/notifier/mails"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// standingMail waits for the standing mail to address whose subject holds
// subject, and fails unless it went to address in Japanese then English in
// both parts, carries in both languages and both parts what each reason
// means and what the partner can do about it (the notifier's terms), holds
// every also in its text part (and links each URL of also in its HTML part),
// and none of the notes: the operator's or verifier's free text is never
// mailed.
func standingMail(t *testing.T, s *e2e.Stack, address, subject string, reasons, also []string, notes ...string) e2e.Mail {
	t.Helper()
	m := waitMail(t, s, address, subject)
	wantMail(t, m, address, also...)
	set, err := mails.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range mails.Languages {
		for _, r := range reasons {
			st := set.Terms(l).Standing[r]
			for _, w := range []string{st.What, st.Cure} {
				if w == "" || !strings.Contains(m.Text, w) || !strings.Contains(m.HTML, html.EscapeString(w)) {
					t.Errorf("%s: a part lacks %s %q:\n%s", m.Subject, l, w, m.Text)
				}
			}
		}
	}
	for _, n := range notes {
		if strings.Contains(m.Text, n) || strings.Contains(m.HTML, html.EscapeString(n)) {
			t.Errorf("%s: the note %q is in the mail", m.Subject, n)
		}
	}
	return m
}
