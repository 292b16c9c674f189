package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// TestClosureEndReasonsAreCutBack: migration 00002 cuts the end reason of
// relationships a closure ended before round 47 — which carried the
// closure's reason code and the operator's note, read by both sides — back
// to the sentence that the account was closed; a reason a side wrote when
// it ended one itself, and a closure's reason already so, stay as they are.
func TestClosureEndReasonsAreCutBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	type tc struct {
		reseller, side, reason, want string
	}
	cases := []tc{
		{"PG-R200-0000-004", "reseller", "the reseller's partner account was closed (closed_by_operator): sanctions screening hit",
			"the reseller's partner account was closed"},
		{"PG-R300-0000-002", "provider", "the provider's partner account was closed (closed_by_partner)", "the provider's partner account was closed"},
		{"PG-R400-0000-000", "provider", "the provider's partner account was closed: moving to another distributor",
			"the provider's partner account was closed"},
		{"PG-R500-0000-00Y", "reseller", "the reseller's partner account was closed", "the reseller's partner account was closed"},
		{"PG-R600-0000-00W", "provider", "販売契約を終了しました (the provider's partner account was closed: no)", "販売契約を終了しました (the provider's partner account was closed: no)"},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		r, _ := f.proposal(t, "PG-P100-0000-008", c.reseller)
		if err := f.rels.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := f.rels.Update(ctx, r.ID, func(r *domain.Relationship) error {
			r.CloseFor(domain.Side(c.side), "ops-1", c.reason, t0)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ID
	}
	raw, err := os.ReadFile("migrations/00002_closure_end_reason.sql")
	if err != nil {
		t.Fatal(err)
	}
	up, _, ok := strings.Cut(string(raw), "-- +goose Down")
	if !ok {
		t.Fatal("no Down section")
	}
	if _, err := f.pool.Exec(ctx, up); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		r, err := f.rels.Get(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if r.EndReason != c.want || r.State != domain.StateEnded || string(r.EndedBy) != c.side {
			t.Errorf("%q became %q (%s, ended by %s), want %q", c.reason, r.EndReason, r.State, r.EndedBy, c.want)
		}
	}
}
