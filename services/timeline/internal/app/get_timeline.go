package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/events"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Limits of a timeline page.
const (
	DefaultLimit = 100
	MaxLimit     = 500
)

// EventDomains are the first labels of the event types the timeline holds:
// the streams of the producing services, as the subscriptions read them.
var EventDomains = func() []string {
	var out []string
	for _, f := range bus.ProducerFilters() {
		out = append(out, strings.TrimSuffix(f, ".>"))
	}
	return out
}()

// typeFilter reads one type filter of a query (NormalizeEventType) as a
// 422 timeline.invalid_type.
func typeFilter(t string) (string, error) {
	full, err := domain.NormalizeEventType(t, EventDomains)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), domain.ErrEventTypes.Error()+": ")
		return "", apperr.Invalid(CodeInvalidType, "type must be an event type or type prefix such as com.partnerhub.relationships. or relationships.",
			apperr.FieldError{Field: "query.type", Code: CodeInvalidType, Message: msg})
	}
	return full, nil
}

// Error codes of the timeline API.
const (
	CodePartnerUnknown = "timeline.partner_unknown"
	CodeInvalidPartner = "timeline.invalid_partner_id"
	CodeInvalidCursor  = "timeline.invalid_cursor"
	CodeInvalidType    = "timeline.invalid_type"
)

// GetTimeline is a request for one page of a partner's timeline, as the
// caller sent it (strings: validation is the use case's).
type GetTimeline struct {
	PartnerID string
	After     string // cursor; empty: from the start
	Limit     string // empty: DefaultLimit
	Type      string // event type prefix; empty: every type
}

// Timeline is one page of a partner's timeline.
type Timeline struct {
	PartnerID string
	Events    []domain.Event
	Sources   []domain.SourceSummary
	// Next is the cursor of the following page; empty on the last page.
	Next string
}

// GetTimeline answers one page. Operators and verifiers see every partner;
// partner_admin, partner_user and provider_admin only their own (another
// partner answers as unknown, so that its existence does not leak); other
// callers are refused. A partner with no event is unknown. Only staff read
// the staff-only members of the events (forPartnerSide) and the dead
// letters.
func (a *App) GetTimeline(ctx context.Context, p auth.Principal, q GetTimeline) (Timeline, error) {
	staff := []auth.Role{auth.RoleOperator, auth.RoleVerifier}
	if err := p.Require(append(staff, auth.RolePartnerAdmin, auth.RolePartnerUser, auth.RoleProviderAdmin)...); err != nil {
		return Timeline{}, err
	}
	limit, after, prefixes, err := validate(&q)
	if err != nil {
		return Timeline{}, err
	}
	unknown := apperr.NotFound(CodePartnerUnknown, "no event about partner "+q.PartnerID+" is known")
	if !p.IsStaff() && p.PartnerID != q.PartnerID {
		return Timeline{}, unknown
	}
	if !p.IsStaff() { // a filter on a v2 selects the v1 it reads as that v2
		prefixes = events.AsReadNow(prefixes)
	}
	sources, err := a.Store.Sources(ctx, q.PartnerID)
	if err != nil {
		return Timeline{}, fmt.Errorf("timeline sources of %s: %w", q.PartnerID, err)
	}
	if len(sources) == 0 {
		return Timeline{}, unknown
	}
	// Dead letters are for staff: another service refused the event, which
	// may be anything published with the partner as its subject — a
	// verifier's decision with its internal note, a forged event — and its
	// refusal's reason is the service's (until round 47 the partner's side
	// read them too).
	events, err := a.Store.Page(ctx, q.PartnerID, after, prefixes, limit+1, p.IsStaff())
	if err != nil {
		return Timeline{}, fmt.Errorf("timeline of %s: %w", q.PartnerID, err)
	}
	if !p.IsStaff() {
		forPartnerSide(events)
	}
	t := Timeline{PartnerID: q.PartnerID, Events: events, Sources: sources}
	if len(events) > limit {
		t.Events = events[:limit]
		t.Next = domain.PositionOf(t.Events[limit-1]).Cursor()
	}
	return t, nil
}

// validate reads the query: the partner (its canonical form, written back
// to q), its limit, the position it starts after and its type filter (a
// full type prefix; none: every type).
func validate(q *GetTimeline) (limit int, after *domain.Position, prefixes []string, err error) {
	if q.PartnerID, err = ids.Read(q.PartnerID, "path.id", CodeInvalidPartner, ids.Partner); err != nil {
		return 0, nil, nil, err
	}
	limit, fe := apperr.ParseLimit(q.Limit, DefaultLimit, MaxLimit)
	if fe != nil {
		return 0, nil, nil, apperr.Invalid(apperr.CodeInvalidQueryParameter, fmt.Sprintf("limit must be an integer from 1 to %d", MaxLimit), *fe)
	}
	if q.After != "" {
		pos, err := domain.ParseCursor(q.After)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidCursor) {
				return 0, nil, nil, err
			}
			return 0, nil, nil, page.InvalidAfter(CodeInvalidCursor)
		}
		after = &pos
	}
	if q.Type != "" {
		t, err := typeFilter(q.Type)
		if err != nil {
			return 0, nil, nil, err
		}
		prefixes = []string{t}
	}
	return limit, after, prefixes, nil
}
