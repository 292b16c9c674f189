package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/demo"
)

// Mail is one message the notifier's catcher wrote.
type Mail struct {
	File, To, Subject, Text string
}

var confirmLinkRe = regexp.MustCompile(`https?://[^\s"<>]+/confirm\?token=[A-Za-z0-9_-]+`)

// ConfirmLink is the e-mail confirmation link in the mail, or "".
func (m Mail) ConfirmLink() string { return confirmLinkRe.FindString(m.Text) }

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
	out := Mail{File: path}
	out.To, _ = dec.DecodeHeader(m.Header.Get("To"))
	out.Subject, _ = dec.DecodeHeader(m.Header.Get("Subject"))
	var text strings.Builder
	if err := walkPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &text); err != nil {
		return Mail{}, err
	}
	out.Text = text.String()
	return out, nil
}

// walkPart appends the decoded text parts of a (multipart) body.
func walkPart(contentType, encoding string, body io.Reader, out *strings.Builder) error {
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
	out.Write(data)
	out.WriteString("\n")
	return err
}

// DemoConfig points `partnerctl demo` at the stack, with the stack's HTTP client.
func (s *Stack) DemoConfig(out io.Writer) demo.Config {
	return demo.Config{NATSURL: s.NATSURL, MailDir: s.MailDir, KeysDir: s.KeysDir, Out: out, Timeout: 20 * time.Second,
		Registration: s.URL("registration"), EmailOwnership: s.URL("email-ownership"), Verification: s.URL("verification"),
		Agreements: s.URL("agreements"), Relationships: s.URL("relationships"), HTTPClient: s.HTTPClient}
}

// AssertNoDeadLetters fails the test if the DEADLETTER stream holds any
// message, listing each with its code and reason.
func (s *Stack) AssertNoDeadLetters(t testing.TB) { t.Helper(); s.AssertDeadLetters(t, nil) }

// AssertDeadLetters fails the test unless the DEADLETTER stream holds
// exactly the expected messages: CloudEvent id → dlq-code. It also fails if
// any message on the bus was not a CloudEvent.
func (s *Stack) AssertDeadLetters(t testing.TB, expected map[string]string) {
	t.Helper()
	nc, err := nats.Connect(s.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.DeadLetterStream)
	if err != nil {
		t.Fatalf("dead-letter stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	seen := map[string]bool{}
	for _, e := range s.Events.DeadLetters() {
		code, ok := expected[e.ID]
		switch {
		case !ok:
			problems = append(problems, "unexpected: "+e.String())
		case e.Header.Get(bus.DLQCode) != code:
			problems = append(problems, "want dlq-code "+code+": "+e.String())
		}
		seen[e.ID] = true
	}
	for id, code := range expected {
		if !seen[id] {
			problems = append(problems, "missing: "+id+" with "+code)
		}
	}
	if int(info.State.Msgs) != len(expected) {
		problems = append(problems, fmt.Sprintf("the stream holds %d messages, want %d", info.State.Msgs, len(expected)))
	}
	if len(problems) > 0 {
		t.Fatalf("dead letters:\n  %s", strings.Join(problems, "\n  "))
	}
	if bad := s.Events.Undecodable(); len(bad) > 0 {
		t.Fatalf("messages on the bus that are not CloudEvents:\n%s", strings.Join(bad, "\n"))
	}
}
