package app

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/apperr"
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
	note, err := optionalNote(s)
	if err == nil && note == "" {
		return "", invalidNote()
	}
	return note, err
}

// optionalNote normalizes a free-text reason: at most 2000 characters, and
// no control, invisible or bidi-control character (a note is shown to
// operators and kept in the partner's history as written: such a
// character would make it read as something else), with the field code
// of a registration field holding one.
func optionalNote(s string) (string, error) {
	note := normalize.Text(s)
	if p, bad := normalize.CheckText(note); bad {
		code, what := domain.CharCode(p)
		return "", apperr.Invalid(CodeInvalidInput, "say why in plain text",
			apperr.FieldError{Field: "note", Code: code, Message: fmt.Sprintf("must not contain %s (%s)", what, p)})
	}
	if utf8.RuneCountInString(note) > 2000 {
		return "", invalidNote()
	}
	return note, nil
}
