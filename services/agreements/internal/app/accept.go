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
//
// No refusal caused by event lag: registration reports an enrollment
// qualified when it applied the approval, and this service learns of the
// same approval on its own consumer, a moment (or, with a backlog, longer)
// later. An acceptance made in between — the partner still unknown here, or
// its verification not decided yet — is kept as a pending acceptance
// (AcceptanceResult.Pending, 202) and recorded, with the time it was made,
// when the approval arrives; refused (AcceptanceRefused) if the partner is
// rejected instead. A partner whose verification was rejected or revoked is
// refused at once.
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
	if ae, ok := apperr.As(err); ok && ae.Code == domain.ErrPartnerNotFound.Code && isOwnGlobalID(p, cmd.PartnerID) {
		partner, err = nil, nil // registered, but not heard of here yet
	}
	if err != nil {
		return AcceptanceResult{}, err
	}
	partnerID := strings.TrimSpace(cmd.PartnerID)
	if partner != nil {
		partnerID = partner.ID()
	}
	registrant := ""
	if partner != nil {
		registrant = partner.RegisteredBy()
	}
	// Whoever may not act for the partner is told what an unknown partner's
	// caller is: an upstream system that did not register it learns nothing.
	if !p.ActsForRecord(partnerID, registrant) {
		return AcceptanceResult{}, errUnknownPartner()
	}
	// Staff can see the partner, but only its own administrator may bind it.
	if !p.Has(auth.RolePartnerAdmin) || p.PartnerID != partnerID {
		return AcceptanceResult{}, apperr.Forbidden(CodeNotPartnerAdmin,
			"only an administrator of the partner may accept its agreements").
			With("required_role", string(auth.RolePartnerAdmin))
	}
	if err := uc.d.MFA.Require(p, "accept_agreement"); err != nil {
		return AcceptanceResult{}, err
	}
	market, err := domain.ParseMarket(cmd.Market)
	if err != nil {
		return AcceptanceResult{}, translate(&domain.ValidationError{Problems: []domain.Problem{{Field: "market", Err: domain.ErrInvalidMarket}}}, "")
	}
	if partner != nil && market != partner.Market() {
		return AcceptanceResult{}, coded(domain.ErrMarketMismatch).With("market", string(market))
	}
	version, err := uc.d.Versions.Get(ctx, strings.TrimSpace(cmd.VersionID))
	if err != nil {
		return AcceptanceResult{}, translate(wrapf(err, "load version %q", cmd.VersionID), "load version")
	}
	req := acceptance{
		Partner: partner, Version: version, Market: market, ClientAcceptedAt: cmd.AcceptedAt,
		Acceptor: domain.Acceptor{UserID: p.Subject, Name: p.Name, Email: p.Email, Role: string(auth.RolePartnerAdmin)},
		ClientIP: p.SourceIP, UserAgent: p.UserAgent, RequestID: p.RequestID,
	}
	if partner != nil {
		res, err := record(ctx, uc.d, req)
		if !errors.Is(err, domain.ErrVerificationNotApproved) || partner.Verification().Outcome != domain.VerificationPending {
			return res, translateAcceptance(err, partner)
		}
	}
	return uc.keepPending(ctx, partnerID, req)
}

// keepPending stores the acceptance as pending while this service has not
// heard the partner's verification. When it has meanwhile (the approval's
// handler held the partner's row while this request read it), the
// acceptance is decided on it in the transaction that found it out: the
// lock it took is not wasted on a rollback.
func (uc Accept) keepPending(ctx context.Context, partnerID string, req acceptance) (AcceptanceResult, error) {
	pa := domain.NewPendingAcceptance(domain.PendingAcceptanceState{
		ID: uc.d.IDs.NewID(), PartnerID: partnerID, Market: req.Market, VersionID: req.Version.ID(), Acceptor: req.Acceptor,
		ClientAcceptedAt: req.ClientAcceptedAt, ClientIP: req.ClientIP, UserAgent: req.UserAgent, RequestID: req.RequestID,
		RequestedAt: uc.d.Clock.Now(),
	})
	if c := req.ClientAcceptedAt; c != nil && c.After(uc.d.Clock.Now().Add(domain.ClockSkewTolerance)) {
		return AcceptanceResult{}, translate(&domain.ValidationError{Problems: []domain.Problem{{Field: "accepted_at", Err: domain.ErrAcceptedAtInFuture}}}, "")
	}
	var decided bool
	var res AcceptanceResult
	var recErr error
	err := uc.d.Pending.Add(ctx, pa, func(p *domain.Partner) bool {
		return p == nil || !p.Registered() || p.Verification().Outcome == domain.VerificationPending
	}, func(ctx context.Context, p *domain.Partner) error {
		decided = true
		r := req
		r.Partner = p
		res, recErr = record(ctx, uc.d, r)
		recErr = translateAcceptance(recErr, p)
		if recErr != nil && res.Acceptance.ID == "" {
			return recErr // nothing recorded: nothing to keep
		}
		return nil // recorded (a requirement left open is closed later)
	})
	if decided {
		if err != nil && recErr == nil {
			return AcceptanceResult{}, translate(wrapf(err, "record acceptance"), "store acceptance")
		}
		return res, recErr
	}
	if err != nil {
		return AcceptanceResult{}, translate(wrapf(err, "keep pending acceptance"), "store pending acceptance")
	}
	st := pa.State()
	return AcceptanceResult{Pending: &st}, nil
}

// isOwnGlobalID reports whether id is the global partner id the caller's
// token names (the identity provider vouches that the partner exists).
func isOwnGlobalID(p auth.Principal, id string) bool {
	id = strings.TrimSpace(id)
	return strings.HasPrefix(id, "PG-") && p.PartnerID == id && p.Has(auth.RolePartnerAdmin)
}

// translateAcceptance is translate, with the partner's standing on a
// refusal for standing.
func translateAcceptance(err error, partner *domain.Partner) error {
	if errors.Is(err, domain.ErrNotInGoodStanding) {
		st := partner.Standing()
		return coded(domain.ErrNotInGoodStanding).With("standing", st.Status).With("reasons", st.Reasons)
	}
	return translate(err, "")
}

// acceptance is one acceptance to record, whoever asks (the HTTP request or
// a pending acceptance completed later).
type acceptance struct {
	Partner          *domain.Partner
	Version          *domain.Version
	Market           domain.Market
	Acceptor         domain.Acceptor
	AcceptedAt       time.Time // zero: now (a pending acceptance: when it was made)
	ClientAcceptedAt *time.Time
	ClientIP         string
	UserAgent        string
	RequestID        string
}

// record applies the version policy to the key's current acceptance and
// records a new one if needed, closing the requirements it clears.
func record(ctx context.Context, d Deps, req acceptance) (AcceptanceResult, error) {
	key := domain.AcceptanceKey{LocationID: req.Partner.LocationID(), Program: req.Version.Program(), Market: req.Market}
	for attempt := 1; ; attempt++ {
		now := d.Clock.Now()
		ks, err := d.Keys.ReadKey(ctx, key)
		if err != nil {
			return AcceptanceResult{}, translate(wrapf(err, "read acceptance key"), "load acceptance")
		}
		current := ks.Current
		var currentVersion *domain.Version
		if current != nil {
			if currentVersion, err = versionIn(ks.Versions, current.VersionID()); err != nil {
				return AcceptanceResult{}, translate(wrapf(err, "load version %s", current.VersionID()), "load version")
			}
		}
		open, required := ks.Open, make([]*domain.Version, len(ks.Open))
		for i, r := range open {
			if required[i], err = versionIn(ks.Versions, r.VersionID()); err != nil {
				return AcceptanceResult{}, translate(wrapf(err, "load version %s", r.VersionID()), "load version")
			}
		}
		outcome := domain.DecideAcceptance(current, currentVersion, req.Version, required)
		in := domain.AcceptanceInput{
			ID: d.IDs.NewID(), Partner: req.Partner, Version: req.Version, Acceptor: req.Acceptor, AcceptedAt: req.AcceptedAt,
			ClientAcceptedAt: req.ClientAcceptedAt, ClientIP: req.ClientIP, UserAgent: req.UserAgent,
			RequestID: req.RequestID, Channel: domain.ChannelAPI,
		}
		if outcome == domain.OutcomeSupersede {
			in.Supersedes = current
		}
		// Every rule is checked even when nothing will be recorded, so that a
		// repeat cannot report success for a request that would be refused.
		a, err := domain.RecordAcceptance(in, now)
		if err != nil {
			return AcceptanceResult{}, err
		}
		switch outcome {
		case domain.OutcomeSameVersion:
			return AcceptanceResult{Acceptance: current.State(), Existing: true}, nil
		case domain.OutcomeCarriedOver:
			return AcceptanceResult{Acceptance: current.State(), Existing: true, CarriedOver: true}, nil
		}
		// The requirements the acceptance clears and the re-acceptance it
		// owes to a newer version are written in its transaction: a crash
		// between them would leave a partner on an old version owing
		// nothing, and a retry stops at the acceptance already recorded.
		var thenErr error
		err = d.Acceptances.Append(ctx, a, func(ctx context.Context) error {
			if thenErr = satisfyRequirements(ctx, d, open, required, req.Version, a.ID(), now); thenErr != nil {
				return thenErr
			}
			if err := requireNewer(ctx, d, a, req.Version, now); err != nil {
				thenErr = translate(err, "require re-acceptance")
				return thenErr
			}
			return nil
		})
		if errors.Is(err, domain.ErrAcceptanceRace) && attempt < acceptAttempts {
			continue
		}
		if thenErr != nil {
			return AcceptanceResult{}, thenErr
		}
		if err != nil {
			return AcceptanceResult{}, translate(wrapf(err, "append acceptance"), "store acceptance")
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

// versionIn finds id among the versions of a key's program (a record or a
// requirement of the key names a version of the same program).
func versionIn(versions []*domain.Version, id string) (*domain.Version, error) {
	for _, v := range versions {
		if v.ID() == id {
			return v, nil
		}
	}
	return nil, domain.ErrVersionNotFound
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
