package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

const dueBatch = 50

// DeliverReport counts what one DeliverDue pass did.
type DeliverReport struct {
	Delivered int
	Retrying  int // failed temporarily, next attempt scheduled
	Failed    int // given up (permanent error, expired challenge, exhausted)
	Skipped   int // claimed by another worker or no longer due
}

// DeliverDue attempts every due delivery once: the retries of mails whose
// first attempt (in Accept) failed, and attempts a crash interrupted. A job
// drives it (the schedule lives in storage, so retries survive restarts).
// Workers may run concurrently: an attempt is claimed under the row lock
// with a lease.
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
		case domain.StatusDelivered:
			rep.Delivered++
		case domain.StatusPending:
			rep.Retrying++
		case domain.StatusFailed:
			rep.Failed++
		default:
			rep.Skipped++
		}
	}
	return rep, nil
}

// Deliver makes one attempt for a delivery if it is due and returns the
// resulting status ("" when it was not due or already finished).
//
// Three steps: claim the attempt (saved, with a lease), send, record the
// outcome. A crash after sending and before recording leaves the claim to
// expire; the next attempt then sends again — at most one duplicate mail per
// crash, and the Message-ID is the same for both.
func (a *App) Deliver(ctx context.Context, id string) (domain.Status, error) {
	var req domain.MailRequest
	var claimed bool
	var status domain.Status
	err := a.d.Repo.Update(ctx, id, func(d *domain.Delivery) error {
		_, err := d.Begin(a.d.Clock.Now(), a.d.Policy)
		switch {
		case err == nil:
			claimed, req = true, d.Request()
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
		return "", fmt.Errorf("claim delivery %s: %w", id, err)
	case !claimed:
		return status, nil
	}

	sendErr := a.send(ctx, req)
	err = a.d.Repo.Update(ctx, id, func(d *domain.Delivery) error {
		now := a.d.Clock.Now()
		var err error
		if sendErr == nil {
			err = d.Succeed(now)
		} else {
			err = d.Fail(now, sendErr.Error(), errors.Is(sendErr, ErrPermanent), a.d.Policy, a.d.Jitter())
		}
		status = d.Status()
		return err
	})
	if err != nil {
		return "", fmt.Errorf("record attempt of delivery %s: %w", id, err)
	}
	return status, nil
}

// attempt makes one delivery attempt on d, which is not stored yet: begin
// (an expired challenge or exhausted delivery fails it instead), send, and
// record the outcome on d.
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
	return d.Fail(now, sendErr.Error(), errors.Is(sendErr, ErrPermanent), a.d.Policy, a.d.Jitter())
}

// send opens the secret, renders and sends. Problems with the request itself
// (a blob that does not open, belongs to another challenge, or a template
// that does not render) are permanent.
func (a *App) send(ctx context.Context, req domain.MailRequest) error {
	plain, err := a.d.Opener.Open(req.SealedSecret)
	if err != nil {
		return fmt.Errorf("%w: open sealed secret: %v", ErrPermanent, err)
	}
	var sec sealedbox.Payload
	err = json.Unmarshal(plain, &sec)
	clear(plain)
	if err != nil || sec.V != sealedbox.PayloadVersion || sec.Token == "" || sec.Code == "" {
		return fmt.Errorf("%w: sealed secret has an unknown shape", ErrPermanent)
	}
	if sec.ChallengeID != req.ChallengeID {
		return fmt.Errorf("%w: sealed secret belongs to another challenge", ErrPermanent)
	}
	r, err := a.renderer.Render(req.TemplateID, req.Language, MailData{
		ContactName: req.ContactName,
		ConfirmURL:  withToken(a.d.Links.ConfirmURL, sec.Token),
		DisputeURL:  withToken(a.d.Links.DisputeURL, sec.Token),
		Code:        sec.Code,
		ExpiresAt:   FormatExpiry(req.ExpiresAt, req.Language),
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	return a.d.Sender.Send(ctx, Message{ID: req.ChallengeID, To: req.Recipient, ToName: req.ContactName,
		Subject: r.Subject, Text: r.Text, HTML: r.HTML})
}
