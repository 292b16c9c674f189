package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// FireDueTimersResult counts what one run did.
type FireDueTimersResult struct {
	FanOutsFinished     int // versions whose interrupted fan-out was completed
	RequirementsCreated int
	Overdue             int // requirements that turned overdue (one event each)
	Satisfied           int // requirements found already satisfied (an acceptance landed before a crash closed them)
	Cancelled           int // requirements whose version was retired, or whose partner closed, before a crash cancelled them
}

// FireDueTimers is the durable-timer step a poller drives: it finishes
// interrupted re-acceptance fan-outs and marks requirements overdue, once.
type FireDueTimers struct {
	d   Deps
	fan fanOut
}

// Handle runs the timers due at now.
func (uc FireDueTimers) Handle(ctx context.Context, now time.Time) (FireDueTimersResult, error) {
	var res FireDueTimersResult
	pending, err := uc.d.Versions.ListFanOutPending(ctx)
	if err != nil {
		return res, translate(wrapf(err, "list pending fan-outs"), "list versions")
	}
	for _, v := range pending {
		n, err := uc.fan.run(ctx, v, now)
		res.RequirementsCreated += n
		if err != nil {
			return res, translate(err, "fan out re-acceptance requirements")
		}
		res.FanOutsFinished++
	}
	// A retirement cancels its version's open requirements at once; one
	// interrupted by a crash is finished here (its timer fires a minute
	// later), not at each requirement's deadline.
	orphaned, err := uc.d.Requirements.ListOpenOfRetired(ctx)
	if err != nil {
		return res, translate(wrapf(err, "list requirements of retired versions"), "list requirements")
	}
	n, err := cancelAll(ctx, uc.d, orphaned, domain.CancelVersionRetired, now)
	res.Cancelled += n
	if err != nil {
		return res, err
	}
	due, err := uc.d.Requirements.ListOpenDue(ctx, now)
	if err != nil {
		return res, translate(wrapf(err, "list due requirements"), "list requirements")
	}
	for _, r := range due {
		cancel, err := uc.cancelled(ctx, r)
		if err != nil {
			return res, err
		}
		satisfiedBy := ""
		if cancel == "" {
			if satisfiedBy, err = uc.satisfiedBy(ctx, r); err != nil {
				return res, err
			}
		}
		err = uc.d.Requirements.Update(ctx, r.ID(), func(r *domain.Requirement) error {
			switch {
			case cancel != "":
				if r.Cancel(cancel, now) {
					res.Cancelled++
				}
			case satisfiedBy != "":
				r.Satisfy(satisfiedBy, now)
				res.Satisfied++
			case r.MarkOverdue(now):
				res.Overdue++
			}
			return nil
		})
		if err != nil {
			return res, translate(wrapf(err, "update requirement %s", r.ID()), "update requirement")
		}
	}
	return res, nil
}

// cancelled returns why r must be cancelled rather than found overdue: its
// version was retired, or its partner closed, and the retirement or the
// closure did not cancel it (a crash between the version's retirement and
// its requirements, a fan-out that raced the closure).
func (uc FireDueTimers) cancelled(ctx context.Context, r *domain.Requirement) (string, error) {
	v, err := uc.d.Versions.Get(ctx, r.VersionID())
	if err != nil && !errors.Is(err, domain.ErrVersionNotFound) {
		return "", translate(wrapf(err, "load version %s", r.VersionID()), "load version")
	}
	if v != nil && v.Retired() {
		return domain.CancelVersionRetired, nil
	}
	closed, err := isClosed(ctx, uc.d, r.State().PartnerID)
	if err != nil {
		return "", translate(err, "load partner")
	}
	if closed {
		return domain.CancelPartnerClosed, nil
	}
	return "", nil
}

// satisfiedBy returns the id of the key's current acceptance when it already
// clears r.
func (uc FireDueTimers) satisfiedBy(ctx context.Context, r *domain.Requirement) (string, error) {
	cur, err := currentAcceptance(ctx, uc.d.Acceptances, r.Key())
	if err != nil || cur == nil || cur.ID() == r.State().CurrentAcceptanceID {
		return "", err
	}
	accepted, err := uc.d.Versions.Get(ctx, cur.VersionID())
	if err != nil {
		return "", translate(wrapf(err, "load version %s", cur.VersionID()), "load version")
	}
	required, err := uc.d.Versions.Get(ctx, r.VersionID())
	if err != nil {
		return "", translate(wrapf(err, "load version %s", r.VersionID()), "load version")
	}
	if domain.Satisfies(accepted, required) {
		return cur.ID(), nil
	}
	return "", nil
}
