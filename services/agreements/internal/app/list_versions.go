package app

import (
	"context"
	"slices"
	"strings"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/events"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// ListVersionsQuery filters the version catalogue; empty fields match all.
type ListVersionsQuery struct {
	Program        string
	Market         string // versions that apply in this market
	IncludeRetired bool
}

// ListVersions lists published agreement versions (any authenticated
// caller: the texts are what partners are asked to accept; who published
// or retired one, staff only: events.SubjectsShownTo).
type ListVersions struct{ d Deps }

// Handle lists for p, ordered by program, then effective date.
func (uc ListVersions) Handle(ctx context.Context, p auth.Principal, q ListVersionsQuery) ([]domain.VersionState, error) {
	if err := requireAuthenticated(p); err != nil {
		return nil, err
	}
	var ps []domain.Problem
	var program domain.Program
	var market domain.Market
	var err error
	if strings.TrimSpace(q.Program) != "" {
		if program, err = domain.ParseProgram(q.Program); err != nil {
			ps = append(ps, domain.Problem{Field: "query.program", Err: domain.ErrInvalidProgram})
		}
	}
	if strings.TrimSpace(q.Market) != "" {
		if market, err = domain.ParseMarket(q.Market); err != nil {
			ps = append(ps, domain.Problem{Field: "query.market", Err: domain.ErrInvalidMarket})
		}
	}
	if len(ps) > 0 {
		return nil, translate(&domain.ValidationError{Problems: ps}, "")
	}
	var all []*domain.Version
	if program != "" {
		all, err = uc.d.Versions.ListByProgram(ctx, program)
	} else {
		all, err = uc.d.Versions.ListAll(ctx)
	}
	if err != nil {
		return nil, translate(wrapf(err, "list versions"), "list versions")
	}
	// Who published or retired a version (an operator) is staff's to read.
	shown := events.SubjectsShownTo(p, "")
	out := make([]domain.VersionState, 0, len(all))
	for _, v := range all {
		if (v.Retired() && !q.IncludeRetired) || (market != "" && !v.CoversMarket(market)) {
			continue
		}
		st := v.State()
		events.HideSubject(&st.PublishedBy, shown)
		events.HideSubject(&st.RetiredBy, shown)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b domain.VersionState) int {
		if c := strings.Compare(string(a.Program), string(b.Program)); c != 0 {
			return c
		}
		if c := a.EffectiveFrom.Compare(b.EffectiveFrom); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
