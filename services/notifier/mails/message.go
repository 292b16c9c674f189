package mails

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Envelope is a rendered mail with its addresses and identity: what the
// notifier hands to its SMTP server, and what `partnerctl mail render
// --eml` writes to a file.
type Envelope struct {
	// ID is stable per mail: the Message-ID is <ID@MessageIDDomain>, so a
	// mail sent twice (after a crash) folds into one in the reader's client.
	ID              string
	MessageIDDomain string
	From, FromName  string
	To, ToName      string
	Rendered
	// Unsubscribe, when set (reminders), becomes List-Unsubscribe with
	// RFC 8058 one-click (List-Unsubscribe-Post).
	Unsubscribe string
}

// Compose builds the MIME message: plain text with an HTML alternative,
// both carrying both languages.
func Compose(e Envelope) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	// Names go over as a mail.Address's, quoted or encoded when written:
	// go-mail's FromFormat and AddToFormat paste a name between quotes and
	// parse the result, so a contact's name holding a quote (or a comma and
	// angle brackets) failed the mail for good.
	from, err := named(e.FromName, e.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	to, err := named(e.ToName, e.To)
	if err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.SetAddrHeaderFromMailAddress(gomail.HeaderFrom, from)
	msg.ToMailAddress(to)
	msg.SetGenHeaderPreformatted(gomail.HeaderSubject, subjectHeader(e.Subject))
	msg.SetDate()
	if e.ID != "" && e.MessageIDDomain != "" {
		msg.SetMessageIDWithValue(e.ID + "@" + e.MessageIDDomain)
	}
	langs := make([]string, len(e.Languages))
	for i, l := range e.Languages {
		langs[i] = string(l)
	}
	if len(langs) > 0 {
		msg.SetGenHeader(gomail.HeaderContentLang, strings.Join(langs, ", "))
	}
	// RFC 3834: an automatic message; out-of-office replies stay away.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	if e.Unsubscribe != "" {
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+e.Unsubscribe+">")
		msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	return msg, nil
}

// subjectHeader is the Subject's value as written, folded into lines of
// at most 76 characters with its first word on the Subject line itself:
// plain ASCII as it is, folded at its spaces; anything else (or text that
// looks like an encoded-word) as RFC 2047 encoded-words, UTF-8 and Q, each
// holding whole characters. go-mail's own folding put a first word too
// long for the Subject line on the next one ("Subject:" CRLF SP
// =?UTF-8?q?…), which is legal, but a reader that unfolds it literally —
// Python's email package — read the subject with a leading space.
func subjectHeader(subject string) string {
	const first = 76 - len("Subject: ")
	var b strings.Builder
	if !needsEncoding(subject) {
		line := 0
		for i, w := range strings.Split(subject, " ") {
			switch {
			case i == 0:
			case line+1+len(w) > first:
				b.WriteString("\r\n ")
				line = 0
			default:
				b.WriteByte(' ')
				line++
			}
			b.WriteString(w)
			line += len(w)
		}
		return b.String()
	}
	const open, end = "=?UTF-8?q?", "?="
	budget, word := first, ""
	for _, r := range subject {
		enc := qEncode(string(r))
		if word != "" && len(open)+len(word)+len(enc)+len(end) > budget {
			b.WriteString(open + word + end + "\r\n ")
			budget, word = 76-1, ""
		}
		word += enc
	}
	b.WriteString(open + word + end)
	return b.String()
}

// needsEncoding reports whether subject cannot go out as it is: a byte
// outside printable ASCII, or a sequence a reader would take for the start
// of an encoded-word.
func needsEncoding(subject string) bool {
	for i := 0; i < len(subject); i++ {
		if c := subject[i]; c < ' ' || c > '~' {
			return true
		}
	}
	return strings.Contains(subject, "=?")
}

// qEncode is s in RFC 2047's Q encoding: letters, digits and !*+-/ as
// they are, a space as _, every other byte as =XX.
func qEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('_')
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

// named is the bare address addr with the display name name.
func named(name, addr string) (*mail.Address, error) {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return nil, fmt.Errorf("%q is not a bare e-mail address", addr)
	}
	a.Name = name
	return a, nil
}

// WriteEML writes the message as an .eml file's content.
func WriteEML(w io.Writer, e Envelope) error {
	if e.To == "" {
		return errors.New("eml: a recipient is required")
	}
	msg, err := Compose(e)
	if err != nil {
		return err
	}
	_, err = msg.WriteTo(w)
	return err
}
