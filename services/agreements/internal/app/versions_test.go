package app

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/events"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

func TestPublishVersion(t *testing.T) {
	f := newFixture(t)
	d := draft("reseller-2025-07", domain.PolicyAutoEffective, start, 0)

	_, err := f.app.PublishVersion.Handle(ctx, admin("P1"), PublishVersionCommand{Draft: d})
	wantCode(t, err, apperr.KindForbidden, "auth.role_required")

	res, err := f.app.PublishVersion.Handle(ctx, operator, PublishVersionCommand{Draft: d})
	if err != nil || res.Existing || res.Version.PublishedBy != "op-1" {
		t.Fatalf("publish = %+v, %v", res, err)
	}
	f.clock.advance(time.Hour)
	again, err := f.app.PublishVersion.Handle(ctx, operator, PublishVersionCommand{Draft: d})
	if err != nil || !again.Existing || !again.Version.PublishedAt.Equal(res.Version.PublishedAt) {
		t.Fatalf("republish = %+v, %v", again, err)
	}
	edited := d
	edited.TextSHA256 = strings.Repeat("0", 64)
	_, err = f.app.PublishVersion.Handle(ctx, operator, PublishVersionCommand{Draft: edited})
	wantCode(t, err, apperr.KindConflict, "agreements.version_immutable")
	if v, _ := (memVersions{f.store}).Get(ctx, d.ID); v.TextSHA256() != domain.TextHash(d.TextSHA256) {
		t.Fatal("a published version was edited")
	}
	published := 0
	for _, e := range eventsOf[domain.AgreementVersionPublished](f.store) {
		if e.VersionID == d.ID {
			published++
		}
	}
	if published != 1 {
		t.Fatalf("AgreementVersionPublished for %s = %d, want 1", d.ID, published)
	}

	bad := d
	bad.ID, bad.TextSHA256 = "reseller-bad", "xyz"
	_, err = f.app.PublishVersion.Handle(ctx, operator, PublishVersionCommand{Draft: bad})
	wantCode(t, err, apperr.KindInvalid, "agreements.invalid_text_hash")
	if ae, _ := apperr.As(err); len(ae.Fields) != 1 || ae.Fields[0].Field != "text_sha256" {
		t.Fatalf("fields = %+v", ae.Fields)
	}
}

func TestSeedVersionsIsIdempotent(t *testing.T) {
	f := newFixture(t) // seeds once
	res, err := f.app.SeedVersions.Handle(ctx)
	if err != nil || len(res.Published) != 0 || len(res.Existing) != 3 {
		t.Fatalf("reseed = %+v, %v", res, err)
	}
	for _, id := range []string{"partner_network-2025-01", resellerV1, "indirect_provider-2025-01"} {
		if _, err := (memVersions{f.store}).Get(ctx, id); err != nil {
			t.Errorf("seed %s: %v", id, err)
		}
	}
}

func TestRetireVersion(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	f.mustAccept(admin("P1"), "P1", resellerV1)
	f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, start, time.Hour)

	_, err := f.app.RetireVersion.Handle(ctx, admin("P1"), RetireVersionCommand{VersionID: "reseller-reacc"})
	wantCode(t, err, apperr.KindForbidden, "auth.role_required")
	_, err = f.app.RetireVersion.Handle(ctx, operator, RetireVersionCommand{VersionID: "nope-123"})
	wantCode(t, err, apperr.KindNotFound, "agreements.unknown_version")

	res, err := f.app.RetireVersion.Handle(ctx, operator, RetireVersionCommand{VersionID: "reseller-reacc"})
	if err != nil || res.RequirementsCancelled != 1 || res.Version.RetiredAt == nil {
		t.Fatalf("retire = %+v, %v", res, err)
	}
	if n := len(eventsOf[domain.AgreementVersionRetired](f.store)); n != 1 {
		t.Fatalf("retired events = %d", n)
	}
	// The lapsed requirement neither blocks the status nor turns overdue.
	if r, err := f.app.FireDueTimers.Handle(ctx, start.Add(48*time.Hour)); err != nil || r.Overdue != 0 {
		t.Fatalf("timers = %+v, %v", r, err)
	}
	f.clock.now = start.Add(48 * time.Hour)
	if _, err := f.app.Status.Handle(ctx, upstream, StatusQuery{PartnerID: "P1", Market: "JP"}); err != nil {
		t.Fatalf("status: %v", err)
	}
	// Acceptances of the earlier version stand; the list still shows them.
	list, err := f.app.ListSigned.Handle(ctx, operator, ListSignedQuery{PartnerID: "P1"})
	if err != nil || len(list.Programs) != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

func TestListSigned(t *testing.T) {
	f := newFixture(t)
	f.approvedReseller("P1")
	first := f.mustAccept(admin("P1"), "P1", resellerV1)
	f.clock.advance(time.Hour)
	f.publish("reseller-reacc", domain.PolicyRequiresReacceptance, f.clock.Now(), time.Hour)
	f.clock.advance(time.Minute)
	second := f.mustAccept(admin("P1"), "P1", "reseller-reacc")

	_, err := f.app.ListSigned.Handle(ctx, admin("P2"), ListSignedQuery{PartnerID: "P1"})
	wantCode(t, err, apperr.KindNotFound, "agreements.unknown_partner")

	list, err := f.app.ListSigned.Handle(ctx, partnerUser("P1"), ListSignedQuery{PartnerID: "P1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Programs) != 2 || list.Programs[0].Program != domain.ProgramIndirectReseller || list.Programs[1].Program != domain.ProgramPartnerNetwork {
		t.Fatalf("programs = %+v", list.Programs)
	}
	res := list.Programs[0].Agreements
	if len(res) != 2 || res[0].AcceptanceID != second.Acceptance.ID || !res[0].Current ||
		res[1].AcceptanceID != first.Acceptance.ID || res[1].Current || res[1].SupersededBy != second.Acceptance.ID {
		t.Fatalf("reseller agreements = %+v", res)
	}
	if res[1].Name != "PartnerHub Partner Agreement for Indirect Resellers" || res[1].AcceptedBy.Name != "Hanako Sato" ||
		res[1].EffectiveAt.IsZero() || res[0].Name != "Reseller agreement reseller-reacc" {
		t.Fatalf("reseller agreement details = %+v", res)
	}
	net := list.Programs[1].Agreements
	if len(net) != 1 || net[0].AcceptedBy.Name != "Taro Yamada" || net[0].Name != "PartnerHub Partner Network Agreement" {
		t.Fatalf("network agreements = %+v", net)
	}
}

func TestListVersions(t *testing.T) {
	f := newFixture(t)
	if _, err := f.app.RetireVersion.Handle(ctx, operator, RetireVersionCommand{VersionID: "indirect_provider-2025-01"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    auth.Principal
		q    ListVersionsQuery
		want []string
		code string
	}{
		{"anonymous", auth.Principal{}, ListVersionsQuery{}, nil, "auth.unauthenticated"},
		{"all current", admin("PG-1"), ListVersionsQuery{}, []string{resellerV1, "partner_network-2025-01"}, ""},
		{"with retired", admin("PG-1"), ListVersionsQuery{IncludeRetired: true},
			[]string{"indirect_provider-2025-01", resellerV1, "partner_network-2025-01"}, ""},
		{"one program", admin("PG-1"), ListVersionsQuery{Program: "indirect_reseller", Market: "jp"}, []string{resellerV1}, ""},
		{"bad program", admin("PG-1"), ListVersionsQuery{Program: "Bad!"}, nil, "agreements.invalid_program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.app.ListVersions.Handle(ctx, tt.p, tt.q)
			if tt.code != "" {
				if ae, ok := apperr.As(err); !ok || ae.Code != tt.code {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, v := range got {
				ids = append(ids, v.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

// Who published or retired a version is read by staff; the partner's side
// reads "[redacted]" (an operator's subject).
func TestWhoPublishedAVersionIsReadByStaff(t *testing.T) {
	f := newFixture(t)
	if _, err := f.app.RetireVersion.Handle(ctx, operator, RetireVersionCommand{VersionID: "indirect_provider-2025-01"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    auth.Principal
		want string
	}{{operator, operator.Subject}, {admin("PG-1"), events.Redacted}} {
		got, err := f.app.ListVersions.Handle(ctx, c.p, ListVersionsQuery{Program: "indirect_provider", IncludeRetired: true})
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", c.p.Subject, got, err)
		}
		if v := got[0]; v.RetiredBy != c.want || v.PublishedBy == "" || (v.PublishedBy == events.Redacted) != (c.want == events.Redacted) {
			t.Errorf("%s reads the version published by %q, retired by %q; want the retirement by %q", c.p.Subject, v.PublishedBy, v.RetiredBy, c.want)
		}
	}
}
