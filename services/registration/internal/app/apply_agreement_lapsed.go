package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// AgreementRevised is the agreements service's fact that a partner must
// accept a new version of a program's agreement by DueBy for its acceptance
// to keep counting (At: when it asked).
type AgreementRevised struct {
	PartnerID string
	Program   string
	VersionID string
	DueBy     time.Time
	At        time.Time
}

// ApplyAgreementRevised shows the version due on the program's enrollments
// (domain.Partner.RequireReacceptance; the requirements view lists it).
// Nothing moves. Callers: the agreements consumer (it acts as an
// operator). A replay, or news overtaken by the acceptance of that version,
// changes nothing.
func (a *App) ApplyAgreementRevised(ctx context.Context, p auth.Principal, cmd AgreementRevised) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	program, err := parseProgram(cmd.Program)
	if err != nil {
		return LifecycleResult{}, err
	}
	version := normalize.Text(cmd.VersionID)
	return a.change(ctx, p, cmd.PartnerID, "require re-acceptance", func(partner *domain.Partner, now time.Time) (bool, error) {
		return partner.RequireReacceptance(program, version, cmd.DueBy, cmd.At, now)
	})
}

// AgreementLapsed is the agreements service's fact that a partner did not
// accept a new version of a program's agreement by its deadline, so that
// its earlier acceptance no longer counts.
type AgreementLapsed struct {
	PartnerID string
	Program   string
	VersionID string // the version not accepted
	DueBy     time.Time
	OverdueAt time.Time
}

// ApplyAgreementLapsed takes the agreement from the program's enrollments
// (domain.Partner.LapseAgreement): an active one is qualified again until
// the new version is accepted. Callers: the agreements consumer (it acts as
// an operator). A replay, or news overtaken by the acceptance of that
// version, changes nothing.
func (a *App) ApplyAgreementLapsed(ctx context.Context, p auth.Principal, cmd AgreementLapsed) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	program, err := parseProgram(cmd.Program)
	if err != nil {
		return LifecycleResult{}, err
	}
	version := normalize.Text(cmd.VersionID)
	return a.change(ctx, p, cmd.PartnerID, "lapse agreement", func(partner *domain.Partner, now time.Time) (bool, error) {
		return partner.LapseAgreement(program, version, cmd.DueBy, cmd.OverdueAt, now)
	})
}
