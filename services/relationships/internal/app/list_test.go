package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// rows is a listing's page as its rows.
func rows(l RelationshipList, err error) ([]RelationshipSummary, error) { return l.Relationships, err }

func TestListings(t *testing.T) {
	e := newEnv(t)
	inv, g := e.activate(CreateRequestCommand{Roles: []string{"billing_reader"}, DurationDays: 30})
	pending := e.invite(CreateRequestCommand{ResellerLocationID: "PL-Q100-0000-007"})

	mine, err := rows(e.app.ListForProvider(e.ctx, providerAdmin, ListQuery{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 2 {
		t.Fatalf("provider sees %d relationships", len(mine))
	}
	byID := map[string]RelationshipSummary{}
	for _, s := range mine {
		byID[s.RelationshipID] = s
	}
	act := byID[inv.RelationshipID]
	if act.State != domain.StateActive || act.Grant == nil || !act.Grant.ExpiresAt.Equal(g.ExpiresAt) ||
		!slices.Equal(act.Grant.Roles, []string{"billing_reader"}) || act.ResellerLegalName != "PG-R 株式会社" {
		t.Errorf("active row = %+v", act)
	}
	if p := byID[pending.RelationshipID]; p.State != domain.StateProposed || p.PendingRequest == nil || p.Grant != nil {
		t.Errorf("pending row = %+v", p)
	}

	theirs, err := rows(e.app.ListForReseller(e.ctx, resellerUser, ListQuery{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(theirs) != 1 || theirs[0].ProviderLegalName != "PG-P 株式会社" || theirs[0].Grant.State != domain.GrantActive {
		t.Fatalf("reseller sees %+v", theirs)
	}

	// The listing reports the grant as of now, ahead of the poller.
	e.at(t0.Add(20 * day))
	theirs, _ = rows(e.app.ListForReseller(e.ctx, resellerAdmin, ListQuery{}))
	if theirs[0].Grant.State != domain.GrantExpiring {
		t.Errorf("grant state at +20d = %s", theirs[0].Grant.State)
	}

	if _, err := e.app.EndRelationship(e.ctx, resellerAdmin, EndRelationshipCommand{RelationshipID: inv.RelationshipID, Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	theirs, _ = rows(e.app.ListForReseller(e.ctx, resellerAdmin, ListQuery{}))
	if len(theirs) != 0 {
		t.Errorf("ended relationship listed by default: %+v", theirs)
	}
	theirs, _ = rows(e.app.ListForReseller(e.ctx, resellerAdmin, ListQuery{IncludeClosed: true}))
	if len(theirs) != 1 || theirs[0].State != domain.StateEnded || theirs[0].Grant.State != domain.GrantTerminated || theirs[0].EndedBy != domain.SideReseller {
		t.Errorf("closed listing = %+v", theirs)
	}
}

func TestListingAccess(t *testing.T) {
	e := newEnv(t)
	e.activate(CreateRequestCommand{})
	tests := []struct {
		name     string
		list     func(context.Context, auth.Principal, ListQuery) (RelationshipList, error)
		caller   auth.Principal
		q        ListQuery
		wantCode string
		wantLen  int
	}{
		{"provider lists another provider", e.app.ListForProvider, providerAdmin, ListQuery{PartnerID: "PG-O"}, CodeRelationshipNotFound, 0},
		{"reseller lists another reseller", e.app.ListForReseller, resellerAdmin, ListQuery{PartnerID: "PG-U"}, CodeRelationshipNotFound, 0},
		{"reseller may name itself by global ID", e.app.ListForReseller, resellerAdmin, ListQuery{PartnerID: "PG-R"}, "", 1},
		{"operator lists any provider", e.app.ListForProvider, operator, ListQuery{PartnerID: "PG-P"}, "", 1},
		{"operator must name a partner", e.app.ListForProvider, operator, ListQuery{}, CodeRelationshipNotFound, 0},
		{"reseller admin cannot use the provider listing", e.app.ListForProvider, resellerAdmin, ListQuery{}, "auth.role_required", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rows(tt.list(e.ctx, tt.caller, tt.q))
			wantCode(t, err, tt.wantCode)
			if ae, ok := apperr.As(err); ok && ae.Code == CodeRelationshipNotFound && !strings.Contains(ae.Message, "no partner by this id") {
				t.Errorf("a listing's not found says %q", ae.Message)
			}
			if len(got) != tt.wantLen {
				t.Errorf("got %d rows, want %d", len(got), tt.wantLen)
			}
		})
	}
}

// A listing is read a page at a time: each page after the last one's
// position, the last page without a next.
func TestListingsPage(t *testing.T) {
	e := newEnv(t)
	e.activate(CreateRequestCommand{Roles: []string{"billing_reader"}, DurationDays: 30})
	e.invite(CreateRequestCommand{ResellerLocationID: "PL-Q100-0000-007"})
	whole, err := rows(e.app.ListForProvider(e.ctx, providerAdmin, ListQuery{}))
	if err != nil || len(whole) != 2 {
		t.Fatalf("whole listing: %d rows, %v", len(whole), err)
	}
	first, err := e.app.ListForProvider(e.ctx, providerAdmin, ListQuery{Limit: 1})
	if err != nil || len(first.Relationships) != 1 || first.Next == "" {
		t.Fatalf("first page: %+v %v", first, err)
	}
	after, err := page.After(first.Next, CodeInvalidCursor)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.app.ListForProvider(e.ctx, providerAdmin, ListQuery{Limit: 1, After: after})
	if err != nil || len(second.Relationships) != 1 || second.Next != "" {
		t.Fatalf("second page: %+v %v", second, err)
	}
	if first.Relationships[0].RelationshipID != whole[0].RelationshipID || second.Relationships[0].RelationshipID != whole[1].RelationshipID {
		t.Fatalf("pages %s, %s; whole %s, %s", first.Relationships[0].RelationshipID, second.Relationships[0].RelationshipID,
			whole[0].RelationshipID, whole[1].RelationshipID)
	}
	if _, err := page.After("eyJpIjoieCJ9", CodeInvalidCursor); err == nil {
		t.Fatal("a cursor without a time was read")
	}
}
