package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// RetireVersionCommand names the version to retire.
type RetireVersionCommand struct {
	VersionID string
}

// RetireVersionResult is the retired version.
type RetireVersionResult struct {
	Version domain.VersionState
	// RequirementsCancelled counts open re-acceptance requirements for the
	// version that lapsed, since a retired version cannot be accepted (each
	// a ReacceptanceCancelled event: a partner past the deadline may
	// transact on its earlier acceptance again).
	RequirementsCancelled int
}

// RetireVersion stops new acceptances of a version (operators only).
// Acceptances already recorded stand. Retiring twice is a no-op.
type RetireVersion struct{ d Deps }

// Handle retires cmd.VersionID on behalf of p.
func (uc RetireVersion) Handle(ctx context.Context, p auth.Principal, cmd RetireVersionCommand) (RetireVersionResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return RetireVersionResult{}, err
	}
	now := uc.d.Clock.Now()
	var res RetireVersionResult
	err := uc.d.Versions.Update(ctx, cmd.VersionID, func(v *domain.Version) error {
		v.Retire(p.Subject, now)
		res.Version = v.State()
		return nil
	})
	if err != nil {
		return RetireVersionResult{}, translate(wrapf(err, "retire version %s", cmd.VersionID), "retire version")
	}
	open, err := uc.d.Requirements.ListOpenByVersion(ctx, cmd.VersionID)
	if err != nil {
		return res, translate(wrapf(err, "list requirements of %s", cmd.VersionID), "list requirements")
	}
	res.RequirementsCancelled, err = cancelAll(ctx, uc.d, open, domain.CancelVersionRetired, now)
	return res, err
}
