package cli

import (
	"io/fs"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// TestMailRender: a person previews a mail in the terminal (subject and
// text, both languages), as HTML, or as an .eml a mail client reads; an
// edited copy of the templates renders the edit; mistakes exit 2.
func TestMailRender(t *testing.T) {
	code, out, errOut := run(t, nil, "mail", "render", mails.DocumentsRequested)
	if code != ExitOK || !strings.HasPrefix(out, "Subject: 【要対応】") || !strings.Contains(out, "登記事項証明書") ||
		!strings.Contains(out, "certified copy of the company register") {
		t.Fatalf("text preview: %d %s %s", code, out, errOut)
	}
	code, out, _ = run(t, nil, "mail", "render", mails.Invitation, "--lang", "en", "--part", "html")
	if code != ExitOK || !strings.HasPrefix(out, "<!DOCTYPE html>") || strings.Index(out, `<section lang="en">`) > strings.Index(out, `<section lang="ja">`) {
		t.Fatalf("html preview: %d %s", code, out)
	}
	eml := filepath.Join(t.TempDir(), "reminder.eml")
	if code, _, errOut := run(t, nil, "mail", "render", mails.DocumentsReminder, "--eml", eml); code != ExitOK {
		t.Fatalf("eml: %d %s", code, errOut)
	}
	f, err := os.Open(eml)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil || m.Header.Get("List-Unsubscribe") == "" || !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative") {
		t.Fatalf("eml: %v %v", err, m.Header)
	}

	// An edited copy: the edit shows; a broken copy is refused with its problem.
	dir := t.TempDir()
	err = fs.WalkDir(mails.Files(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dir, p), 0o755)
		}
		b, err := fs.ReadFile(mails.Files(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	subj := filepath.Join(dir, mails.VerificationApproved, "en.subject.txt")
	if err := os.WriteFile(subj, []byte("Welcome aboard, {{.Partner.CompanyName}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, nil, "mail", "render", mails.VerificationApproved, "--templates", dir); code != ExitOK ||
		!strings.Contains(out, "/ Welcome aboard, 株式会社ひかりネットワークス") {
		t.Fatalf("edited copy: %d %s %s", code, out, errOut)
	}
	_ = os.Remove(subj)
	if code, _, errOut := run(t, nil, "mail", "render", mails.VerificationApproved, "--templates", dir); code != ExitUsage ||
		!strings.Contains(errOut, "verification.approved/en.subject.txt") {
		t.Fatalf("broken copy: %d %s", code, errOut)
	}
	for _, args := range [][]string{{"mail", "render", "nope"}, {"mail", "render", mails.VerifyEmail, "--lang", "fr"},
		{"mail", "render", mails.VerifyEmail, "--part", "pdf"}} {
		if code, _, _ := run(t, nil, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if code, out, _ := run(t, nil, "mail", "templates"); code != ExitOK || strings.Count(out, "\n") != len(mails.Kinds)+1 {
		t.Fatalf("templates: %d\n%s", code, out)
	}
}

// TestMailListShowsHowEachMailWent: mail list asks the notifier (as an
// operator) for a partner's mails and shows each one's status, why it
// failed or was never sent and its last attempt; the real notifier answers it in the
// end-to-end test (PartnerctlFeedAndWebhooks).
func TestMailListShowsHowEachMailWent(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/mails", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"partner_id":"PG-7K3M9Q","reminders_off":true,"mails":[`+
			`{"id":"m-2","message_id":"<m-2@x>","template":"agreements.reacceptance_required","category":"transactional","partner_id":"PG-7K3M9Q",`+
			`"recipient":"h***@sakura-tech.co.jp","status":"failed","fail_reason":"permanent_error","trigger":{"type":"t","id":"e"},`+
			`"attempts":[{"number":1,"started_at":"2026-11-21T10:00:00Z","finished_at":"2026-11-21T10:00:01Z","outcome":"permanent_failure","smtp_code":550,"error":"no such user"}]},`+
			`{"id":"m-1","message_id":"<m-1@x>","template":"email_ownership.verify.v1","category":"transactional","partner_id":"PG-7K3M9Q",`+
			`"recipient":"h***@sakura-tech.co.jp","status":"pending","trigger":{"type":"t","id":"e"},"attempts":[]},`+
			`{"id":"m-0","message_id":"<m-0@x>","template":"registration.standing_changed","category":"transactional","partner_id":"PG-7K3M9Q",`+
			`"recipient":"h***@sakura-tech.co.jp","status":"suppressed","suppressed_reason":"no_net_change","trigger":{"type":"t","id":"e"},"attempts":[]}]}`)
	})
	code, out, errOut := runIn(t, "", nil, f.args("mail", "list", "PG-7K3M9Q", "--status", "failed", "--limit", "20")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"m-2  agreements.reacceptance_required  h***@sakura-tech.co.jp  failed (permanent_error)    1         2026-11-21 10:00:01Z permanent_failure 550: no such user",
		"m-1  email_ownership.verify.v1         h***@sakura-tech.co.jp  pending                     0         -",
		"m-0  registration.standing_changed     h***@sakura-tech.co.jp  suppressed (no_net_change)  0         -",
		"the partner stopped reminders",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	req := f.only(t, "GET", "/v1/mails")
	if req.query != "limit=20&partner_id=PG-7K3M9Q&status=failed" || !slices.Contains(req.who.Roles, auth.RoleOperator) {
		t.Fatalf("asked %q as %+v", req.query, req.who)
	}
	if code, _, errOut := run(t, nil, "mail", "list", "PG-7K3M9Q", "--status", "lost"); code != ExitUsage || !strings.Contains(errOut, "delivered") {
		t.Errorf("an unknown status: exit %d %s", code, errOut)
	}
}
