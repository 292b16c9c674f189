package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// ConfirmResult is what a successful confirmation shows. It names no address:
// the confirmation page must not reveal which address (if any) exists.
type ConfirmResult struct {
	EnrollmentID string
	ConfirmedAt  time.Time
	Language     domain.Language // of the mail, for the page's primary language
}

// ConfirmByLink confirms the challenge of a link token (the POST of the button
// on the link's page; the token is the credential, so there is no principal). Errors carry the
// codes CodeTokenMalformed, CodeChallengeUnknown, CodeChallengeExpired,
// CodeChallengeUsed, CodeChallengeSuperseded, CodeChallengeLocked. The link
// of the current challenge, once confirmed, answers that confirmation again
// (a double click, the form sent again): CodeChallengeUsed is an earlier
// mail's link.
func (a *App) ConfirmByLink(ctx context.Context, token string) (ConfirmResult, error) {
	token, err := domain.ParseToken(token)
	if err != nil {
		return ConfirmResult{}, translate(err)
	}
	h := domain.HashToken(token)
	var res ConfirmResult
	var outcome error
	err = a.d.Repo.UpdateByTokenHash(ctx, h, func(o *domain.Ownership) error {
		now := a.d.Clock.Now()
		// Always commit: a failed attempt may have changed state (expiry).
		outcome = o.ConfirmByToken(h, now)
		// A confirmation sent again answers the first one's time.
		cur, _ := o.Current()
		res = ConfirmResult{EnrollmentID: o.Ref().EnrollmentID, ConfirmedAt: cur.ConfirmedAt, Language: o.Recipient().Language}
		return nil
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = domain.ErrNoChallenge
		}
		return ConfirmResult{}, translate(err)
	}
	return res, nil
}
