package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/page"
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
	After            *page.Position // the page after this task (due time, id; nil: the first page)
}

// CodeInvalidCursor answers an after that is not a next this service gave.
const CodeInvalidCursor = "verification.invalid_cursor"

// queuePage cuts a queue's list fetched with one item more than limit to
// limit, with the cursor of its last item when more follow ("" when none):
// a queue is ordered earliest due first, then by id.
func queuePage[T any](items []T, limit int, pos func(T) page.Position) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, pos(items[limit-1]).Cursor()
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

// ListTasks lists review tasks for verifiers and operators, a page at a
// time (next: the cursor of the page that follows, "" at the last); a
// verifier that belongs to a partner never sees that partner's tasks.
func (a *App) ListTasks(ctx context.Context, p auth.Principal, f TaskFilter) ([]TaskSummary, string, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	limit := f.Limit
	f.Limit++ // one more: is there a next page?
	f.ExcludePartnerID = p.PartnerID
	tasks, err := a.Tasks.ListTasks(ctx, f, a.Clock.Now())
	if err != nil {
		return nil, "", err
	}
	tasks, next := queuePage(tasks, limit, func(t TaskSummary) page.Position { return page.Position{At: t.Task.DueAt, ID: t.Task.ID} })
	return tasks, next, nil
}
