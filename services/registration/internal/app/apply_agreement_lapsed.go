package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// AgreementRevision is the agreements service's fact about a new version of
// a program's agreement for one partner: it must be accepted by DueBy for
// the partner's acceptance to keep counting (At: when agreements asked), or
// it was not (At: when agreements found it overdue).
type AgreementRevision struct {
	PartnerID string
	Program   string
	VersionID string
	DueBy     time.Time
	At        time.Time
}

// ApplyAgreementRevised shows the version due on the program's enrollments
// (domain.Partner.RequireReacceptance; the requirements view lists it).
// Nothing moves.
func (a *App) ApplyAgreementRevised(ctx context.Context, p auth.Principal, cmd AgreementRevision) (LifecycleResult, error) {
	return a.applyRevision(ctx, p, cmd, "require re-acceptance", (*domain.Partner).RequireReacceptance)
}

// ApplyAgreementLapsed takes the agreement from the program's enrollments
// (domain.Partner.LapseAgreement): an active one is qualified again until
// the new version is accepted.
func (a *App) ApplyAgreementLapsed(ctx context.Context, p auth.Principal, cmd AgreementRevision) (LifecycleResult, error) {
	return a.applyRevision(ctx, p, cmd, "lapse agreement", (*domain.Partner).LapseAgreement)
}

// applyRevision applies agreements' news of a revision to the partner.
// Callers: the agreements consumer (it acts as an operator). A replay, or
// news overtaken by the acceptance of that version, changes nothing.
func (a *App) applyRevision(ctx context.Context, p auth.Principal, cmd AgreementRevision, op string,
	apply func(*domain.Partner, domain.Program, string, time.Time, time.Time, time.Time) (bool, error)) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	program, err := parseProgram(cmd.Program)
	if err != nil {
		return LifecycleResult{}, err
	}
	version := normalize.Text(cmd.VersionID)
	return a.change(ctx, p, cmd.PartnerID, op, func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		return apply(partner, program, version, cmd.DueBy, cmd.At, now)
	})
}

// AgreementWithdrawal is agreements' news that it cancelled its requirement
// to accept VersionID of the program's agreement: AcceptanceID counts as
// before. Restore: the version was retired (a closed partner's lapse stays).
type AgreementWithdrawal struct {
	PartnerID    string
	Program      string
	VersionID    string
	AcceptanceID string
	Restore      bool
}

// ApplyReacceptanceCancelled clears the version due from the program's
// enrollments and, on a retirement, gives a lapsed enrollment its earlier
// acceptance back (domain.Partner.WithdrawReacceptance): a qualified one is
// active again. Callers: the agreements consumer (it acts as an operator).
func (a *App) ApplyReacceptanceCancelled(ctx context.Context, p auth.Principal, cmd AgreementWithdrawal) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	program, err := parseProgram(cmd.Program)
	if err != nil {
		return LifecycleResult{}, err
	}
	version, acceptance := normalize.Text(cmd.VersionID), normalize.Text(cmd.AcceptanceID)
	return a.change(ctx, p, cmd.PartnerID, "withdraw re-acceptance", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		return partner.WithdrawReacceptance(program, version, acceptance, cmd.Restore, now)
	})
}
