package mails

import (
	"errors"
	"fmt"
	"io"
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
	if err := msg.FromFormat(e.FromName, e.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.AddToFormat(e.ToName, e.To); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(e.Subject)
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

// WriteEML writes the message as an .eml file's content.
func WriteEML(w io.Writer, e Envelope) error {
	msg, err := Compose(e)
	if err != nil {
		return err
	}
	if e.To == "" {
		return errors.New("eml: a recipient is required")
	}
	_, err = msg.WriteTo(w)
	return err
}
