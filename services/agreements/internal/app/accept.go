package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// AcceptCommand is a partner administrator's acceptance of an agreement
// version. Who accepts, from where, comes from the principal (the
// authenticated claims and request facts), never from the body.
type AcceptCommand struct {
	PartnerID string // global partner id or location id
	Market    string // the market the caller believes it accepts for
	VersionID string
	// AcceptedAt is the client's claim; the record's time is the server's.
	// A claim in the future (beyond domain.ClockSkewTolerance) is refused.
	AcceptedAt *time.Time
}

// Accept records the acceptance of a gated agreement (the reseller or
// provider partner agreement, or a network re-acceptance) by a partner_admin
// of the partner, once its verification is approved.
type Accept struct{ d Deps }

// acceptAttempts bounds retries after losing an append race; one retry
// always settles a race between two callers, the rest absorb bursts.
const acceptAttempts = 3

// Handle accepts on behalf of p.
func (uc Accept) Handle(ctx context.Context, p auth.Principal, cmd AcceptCommand) (AcceptanceResult, error) {
	if p.IsZero() {
		return AcceptanceResult{}, p.Require(auth.RolePartnerAdmin)
	}
	partner, err := lookupPartner(ctx, uc.d.Partners, cmd.PartnerID)
	if err != nil {
		return AcceptanceResult{}, err
	}
	if !p.CanSeePartner(partner.ID()) {
		return AcceptanceResult{}, errUnknownPartner()
	}
	// Staff can see the partner, but only its own administrator may bind it.
	if !p.Has(auth.RolePartnerAdmin) || p.PartnerID != partner.ID() {
		return AcceptanceResult{}, apperr.Forbidden(CodeNotPartnerAdmin,
			"only an administrator of the partner may accept its agreements").
			With("required_role", string(auth.RolePartnerAdmin))
	}
	market, err := domain.ParseMarket(cmd.Market)
	if err != nil {
		return AcceptanceResult{}, translate(&domain.ValidationError{Problems: []domain.Problem{{Field: "market", Err: domain.ErrInvalidMarket}}}, "")
	}
	if market != partner.Market() {
		return AcceptanceResult{}, coded(domain.ErrMarketMismatch).With("market", string(market))
	}
	version, err := uc.d.Versions.Get(ctx, strings.TrimSpace(cmd.VersionID))
	if err != nil {
		return AcceptanceResult{}, translate(wrapf(err, "load version %q", cmd.VersionID), "load version")
	}
	key := domain.AcceptanceKey{LocationID: partner.LocationID(), Program: version.Program(), Market: market}
	acceptor := domain.Acceptor{UserID: p.Subject, Name: p.Name, Email: p.Email, Role: string(auth.RolePartnerAdmin)}

	for attempt := 1; ; attempt++ {
		now := uc.d.Clock.Now()
		current, err := currentAcceptance(ctx, uc.d.Acceptances, key)
		if err != nil {
			return AcceptanceResult{}, err
		}
		var currentVersion *domain.Version
		if current != nil {
			if currentVersion, err = uc.d.Versions.Get(ctx, current.VersionID()); err != nil {
				return AcceptanceResult{}, translate(wrapf(err, "load version %s", current.VersionID()), "load version")
			}
		}
		open, required, err := openRequirements(ctx, uc.d, key)
		if err != nil {
			return AcceptanceResult{}, err
		}
		outcome := domain.DecideAcceptance(current, currentVersion, version, required)
		in := domain.AcceptanceInput{
			ID: uc.d.IDs.NewID(), Partner: partner, Version: version, Acceptor: acceptor,
			ClientAcceptedAt: cmd.AcceptedAt, ClientIP: p.SourceIP, UserAgent: p.UserAgent,
			RequestID: p.RequestID, Channel: domain.ChannelAPI,
		}
		if outcome == domain.OutcomeSupersede {
			in.Supersedes = current
		}
		// Every rule is checked even when nothing will be recorded, so that a
		// repeat cannot report success for a request that would be refused.
		a, err := domain.RecordAcceptance(in, now)
		if err != nil {
			return AcceptanceResult{}, translate(err, "")
		}
		switch outcome {
		case domain.OutcomeSameVersion:
			return AcceptanceResult{Acceptance: current.State(), Existing: true}, nil
		case domain.OutcomeCarriedOver:
			return AcceptanceResult{Acceptance: current.State(), Existing: true, CarriedOver: true}, nil
		}
		err = uc.d.Acceptances.Append(ctx, a)
		if errors.Is(err, domain.ErrAcceptanceRace) && attempt < acceptAttempts {
			continue
		}
		if err != nil {
			return AcceptanceResult{}, translate(wrapf(err, "append acceptance"), "store acceptance")
		}
		if err := satisfyRequirements(ctx, uc.d, open, required, version, a.ID(), now); err != nil {
			// The acceptance is stored; FireDueTimers closes the requirement later.
			return AcceptanceResult{Acceptance: a.State()}, err
		}
		if err := requireNewer(ctx, uc.d, a, version, now); err != nil {
			return AcceptanceResult{Acceptance: a.State()}, translate(err, "require re-acceptance")
		}
		return AcceptanceResult{Acceptance: a.State()}, nil
	}
}

func currentAcceptance(ctx context.Context, repo AcceptanceRepository, key domain.AcceptanceKey) (*domain.Acceptance, error) {
	cur, err := repo.Current(ctx, key)
	if errors.Is(err, domain.ErrAcceptanceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(wrapf(err, "load current acceptance"), "load acceptance")
	}
	return cur, nil
}

// openRequirements returns the key's open requirements and, index for index,
// the versions they require.
func openRequirements(ctx context.Context, d Deps, key domain.AcceptanceKey) ([]*domain.Requirement, []*domain.Version, error) {
	open, err := d.Requirements.ListOpen(ctx, key)
	if err != nil {
		return nil, nil, translate(wrapf(err, "list open requirements"), "list requirements")
	}
	versions := make([]*domain.Version, len(open))
	for i, r := range open {
		if versions[i], err = d.Versions.Get(ctx, r.VersionID()); err != nil {
			return nil, nil, translate(wrapf(err, "load version %s", r.VersionID()), "load version")
		}
	}
	return open, versions, nil
}

// satisfyRequirements closes the open requirements that accepting accepted clears.
func satisfyRequirements(ctx context.Context, d Deps, open []*domain.Requirement, required []*domain.Version,
	accepted *domain.Version, acceptanceID string, now time.Time) error {
	for i, r := range open {
		if !domain.Satisfies(accepted, required[i]) {
			continue
		}
		err := d.Requirements.Update(ctx, r.ID(), func(r *domain.Requirement) error {
			r.Satisfy(acceptanceID, now)
			return nil
		})
		if err != nil {
			return translate(wrapf(err, "satisfy requirement %s", r.ID()), "update requirement")
		}
	}
	return nil
}

func lookupPartner(ctx context.Context, repo PartnerRepository, id string) (*domain.Partner, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, errUnknownPartner()
	}
	p, err := repo.Get(ctx, id)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		p, err = repo.GetByLocation(ctx, id)
	}
	if errors.Is(err, domain.ErrPartnerNotFound) || (err == nil && !p.Registered()) {
		return nil, errUnknownPartner()
	}
	if err != nil {
		return nil, translate(wrapf(err, "load partner %s", id), "load partner")
	}
	return p, nil
}
