package cli

import (
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
