package domain

import (
	"testing"
	"time"
)

func TestSuspendAndReinstateAccess(t *testing.T) {
	r := activeRel(t, 30, false, RoleSupportAgent)
	r.PullEvents()
	now := r.Grant.StartsAt.Add(time.Hour)
	if !r.SuspendAccess(SideReseller, []string{"verification_revoked"}, now) || r.SuspendAccess(SideProvider, nil, now) {
		t.Fatal("a live grant is suspended once")
	}
	if st := r.Grant.StateAt(now); st != GrantSuspended {
		t.Fatalf("state %s", st)
	}
	if evs := r.PullEvents(); len(evs) != 1 || evs[0].(AccessSuspended).Side != SideReseller {
		t.Fatalf("events %v", names(evs))
	}
	if !r.ReinstateAccess(now.Add(time.Hour), DefaultPolicy()) || r.Grant.Suspended || r.Grant.StateAt(now) != GrantActive {
		t.Fatalf("reinstated %+v", r.Grant)
	}
	// The reinstatement names the side whose standing had suspended it (not
	// the provider, whose suspension came second and changed nothing): the
	// party told of the suspension is told of this.
	if evs := r.PullEvents(); len(evs) != 1 || names(evs)[0] != "AccessReinstated" || evs[0].(AccessReinstated).Side != SideReseller {
		t.Fatalf("events %+v", evs)
	}
	if r.Grant.SuspendedBy != "" {
		t.Fatalf("a reinstated grant keeps who suspended it: %+v", r.Grant)
	}

	// Its term ran out while suspended: expired, not reinstated.
	r.SuspendAccess(SideProvider, nil, now)
	r.PullEvents()
	late := r.Grant.ExpiresAt.Add(time.Hour)
	r.ReinstateAccess(late, DefaultPolicy())
	if evs := r.PullEvents(); len(evs) != 1 || names(evs)[0] != "AccessExpired" || r.Grant.State != GrantExpired {
		t.Fatalf("expired while suspended: %v %+v", names(evs), r.Grant)
	}
}

func TestCloseForEndsOpenRelationships(t *testing.T) {
	r := activeRel(t, 30, false, RoleSupportAgent)
	r.PullEvents()
	now := r.Grant.StartsAt.Add(time.Hour)
	if !r.CloseFor(SideProvider, "ops-1", "the provider's partner account was closed", now) || r.State != StateEnded || r.EndedBy != SideProvider {
		t.Fatalf("closed %+v", r)
	}
	evs := r.PullEvents()
	if len(evs) != 2 || names(evs)[0] != "RelationshipEnded" || evs[1].(AccessTerminated).Reason != TerminatedRelationshipEnded {
		t.Fatalf("events %v", names(evs))
	}
	if e := evs[0].(RelationshipEnded); e.Cause != EndAccountClosed || !e.AccessTerminated || e.InvitationWithdrawn {
		t.Fatalf("ended %+v: not told apart from a side's choice, or the live grant not said to end with it", e)
	}
	if r.CloseFor(SideReseller, "x", "y", now) {
		t.Fatal("an ended relationship is not closed again")
	}
	p, err := NewProposal(proposal(t, terms(t, 30, false, RoleSupportAgent)), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	p.PullEvents()
	if !p.CloseFor(SideProvider, "", "closed", now) || p.State != StateEnded || p.Requests[0].Status != StatusWithdrawn {
		t.Fatalf("proposed: %+v", p)
	}
	// The reseller is told the invitation was withdrawn (the notifier's
	// relationship_ended mail): the event says so, and that no access ended.
	if evs := p.PullEvents(); len(evs) != 1 || !evs[0].(RelationshipEnded).InvitationWithdrawn || evs[0].(RelationshipEnded).AccessTerminated {
		t.Fatalf("proposed, events %+v", evs)
	}
}
