package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/relationships/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// TestStandingChangesAndWhatTheyRefuseSerialize: registration suspends a
// reseller while its administrator authorises a provider's invitation. The
// suspension's handler suspends the live grants of the partner's open
// relationships; a proposal has none, so it changes nothing there. Had the
// authorisation read the standing before the suspension committed and
// started the grant after, the grant would be live for a suspended
// reseller. Likewise an invitation made while a closure ends the partner's
// open relationships would outlive it. With both parties held
// (Partners.Holding) each pair serializes, in either order: the later one
// sees what the earlier committed.
func TestStandingChangesAndWhatTheyRefuseSerialize(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	partners := postgres.NewPartners(f.pool)
	a, err := app.New(app.Deps{Partners: partners, Relationships: f.rels, Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	bus := auth.Principal{Kind: auth.KindService, Subject: "registration", Roles: []auth.Role{auth.RoleUpstreamSystem}}
	suspend := func(ctx context.Context, id string) error {
		return a.ApplyStandingChanged(ctx, bus, app.StandingChanged{PartnerID: id, Status: "suspended",
			Reasons: []string{"verification_revoked"}, ChangedAt: t0.Add(time.Minute)})
	}
	// invite registers a provider and a reseller in the projection and has
	// the provider invite the reseller; it answers the invitation's token
	// and the reseller administrator.
	invite := func(provider, reseller string) (string, string, auth.Principal) {
		t.Helper()
		for _, p := range []domain.Partner{partner(provider, "PL-"+provider[3:], domain.ProgramIndirectProvider),
			partner(reseller, "PL-"+reseller[3:], domain.ProgramIndirectReseller)} {
			if err := partners.Upsert(ctx, p.ID, func(pt *domain.Partner) error { *pt = p; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		token, h, err := domain.NewInvitationToken(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := f.proposal(t, provider, reseller)
		r.Requests[0].TokenHash = h
		if err := f.rels.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r.ID, token, auth.Principal{Kind: auth.KindUser, Subject: "admin-" + reseller, PartnerID: reseller, Roles: []auth.Role{auth.RolePartnerAdmin}}
	}
	whileOpen := func(first func(ctx context.Context) error, other func() error) (bool, error) {
		return testkit.WhileOpen(t, f.pool, first, other)
	}
	grant := func(relID string) *domain.Grant {
		r, err := f.rels.Get(ctx, relID)
		if err != nil {
			t.Fatal(err)
		}
		return r.Grant
	}

	// 1. The suspension came first: the authorisation waits for its commit,
	// then sees the reseller suspended and refuses.
	relID, token, admin := invite("PG-HP10-0000-001", "PG-HR10-0000-00X")
	waited, err := whileOpen(func(ctx context.Context) error { return suspend(ctx, "PG-HR10-0000-00X") }, func() error {
		_, err := a.Authorise(context.Background(), admin, app.AuthoriseCommand{Token: token, Consent: true})
		return err
	})
	if !waited {
		t.Error("an invitation was authorised while the reseller's suspension was being applied")
	}
	if ae, ok := apperr.As(err); !ok || ae.Code != app.CodeResellerNotInGoodStanding {
		t.Errorf("authorising for a reseller suspended meanwhile answered %v, want %s", err, app.CodeResellerNotInGoodStanding)
	}
	if g := grant(relID); g != nil && g.Live() && !g.Suspended {
		t.Errorf("the grant of relationship %s is live for a suspended reseller: %+v", relID, *g)
	}

	// 2. The authorisation came first: the suspension waits for its commit,
	// then finds the grant and suspends it.
	relID, token, admin = invite("PG-HP20-0000-000", "PG-HR20-0000-00W")
	waited, err = whileOpen(func(ctx context.Context) error {
		_, err := a.Authorise(ctx, admin, app.AuthoriseCommand{Token: token, Consent: true})
		return err
	}, func() error {
		return pg.InTx(context.Background(), f.pool, func(ctx context.Context, _ pgx.Tx) error { return suspend(ctx, "PG-HR20-0000-00W") })
	})
	if err != nil {
		t.Fatal(err)
	}
	if !waited {
		t.Error("a suspension was applied while an authorisation of the reseller was open")
	}
	if g := grant(relID); g == nil || !g.Suspended {
		t.Errorf("the grant authorised just before the reseller's suspension is not suspended: %+v", g)
	}

	// 3. A closure of the reseller is being applied (it ends the partner's
	// open relationships) while a provider invites it: the invitation waits
	// and is refused, rather than leave a proposal to a closed partner.
	_, _, _ = invite("PG-HP30-0000-00Z", "PG-HR30-0000-00V")
	provider := partner("PG-HP40-0000-00Y", "PL-HP40-0000-00Y", domain.ProgramIndirectProvider)
	if err := partners.Upsert(ctx, provider.ID, func(pt *domain.Partner) error { *pt = provider; return nil }); err != nil {
		t.Fatal(err)
	}
	providerAdmin := auth.Principal{Kind: auth.KindUser, Subject: "admin-PG-HP4", PartnerID: "PG-HP40-0000-00Y", Roles: []auth.Role{auth.RoleProviderAdmin}}
	waited, err = whileOpen(func(ctx context.Context) error {
		return a.ApplyStandingChanged(ctx, bus, app.StandingChanged{PartnerID: "PG-HR30-0000-00V", Status: domain.StandingClosed,
			Reasons: []string{"closed_by_partner"}, ChangedAt: t0.Add(time.Minute)})
	}, func() error {
		_, err := a.CreateRequest(context.Background(), providerAdmin, app.CreateRequestCommand{ResellerLocationID: "PL-HR30-0000-00V"})
		return err
	})
	if !waited {
		t.Error("a provider invited a reseller while the reseller's closure was being applied")
	}
	if ae, ok := apperr.As(err); !ok || ae.Code != app.CodeResellerNotInGoodStanding {
		t.Errorf("inviting a reseller closed meanwhile answered %v, want %s", err, app.CodeResellerNotInGoodStanding)
	}
	if _, err := f.rels.Open(ctx, "PG-HP40-0000-00Y", "PG-HR30-0000-00V"); !errors.Is(err, domain.ErrRelationshipNotFound) {
		t.Errorf("a proposal to a closed reseller is open (%v)", err)
	}
}
