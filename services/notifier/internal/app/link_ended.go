package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// errLinkStands leaves a delivery unsaved: its challenge ended after the
// mail was sent or while an attempt is in flight.
var errLinkStands = errors.New("the mail is not pending")

// EndLink gives up the confirmation mail of a challenge that ended before
// the mail went out — withdrawn with its profile change, cancelled when the
// partner left good standing, locked by wrong codes (why says which) —
// rather than send a link that confirms nothing, hours later after an SMTP
// outage. The mail's id is its challenge's. When no mail is recorded for
// the challenge yet — its request is still on its way, on another durable
// — the end is kept (Repository.EndLinkAhead), and Accept records that
// request as failed, never sent.
func (a *App) EndLink(ctx context.Context, challengeID, why string) error {
	now := a.d.Clock.Now()
	err := a.d.Repo.Update(ctx, challengeID, func(_ context.Context, d *domain.Delivery) error {
		if !d.LinkEnded(now, why) {
			return errLinkStands
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errLinkStands):
		return nil
	case errors.Is(err, ErrNotFound):
		if err := a.d.Repo.EndLinkAhead(ctx, challengeID, why, now); err != nil {
			return fmt.Errorf("keep the end of challenge %s: %w", challengeID, err)
		}
		return nil
	}
	return fmt.Errorf("end the mail of challenge %s: %w", challengeID, err)
}

// endedAhead records a confirmation mail whose challenge ended before its
// request came (EndLink) as failed, expired, with why: its link would
// confirm nothing. A duplicate request changes nothing.
func (a *App) endedAhead(ctx context.Context, req domain.MailRequest, why string) (AcceptResult, error) {
	d, err := domain.NewDelivery(req, a.d.Clock.Now())
	if err != nil {
		return AcceptResult{}, err
	}
	d.LinkEnded(a.d.Clock.Now(), why)
	created, err := a.d.Repo.Create(ctx, d)
	switch {
	case errors.Is(err, ErrDuplicate):
		return AcceptResult{Duplicate: true}, nil
	case err != nil:
		return AcceptResult{}, fmt.Errorf("record mail %s: %w", req.ID, err)
	}
	if err := a.endSuperseded(ctx, req, created); err != nil {
		return AcceptResult{}, err
	}
	a.observe(ctx, d, 0)
	return AcceptResult{}, nil
}

// endSuperseded gives up the confirmation mails that the challenge of
// req superseded (a resend, a contact change) and that are not on their way
// yet: a mail retrying through an SMTP outage would otherwise go out after
// the newer one, its link answering that a newer mail replaced it. One
// already in flight is not retried. Email-ownership publishes no event for
// a superseded challenge: the newer challenge's mail request, which comes
// after the older one's on the partner's partition, is the news.
func (a *App) endSuperseded(ctx context.Context, req domain.MailRequest, c Created) error {
	for _, id := range c.Superseded {
		if err := a.EndLink(ctx, id, "the challenge was superseded by a newer one ("+req.ChallengeID+") before the mail went out"); err != nil {
			return err
		}
	}
	return nil
}
