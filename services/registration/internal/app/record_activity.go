package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// RecordActivity notes that p acted for its partner (a partner user's
// request), which keeps the partner from becoming inactive. Staff and
// services acting on a partner are not its activity. The write is skipped
// when the partner was active recently.
func (a *App) RecordActivity(ctx context.Context, p auth.Principal) error {
	if p.PartnerID == "" || !p.Has(auth.RolePartnerAdmin, auth.RolePartnerUser, auth.RoleProviderAdmin) {
		return nil
	}
	id, err := domain.ParsePartnerID(p.PartnerID)
	if err != nil {
		return nil // a location ID or a malformed claim: nothing to record
	}
	return a.repo.Touch(ctx, id, a.now())
}

// requiredNote normalizes a free-text reason that must be given.
func requiredNote(s string) (string, error) {
	note := normalize.Text(s)
	if note == "" || len([]rune(note)) > 2000 {
		return "", invalidNote()
	}
	return note, nil
}
