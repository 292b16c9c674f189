package inbox_test

import (
	"context"
	"fmt"
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

func claim(t *testing.T, p *pgxpool.Pool, keys ...inbox.Key) []inbox.Claimed {
	t.Helper()
	var fresh []inbox.Claimed
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
	if got := claim(t, p, key("on_approved", "b")); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Fresh}) {
		t.Fatalf("first claim of b: %v", got)
	}
	got := claim(t, p, key("on_approved", "c"), key("on_approved", "b"), key("on_approved", "a"),
		key("on_approved", "c"), key("on_other", "b"))
	if want := []inbox.Claimed{inbox.Fresh, inbox.Processed, inbox.Fresh, inbox.Processed, inbox.Fresh}; !reflect.DeepEqual(got, want) {
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
	if got := claim(t, p, key("on_approved", "a")); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Fresh}) {
		t.Errorf("claim after the rollback: %v", got)
	}
}

func withData(k inbox.Key, data string) inbox.Key {
	k.Digest = inbox.Digest(k.Type, []byte(data))
	return k
}

// With digests, an id processed before with other content is Reused — once
// per content: the same reused content again is Processed, as is the first
// content again. A row written without a digest matches any content.
func TestAReusedIDIsToldFromARedelivery(t *testing.T) {
	p := pool(t)
	a1, a2, a3 := withData(key("on_requested", "a"), `{"n":1}`), withData(key("on_requested", "a"), `{"n":2}`), withData(key("on_requested", "a"), `{"n":3}`)
	if got := claim(t, p, a1); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Fresh}) {
		t.Fatalf("first claim of a: %v", got)
	}
	if got := claim(t, p, a1); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Processed}) {
		t.Errorf("a redelivered: %v", got)
	}
	if got := claim(t, p, a2, withData(key("on_requested", "b"), `{}`)); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Reused, inbox.Fresh}) {
		t.Errorf("a with other data, and b: %v", got)
	}
	if got := claim(t, p, a2, a1); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Processed, inbox.Processed}) {
		t.Errorf("the reused content again, and the first: %v", got)
	}
	if got := claim(t, p, a3); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Reused}) {
		t.Errorf("a third content: %v", got)
	}
	// Within one batch: the first content is recorded, the second is a
	// reuse, recorded too: delivered again, it is Processed.
	if got := claim(t, p, withData(key("on_requested", "c"), "1"), withData(key("on_requested", "c"), "2"), withData(key("on_requested", "c"), "1")); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Fresh, inbox.Reused, inbox.Processed}) {
		t.Errorf("c twice with two contents in one batch: %v", got)
	}
	if got := claim(t, p, withData(key("on_requested", "c"), "2"), withData(key("on_requested", "c"), "1")); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Processed, inbox.Processed}) {
		t.Errorf("c's two contents delivered again: %v", got)
	}
	// A redelivery of the first content beside a new one: only the new one
	// is owed an answer.
	if got := claim(t, p, a1, withData(key("on_requested", "a"), `{"n":4}`)); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Processed, inbox.Reused}) {
		t.Errorf("a's first content again beside a fourth: %v", got)
	}
	// Rows without a digest (other subscriptions, or written before digests
	// were kept) match any content.
	if got := claim(t, p, key("on_requested", "d")); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Fresh}) {
		t.Fatalf("d without a digest: %v", got)
	}
	if got := claim(t, p, withData(key("on_requested", "d"), "x")); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Processed}) {
		t.Errorf("d with a digest after a row without: %v", got)
	}
	if got := claim(t, p, key("on_requested", "a")); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Processed}) {
		t.Errorf("a claimed without a digest: %v", got)
	}
}

// TestTheFirstContentOfABatchIsTheOneRecorded: of an id given twice with
// two contents in a batch large enough for the sort to reorder equal keys
// (13 keys), the first given is handled as fresh, so its content must be
// the one recorded: a redelivery of it is Processed, not Reused (before,
// the claim's unstable sort could record the second content's digest).
func TestTheFirstContentOfABatchIsTheOneRecorded(t *testing.T) {
	p := pool(t)
	first, second := withData(key("on_requested", "x"), `{"n":1}`), withData(key("on_requested", "x"), `{"n":2}`)
	batch := []inbox.Key{first, second}
	for i := 2; i < 13; i++ {
		batch = append(batch, withData(key("on_requested", fmt.Sprintf("e%02d", i)), "{}"))
	}
	got := claim(t, p, batch...)
	if got[0] != inbox.Fresh || got[1] != inbox.Reused {
		t.Fatalf("x twice with two contents: %v, want fresh then reused", got[:2])
	}
	if got := claim(t, p, first); !reflect.DeepEqual(got, []inbox.Claimed{inbox.Processed}) {
		t.Fatalf("a redelivery of the content handled as fresh: %v, want processed", got)
	}
}
