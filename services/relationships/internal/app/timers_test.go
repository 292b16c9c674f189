package app

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

func TestFireDueTimersGrantLifecycle(t *testing.T) {
	e := newEnv(t)
	inv, g := e.activate(CreateRequestCommand{Roles: []string{"billing_reader"}, DurationDays: 30})
	if !g.ExpiresAt.Equal(t0.Add(30 * day)) {
		t.Fatalf("expires %v", g.ExpiresAt)
	}
	steps := []struct {
		at    time.Duration
		want  []string
		state domain.GrantState
	}{
		{16*day - time.Second, nil, domain.GrantActive},
		{16 * day, []string{"AccessExpiring"}, domain.GrantExpiring},
		{20 * day, nil, domain.GrantExpiring},
		{30 * day, []string{"AccessExpired"}, domain.GrantExpired},
		{31 * day, nil, domain.GrantExpired},
	}
	for _, s := range steps {
		if _, err := e.app.FireDueTimers(e.ctx, t0.Add(s.at)); err != nil {
			t.Fatal(err)
		}
		e.expectEvents(s.want...)
		rel, _ := e.rels.Get(e.ctx, inv.RelationshipID)
		if rel.Grant.State != s.state {
			t.Errorf("at +%v: grant %s, want %s", s.at, rel.Grant.State, s.state)
		}
	}
}

func TestTimersSurviveARestart(t *testing.T) {
	e := newEnv(t)
	// Two invitations and one grant, then the service is down for 100 days.
	e.invite(CreateRequestCommand{ResellerLocationID: "PL-Q100-0000-007"})
	inv, _ := e.activate(CreateRequestCommand{Roles: []string{"billing_reader"}, DurationDays: 60, AutoExtend: true})
	restarted, err := New(Deps{Partners: e.partners, Relationships: e.rels, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	res, err := restarted.FireDueTimers(e.ctx, t0.Add(100*day))
	if err != nil {
		t.Fatal(err)
	}
	if res.Relationships != 2 {
		t.Errorf("ticked %d relationships, want 2", res.Relationships)
	}
	// The invitation expires without a late reminder; the auto-extending grant
	// renews once (60 → 120 days) and is not yet expiring (that is at 106 days).
	got := e.rels.takeEvents()
	if len(got) != 2 || !contains(got, "RequestExpired") || !contains(got, "AccessExtended") {
		t.Errorf("events = %v", got)
	}
	rel, _ := e.rels.Get(e.ctx, inv.RelationshipID)
	if !rel.Grant.ExpiresAt.Equal(t0.Add(120*day)) || rel.Grant.State != domain.GrantActive {
		t.Errorf("grant = %+v", rel.Grant)
	}
	if _, err := restarted.FireDueTimers(e.ctx, t0.Add(100*day)); err != nil {
		t.Fatal(err)
	}
	e.expectEvents() // idempotent: a second run at the same instant fires nothing
	if _, err := restarted.FireDueTimers(e.ctx, t0.Add(106*day)); err != nil {
		t.Fatal(err)
	}
	e.expectEvents("AccessExpiring")
}

func TestFireDueTimersStopsOnStorageError(t *testing.T) {
	e := newEnv(t)
	e.invite(CreateRequestCommand{})
	e.rels.failUpdate = errBoom
	if _, err := e.app.FireDueTimers(e.ctx, t0.Add(100*day)); err == nil {
		t.Fatal("storage error swallowed")
	}
	e.rels.failUpdate = nil
	if _, err := e.app.FireDueTimers(e.ctx, t0.Add(100*day)); err != nil {
		t.Fatal(err)
	}
	e.expectEvents("RequestExpired")
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
