package e2e

import (
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// Mail is one message the notifier sent, as the run's SMTP server received
// it, decoded as a mail client would: headers, the plain-text part and the
// HTML part. MessageID is the Message-ID without its angle brackets; the
// notifier's local part is the e-mail challenge's ID (email.challenge.opened
// names its enrollment).
type Mail struct {
	File, To, Subject string
	MessageID         string
	Header            mail.Header
	Text              string // the text/plain part
	HTML              string // the text/html part
}

var confirmLinkRe = regexp.MustCompile(`https?://[^\s"<>]+/confirm\?token=[A-Za-z0-9_-]+`)

// ConfirmLink is the e-mail confirmation link in the mail, or "".
func (m Mail) ConfirmLink() string { return confirmLinkRe.FindString(m.Text + "\n" + m.HTML) }

// ConfirmLink does what the person who received a confirmation mail does:
// open the link (a page with the address and a button, which confirms
// nothing by itself) and press the button (a form POST of the token).
func (s *Stack) ConfirmLink(t testing.TB, link string) *Response {
	t.Helper()
	r, pressed := s.TryConfirmLink(t, link)
	if !pressed || r.Status != http.StatusOK {
		t.Fatalf("confirm %s (button pressed: %v): %s", link, pressed, r)
	}
	return r
}

// TryConfirmLink is ConfirmLink for a link that may no longer confirm
// (410 once the contact changed): it answers the button's answer, or the
// page's when the page is not 200 or shows no button (pressed false).
func (s *Stack) TryConfirmLink(t testing.TB, link string) (r *Response, pressed bool) {
	t.Helper()
	page := s.Do(t, "GET", link, "", nil)
	m := formRe.FindStringSubmatch(string(page.Body))
	if page.Status != http.StatusOK || m == nil {
		return page, false
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	target := u.ResolveReference(&url.URL{Path: m[1]})
	return s.Do(t, "POST", target.String(), "", url.Values{"token": {html.UnescapeString(m[2])}}), true
}

var formRe = regexp.MustCompile(`<form method="post" action="([^"]+)"><input type="hidden" name="token" value="([^"]+)">`)

// Mails returns the catcher's mails to address, oldest file name first.
func (s *Stack) Mails(address string) ([]Mail, error) {
	files, err := filepath.Glob(filepath.Join(s.MailDir, "*.eml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Mail
	for _, f := range files {
		m, err := readMail(f)
		if err != nil {
			continue // being written
		}
		if strings.Contains(strings.ToLower(m.To), strings.ToLower(address)) {
			out = append(out, m)
		}
	}
	return out, nil
}

// WaitMails waits (up to 20 s) until n mails to address arrived and returns them.
func (s *Stack) WaitMails(t testing.TB, address string, n int) []Mail {
	t.Helper()
	var got []Mail
	Eventually(t, 20*time.Second, fmt.Sprintf("%d mails to %s", n, address), func() error {
		var err error
		if got, err = s.Mails(address); err != nil {
			return err
		}
		if len(got) < n {
			return fmt.Errorf("%d mails so far", len(got))
		}
		return nil
	})
	return got
}

func readMail(path string) (Mail, error) {
	f, err := os.Open(path)
	if err != nil {
		return Mail{}, err
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		return Mail{}, err
	}
	dec := new(mime.WordDecoder)
	out := Mail{File: path, Header: m.Header}
	out.To, _ = dec.DecodeHeader(m.Header.Get("To"))
	out.Subject, _ = dec.DecodeHeader(m.Header.Get("Subject"))
	out.MessageID = strings.Trim(m.Header.Get("Message-Id"), "<> ")
	if err := walkPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &out); err != nil {
		return Mail{}, err
	}
	return out, nil
}

// walkPart decodes the text parts of a (multipart) body into out.
func walkPart(contentType, encoding string, body io.Reader, out *Mail) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, out); err != nil {
				return err
			}
		}
	}
	if !strings.HasPrefix(mt, "text/") {
		return nil
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	data, err := io.ReadAll(body)
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if mt == "text/html" {
		out.HTML += text
	} else {
		out.Text += text
	}
	return err
}
