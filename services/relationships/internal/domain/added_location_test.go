package domain

import (
	"errors"
	"slices"
	"testing"
)

func TestAddLocationAccumulates(t *testing.T) {
	p := &Partner{ID: "PG-1", LocationIDs: []string{"PL-1"}, Registered: true, Market: "JP", LegalName: "株式会社テスト"}
	if changed, err := p.AddLocation("PG-1", "PL-2"); !changed || err != nil {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if changed, err := p.AddLocation("PG-1", "PL-2"); changed || err != nil {
		t.Fatalf("replay: changed %v, err %v", changed, err)
	}
	if !slices.Equal(p.LocationIDs, []string{"PL-1", "PL-2"}) || !p.HasLocation("PL-2") || p.LegalName != "株式会社テスト" {
		t.Fatalf("projection %+v", p)
	}
	for _, c := range [][2]string{{"PG-2", "PL-3"}, {"PG-1", "XX-3"}, {"nope", "PL-3"}} {
		if _, err := p.AddLocation(c[0], c[1]); !errors.Is(err, ErrInvalidPartner) {
			t.Errorf("%v: %v", c, err)
		}
	}
}
