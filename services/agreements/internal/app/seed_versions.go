package app

import (
	"context"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// SeedVersionsResult lists the seed versions and which ones this call published.
type SeedVersionsResult struct {
	Published []string
	Existing  []string
}

// SeedVersions publishes the development default versions (one per known
// program) unless they exist. It runs at start-up in development, not on a
// user's behalf, so it takes no principal.
type SeedVersions struct{ publish PublishVersion }

// SeedPublisher is the publisher recorded on seed versions.
const SeedPublisher = "system:seed"

// Handle publishes the seeds idempotently.
func (uc SeedVersions) Handle(ctx context.Context) (SeedVersionsResult, error) {
	var res SeedVersionsResult
	for _, d := range domain.SeedVersions() {
		r, err := uc.publish.publish(ctx, SeedPublisher, d)
		if err != nil {
			return res, err
		}
		if r.Existing {
			res.Existing = append(res.Existing, d.ID)
		} else {
			res.Published = append(res.Published, d.ID)
		}
	}
	return res, nil
}
