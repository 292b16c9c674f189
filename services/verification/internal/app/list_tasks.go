package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// TaskFilter selects review tasks.
type TaskFilter struct {
	Check            domain.CheckKind
	Status           domain.TaskStatus // empty: open and pending_confirmation
	Market           string
	Unclaimed        bool   // only tasks without a live lease
	ExcludePartnerID string // set by ListTasks for verifiers that belong to a partner
	Limit            int
}

// TaskSummary is one task with the case facts a queue needs.
type TaskSummary struct {
	CaseID    string
	PartnerID string
	Market    string
	Task      domain.ReviewTask
}

// TaskQueries is the read side of review tasks, ordered by due time.
type TaskQueries interface {
	ListTasks(ctx context.Context, f TaskFilter, now time.Time) ([]TaskSummary, error)
}

// ListTasks lists review tasks for verifiers and operators; a verifier that
// belongs to a partner never sees that partner's tasks.
func (a *App) ListTasks(ctx context.Context, p auth.Principal, f TaskFilter) ([]TaskSummary, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	f.ExcludePartnerID = p.PartnerID
	return a.Tasks.ListTasks(ctx, f, a.Clock.Now())
}
