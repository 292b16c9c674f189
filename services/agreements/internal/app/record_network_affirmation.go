package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// RecordNetworkAffirmationCommand names the partner whose registration
// affirmation (already in the projection) becomes an acceptance record.
type RecordNetworkAffirmationCommand struct {
	PartnerID string
}

// AcceptanceResult is an acceptance record and how the call got it.
type AcceptanceResult struct {
	Acceptance domain.AcceptanceState
	// Existing is true when the call recorded nothing and returned the key's
	// current record (a repeat, a replay, or a lost race).
	Existing bool
	// CarriedOver is true when the requested version differs from the
	// returned record's and the version policy let the record stand.
	CarriedOver bool
	// Pending is set, and nothing recorded yet, when the acceptance waits for
	// the partner's approval to reach this service (see Accept).
	Pending *domain.PendingAcceptanceState
}

// RecordNetworkAffirmation records the partner-network agreement a partner
// affirmed at registration: who and when as the registration event says,
// and the version the form named or else the one in effect at that moment.
// It is driven by the registration event, so it takes no principal.
type RecordNetworkAffirmation struct{ d Deps }

// NetworkAcceptorRole is the acceptor role recorded when the affirmation
// event does not name one.
const NetworkAcceptorRole = "applicant"

// Handle records the affirmation once; replays return the existing record.
func (uc RecordNetworkAffirmation) Handle(ctx context.Context, cmd RecordNetworkAffirmationCommand) (AcceptanceResult, error) {
	partner, err := uc.d.Partners.Get(ctx, cmd.PartnerID)
	if err != nil {
		return AcceptanceResult{}, translate(wrapf(err, "load partner %s", cmd.PartnerID), "load partner")
	}
	aff := partner.State().Affirmation
	if !partner.Registered() || aff == nil {
		return AcceptanceResult{}, errUnknownPartner().With("reason", "no network affirmation received for the partner")
	}
	key := domain.AcceptanceKey{LocationID: partner.LocationID(), Program: domain.ProgramPartnerNetwork, Market: partner.Market()}
	ks, err := uc.d.Keys.ReadKey(ctx, key) // the current record and the network versions: one round trip
	if err != nil {
		return AcceptanceResult{}, translate(wrapf(err, "read acceptance key"), "load acceptance")
	}
	if cur := ks.Current; cur != nil {
		return AcceptanceResult{Acceptance: cur.State(), Existing: true}, nil
	}
	version, err := uc.version(ctx, aff, partner.Market(), ks.Versions)
	if err != nil {
		return AcceptanceResult{}, err
	}
	role := aff.Role
	if role == "" {
		role = NetworkAcceptorRole
	}
	a, err := domain.RecordAcceptance(domain.AcceptanceInput{
		ID: uc.d.IDs.NewID(), Partner: partner, Version: version,
		Acceptor:   domain.Acceptor{UserID: aff.UserID, Name: aff.Name, Email: aff.Email, Role: role},
		AcceptedAt: aff.At, ClientIP: aff.ClientIP, UserAgent: aff.UserAgent, Channel: domain.ChannelRegistration,
	}, uc.d.Clock.Now())
	if err != nil {
		return AcceptanceResult{}, translate(err, "")
	}
	var thenErr error
	err = uc.d.Acceptances.Append(ctx, a, func(ctx context.Context) error {
		if err := requireNewer(ctx, uc.d, a, version, uc.d.Clock.Now()); err != nil {
			thenErr = translate(err, "require re-acceptance")
			return thenErr
		}
		return nil
	})
	if thenErr != nil {
		return AcceptanceResult{}, thenErr
	}
	if errors.Is(err, domain.ErrAcceptanceRace) {
		cur, err := currentAcceptance(ctx, uc.d.Acceptances, key)
		return AcceptanceResult{Acceptance: stateOf(cur), Existing: true}, err
	} else if err != nil {
		return AcceptanceResult{}, translate(wrapf(err, "append acceptance"), "store acceptance")
	}
	return AcceptanceResult{Acceptance: a.State()}, nil
}

// version picks the version the applicant affirmed among the network
// versions.
func (uc RecordNetworkAffirmation) version(ctx context.Context, aff *domain.NetworkAffirmation, market domain.Market,
	network []*domain.Version) (*domain.Version, error) {
	if aff.VersionID != "" {
		if v, err := versionIn(network, aff.VersionID); err == nil {
			return v, nil
		}
		// Not a network version: unknown, or another program's.
		v, err := uc.d.Versions.Get(ctx, aff.VersionID)
		if err != nil {
			return nil, translate(wrapf(err, "load version %s", aff.VersionID), "load version")
		}
		if v.Program() != domain.ProgramPartnerNetwork {
			return nil, coded(domain.ErrVersionProgramMismatch).With("version_id", aff.VersionID)
		}
		return v, nil
	}
	v := domain.InEffect(network, domain.ProgramPartnerNetwork, market, aff.At)
	if v == nil {
		return nil, coded(domain.ErrNoVersionInEffect).With("market", string(market)).With("at", aff.At)
	}
	return v, nil
}

func stateOf(a *domain.Acceptance) domain.AcceptanceState {
	if a == nil {
		return domain.AcceptanceState{}
	}
	return a.State()
}
