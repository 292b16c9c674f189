package app

import (
	"context"
	"errors"
	"strconv"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// The page size of an operator's list of mails: DefaultMailPage when the
// query gives none, at most MaxMailPage.
const (
	DefaultMailPage = 100
	MaxMailPage     = 500
)

// MailQuery selects mails for an operator.
type MailQuery struct {
	PartnerID string
	Status    domain.Status  // empty: any
	Limit     int            // 1..500, default 100
	After     *page.Position // the page after this mail (created_at, id; nil: the first page)
}

// CodeInvalidCursor answers an after that is not a next this service gave.
const CodeInvalidCursor = "notifier.invalid_cursor"

// PartnerMails is an operator's view of one partner's mails.
type PartnerMails struct {
	PartnerID    string
	RemindersOff bool
	Mails        []domain.DeliverySnapshot
	Next         string // the after of the page that follows ("": the last page)
}

// Mails lists a partner's mails, newest first, a page at a time, with their status: what an
// operator looks at when a partner says "I never got the mail". Operators
// only.
func (a *App) Mails(ctx context.Context, p auth.Principal, q MailQuery) (PartnerMails, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return PartnerMails{}, err
	}
	var fe []apperr.FieldError
	if q.PartnerID == "" {
		fe = append(fe, apperr.FieldError{Field: "query.partner_id", Code: apperr.CodeFieldRequired, Message: "is required"})
	} else if id, err := ids.Parse(ids.Partner, q.PartnerID); err != nil {
		fe = append(fe, ids.FieldError("query.partner_id", err, ids.Partner))
	} else {
		q.PartnerID = id
	}
	switch q.Status {
	case "", domain.StatusPending, domain.StatusSending, domain.StatusDelivered, domain.StatusFailed, domain.StatusSuppressed:
	default:
		fe = append(fe, apperr.FieldError{Field: "query.status", Code: "status.unknown", Message: "pending, sending, delivered, failed or suppressed"})
	}
	if q.Limit == 0 {
		q.Limit = DefaultMailPage
	}
	if q.Limit < 1 || q.Limit > MaxMailPage {
		fe = append(fe, apperr.LimitError(strconv.Itoa(q.Limit), MaxMailPage))
	}
	if len(fe) > 0 {
		return PartnerMails{}, apperr.Invalid(apperr.CodeInvalidQueryParameter, "invalid query", fe...)
	}
	ds, more, err := a.d.Repo.List(ctx, q)
	if err != nil {
		return PartnerMails{}, err
	}
	off, err := a.d.Directory.RemindersOff(ctx, q.PartnerID)
	if err != nil {
		return PartnerMails{}, err
	}
	out := PartnerMails{PartnerID: q.PartnerID, RemindersOff: off, Mails: make([]domain.DeliverySnapshot, len(ds))}
	if more != nil {
		out.Next = more.Cursor()
	}
	for i, d := range ds {
		out.Mails[i] = d.Snapshot()
	}
	return out, nil
}

// Mail is one mail with every attempt. Operators only.
func (a *App) Mail(ctx context.Context, p auth.Principal, id string) (domain.DeliverySnapshot, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return domain.DeliverySnapshot{}, err
	}
	d, err := a.d.Repo.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return domain.DeliverySnapshot{}, apperr.NotFound("notifier.mail_unknown", "no mail "+id)
	}
	if err != nil {
		return domain.DeliverySnapshot{}, err
	}
	return d.Snapshot(), nil
}

// ConfirmationMail is the request of a challenge's confirmation mail (its
// id is the challenge's): who it went to, in which language, for the mails
// that answer its recipient's report of it. ErrNotFound when the notifier
// holds no such mail.
func (a *App) ConfirmationMail(ctx context.Context, challengeID string) (domain.MailRequest, error) {
	d, err := a.d.Repo.Get(ctx, challengeID)
	if err != nil {
		return domain.MailRequest{}, err
	}
	return d.Request(), nil
}
