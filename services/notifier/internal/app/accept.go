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

// Accept records a mail request as a delivery due now; DeliverDue sends it.
// Idempotent on the challenge id, so duplicated or redelivered events send
// one mail. A request whose challenge already expired is recorded as failed
// and never sent (late or out-of-order events). Internal trigger (event
// consumer): no principal. Invalid requests fail with
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
	switch err := a.d.Repo.Create(ctx, d); {
	case errors.Is(err, ErrDuplicate):
		return AcceptResult{Duplicate: true}, nil
	case err != nil:
		return AcceptResult{}, fmt.Errorf("record delivery %s: %w", req.ChallengeID, err)
	}
	return AcceptResult{}, nil
}
