package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/partnerhub/onboarding/pkg/ids"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// FileDuplicateClaimCmd is an applicant's claim on a refused duplicate
// registration, quoting the duplicate_attempt_id of the refusal.
type FileDuplicateClaimCmd struct {
	DuplicateAttemptID string
	Statement          string // why the applicant is (or is not) the registered company
}

// DuplicateClaimResult identifies the filed claim.
type DuplicateClaimResult struct {
	ClaimID            domain.ClaimID            `json:"claim_id"`
	DuplicateAttemptID domain.DuplicateAttemptID `json:"duplicate_attempt_id"`
	FiledAt            time.Time                 `json:"filed_at"`
}

// FileDuplicateClaim records the claim for review and emits
// DuplicateClaimFiled (through the repository). Callers: the upstream system
// that made the attempt, or an operator; anyone else is told the attempt does
// not exist. One claim per attempt, within domain.ClaimWindow, while the
// partner it collided with holds the company's identity: once that account
// is closed (or its registration rejected) the company may register again,
// and the claim is refused (domain.ErrDuplicateReleased; the repository
// loads the existing partner's status with the attempt).
func (a *App) FileDuplicateClaim(ctx context.Context, p auth.Principal, cmd FileDuplicateClaimCmd) (DuplicateClaimResult, error) {
	if err := p.Require(auth.RoleUpstreamSystem, auth.RoleOperator); err != nil {
		return DuplicateClaimResult{}, err
	}
	id, err := parseID[domain.DuplicateAttemptID]("duplicate_attempt_id", ids.DuplicateAttempt, cmd.DuplicateAttemptID)
	if err != nil {
		return DuplicateClaimResult{}, err
	}
	var res DuplicateClaimResult
	for range maxIDAttempts {
		claimID := a.ids.NewClaimID()
		err = a.repo.UpdateDuplicateAttempt(ctx, id, func(at *domain.DuplicateAttempt) error {
			if at.AttemptedBy != p.Subject && !p.Has(auth.RoleOperator) {
				return domain.ErrDuplicateAttemptNotFound
			}
			now := a.now()
			if err := at.FileClaim(claimID, cmd.Statement, p.Subject, now); err != nil {
				return err
			}
			res = DuplicateClaimResult{ClaimID: claimID, DuplicateAttemptID: id, FiledAt: now}
			return nil
		})
		if !errors.Is(err, domain.ErrIDCollision) {
			break
		}
	}
	if err != nil {
		return DuplicateClaimResult{}, translate(err, fmt.Sprintf("file claim on %s", id))
	}
	return res, nil
}
