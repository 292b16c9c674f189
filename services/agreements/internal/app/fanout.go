package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// fanOut creates the re-acceptance requirements of a requires_reacceptance
// version for every partner whose current acceptance is older. It is
// idempotent (one requirement per key and version), so PublishVersion runs
// it at once and FireDueTimers finishes it after a crash.
type fanOut struct{ d Deps }

func (f fanOut) run(ctx context.Context, v *domain.Version, now time.Time) (int, error) {
	heads, err := f.d.Acceptances.ListCurrentByProgram(ctx, v.Program())
	if err != nil {
		return 0, wrapf(err, "list current acceptances of %s", v.Program())
	}
	versions := map[string]*domain.Version{v.ID(): v}
	created := 0
	closed := map[string]bool{}
	for _, head := range heads {
		if !v.CoversMarket(head.State().Market) || head.VersionID() == v.ID() {
			continue
		}
		pid := head.State().PartnerID
		if _, seen := closed[pid]; !seen {
			if closed[pid], err = isClosed(ctx, f.d, pid); err != nil {
				return created, err
			}
		}
		if closed[pid] {
			continue // a closed account accepts nothing and is asked nothing
		}
		hv, ok := versions[head.VersionID()]
		if !ok {
			hv, err = f.d.Versions.Get(ctx, head.VersionID())
			if err != nil && !errors.Is(err, domain.ErrVersionNotFound) {
				return created, wrapf(err, "load version %s", head.VersionID())
			}
			versions[head.VersionID()] = hv
		}
		if hv != nil && !v.Newer(hv) {
			continue // already on this or a newer version
		}
		added, err := f.d.Requirements.Add(ctx, domain.NewRequirement(f.d.IDs.NewID(), head, v, now))
		if err != nil {
			return created, wrapf(err, "add requirement for %s", head.ID())
		}
		if added {
			created++
		}
	}
	err = f.d.Versions.Update(ctx, v.ID(), func(v *domain.Version) error {
		v.MarkFanOutDone()
		return nil
	})
	if err != nil {
		return created, wrapf(err, "mark fan-out of %s done", v.ID())
	}
	return created, nil
}

// requireNewer creates the requirements an acceptance of an older version
// owes to requires_reacceptance versions already published: without it, a
// partner accepting an old (still published) version after, or during, a
// fan-out would escape the re-acceptance.
func requireNewer(ctx context.Context, d Deps, a *domain.Acceptance, accepted *domain.Version, now time.Time) error {
	all, err := d.Versions.ListByProgram(ctx, accepted.Program())
	if err != nil {
		return wrapf(err, "list versions of %s", accepted.Program())
	}
	for _, v := range all {
		if v.Policy() != domain.PolicyRequiresReacceptance || v.Retired() ||
			!v.CoversMarket(a.State().Market) || !v.Newer(accepted) {
			continue
		}
		if _, err := d.Requirements.Add(ctx, domain.NewRequirement(d.IDs.NewID(), a, v, now)); err != nil {
			return wrapf(err, "add requirement for %s", a.ID())
		}
	}
	return nil
}

// isClosed reports whether the partner's account is closed (final).
func isClosed(ctx context.Context, d Deps, partnerID string) (bool, error) {
	p, err := d.Partners.Get(ctx, partnerID)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return false, nil
	}
	if err != nil {
		return false, wrapf(err, "load partner %s", partnerID)
	}
	return p.State().Standing.Status == domain.StandingClosed, nil
}
