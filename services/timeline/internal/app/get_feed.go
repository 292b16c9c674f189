package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/events"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Limits of a feed page.
const (
	DefaultFeedLimit = 100
	MaxFeedLimit     = 500
	MaxFeedTypes     = 20
)

// FeedQuery is a validated read of the feed.
type FeedQuery struct {
	After domain.FeedPosition
	Limit int
	// TypePrefixes restrict the types (none: every type).
	TypePrefixes []string
	// Partner restricts to the events on one partner's timeline.
	Partner string
	// Registrant restricts to the events about the partners this principal
	// registered, and those it caused.
	Registrant string
}

// GetFeed is a request for one page of the event feed, as sent.
type GetFeed struct {
	After   string
	Limit   string
	Types   []string
	Partner string
}

// Feed is one page of the event feed.
type Feed struct {
	Events []domain.Event
	// Next is where the following page starts: after the last event of this
	// page, or where this one started when it is empty. Keep it and ask
	// again later: new events come after it.
	Next string
	// HasMore says the following page is not empty now.
	HasMore bool
}

// GetFeed answers one page of the event feed, in the order the timeline
// recorded the events. Operators and verifiers see every event;
// partner_admin, partner_user and provider_admin the events on their own
// partner's timeline; upstream_system the events about the partners it
// registered and the events it caused (its intake's rejections). A partner
// filter outside what the caller may see answers as unknown. Only staff
// read the staff-only members of the events (forPartnerSide).
func (a *App) GetFeed(ctx context.Context, p auth.Principal, q GetFeed) (Feed, error) {
	staff := []auth.Role{auth.RoleOperator, auth.RoleVerifier}
	partnerRoles := []auth.Role{auth.RolePartnerAdmin, auth.RolePartnerUser, auth.RoleProviderAdmin}
	if err := p.Require(append(append(staff, partnerRoles...), auth.RoleUpstreamSystem)...); err != nil {
		return Feed{}, err
	}
	query, err := validateFeed(q)
	if err != nil {
		return Feed{}, err
	}
	unknown := apperr.NotFound(CodePartnerUnknown, "no event about partner "+query.Partner+" is known")
	switch {
	case p.IsStaff():
	case p.Has(partnerRoles...) && p.PartnerID != "":
		if query.Partner != "" && query.Partner != p.PartnerID {
			return Feed{}, unknown
		}
		query.Partner = p.PartnerID
	case p.Has(auth.RoleUpstreamSystem):
		if query.Partner == "" {
			query.Registrant = p.Subject
			break
		}
		by, err := a.Store.RegisteredBy(ctx, query.Partner)
		if err != nil {
			return Feed{}, err
		}
		if !p.ActsFor(query.Partner, by) {
			return Feed{}, unknown
		}
	default:
		return Feed{}, apperr.Forbidden("auth.role_required", "a partner role without a partner sees no feed")
	}
	if !p.IsStaff() { // a filter on a v2 selects the v1 it reads as that v2
		query.TypePrefixes = events.AsReadNow(query.TypePrefixes)
	}
	limit := query.Limit
	query.Limit++
	events, err := a.Store.Feed(ctx, query)
	if err != nil {
		return Feed{}, fmt.Errorf("feed after %v: %w", query.After, err)
	}
	f := Feed{Events: events, Next: query.After.Cursor()}
	if len(events) > limit {
		f.Events, f.HasMore = events[:limit], true
	}
	if len(f.Events) > 0 {
		f.Next = f.Events[len(f.Events)-1].Feed.Cursor()
	}
	if !p.IsStaff() {
		forPartnerSide(f.Events)
	}
	return f, nil
}

// forPartnerSide makes each event, in place, what the partner's side reads
// (partnerSide).
func forPartnerSide(evs []domain.Event) {
	for i := range evs {
		partnerSide(&evs[i])
	}
}

// partnerSide makes e what the partner's side — its users, its provider or
// resellers, the upstream system that registered it — reads in the feed, a
// timeline and webhooks: an event published before round 47 as published
// now (events.AsPublishedNow: a replaced type as its replacement, with its
// dataschema), then without what only staff read (events.ForPartnerSide):
// staff's words, and every subject but our services' and the event's own
// actor's when it acted in a partner-side role (shownToPartnerSide) — in
// the data and as the actor (authid; authtype and the roles stay).
func partnerSide(e *domain.Event) {
	typ, data := events.AsPublishedNow(e.Type, e.Data)
	if typ != e.Type {
		e.DataSchema = strings.Replace(e.DataSchema, ce.Topic(e.Type), ce.Topic(typ), 1)
		e.Type = typ
	}
	shown := shownToPartnerSide(e)
	e.Data = events.ForPartnerSide(typ, data, shown)
	if e.AuthID != "" && !shown(e.AuthID) {
		e.AuthID = ""
	}
}

// shownToPartnerSide answers which subjects the partner's side reads in e:
// our services', and e's actor's when e's claims declare partner-side roles
// (a partner's users, a provider's administrator, an upstream system) —
// never staff's (operators, verifiers), nor those of an event without
// claims (published before round 48, or a reaction of one of our services
// naming the subject an earlier event named).
func shownToPartnerSide(e *domain.Event) func(subject string) bool {
	actor := ""
	if auth.ClaimsOfPartnerSide(e.Extensions[auth.ExtAuthClaims]) {
		actor = e.AuthID
	}
	return func(subject string) bool {
		return (actor != "" && subject == actor) || events.IsOurService(subject)
	}
}

func validateFeed(q GetFeed) (FeedQuery, error) {
	limit, fe := apperr.ParseLimit(q.Limit, DefaultFeedLimit, MaxFeedLimit)
	if fe != nil {
		return FeedQuery{}, apperr.Invalid(apperr.CodeInvalidQueryParameter, fmt.Sprintf("limit must be an integer from 1 to %d", MaxFeedLimit), *fe)
	}
	out := FeedQuery{Limit: limit}
	if q.After != "" {
		pos, err := domain.ParseFeedCursor(q.After)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidCursor) {
				return FeedQuery{}, err
			}
			return FeedQuery{}, page.InvalidAfter(CodeInvalidCursor)
		}
		out.After = pos
	}
	if q.Partner != "" {
		id, err := ids.Read(q.Partner, "query.partner", CodeInvalidPartner, ids.Partner)
		if err != nil {
			return FeedQuery{}, err
		}
		out.Partner = id
	}
	if len(q.Types) > MaxFeedTypes {
		return FeedQuery{}, apperr.Invalid(CodeInvalidType, fmt.Sprintf("at most %d type filters", MaxFeedTypes),
			apperr.FieldError{Field: "query.type", Code: CodeInvalidType, Message: fmt.Sprintf("at most %d values, not %d", MaxFeedTypes, len(q.Types))})
	}
	for _, t := range q.Types {
		full, err := typeFilter(t)
		if err != nil {
			return FeedQuery{}, err
		}
		out.TypePrefixes = append(out.TypePrefixes, full)
	}
	return out, nil
}
