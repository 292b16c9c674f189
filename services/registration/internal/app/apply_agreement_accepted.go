package app

import (
	"context"
	"github.com/partnerhub/onboarding/pkg/ids"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// AgreementAccepted is the agreements service's fact that a partner accepted
// a program's agreement, with the location ID it applies to (required for an
// indirect reseller unless one is already linked).
type AgreementAccepted struct {
	PartnerID   string
	Program     string
	LocationID  string // optional
	AgreementID string // the accepted agreement, recorded on the enrollment
	VersionID   string // its version (empty: not known)
}

// ApplyAgreementAccepted makes the program's qualified enrollment active,
// linking the location first for an indirect reseller. Callers: the
// agreements consumer (it acts as an operator) or an operator. A repeat is a
// no-op; before approval it is registration.not_yet_approved.
func (a *App) ApplyAgreementAccepted(ctx context.Context, p auth.Principal, cmd AgreementAccepted) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	program, err := parseProgram(cmd.Program)
	if err != nil {
		return LifecycleResult{}, err
	}
	var loc domain.LocationID
	if cmd.LocationID != "" {
		if loc, err = parseID[domain.LocationID]("location_id", ids.Location, cmd.LocationID); err != nil {
			return LifecycleResult{}, err
		}
	}
	agreementID := normalize.Text(cmd.AgreementID)
	return a.change(ctx, p, cmd.PartnerID, "accept agreement", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		changed, err := partner.AcceptAgreement(program, loc, agreementID, normalize.Text(cmd.VersionID), now)
		if changed {
			partner.SawActivity(now) // the partner's administrator acted
		}
		return changed, err
	})
}

func parseProgram(s string) (domain.Program, error) {
	prog := domain.Program(s)
	if !prog.Valid() {
		return "", apperr.Invalid(CodeInvalidInput, "unknown program", apperr.FieldError{Field: "program", Code: domain.CodeProgramUnknown,
			Message: "must be partner_network, indirect_reseller or indirect_provider"})
	}
	return prog, nil
}
