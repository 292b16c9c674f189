package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// ClaimTaskCommand asks for a lease on a review task.
type ClaimTaskCommand struct {
	TaskID string
}

// ClaimTaskResult is the claimed task and how long the lease lasts.
type ClaimTaskResult struct {
	CaseID     string
	Task       domain.ReviewTask
	LeaseUntil time.Time
}

// ClaimTask gives the calling verifier a lease on a task (or renews its own).
// A task held by another verifier's live lease is refused; an expired lease
// no longer protects it.
func (a *App) ClaimTask(ctx context.Context, p auth.Principal, cmd ClaimTaskCommand) (ClaimTaskResult, error) {
	if err := requireVerifier(p); err != nil {
		return ClaimTaskResult{}, err
	}
	var res ClaimTaskResult
	err := a.Cases.UpdateByTask(ctx, cmd.TaskID, func(c *domain.Case) error {
		t, err := c.Claim(cmd.TaskID, p.Subject, p.PartnerID, a.Clock.Now(), a.rules(c.Market))
		res = ClaimTaskResult{CaseID: c.ID, Task: t, LeaseUntil: t.LeaseUntil}
		return err
	})
	return res, translate(err)
}
