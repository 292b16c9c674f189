package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// CreateRequestCommand is a provider's invitation to a reseller. Empty Roles
// means the least-privilege default set; DurationDays 0 means
// domain.DefaultDurationDays.
type CreateRequestCommand struct {
	ResellerLocationID string
	Roles              []string
	DurationDays       int
	AutoExtend         bool
}

// CreateRequestResult carries the invitation token in clear: this is the only
// place it ever appears in clear (the notifier gets the link sealed, in the
// event, and mails it to the reseller). The caller builds the link.
type CreateRequestResult struct {
	RelationshipID string
	RequestID      string
	Token          string
	Roles          []string
	DurationDays   int
	AutoExtend     bool
	ExpiresAt      time.Time
}

// CreateRequest lets the provider_admin of an active indirect provider ask a
// reseller (by location ID) for a relationship with delegated access.
func (a *App) CreateRequest(ctx context.Context, p auth.Principal, cmd CreateRequestCommand) (CreateRequestResult, error) {
	if err := p.Require(auth.RoleProviderAdmin); err != nil {
		return CreateRequestResult{}, err
	}
	if err := a.mfa.Require(p, "request_delegated_admin"); err != nil {
		return CreateRequestResult{}, err
	}
	// What the request says is checked before what it names is looked up:
	// a wrong request is 422 whatever the parties' state.
	if cmd.ResellerLocationID == "" {
		return CreateRequestResult{}, apperr.Invalid(CodeResellerLocationMissing, "name the reseller's location",
			apperr.FieldError{Field: "reseller_location_id", Code: apperr.CodeFieldRequired, Message: "is required"})
	}
	location, err := readTarget(cmd.ResellerLocationID)
	if err != nil {
		return CreateRequestResult{}, err
	}
	cmd.ResellerLocationID = location
	terms, err := accessTerms(cmd.Roles, cmd.DurationDays, domain.DefaultDurationDays, cmd.AutoExtend, true)
	if err != nil {
		return CreateRequestResult{}, err
	}
	now := a.clock()
	// Read once to refuse early, and again under both parties' share locks
	// in the transaction that adds the proposal: a standing change applied
	// meanwhile (a closure ends the partner's open relationships) either
	// committed first and refuses it, or waits and then finds it.
	provider, reseller, err := a.requestParties(ctx, p, cmd.ResellerLocationID)
	if err != nil {
		return CreateRequestResult{}, err
	}
	token, hash, err := domain.NewInvitationToken(a.rand)
	if err != nil {
		return CreateRequestResult{}, err
	}
	relID, reqID := a.newID(), a.newID()
	sealed, err := a.sealInvitation(reqID, token)
	if err != nil {
		return CreateRequestResult{}, err
	}
	var rel *domain.Relationship
	err = a.partners.Holding(ctx, []string{provider.ID, reseller.ID}, func(ctx context.Context) error {
		provider, reseller, err := a.requestParties(ctx, p, cmd.ResellerLocationID)
		if err != nil {
			return err
		}
		rel, err = domain.NewProposal(domain.Proposal{
			RelationshipID: relID, RequestID: reqID, Provider: provider, Reseller: reseller,
			ResellerLocationID: cmd.ResellerLocationID, Terms: terms, TokenHash: hash, SealedInvitation: sealed, CreatedBy: p.Subject, Now: now,
		}, a.policy)
		if err != nil {
			return mapErr(err)
		}
		// Optimistic: Add enforces one open relationship per pair atomically
		// (it also decides racing requests); only a refusal needs a closer look.
		err = a.rels.Add(ctx, rel)
		if errors.Is(err, domain.ErrRequestPending) {
			var expired bool
			if expired, err = a.expireStale(ctx, rel.ProviderID, rel.ResellerID, now); err == nil {
				err = domain.ErrRequestPending
				if expired {
					err = a.rels.Add(ctx, rel)
				}
			}
		}
		return mapErr(err)
	})
	if err != nil {
		return CreateRequestResult{}, err
	}
	q := rel.Requests[0]
	return CreateRequestResult{
		RelationshipID: rel.ID, RequestID: q.ID, Token: token, Roles: q.Terms.Roles.Strings(),
		DurationDays: q.Terms.DurationDays, AutoExtend: q.Terms.AutoExtend, ExpiresAt: q.ExpiresAt,
	}, nil
}

// requestParties reads the provider (the caller's partner) and the reseller
// (by location ID) of a new request, and refuses them unless the provider is
// an active indirect provider and both may transact.
func (a *App) requestParties(ctx context.Context, p auth.Principal, resellerLocationID string) (provider, reseller domain.Partner, err error) {
	provider, err = a.callerPartner(ctx, p)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return provider, reseller, mapErr(domain.ErrProviderNotActive)
	}
	if err != nil {
		return provider, reseller, err
	}
	if !provider.InGoodStanding() {
		return provider, reseller, notInGoodStanding(domain.SideProvider, provider)
	}
	if !provider.ActiveIn(domain.ProgramIndirectProvider) {
		return provider, reseller, mapErr(domain.ErrProviderNotActive)
	}
	reseller, err = a.partners.Get(ctx, resellerLocationID)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return provider, reseller, mapErr(domain.ErrResellerUnknown)
	}
	if err != nil {
		return provider, reseller, err
	}
	if reseller.Registered && !reseller.InGoodStanding() {
		return provider, reseller, notInGoodStanding(domain.SideReseller, reseller)
	}
	return provider, reseller, nil
}

// expireStale expires the open proposal of the pair when its invitation is
// past expiry but the poller has not expired it yet, so that a lagging timer
// never blocks a fresh request. It reports whether it did.
func (a *App) expireStale(ctx context.Context, providerID, resellerID string, now time.Time) (bool, error) {
	cur, err := a.rels.Open(ctx, providerID, resellerID)
	if errors.Is(err, domain.ErrRelationshipNotFound) {
		return true, nil // closed meanwhile: try again
	}
	if err != nil {
		return false, err
	}
	q := cur.PendingRequest()
	if cur.State != domain.StateProposed || q == nil || now.Before(q.ExpiresAt) {
		return false, nil
	}
	err = a.rels.Update(ctx, cur.ID, func(r *domain.Relationship) error {
		r.Tick(now, a.policy)
		return nil
	})
	return err == nil, err
}

// readTarget reads the location partner ID a request is addressed to as
// every service reads an identifier (pkg/ids): its canonical form; a global
// partner ID, the classic mistake, keeps its own answer
// (relationships.target_not_location); anything else is 422
// relationships.invalid_partner_id.
func readTarget(raw string) (string, error) {
	location, err := ids.Parse(ids.Location, raw)
	if err == nil {
		return location, nil
	}
	if _, gerr := ids.Parse(ids.Partner, raw); gerr == nil {
		return "", mapErr(domain.ErrTargetNotLocation)
	}
	return ids.Read(raw, "reseller_location_id", CodeInvalidPartnerID, ids.Location)
}
