package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// RegistryLookup is the company pre-check against an official register.
type RegistryLookup interface {
	Lookup(ctx context.Context, q domain.RegistryQuery) (domain.RegistryMatch, error)
}

// OpenCaseCommand opens a case from a registration-submitted event.
type OpenCaseCommand struct {
	domain.OpenInput
}

// OpenCaseResult names the case; Created is false when it already existed.
type OpenCaseResult struct {
	CaseID  string
	Created bool
}

// OpenCase opens the verification case of a submitted registration. It is
// idempotent per partner: a redelivered event returns the existing case. It
// is fed by the registration service's event, so it takes no principal; the
// event adapter authenticates the producer. A failing registry lookup does
// not stop the case: the review task then says the pre-check was unavailable.
func (a *App) OpenCase(ctx context.Context, cmd OpenCaseCommand) (OpenCaseResult, error) {
	if existing, err := a.Cases.GetByPartner(ctx, cmd.PartnerID); err == nil {
		return OpenCaseResult{CaseID: existing.ID}, nil
	} else if !errors.Is(err, domain.ErrCaseNotFound) {
		return OpenCaseResult{}, fmt.Errorf("find case of partner %s: %w", cmd.PartnerID, err)
	}
	now := a.Clock.Now()
	if cmd.DomainProofToken == "" {
		cmd.DomainProofToken = rand.Text()
	}
	match, lookupErr := a.Registry.Lookup(ctx, domain.RegistryQuery{Market: cmd.Market, RegistrationNumber: cmd.Facts.RegistrationNumber, Facts: cmd.Facts})
	if ctx.Err() != nil {
		return OpenCaseResult{}, ctx.Err()
	}
	c, err := domain.Open(a.IDs.NewID(), cmd.OpenInput, domain.NewPreCheck(match, lookupErr, now), now, a.rules(cmd.Market))
	if err != nil {
		return OpenCaseResult{}, translate(err)
	}
	if err := a.Cases.Add(ctx, c); errors.Is(err, domain.ErrCaseExists) {
		existing, gerr := a.Cases.GetByPartner(ctx, cmd.PartnerID) // lost a race with a redelivery
		if gerr != nil {
			return OpenCaseResult{}, fmt.Errorf("find case of partner %s: %w", cmd.PartnerID, gerr)
		}
		return OpenCaseResult{CaseID: existing.ID}, nil
	} else if err != nil {
		return OpenCaseResult{}, fmt.Errorf("add case: %w", err)
	}
	return OpenCaseResult{CaseID: c.ID, Created: true}, nil
}
