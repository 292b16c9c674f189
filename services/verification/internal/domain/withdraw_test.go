package domain

import (
	"errors"
	"testing"
	"time"
)

// A closed partner's case under way is withdrawn: its tasks cancelled, its
// documents no longer reminded, never reviewed again or revoked; a replay
// changes nothing.
func TestAClosedPartnersCaseIsWithdrawn(t *testing.T) {
	c := openCase(t, func(in *OpenInput) { in.Website = "other.co.jp" }) // employment awaits documents
	c.PullEvents()
	task := companyTask(c).ID
	claim(t, c, task, "v1", t0)
	docDue := c.Check(CheckEmployment).DocumentsDueAt
	at := t0.Add(time.Hour)

	if !c.WithdrawForClosure(at, rules()) {
		t.Fatal("the closure changed nothing")
	}
	evs := find[CaseWithdrawal](c.PullEvents())
	if len(evs) != 1 || evs[0].From != CasePending || evs[0].To != CaseWithdrawn || evs[0].Reason != ReasonPartnerClosed ||
		len(evs[0].TasksCancelled) != 1 || evs[0].TasksCancelled[0] != task {
		t.Fatalf("events %+v", evs)
	}
	if c.Status != CaseWithdrawn || !c.ClosedAt.Equal(at) || !c.PartnerClosedAt.Equal(at) || c.Task(task).Status != TaskCancelled || c.Task(task).ClaimedBy != "" {
		t.Fatalf("case %s %s, task %+v", c.Status, c.SubStatus, c.Task(task))
	}
	if n := c.FireTimers(docDue.Add(-time.Hour), rules()); n != 0 || !c.TimerAt.IsZero() {
		t.Fatalf("timers after the closure: fired %d, next %s", n, c.TimerAt)
	}
	if v := c.Requirements(at, rules()); len(v.Due) != 0 || len(v.InReview) != 0 {
		t.Fatalf("requirements %+v", v)
	}
	if c.WithdrawForClosure(at.Add(time.Hour), rules()) || len(c.PullEvents()) != 0 {
		t.Fatal("a replay of the closure changed the case")
	}

	a := approvedCase(t)
	a.WithdrawForClosure(at, rules())
	if len(a.PullEvents()) != 0 || a.Status != CaseApproved {
		t.Fatalf("an approved case with nothing under way: %s", a.Status)
	}
	if _, err := a.ReopenReview(ReopenForRevocation, "again", "v2", at, rules()); !errors.Is(err, ErrPartnerClosed) {
		t.Fatalf("reopen: %v", err)
	}
	if _, _, err := a.Revoke(RevokeInput{DecisionID: "rv1", Revoker: "v2", Reason: "forged"}, at); !errors.Is(err, ErrPartnerClosed) {
		t.Fatalf("revoke: %v", err)
	}
}
