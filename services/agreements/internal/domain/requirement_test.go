package domain

import (
	"testing"
	"time"
)

// reacceptance is partner P1's current acceptance and a requires_reacceptance
// version rv2 (a day's window) that it must accept.
func reacceptance(t *testing.T) (*Acceptance, *Version) {
	t.Helper()
	p := registeredPartner(t, VerificationApproved)
	cur := mustAccept(t, p, mustVersion(t, nil), nil)
	return cur, mustVersion(t, func(d *VersionDraft) {
		d.ID, d.EffectiveFrom = "rv2", t0.Add(time.Hour)
		d.Policy, d.ReacceptanceWindow = "requires_reacceptance", 24*time.Hour
	})
}

func TestRequirementLifecycle(t *testing.T) {
	cur, v2 := reacceptance(t)
	due := v2.ReacceptanceDeadline()

	r := NewRequirement("R1", cur, v2, t0)
	evs := r.PullEvents()
	if e, ok := evs[0].(ReacceptanceRequired); len(evs) != 1 || !ok || e.DueBy != due || e.CurrentAcceptanceID != cur.ID() || e.PartnerID != "P1" {
		t.Fatalf("events = %+v", evs)
	}
	if r.MarkOverdue(due.Add(-time.Second)) {
		t.Fatal("overdue before the deadline")
	}
	if !r.MarkOverdue(due) || r.MarkOverdue(due.Add(time.Hour)) {
		t.Fatal("overdue must be marked exactly once")
	}
	evs = r.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %+v, want one overdue event", evs)
	}
	if _, ok := evs[0].(ReacceptanceOverdue); !ok {
		t.Fatalf("event = %T", evs[0])
	}
	r.Satisfy("A9", due.Add(2*time.Hour)) // late acceptances still satisfy
	if r.Open() || r.State().SatisfiedBy != "A9" || r.IsOverdue(due.Add(3*time.Hour)) {
		t.Fatalf("state = %+v", r.State())
	}
	r.Cancel(CancelVersionRetired, due.Add(4*time.Hour))
	if r.State().Status != RequirementSatisfied {
		t.Fatal("a closed requirement stays closed")
	}

	c := NewRequirement("R2", cur, v2, t0)
	c.Cancel(CancelVersionRetired, t0.Add(time.Hour))
	if c.Open() || c.MarkOverdue(due.Add(time.Hour)) {
		t.Fatal("a cancelled requirement never turns overdue")
	}
}

// A requirement cancelled after its deadline tells who acted on the overdue
// event that the earlier acceptance counts again; once closed, nothing more.
func TestACancelledRequirementGivesTheEarlierAcceptanceBack(t *testing.T) {
	cur, v2 := reacceptance(t)
	due := v2.ReacceptanceDeadline()
	r := NewRequirement("R1", cur, v2, t0)
	r.MarkOverdue(due)
	r.PullEvents()
	if !r.Cancel(CancelVersionRetired, due.Add(time.Hour)) || r.Open() || r.State().Status != RequirementCancelled {
		t.Fatalf("state = %+v", r.State())
	}
	evs := r.PullEvents()
	c, ok := evs[0].(ReacceptanceCancelled)
	if len(evs) != 1 || !ok || c.Reason != CancelVersionRetired || c.CurrentAcceptanceID != cur.ID() || c.VersionID != "rv2" ||
		c.OverdueAt == nil || !c.OverdueAt.Equal(due) || !c.CancelledAt.Equal(due.Add(time.Hour)) || c.PartnerID != "P1" {
		t.Fatalf("events = %+v", evs)
	}
	if r.Cancel(CancelPartnerClosed, due.Add(2*time.Hour)) || len(r.PullEvents()) != 0 {
		t.Fatal("a closed requirement is cancelled once")
	}

	before := NewRequirement("R2", cur, v2, t0)
	before.PullEvents()
	before.Cancel(CancelPartnerClosed, t0.Add(time.Minute))
	if evs := before.PullEvents(); len(evs) != 1 || evs[0].(ReacceptanceCancelled).OverdueAt != nil {
		t.Fatalf("events = %+v", evs)
	}
}
