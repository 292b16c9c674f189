package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// InvitationView is what the reseller consents to: who the provider is, which
// roles over its directory, for how long.
type InvitationView struct {
	RelationshipID     string
	RequestID          string
	Kind               domain.RequestKind
	Status             domain.RequestStatus // open or deferred
	ProviderID         string
	ProviderLegalName  string
	ProviderAddress    domain.Address
	ResellerLocationID string
	Roles              []string
	CurrentRoles       []string // roles granted today (widening requests only)
	DurationDays       int
	AutoExtend         bool
	ExpiresAt          time.Time // of the invitation
	ConsentStatement   string    // the sentence the consent checkbox stands for
}

// ViewInvitation shows an invitation to an administrator or user of the
// reseller it is addressed to. It changes nothing.
func (a *App) ViewInvitation(ctx context.Context, p auth.Principal, token string) (InvitationView, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RolePartnerUser); err != nil {
		return InvitationView{}, err
	}
	rel, q, _, err := a.invitation(ctx, p, token, a.clock())
	if err != nil {
		return InvitationView{}, err
	}
	provider, err := a.partners.Get(ctx, rel.ProviderID)
	if err != nil {
		return InvitationView{}, fmt.Errorf("load provider %s: %w", rel.ProviderID, err)
	}
	v := InvitationView{
		RelationshipID: rel.ID, RequestID: q.ID, Kind: q.Kind, Status: q.Status,
		ProviderID: provider.ID, ProviderLegalName: provider.LegalName, ProviderAddress: provider.Address,
		ResellerLocationID: rel.ResellerLocationID, Roles: q.Terms.Roles.Strings(),
		DurationDays: q.Terms.DurationDays, AutoExtend: q.Terms.AutoExtend, ExpiresAt: q.ExpiresAt,
	}
	if q.Kind == domain.RequestWiden && rel.Grant != nil && rel.Grant.Live() {
		v.CurrentRoles = rel.Grant.Roles.Strings()
	}
	v.ConsentStatement = consentStatement(provider.LegalName, q.Terms)
	return v, nil
}

func consentStatement(provider string, t domain.AccessTerms) string {
	renew := ""
	if t.AutoExtend {
		renew = ", renewed automatically until either side ends the relationship"
	}
	return fmt.Sprintf("I authorise %s to sell cloud services to our customers and to hold delegated administration rights over our directory with the roles %s, for %d days%s.",
		provider, strings.Join(t.Roles.Strings(), ", "), t.DurationDays, renew)
}
