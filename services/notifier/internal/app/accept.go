package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// AcceptResult tells whether the request was new.
type AcceptResult struct {
	Duplicate bool // the delivery already existed; nothing changed
}

// Accept makes the first delivery attempt of a mail request at once and
// records the delivery with its outcome: delivered, failed for good, or
// pending a retry that DeliverDue makes when it is due. No tick stands
// between a request and its mail. Idempotent on the challenge id, so
// duplicated or redelivered events send one mail; only a crash between the
// send and the commit of the record sends it again (with the same
// Message-ID). A request whose challenge already expired is recorded as
// failed and never sent (late or out-of-order events). Internal trigger
// (event consumer): no principal. Invalid requests fail with
// "notifier.invalid_request" (permanent: dead-letter them).
func (a *App) Accept(ctx context.Context, req domain.MailRequest) (AcceptResult, error) {
	req.Language = domain.ChooseLanguage(string(req.Language), req.Market)
	d, err := domain.NewDelivery(req, a.d.Clock.Now())
	if err != nil {
		e := apperr.Invalid("notifier.invalid_request", err.Error())
		e.Err = err
		return AcceptResult{}, e
	}
	if _, err := a.renderer.Render(req.TemplateID, req.Language, MailData{}); errors.Is(err, ErrUnknownTemplate) {
		return AcceptResult{}, apperr.Invalid("notifier.unknown_template", err.Error())
	}
	switch exists, err := a.d.Repo.Exists(ctx, req.ChallengeID); {
	case err != nil:
		return AcceptResult{}, fmt.Errorf("look up delivery %s: %w", req.ChallengeID, err)
	case exists:
		return AcceptResult{Duplicate: true}, nil
	}
	if err := a.attempt(ctx, d); err != nil {
		return AcceptResult{}, err
	}
	switch err := a.d.Repo.Create(ctx, d); {
	case errors.Is(err, ErrDuplicate):
		return AcceptResult{Duplicate: true}, nil
	case err != nil:
		return AcceptResult{}, fmt.Errorf("record delivery %s: %w", req.ChallengeID, err)
	}
	return AcceptResult{}, nil
}
