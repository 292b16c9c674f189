package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// ConfirmByCodeCommand is the code typed into the portal.
type ConfirmByCodeCommand struct {
	EnrollmentID string
	Code         string
}

// ConfirmByCode checks the 6-digit code of the enrollment's current
// challenge. The caller is a user of the partner (partner_admin or
// partner_user) or an operator; an enrollment the caller cannot see answers
// not found. A wrong code answers CodeCodeWrong with detail
// "attempts_left"; the last allowed wrong code answers CodeChallengeLocked.
func (a *App) ConfirmByCode(ctx context.Context, p auth.Principal, cmd ConfirmByCodeCommand) (ConfirmResult, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RolePartnerUser, auth.RoleOperator); err != nil {
		return ConfirmResult{}, err
	}
	code, err := domain.ParseCode(cmd.Code)
	if err != nil {
		return ConfirmResult{}, translate(err)
	}
	var res ConfirmResult
	var outcome error
	left := 0
	err = a.d.Repo.Update(ctx, cmd.EnrollmentID, func(o *domain.Ownership) error {
		if !actsFor(p, o) {
			return ErrNotFound
		}
		now := a.d.Clock.Now()
		// Always commit: the wrong-code count must persist with the error.
		outcome = o.ConfirmByCode(code, a.d.Hasher, a.d.Policy, now)
		left = o.WrongCodesLeft(a.d.Policy)
		// A confirmation sent again answers the first one's time.
		cur, _ := o.Current()
		res = ConfirmResult{EnrollmentID: o.Ref().EnrollmentID, ConfirmedAt: cur.ConfirmedAt, Language: o.Recipient().Language}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return ConfirmResult{}, apperr.NotFound(CodeNotFound, "no such enrollment")
	}
	if err == nil {
		err = outcome
	}
	if err != nil {
		e := translate(err)
		if ae, ok := apperr.As(e); ok && errors.Is(err, domain.ErrWrongCode) {
			ae.With("attempts_left", left)
		}
		return ConfirmResult{}, e
	}
	return res, nil
}
