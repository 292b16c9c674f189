package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// LinkPreview is what the page of a mail link shows before anything is
// confirmed: the address the link would confirm and the mail's language.
type LinkPreview struct {
	Address  string
	Language domain.Language
	// Confirmed: the link confirmed the address already and no newer mail
	// asks again; the page says so instead of showing the button.
	Confirmed bool
}

// PreviewLink reads the challenge of a link token without changing it: the
// GET of the mail link (which mail-security scanners and browsers'
// prefetchers also make) only shows the address and a button; the button's
// POST calls ConfirmByLink. Errors carry the ConfirmByLink codes, so the
// page of a used, expired, locked or unknown link is the same either way.
func (a *App) PreviewLink(ctx context.Context, token string) (LinkPreview, error) {
	token, err := domain.ParseToken(token)
	if err != nil {
		return LinkPreview{}, translate(err)
	}
	h := domain.HashToken(token)
	o, err := a.d.Repo.GetByTokenHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return LinkPreview{}, translate(domain.ErrNoChallenge)
	}
	if err != nil {
		return LinkPreview{}, err
	}
	c, err := o.LinkTarget(h, a.d.Clock.Now())
	if err != nil {
		return LinkPreview{}, translate(err)
	}
	return LinkPreview{Address: c.Address, Language: o.Recipient().Language, Confirmed: c.State == domain.StateConfirmed}, nil
}
