package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// finderFake answers searches from a fixed list and records the query.
type finderFake struct {
	partners []domain.PartnerSnapshot
	got      *PartnerQuery
}

func (f *finderFake) FindPartners(_ context.Context, q PartnerQuery) ([]domain.PartnerSnapshot, error) {
	f.got = &q
	var out []domain.PartnerSnapshot
	for _, p := range f.partners {
		if q.After != nil && !p.CreatedAt.Before(q.After.CreatedAt) {
			continue
		}
		out = append(out, p)
	}
	return out[:min(len(out), q.Limit)], nil
}

func TestSearchPartnersPagesAndNormalizes(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f := &finderFake{}
	for i, id := range []domain.PartnerID{"PG-4XRZ-Y13V-GY3", "PG-YP66-636E-FQQ", "PG-7K3M-9QXD-2TW"} {
		f.partners = append(f.partners, domain.PartnerSnapshot{ID: id, Market: "JP", Status: domain.PartnerStatusPending, CreatedAt: t0.Add(-time.Duration(i) * time.Minute)})
	}
	a := &App{Finder: f}
	op := auth.Principal{Subject: "op", Roles: []auth.Role{auth.RoleOperator}}
	page, err := a.SearchPartners(context.Background(), op, SearchPartners{Name: "（株）ｻｸﾗ  ", RegistrationNumber: "７０００-０１２０-５０００２", Limit: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if f.got.Limit != 3 || f.got.Name != "株式会社サクラ" || f.got.RegistrationNumber != "7000012050002" || f.got.NameKey == "" {
		t.Errorf("query %+v", *f.got)
	}
	if len(page.Partners) != 2 || page.Next == "" {
		t.Fatalf("first page: %d partners, next %q", len(page.Partners), page.Next)
	}
	page, err = a.SearchPartners(context.Background(), op, SearchPartners{After: page.Next, Limit: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if ids := []domain.PartnerID{page.Partners[0].PartnerID}; len(page.Partners) != 1 || page.Next != "" || !slices.Equal(ids, []domain.PartnerID{"PG-7K3M-9QXD-2TW"}) {
		t.Errorf("last page: %+v next %q", page.Partners, page.Next)
	}
}

func TestSearchPartnersRefusesBeforeReading(t *testing.T) {
	f := &finderFake{}
	a := &App{Finder: f}
	for _, p := range []auth.Principal{{}, {Subject: "u", Roles: []auth.Role{auth.RoleUpstreamSystem}}, {Subject: "v", Roles: []auth.Role{auth.RoleVerifier}}} {
		if _, err := a.SearchPartners(context.Background(), p, SearchPartners{}); err == nil {
			t.Errorf("%q searched", p.Subject)
		}
	}
	_, err := a.SearchPartners(context.Background(), auth.Principal{Subject: "op", Roles: []auth.Role{auth.RoleOperator}}, SearchPartners{Limit: "x", Market: "Japan"})
	if ae, ok := apperr.As(err); !ok || ae.Code != apperr.CodeInvalidQueryParameter || len(ae.Fields) != 2 {
		t.Errorf("invalid search: %v", err)
	}
	if f.got != nil {
		t.Error("the finder was asked for refused searches")
	}
}
