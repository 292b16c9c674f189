package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

const dueBatch = 50

// DeliverReport counts what one DeliverDue pass did.
type DeliverReport struct {
	Delivered  int
	Retrying   int // failed temporarily, next attempt scheduled
	Failed     int // given up (permanent error, expired, exhausted)
	Suppressed int // reminders the partner stopped
	Skipped    int // claimed by another worker or no longer due
	Dispatched int // claimed and handed to the senders (Deps.Senders)
}

// DeliverDue attempts every due delivery once: the retries of mails whose
// first attempt (in Accept) failed, and attempts a crash interrupted (their
// lease ran out). A job drives it (the schedule lives in storage, so
// retries survive restarts). Workers may run concurrently: an attempt is
// claimed under the row lock with a lease.
func (a *App) DeliverDue(ctx context.Context) (DeliverReport, error) {
	var rep DeliverReport
	ids, err := a.d.Repo.Due(ctx, a.d.Clock.Now(), dueBatch)
	if err != nil {
		return rep, fmt.Errorf("list due deliveries: %w", err)
	}
	for _, id := range ids {
		st, err := a.Deliver(ctx, id)
		if err != nil {
			return rep, err
		}
		switch st {
		case domain.StatusSending:
			rep.Dispatched++
		case domain.StatusDelivered:
			rep.Delivered++
		case domain.StatusPending:
			rep.Retrying++
		case domain.StatusFailed:
			rep.Failed++
		case domain.StatusSuppressed:
			rep.Suppressed++
		default:
			rep.Skipped++
		}
	}
	return rep, nil
}

// Deliver makes one attempt for a delivery if it is due and returns the
// resulting status ("" when it was not due or already finished; sending
// when the claimed attempt was handed to the senders).
//
// Three steps: claim the attempt (saved, with a lease), send while a
// heartbeat renews the lease, record the outcome. A crash after sending and
// before recording stops the heartbeat; one lease later (SEND_LEASE) the
// attempt is due again and sends again — at most one duplicate per crash,
// with the same Message-ID.
func (a *App) Deliver(ctx context.Context, id string) (domain.Status, error) {
	if _, held := a.sending.Load(id); held {
		return "", nil // in flight here: its sender saves the outcome
	}
	var req domain.MailRequest
	var n int
	var status domain.Status
	var claimed *domain.Delivery
	err := a.d.Repo.Update(ctx, id, func(ctx context.Context, d *domain.Delivery) error {
		if !d.Due(a.d.Clock.Now()) {
			if d.Finished() {
				return domain.ErrFinished
			}
			return domain.ErrNotDue
		}
		if err := a.prepare(ctx, d, a.contactOf(d.Request().PartnerID)); err != nil {
			return err
		}
		if d.Status() == domain.StatusSuppressed {
			status = d.Status()
			return nil
		}
		var err error
		n, err = d.Begin(a.d.Clock.Now(), a.d.Policy)
		switch {
		case err == nil:
			req, claimed = d.Request(), d
		case errors.Is(err, domain.ErrExpired), errors.Is(err, domain.ErrExhausted):
			status = d.Status() // failed: save it and its event
		default:
			return err
		}
		return nil
	})
	switch {
	case errors.Is(err, domain.ErrNotDue), errors.Is(err, domain.ErrFinished), errors.Is(err, ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("claim mail %s: %w", id, err)
	case n == 0:
		if d, err := a.d.Repo.Get(ctx, id); err == nil {
			a.observe(ctx, d, 0)
		}
		return status, nil
	}
	if n > 1 {
		a.d.Metrics.Retry(req.TemplateID)
		a.d.Log.InfoContext(ctx, "mail retry", append(mailAttrs(req), "attempt", n)...)
	}
	if a.pool != nil {
		if !a.dispatch(ctx, claimed, n) {
			return "", nil
		}
		return domain.StatusSending, nil
	}

	stop := a.heartbeat(ctx, id, n)
	sendErr := a.send(ctx, req)
	stop()
	var rec *domain.Delivery
	err = a.d.Repo.Update(ctx, id, func(_ context.Context, d *domain.Delivery) error {
		now := a.d.Clock.Now()
		var err error
		if sendErr == nil {
			err = d.Succeed(now)
		} else {
			err = d.Fail(now, failure(sendErr), a.d.Policy, a.d.Jitter())
		}
		status, rec = d.Status(), d
		return err
	})
	if err != nil {
		return "", fmt.Errorf("record attempt %d of mail %s: %w", n, id, err)
	}
	a.observe(ctx, rec, n)
	return status, nil
}

// heartbeat renews the lease of attempt n every third of the lease while it
// is being sent, so that a slow server never makes another worker send the
// mail a second time, while a crashed sender's lease runs out soon. It
// stops when the returned function is called, or when the attempt is no
// longer the one in flight.
func (a *App) heartbeat(ctx context.Context, id string, n int) (stop func()) {
	a.sending.Store(id, n)
	tick, stopTicker := a.d.Ticker(a.d.Policy.Lease / 3)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-done:
				return
			case <-tick:
				err := a.d.Repo.Update(context.WithoutCancel(ctx), id, func(_ context.Context, d *domain.Delivery) error {
					return d.Extend(a.d.Clock.Now(), n, a.d.Policy)
				})
				if errors.Is(err, domain.ErrNotSending) {
					return
				}
				if err != nil {
					a.d.Log.WarnContext(ctx, "mail lease heartbeat failed", "mail_id", id, "attempt", n, "err", err)
				}
			}
		}
	}()
	return func() {
		close(done)
		stopTicker()
		<-exited
		a.sending.CompareAndDelete(id, n)
	}
}

// attempt makes one delivery attempt on d, which is not stored yet: begin
// (an expired or exhausted delivery fails instead), send, and record the
// outcome on d.
func (a *App) attempt(ctx context.Context, d *domain.Delivery) error {
	_, err := d.Begin(a.d.Clock.Now(), a.d.Policy)
	switch {
	case errors.Is(err, domain.ErrExpired), errors.Is(err, domain.ErrExhausted), errors.Is(err, domain.ErrFinished):
		return nil // failed (now or already when it arrived): Create saves it and its event
	case err != nil:
		return err
	}
	sendErr := a.send(ctx, d.Request())
	now := a.d.Clock.Now()
	if sendErr == nil {
		return d.Succeed(now)
	}
	return d.Fail(now, failure(sendErr), a.d.Policy, a.d.Jitter())
}

// errNoRecipient: the partner's contact is not known yet (its registration
// event has not been consumed): a temporary failure; the contact's arrival
// makes the mail due again.
var errNoRecipient = errors.New("no address yet: the partner's contact is not known")

func failure(err error) domain.Failure {
	f := domain.Failure{Cause: Redact(normalize.Clip(err.Error(), 500)), Permanent: errors.Is(err, ErrPermanent)}
	var se *SendError
	if errors.As(err, &se) {
		f.SMTPCode = se.Code
	}
	return f
}

// send renders the mail (its data, the partner's contact, its links, the
// opened secret) and sends it. Problems with the mail itself (a blob that
// does not open or belongs to another mail, a template that does not
// render) are permanent.
func (a *App) send(ctx context.Context, req domain.MailRequest) error {
	if req.Recipient == "" {
		return errNoRecipient
	}
	data, err := a.data(ctx, req, a.contactOf(req.PartnerID))
	if err != nil {
		return err
	}
	return a.sendData(ctx, req, data)
}

// sendData renders the mail with its data and sends it: no Postgres.
func (a *App) sendData(ctx context.Context, req domain.MailRequest, data mails.Data) error {
	lang := mails.ChooseLanguage(string(req.Language), req.Market)
	r, err := a.d.Mails.Render(req.TemplateID, lang, data)
	if err != nil {
		return &SendError{Permanent: true, Err: err}
	}
	// The To header names the contact as the greeting does (a confirmation
	// mail's request names its recipient itself).
	name := req.ContactName
	if name == "" {
		name = data.Partner.Name(lang)
	}
	return a.d.Sender.Send(ctx, Message{ID: req.ID, To: req.Recipient, ToName: name, Rendered: r, Unsubscribe: data.Links.Unsubscribe})
}

// data assembles what the template sees.
func (a *App) data(ctx context.Context, req domain.MailRequest, contact *contactLookup) (mails.Data, error) {
	var d mails.Data
	if len(req.Data) > 0 {
		if err := json.Unmarshal(req.Data, &d); err != nil {
			return d, &SendError{Permanent: true, Err: fmt.Errorf("mail data: %w", err)}
		}
	}
	if d.ExpiresAt.IsZero() {
		d.ExpiresAt = req.ExpiresAt
	}
	p := &d.Partner
	p.ID = req.PartnerID
	if req.Market != "" {
		p.Market = req.Market
	}
	if req.ContactName != "" && p.ContactFirstName == "" && p.ContactLastName == "" {
		p.ContactName = req.ContactName
	}
	if c, err := contact.get(ctx); err == nil {
		if p.CompanyName == "" {
			p.CompanyName = c.CompanyName
		}
		// The contact's name goes with its address only: a mail to another
		// address (the reporter of a profile change's confirmation mail)
		// greets no one by it, nor names it in the To header.
		if p.ContactName == "" && p.ContactFirstName == "" && p.ContactLastName == "" &&
			(req.Recipient == "" || strings.EqualFold(req.Recipient, c.Email)) {
			p.ContactFirstName, p.ContactLastName = c.FirstName, c.LastName
		}
		if p.Market == "" {
			p.Market = c.Market
		}
	} else if !errors.Is(err, ErrNotFound) {
		return d, fmt.Errorf("contact of %s: %w", req.PartnerID, err)
	}
	if r := d.Relationship; r != nil {
		// Resolved when sending: the other party registered long before,
		// but its contact may be consumed after the event that sends this
		// mail.
		r.ProviderName = a.partyName(ctx, r.ProviderID, r.ProviderName)
		r.ResellerName = a.partyName(ctx, r.ResellerID, r.ResellerName)
	}
	d.Links = a.d.Links.partner(req.PartnerID)
	if req.Category == domain.CategoryReminder {
		d.Links.Unsubscribe = a.UnsubscribeURL(req.PartnerID)
	}
	if len(req.SealedSecret) == 0 && req.TemplateID == mails.InvitationReminder && d.Relationship != nil {
		// The invitation's sealed link, kept when the invitation was mailed.
		sealed, err := a.keptInvitation(ctx, d.Relationship.RequestID)
		if err != nil {
			return d, err
		}
		req.SealedSecret = sealed
		req.SecretRef = d.Relationship.RequestID
	}
	if len(req.SealedSecret) > 0 {
		sec, err := a.open(req)
		if err != nil {
			return d, err
		}
		if sec.Token != "" {
			d.Links.Confirm = withQuery(a.d.Links.ConfirmURL, "token", sec.Token)
			d.Links.Dispute = withQuery(a.d.Links.DisputeURL, "token", sec.Token)
		}
		d.Code, d.Links.Invitation = sec.Code, sec.Link
	}
	if req.TemplateID == mails.VerifyEmail && d.Program == "" {
		d.Program = req.Program
	}
	if req.TemplateID == mails.VerifyEmail && (d.Code == "" || d.Links.Confirm == "") {
		return d, &SendError{Permanent: true, Err: errors.New("the verification mail needs its sealed link token and code")}
	}
	return d, nil
}

// open opens the sealed secret and checks that it belongs to this mail (a
// blob copied into another event must not be mailed to its recipient).
func (a *App) open(req domain.MailRequest) (sealedbox.Payload, error) {
	plain, err := a.d.Opener.Open(req.SealedSecret)
	if err != nil {
		return sealedbox.Payload{}, &SendError{Permanent: true, Err: fmt.Errorf("open sealed secret: %w", err)}
	}
	var sec sealedbox.Payload
	err = json.Unmarshal(plain, &sec)
	clear(plain)
	if err != nil || sec.V != sealedbox.PayloadVersion || (sec.Token == "" && sec.Link == "") {
		return sec, &SendError{Permanent: true, Err: errors.New("sealed secret has an unknown shape")}
	}
	if sec.ChallengeID == "" || sec.ChallengeID != req.SecretRef {
		return sec, &SendError{Permanent: true, Err: errors.New("sealed secret belongs to another mail")}
	}
	return sec, nil
}

// observe writes the log line and counts the metric of what just happened
// to d: attempt n's outcome (n = 0: the inline first attempt, if any), a
// mail given up, a suppressed reminder.
func (a *App) observe(ctx context.Context, d *domain.Delivery, n int) {
	q := d.Request()
	attrs := mailAttrs(q)
	last, ok := d.LastAttempt()
	if ok && (n == 0 || last.Number == n) && !last.FinishedAt.IsZero() {
		a.d.Metrics.Attempt(q.TemplateID, last.Outcome, last.SMTPCode)
		at := append(attrs, "attempt", last.Number, "smtp_code", last.SMTPCode)
		switch last.Outcome {
		case domain.OutcomeDelivered:
			a.d.Log.InfoContext(ctx, "mail delivered", at...)
		case domain.OutcomeTemporary, domain.OutcomePermanent:
			at = append(at, "permanent", last.Outcome == domain.OutcomePermanent, "err", last.Error)
			if d.Status() == domain.StatusPending {
				at = append(at, "retry_at", d.NextAttemptAt().UTC().Format(time.RFC3339))
			}
			a.d.Log.WarnContext(ctx, "mail attempt failed", at...)
		}
	}
	switch d.Status() {
	case domain.StatusFailed:
		a.d.Metrics.Dead(q.TemplateID, d.FailReason())
		at := append(attrs, "reason", string(d.FailReason()), "attempts", len(d.Attempts()))
		if ok {
			at = append(at, "smtp_code", last.SMTPCode, "err", last.Error)
		}
		a.d.Log.ErrorContext(ctx, "mail given up", at...)
	case domain.StatusSuppressed:
		a.d.Metrics.Suppressed(q.TemplateID)
		switch d.FailReason() {
		case domain.ReasonNoNetChange:
			a.d.Log.InfoContext(ctx, "mail not sent: its state went back to where it was before the mails still waiting on its thread",
				append(attrs, "thread", q.Thread)...)
		case domain.ReasonAddressRemoved:
			a.d.Log.InfoContext(ctx, "mail not sent: a verifier removed the partner's contact address after an upheld dispute", attrs...)
		default:
			a.d.Log.InfoContext(ctx, "reminder not sent: the partner stopped reminders", attrs...)
		}
	}
}

// mailAttrs identify a mail in logs: never its content, and its address
// only masked.
func mailAttrs(q domain.MailRequest) []any {
	return []any{slog.String("mail_id", q.ID), slog.String("template", q.TemplateID), slog.String("partner_id", q.PartnerID),
		slog.String("recipient", MaskAddress(q.Recipient))}
}

// partyName is the legal name of the other party of a relationship mail:
// the name given, else the directory's, else its partner ID.
func (a *App) partyName(ctx context.Context, id, name string) string {
	if id == "" || name != "" {
		return name
	}
	if name = a.CompanyName(ctx, id); name == "" {
		return id
	}
	return name
}
