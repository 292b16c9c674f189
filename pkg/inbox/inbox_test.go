package inbox_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/inbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testkit.ServicePool(t, "registration", testkit.NoTables, 2, nil)
}

func key(handler, id string) inbox.Key {
	return inbox.Key{Handler: handler, Source: "/services/verification", ID: id, Type: "com.partnerhub.verification.case.approved.v1"}
}

func claim(t *testing.T, p *pgxpool.Pool, keys ...inbox.Key) []bool {
	t.Helper()
	var fresh []bool
	err := pg.InTx(context.Background(), p, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		fresh, err = inbox.Claim(ctx, tx, keys)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fresh
}

// Claim tells, for each event of a batch, whether it is fresh: not
// processed by that handler before, nor repeated earlier in the batch. The
// same event is fresh again for another handler.
func TestClaimTellsFreshFromProcessed(t *testing.T) {
	p := pool(t)
	if got := claim(t, p, key("on_approved", "b")); !reflect.DeepEqual(got, []bool{true}) {
		t.Fatalf("first claim of b: %v", got)
	}
	got := claim(t, p, key("on_approved", "c"), key("on_approved", "b"), key("on_approved", "a"),
		key("on_approved", "c"), key("on_other", "b"))
	if want := []bool{true, false, true, false, true}; !reflect.DeepEqual(got, want) {
		t.Errorf("claim c, b (processed), a, c (repeated), b for another handler: %v, want %v", got, want)
	}
	var rows int
	if err := p.QueryRow(context.Background(), `SELECT count(*) FROM inbox`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 4 {
		t.Errorf("inbox rows %d, want 4", rows)
	}
	if got := claim(t, p); len(got) != 0 {
		t.Errorf("an empty claim: %v", got)
	}
}

// A claim rolled back with its transaction leaves the events fresh.
func TestAClaimRolledBackLeavesTheEventsFresh(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.Claim(ctx, tx, []inbox.Key{key("on_approved", "a")}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, p, key("on_approved", "a")); !reflect.DeepEqual(got, []bool{true}) {
		t.Errorf("claim after the rollback: %v", got)
	}
}
