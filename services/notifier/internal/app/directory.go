package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// RecordContact keeps the partner's contact from its registration (the
// notifier's projection of registration.application.submitted: address,
// names, language, market, company name — nothing else). Mails that waited
// for the address become due at once.
func (a *App) RecordContact(ctx context.Context, c Contact) error {
	if c.PartnerID == "" {
		return apperr.Invalid("notifier.invalid_contact", "partner id is required")
	}
	if m, err := mail.ParseAddress(c.Email); err != nil || m.Address != c.Email {
		return apperr.Invalid("notifier.invalid_contact", "the contact address is not a bare e-mail address")
	}
	return a.d.Directory.SaveContact(ctx, c, a.d.Clock.Now())
}

// CodePartnerUnknown: a change of the contact of a partner whose
// registration has not reached the notifier yet.
const CodePartnerUnknown = "notifier.partner_unknown"

// ChangeContact replaces the contact of a partner the notifier knows (a
// profile change applied); CodePartnerUnknown when its registration has not
// come yet — a pending partner's contact corrected right after its
// registration may come first, on another durable, and the registration's
// contact would then replace the corrected one.
func (a *App) ChangeContact(ctx context.Context, c Contact) error {
	if _, err := a.d.Directory.Contact(ctx, c.PartnerID); errors.Is(err, ErrNotFound) {
		return apperr.NotFound(CodePartnerUnknown, "no contact of partner "+c.PartnerID+" to change")
	} else if err != nil {
		return fmt.Errorf("contact of %s: %w", c.PartnerID, err)
	}
	return a.RecordContact(ctx, c)
}

// RecordAddressRemoved keeps an address a verifier removed from the partner
// after an upheld "this wasn't me" dispute (email.dispute.upheld.v1, one per
// enrollment: kept once): mails to the partner's contact are withheld while
// it is that address, and so is the mail telling a previous contact that
// it changed (App.prepare).
func (a *App) RecordAddressRemoved(ctx context.Context, partnerID, address string) error {
	if partnerID == "" || address == "" {
		return apperr.Invalid("notifier.invalid_contact", "partner id and address are required")
	}
	return a.d.Directory.RemoveAddress(ctx, partnerID, address)
}

// CompanyName is a partner's company name as its registration gave it, or
// "" when the partner is unknown.
func (a *App) CompanyName(ctx context.Context, partnerID string) string {
	c, err := a.d.Directory.Contact(ctx, partnerID)
	if err != nil {
		return ""
	}
	return c.CompanyName
}

// KeepInvitation keeps the sealed invitation link of a relationship
// request until the invitation expires, so that its reminder carries the
// same link.
func (a *App) KeepInvitation(ctx context.Context, requestID string, sealed []byte, expires time.Time) error {
	if len(sealed) == 0 || !expires.After(a.d.Clock.Now()) {
		return nil
	}
	return a.d.Directory.SaveSealed(ctx, invitationRef(requestID), sealed, expires)
}

func invitationRef(requestID string) string { return "invitation:" + requestID }

// keptInvitation returns the kept sealed invitation link, or nil.
func (a *App) keptInvitation(ctx context.Context, requestID string) ([]byte, error) {
	b, err := a.d.Directory.Sealed(ctx, invitationRef(requestID), a.d.Clock.Now())
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// Unsubscribe links: <PublicURL>/unsubscribe?partner=<id>&sig=<HMAC>. The
// signature (HMAC-SHA256 of the partner id under a key only the notifier
// has, 128 bits) is the only credential: nothing is stored per link, and a
// link stays valid for the partner's later reminders too.
const sigBytes = 16

func (a *App) sign(partnerID string) string {
	m := hmac.New(sha256.New, a.d.LinkKey)
	m.Write([]byte("unsubscribe\x00" + partnerID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:sigBytes])
}

// UnsubscribeURL is the partner's unsubscribe link (every reminder carries it).
func (a *App) UnsubscribeURL(partnerID string) string {
	return withQuery(strings.TrimRight(a.d.Links.PublicURL, "/")+"/unsubscribe", "partner", partnerID, "sig", a.sign(partnerID))
}

// CodeBadLink is the error code of an unsubscribe link that is not one.
const CodeBadLink = "notifier.unsubscribe_link_invalid"

func (a *App) checkLink(partnerID, sig string) error {
	want := a.sign(partnerID)
	if partnerID == "" || !hmac.Equal([]byte(sig), []byte(want)) {
		return apperr.NotFound(CodeBadLink, "this unsubscribe link is not valid")
	}
	return nil
}

// ReminderChoice is what the unsubscribe page shows.
type ReminderChoice struct {
	PartnerID    string
	CompanyName  string
	Language     string
	RemindersOff bool
}

// Reminders reads the partner's choice for the page behind an unsubscribe
// link (which only shows it: scanners open links too).
func (a *App) Reminders(ctx context.Context, partnerID, sig string) (ReminderChoice, error) {
	if err := a.checkLink(partnerID, sig); err != nil {
		return ReminderChoice{}, err
	}
	off, err := a.d.Directory.RemindersOff(ctx, partnerID)
	if err != nil {
		return ReminderChoice{}, err
	}
	ch := ReminderChoice{PartnerID: partnerID, RemindersOff: off}
	if c, err := a.d.Directory.Contact(ctx, partnerID); err == nil {
		ch.CompanyName, ch.Language = c.CompanyName, c.Language
	}
	return ch, nil
}

// SetReminders records the partner's choice: the page's button, or a mail
// client's RFC 8058 one-click POST. Transactional mails are not affected.
func (a *App) SetReminders(ctx context.Context, partnerID, sig string, off bool) (ReminderChoice, error) {
	if err := a.checkLink(partnerID, sig); err != nil {
		return ReminderChoice{}, err
	}
	if err := a.d.Directory.SetRemindersOff(ctx, partnerID, off, a.d.Clock.Now()); err != nil {
		return ReminderChoice{}, fmt.Errorf("reminder preference of %s: %w", partnerID, err)
	}
	a.d.Log.InfoContext(ctx, "reminder preference changed", "partner_id", partnerID, "reminders_off", off)
	return a.Reminders(ctx, partnerID, sig)
}
