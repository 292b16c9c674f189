package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// PublishVersionCommand is a new agreement version's terms.
type PublishVersionCommand struct {
	Draft domain.VersionDraft
}

// PublishVersionResult is the published version.
type PublishVersionResult struct {
	Version domain.VersionState
	// Existing is true when the same terms were already published under this
	// id: publishing is idempotent, editing is refused.
	Existing bool
	// RequirementsCreated counts the re-acceptance requirements this call created.
	RequirementsCreated int
}

// PublishVersion publishes an agreement version (operators only). A
// published version is never edited: publish another id instead.
type PublishVersion struct {
	d   Deps
	fan fanOut
}

// Handle publishes cmd.Draft on behalf of p.
func (uc PublishVersion) Handle(ctx context.Context, p auth.Principal, cmd PublishVersionCommand) (PublishVersionResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return PublishVersionResult{}, err
	}
	return uc.publish(ctx, p.Subject, cmd.Draft)
}

func (uc PublishVersion) publish(ctx context.Context, by string, draft domain.VersionDraft) (PublishVersionResult, error) {
	now := uc.d.Clock.Now()
	v, err := domain.PublishVersion(draft, by, now)
	if err != nil {
		return PublishVersionResult{}, translate(err, "")
	}
	err = uc.d.Versions.Add(ctx, v)
	if errors.Is(err, domain.ErrVersionExists) {
		old, gerr := uc.d.Versions.Get(ctx, v.ID())
		if gerr != nil {
			return PublishVersionResult{}, translate(wrapf(gerr, "load version %s", v.ID()), "load version")
		}
		if !old.SameTerms(v) {
			return PublishVersionResult{}, coded(domain.ErrVersionExists).With("version_id", v.ID())
		}
		res := PublishVersionResult{Version: old.State(), Existing: true}
		// A replayed publish also finishes a fan-out that an earlier crash cut short.
		if old.FanOutPending() {
			res.RequirementsCreated, err = uc.fan.run(ctx, old, now)
			return res, translate(err, "fan out re-acceptance requirements")
		}
		return res, nil
	}
	if err != nil {
		return PublishVersionResult{}, translate(wrapf(err, "add version %s", v.ID()), "store version")
	}
	res := PublishVersionResult{Version: v.State()}
	if v.FanOutPending() {
		res.RequirementsCreated, err = uc.fan.run(ctx, v, now)
		if err != nil {
			return res, translate(err, "fan out re-acceptance requirements")
		}
		res.Version.FanOutPending = false
	}
	return res, nil
}
