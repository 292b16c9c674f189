// Package app holds the use cases of the provider relationships service, one
// file each. Authorization happens here, with the auth.Principal every use
// case receives; domain errors are translated into apperr codes here too.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// Deps are the ports and settings of the application. Partners and
// Relationships are required; the rest default.
type Deps struct {
	Partners      Partners
	Relationships Relationships
	// Clock returns the current time (default: time.Now in UTC).
	Clock func() time.Time
	// NewID issues identifiers for relationships, requests and grants
	// (default: 26 random base32 characters).
	NewID func() string
	// Rand is the entropy source of invitation tokens (default crypto/rand.Reader).
	Rand io.Reader
	// Policy holds the time rules (default domain.DefaultPolicy()).
	Policy *domain.Policy
	// MFA is the multi-factor requirement on asking for, authorising and
	// widening delegated administration (seed 003).
	MFA auth.MFAPolicy
	// SealInvitation seals the invitation link of a new request (its id
	// and token) to the notifier, which mails it to the reseller's
	// contact. Nil: the link goes to the provider only.
	SealInvitation func(requestID, token string) ([]byte, error)
}

// App runs the use cases.
type App struct {
	partners Partners
	rels     Relationships
	clock    func() time.Time
	newID    func() string
	rand     io.Reader
	policy   domain.Policy
	mfa      auth.MFAPolicy
	seal     func(requestID, token string) ([]byte, error)
}

// New validates deps, fills in defaults and returns the application.
func New(d Deps) (*App, error) {
	var errs []error
	if d.Partners == nil {
		errs = append(errs, errors.New("app: Partners is required"))
	}
	if d.Relationships == nil {
		errs = append(errs, errors.New("app: Relationships is required"))
	}
	a := &App{partners: d.Partners, rels: d.Relationships, clock: d.Clock, newID: d.NewID, rand: d.Rand, policy: domain.DefaultPolicy(),
		mfa: d.MFA, seal: d.SealInvitation}
	if d.Policy != nil {
		a.policy = *d.Policy
		if err := a.policy.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if a.clock == nil {
		a.clock = func() time.Time { return time.Now().UTC() }
	}
	if a.newID == nil {
		a.newID = rand.Text
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	return a, nil
}

// sealInvitation seals the invitation of request id for the notifier (nil
// without a sealer).
func (a *App) sealInvitation(requestID, token string) ([]byte, error) {
	if a.seal == nil {
		return nil, nil
	}
	b, err := a.seal(requestID, token)
	if err != nil {
		return nil, fmt.Errorf("seal the invitation of %s: %w", requestID, err)
	}
	return b, nil
}

// Policy returns the time rules in force.
func (a *App) Policy() domain.Policy { return a.policy }

// callerPartner resolves the partner the principal belongs to. A principal's
// PartnerID may be the global ID or one of the partner's location IDs.
func (a *App) callerPartner(ctx context.Context, p auth.Principal) (domain.Partner, error) {
	if p.PartnerID == "" {
		return domain.Partner{}, domain.ErrPartnerNotFound
	}
	pt, err := a.partners.Get(ctx, p.PartnerID)
	if err != nil {
		return domain.Partner{}, err
	}
	if !pt.Registered {
		return domain.Partner{}, domain.ErrPartnerNotFound
	}
	return pt, nil
}

// sideOf says which side of rel the principal acts for: provider_admin of the
// provider or partner_admin of the reseller. Anyone else gets "not found" so
// that a relationship's existence does not leak.
func (a *App) sideOf(ctx context.Context, p auth.Principal, rel *domain.Relationship) (domain.Side, error) {
	caller, err := a.callerPartner(ctx, p)
	if err != nil {
		if errors.Is(err, domain.ErrPartnerNotFound) {
			return "", relationshipNotFound()
		}
		return "", err
	}
	switch {
	case p.Has(auth.RoleProviderAdmin) && caller.ID == rel.ProviderID:
		return domain.SideProvider, nil
	case p.Has(auth.RolePartnerAdmin) && caller.ID == rel.ResellerID:
		return domain.SideReseller, nil
	}
	return "", relationshipNotFound()
}

// loadForParty loads a relationship for one of its parties (see sideOf).
func (a *App) loadForParty(ctx context.Context, p auth.Principal, id string) (*domain.Relationship, domain.Side, error) {
	rel, err := a.rels.Get(ctx, id)
	if err != nil {
		return nil, "", mapErr(err)
	}
	side, err := a.sideOf(ctx, p, rel)
	if err != nil {
		return nil, "", err
	}
	return rel, side, nil
}

// invitation resolves a token for the reseller it is addressed to. Malformed
// and unknown tokens, and tokens addressed to another partner, all answer
// "invitation unknown": only the addressee learns that a token exists, and
// only then whether it expired or was used. Nothing else about it leaks.
func (a *App) invitation(ctx context.Context, p auth.Principal, token string, now time.Time) (*domain.Relationship, *domain.Request, domain.TokenHash, error) {
	rel, q, h, _, err := a.invitationFor(ctx, p, token, now)
	return rel, q, h, err
}

// invitationFor is invitation that also returns the caller's partner (the
// addressed reseller), which Authorise checks without loading it again.
func (a *App) invitationFor(ctx context.Context, p auth.Principal, token string, now time.Time) (*domain.Relationship, *domain.Request, domain.TokenHash, domain.Partner, error) {
	var none domain.Partner
	h, ok := domain.HashToken(token)
	if !ok {
		return nil, nil, h, none, mapErr(domain.ErrInvitationUnknown)
	}
	id, err := a.rels.IDByTokenHash(ctx, h)
	if err != nil {
		return nil, nil, h, none, mapErr(err)
	}
	rel, err := a.rels.Get(ctx, id)
	if err != nil {
		if errors.Is(err, domain.ErrRelationshipNotFound) {
			err = domain.ErrInvitationUnknown
		}
		return nil, nil, h, none, mapErr(err)
	}
	caller, err := a.callerPartner(ctx, p)
	if errors.Is(err, domain.ErrPartnerNotFound) || (err == nil && caller.ID != rel.ResellerID) {
		return nil, nil, h, none, mapErr(domain.ErrInvitationUnknown)
	}
	if err != nil {
		return nil, nil, h, none, err
	}
	q, err := rel.Invitation(h, now)
	if err != nil {
		return nil, nil, h, none, mapErr(err)
	}
	return rel, q, h, caller, nil
}

// answeredBefore looks again at an invitation that invitation refused with
// err: when err says it was answered already and the caller answered it
// (Relationship.Answered), it returns the relationship, the request and —
// for an acceptance whose grant still stands — that grant; otherwise q is
// nil. The caller was checked to be the addressed reseller's before the
// invitation's state was.
func (a *App) answeredBefore(ctx context.Context, p auth.Principal, token string, err error) (rel *domain.Relationship, q *domain.Request, g *domain.Grant) {
	if ae, ok := apperr.As(err); !ok || ae.Code != CodeInvitationUsed {
		return nil, nil, nil
	}
	h, _ := domain.HashToken(token)
	id, err := a.rels.IDByTokenHash(ctx, h)
	if err != nil {
		return nil, nil, nil
	}
	if rel, err = a.rels.Get(ctx, id); err != nil {
		return nil, nil, nil
	}
	q, g, ok := rel.Answered(h, p.Subject)
	if !ok {
		return nil, nil, nil
	}
	return rel, q, g
}

// accessTerms builds terms from command input, applying the least-privilege
// default roles when none are named and defaultDays when DurationDays is 0.
func accessTerms(roles []string, durationDays, defaultDays int, autoExtend bool, defaultRoles bool) (domain.AccessTerms, error) {
	var rs domain.RoleSet
	if len(roles) == 0 && defaultRoles {
		rs = domain.DefaultRoles()
	} else {
		for _, r := range roles {
			rs = append(rs, domain.AccessRole(r))
		}
	}
	if durationDays == 0 {
		durationDays = defaultDays
	}
	t, err := domain.NewAccessTerms(rs, durationDays, autoExtend)
	if err != nil {
		return t, mapErr(err)
	}
	return t, nil
}
