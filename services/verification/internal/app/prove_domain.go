package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// DomainProofLookup reads what an applicant published on its domain: the
// TXT strings at a DNS name, and the lines of a file at an HTTPS URL. A
// name or URL that holds nothing answers an empty list, not an error;
// errors are lookups that failed (resolver or server unreachable).
type DomainProofLookup interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	FetchWellKnown(ctx context.Context, url string) ([]string, error)
}

// ProveDomainCommand asks verification to look for the partner's domain
// proof published with Method (dns_txt or http_well_known).
type ProveDomainCommand struct {
	PartnerID string
	Method    string
}

// ProveDomain passes the employment check on the applicant's domain proof:
// the case's token published as a DNS TXT record or at the well-known URL
// of the contact e-mail's domain — evidence that the company controls the
// domain, which the website typed at registration is not. The upstream
// system and the partner's administrator ask (operators too); a proof not
// found is verification.domain_proof_not_found (409) naming where it looked.
func (a *App) ProveDomain(ctx context.Context, p auth.Principal, cmd ProveDomainCommand) (*domain.Case, error) {
	if err := p.Require(auth.RoleUpstreamSystem, auth.RolePartnerAdmin, auth.RoleOperator); err != nil {
		return nil, err
	}
	method := domain.ProofMethod(cmd.Method)
	if err := method.Validate(); err != nil {
		return nil, translate(err)
	}
	c, err := a.load(ctx, p, CaseQuery{PartnerID: cmd.PartnerID})
	if err != nil {
		return nil, err
	}
	if c.DomainProof == nil {
		return nil, translate(domain.ErrNoDocumentsDue)
	}
	var found []string
	var lookupErr error
	// The lookup runs before the case is locked: it may take seconds.
	switch method {
	case domain.ProofDNSTXT:
		found, lookupErr = a.DomainProofs.LookupTXT(ctx, c.DomainProof.TXTName())
	case domain.ProofHTTPWellKnown:
		found, lookupErr = a.DomainProofs.FetchWellKnown(ctx, c.DomainProof.URL())
	}
	if lookupErr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, apperr.New(apperr.KindUnavailable, "verification.domain_proof_lookup_failed",
			"the domain proof could not be looked up; try again later").With("method", cmd.Method)
	}
	var out *domain.Case
	err = a.Cases.Update(ctx, c.ID, func(c *domain.Case) error {
		if err := c.ProveDomain(method, found, a.Clock.Now(), a.rules(c.Market)); err != nil {
			return err
		}
		out = seenBy(p, c)
		return nil
	})
	if errors.Is(err, domain.ErrCaseNotFound) {
		return nil, notFound()
	}
	return out, translate(err)
}
