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
// outage. The mail's id is its challenge's. No mail recorded for the
// challenge (none was asked for, or its request is still on its way: then
// it goes out) changes nothing.
func (a *App) EndLink(ctx context.Context, challengeID, why string) error {
	err := a.d.Repo.Update(ctx, challengeID, func(d *domain.Delivery) error {
		if !d.LinkEnded(a.d.Clock.Now(), why) {
			return errLinkStands
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errLinkStands), errors.Is(err, ErrNotFound):
		return nil
	}
	return fmt.Errorf("end the mail of challenge %s: %w", challengeID, err)
}
