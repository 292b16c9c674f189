// Package auth knows who is calling: the Principal every use case receives,
// the roles of the claims contract, and (elsewhere in this package) how a
// bearer JWT or a CloudEvent's authtype/authid becomes a Principal.
package auth

import (
	"context"
	"slices"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// Role is one role of the claims contract (README, "Who may do what").
type Role string

const (
	RolePartnerAdmin   Role = "partner_admin"
	RolePartnerUser    Role = "partner_user"
	RoleVerifier       Role = "verifier"
	RoleProviderAdmin  Role = "provider_admin"
	RoleOperator       Role = "operator"
	RoleUpstreamSystem Role = "upstream_system"
)

// KnownRoles lists every role of the contract.
var KnownRoles = []Role{RolePartnerAdmin, RolePartnerUser, RoleVerifier, RoleProviderAdmin, RoleOperator, RoleUpstreamSystem}

// Kind says what sort of caller a principal is.
type Kind string

const (
	KindUser    Kind = "user"    // a person, from a bearer JWT
	KindService Kind = "service" // a system: an upstream, a verifier service, one of ours
)

// Principal is the authenticated caller of a use case.
type Principal struct {
	Kind      Kind   `json:"kind"`
	Subject   string `json:"sub"`                  // user id or service id
	Name      string `json:"name,omitempty"`       // display name
	Email     string `json:"email,omitempty"`      // e-mail of a user
	PartnerID string `json:"partner_id,omitempty"` // the partner the caller belongs to, if any
	Roles     []Role `json:"roles"`
	// AMR are the authentication methods of the token (claim amr, RFC
	// 8176); "mfa" means the caller passed multi-factor authentication.
	AMR []string `json:"amr,omitempty"`
	// Request facts recorded with every change (audit).
	SourceIP  string `json:"source_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// Has reports whether p holds any of roles.
func (p Principal) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// IsStaff reports whether p is the vendor's staff: an operator or a
// verifier. Staff read what operators and verifiers write for each other
// (internal notes, a revocation's reason); the partner's side — its users,
// its provider or resellers, the upstream system that registered it — does
// not.
func (p Principal) IsStaff() bool { return p.Has(RoleOperator, RoleVerifier) }

// IsZero reports whether p is the anonymous zero value.
func (p Principal) IsZero() bool { return p.Subject == "" }

// Require returns a forbidden error unless p holds one of roles.
func (p Principal) Require(roles ...Role) error {
	if p.IsZero() {
		return apperr.New(apperr.KindUnauthenticated, "auth.unauthenticated", "authentication required")
	}
	if !p.Has(roles...) {
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = string(r)
		}
		return apperr.Forbidden("auth.role_required", "this action needs one of the roles "+joinComma(names)).
			With("required_roles", names)
	}
	return nil
}

// CanSeePartner reports whether p may read partner partnerID's data where
// its registrant is not known (ActsFor where it is): staff (operators,
// verifiers) and upstream systems see every partner, partner users only
// their own. Callers answer "not found" otherwise, so that the
// existence of another partner does not leak.
func (p Principal) CanSeePartner(partnerID string) bool {
	if p.Has(RoleOperator, RoleVerifier, RoleUpstreamSystem) {
		return true
	}
	return p.PartnerID != "" && p.PartnerID == partnerID
}

// ActsFor reports whether p may read or change partner partnerID, whose
// registration was submitted by registrant (the submitting principal's
// subject, as registration.application.submitted.v1's submitted_by names
// it): operators and verifiers every partner, an upstream system only the
// partners it registered, a partner's users only their own. It is
// CanSeePartner where the registrant is known: without it any upstream
// system could change the contact e-mail of a partner another one
// registered (and confirm the new address it owns), or suspend it with a
// security report. Callers answer "not found" otherwise.
func (p Principal) ActsFor(partnerID, registrant string) bool {
	if p.IsStaff() {
		return true
	}
	if p.PartnerID != "" && p.PartnerID == partnerID {
		return true
	}
	return p.Has(RoleUpstreamSystem) && registrant != "" && registrant == p.Subject
}

// ActsForRecord is ActsFor on a record that keeps its partner's
// registrant, where records stored before a service kept it have none:
// those stay open to what CanSeePartner allows, as they were.
func (p Principal) ActsForRecord(partnerID, registrant string) bool {
	if registrant == "" {
		return p.CanSeePartner(partnerID)
	}
	return p.ActsFor(partnerID, registrant)
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal in ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
