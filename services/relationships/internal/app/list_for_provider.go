package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// ListQuery selects whose relationships to list. PartnerID defaults to the
// caller's partner (only operators may name another); IncludeClosed adds
// ended, declined and lapsed relationships to the proposed and active ones.
type ListQuery struct {
	PartnerID     string
	IncludeClosed bool
	Limit         int            // 1..500 (0: DefaultListPage)
	After         *page.Position // the page after this relationship (created_at, id; nil: the first page)
}

// The page size of a listing: DefaultListPage unless asked, at most
// MaxListPage.
const (
	DefaultListPage = 100
	MaxListPage     = 500
)

// RelationshipPage is what a page of a listing asks the store for.
type RelationshipPage struct {
	Side          domain.Side // whose relationships: the provider's or the reseller's
	PartnerID     string
	IncludeClosed bool
	After         *page.Position
	Limit         int
}

// CodeInvalidCursor answers an after that is not a next this service gave.
const CodeInvalidCursor = "relationships.invalid_cursor"

// RelationshipList is a page of a listing; Next is the after of the page
// that follows ("" at the last).
type RelationshipList struct {
	Relationships []RelationshipSummary
	Next          string
}

// RelationshipSummary is one row of a listing: the counterpart, the state, and
// the access granted (or asked for) with its expiry.
type RelationshipSummary struct {
	RelationshipID     string
	State              domain.State
	ProviderID         string
	ProviderLegalName  string
	ResellerID         string
	ResellerLocationID string
	ResellerLegalName  string
	Grant              *GrantSummary   // nil before authorisation
	PendingRequest     *PendingSummary // nil when nothing awaits an answer
	EndedAt            time.Time
	EndedBy            domain.Side
}

// GrantSummary is the current grant, its state as of the listing time.
type GrantSummary struct {
	GrantID    string
	State      domain.GrantState
	Roles      []string
	StartsAt   time.Time
	ExpiresAt  time.Time
	AutoExtend bool
	// SuspendedAt and SuspendedBy: while the grant is held (state
	// suspended), since when and which party's standing or enrollment
	// holds it (empty for a grant held before round 22 recorded the side).
	SuspendedAt time.Time
	SuspendedBy domain.Side
}

// PendingSummary is a request awaiting the reseller's answer.
type PendingSummary struct {
	RequestID string
	Kind      domain.RequestKind
	Status    domain.RequestStatus
	Roles     []string
	ExpiresAt time.Time
	// MailFailure: the request's mail to the reseller did not arrive.
	MailFailure *domain.MailFailure
}

// ListForProvider lists a provider's resellers, a page at a time
// (provider_admin of that provider, or an operator).
func (a *App) ListForProvider(ctx context.Context, p auth.Principal, q ListQuery) (RelationshipList, error) {
	if err := p.Require(auth.RoleProviderAdmin, auth.RoleOperator); err != nil {
		return RelationshipList{}, err
	}
	return a.listPage(ctx, p, q, domain.SideProvider)
}

// listPage reads one page of the listed partner's relationships on side.
func (a *App) listPage(ctx context.Context, p auth.Principal, q ListQuery, side domain.Side) (RelationshipList, error) {
	id, err := a.listedPartner(ctx, p, q.PartnerID)
	if err != nil {
		return RelationshipList{}, err
	}
	if q.Limit <= 0 || q.Limit > MaxListPage {
		q.Limit = DefaultListPage
	}
	rels, next, err := a.rels.ListPage(ctx, RelationshipPage{Side: side, PartnerID: id, IncludeClosed: q.IncludeClosed, After: q.After, Limit: q.Limit})
	if err != nil {
		return RelationshipList{}, err
	}
	out := RelationshipList{}
	if out.Relationships, err = a.summaries(ctx, rels, q.IncludeClosed); err != nil {
		return RelationshipList{}, err
	}
	if next != nil {
		out.Next = next.Cursor()
	}
	return out, nil
}

// listedPartner resolves whose listing is asked for and checks that the
// caller may see it; others get "not found", never "forbidden".
func (a *App) listedPartner(ctx context.Context, p auth.Principal, requested string) (string, error) {
	// The listing's own words ("no such relationship" read as if the list
	// were one), the same for a partner unknown here and another's.
	notFound := func() error {
		return apperr.NotFound(CodeRelationshipNotFound, "no partner by this id whose relationships you may list")
	}
	if requested == "" {
		requested = p.PartnerID
	}
	if requested == "" {
		return "", notFound()
	}
	target, err := a.partners.Get(ctx, requested)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return "", notFound()
	}
	if err != nil {
		return "", err
	}
	if p.Has(auth.RoleOperator) {
		return target.ID, nil
	}
	caller, err := a.callerPartner(ctx, p)
	if errors.Is(err, domain.ErrPartnerNotFound) || (err == nil && caller.ID != target.ID) {
		return "", notFound()
	}
	if err != nil {
		return "", err
	}
	return target.ID, nil
}

func (a *App) summaries(ctx context.Context, rels []*domain.Relationship, includeClosed bool) ([]RelationshipSummary, error) {
	now := a.clock()
	names := map[string]string{}
	name := func(id string) (string, error) {
		if n, ok := names[id]; ok {
			return n, nil
		}
		pt, err := a.partners.Get(ctx, id)
		if err != nil && !errors.Is(err, domain.ErrPartnerNotFound) {
			return "", err
		}
		names[id] = pt.LegalName
		return pt.LegalName, nil
	}
	out := []RelationshipSummary{}
	for _, r := range rels {
		if r.State.Closed() && !includeClosed {
			continue
		}
		s := RelationshipSummary{
			RelationshipID: r.ID, State: r.State, ProviderID: r.ProviderID, ResellerID: r.ResellerID,
			ResellerLocationID: r.ResellerLocationID, EndedAt: r.EndedAt, EndedBy: r.EndedBy,
		}
		var err error
		if s.ProviderLegalName, err = name(r.ProviderID); err != nil {
			return nil, err
		}
		if s.ResellerLegalName, err = name(r.ResellerID); err != nil {
			return nil, err
		}
		if g := r.Grant; g != nil {
			s.Grant = &GrantSummary{GrantID: g.ID, State: g.StateAt(now), Roles: g.Roles.Strings(), StartsAt: g.StartsAt, ExpiresAt: g.ExpiresAt, AutoExtend: g.AutoExtend}
			if s.Grant.State == domain.GrantSuspended {
				s.Grant.SuspendedAt, s.Grant.SuspendedBy = g.SuspendedAt, g.SuspendedBy
			}
		}
		if q := r.PendingRequest(); q != nil && now.Before(q.ExpiresAt) {
			s.PendingRequest = &PendingSummary{RequestID: q.ID, Kind: q.Kind, Status: q.Status, Roles: q.Terms.Roles.Strings(), ExpiresAt: q.ExpiresAt,
				MailFailure: q.MailFailure}
		}
		out = append(out, s)
	}
	return out, nil
}
