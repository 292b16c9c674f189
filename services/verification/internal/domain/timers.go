package domain

import (
	"slices"
	"time"
)

// FireTimers does the time-driven work due at now and reports how many
// events it recorded: expired leases free their tasks, tasks past their SLA
// escalate (once), applicants with documents due are reminded (once per
// lead; after a long outage only the most urgent pending reminder is sent).
// It is idempotent: running it again at the same instant records nothing.
func (c *Case) FireTimers(now time.Time, r Rules) int {
	before := len(c.events)
	for _, t := range c.Tasks {
		if !t.Active() {
			continue
		}
		if t.ClaimedBy != "" && !now.Before(t.LeaseUntil) {
			c.record(ReviewTaskReleased{EventMeta: c.meta(now), TaskID: t.ID, Check: t.Check, Verifier: t.ClaimedBy, Reason: "lease_expired"})
			t.ClaimedBy, t.LeaseUntil = "", time.Time{}
		}
		if !t.Overdue && !now.Before(t.DueAt) {
			t.Overdue = true
			c.record(ReviewTaskOverdue{EventMeta: c.meta(now), TaskID: t.ID, Check: t.Check, DueAt: t.DueAt, ClaimedBy: t.ClaimedBy})
		}
	}
	if !c.Closed() {
		for _, ck := range c.Checks {
			if !ck.awaitsDocuments() || ck.DocumentsDueAt.IsZero() {
				continue
			}
			var due []time.Duration
			for _, lead := range r.Policy.ReminderLeads {
				if !slices.Contains(ck.RemindersSent, lead) && !now.Before(ck.DocumentsDueAt.Add(-lead)) {
					due = append(due, lead)
				}
			}
			if len(due) == 0 {
				continue
			}
			ck.RemindersSent = append(ck.RemindersSent, due...)
			if now.Before(ck.DocumentsDueAt) {
				c.record(ReminderDue{EventMeta: c.meta(now), Check: ck.Kind, Reason: ck.Reason, DueAt: ck.DocumentsDueAt,
					BusinessDaysLeft: r.Calendar.BusinessDaysLeft(now, ck.DocumentsDueAt), Lead: slices.Min(due),
					AcceptedDocuments: slices.Clone(ck.AcceptedDocuments), ContactEmail: c.Contact.Email})
			}
		}
	}
	fired := len(c.events) - before
	c.settle(now, r)
	return fired
}

// nextTimer is the earliest instant at which FireTimers has work to do.
func (c *Case) nextTimer(r Rules) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, t := range c.Tasks {
		if !t.Active() {
			continue
		}
		if t.ClaimedBy != "" {
			consider(t.LeaseUntil)
		}
		if !t.Overdue {
			consider(t.DueAt)
		}
	}
	if c.Closed() {
		return next
	}
	for _, ck := range c.Checks {
		if !ck.awaitsDocuments() || ck.DocumentsDueAt.IsZero() {
			continue
		}
		for _, lead := range r.Policy.ReminderLeads {
			if !slices.Contains(ck.RemindersSent, lead) {
				consider(ck.DocumentsDueAt.Add(-lead))
			}
		}
	}
	return next
}
