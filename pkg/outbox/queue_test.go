package outbox_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

var thingTable = fstest.MapFS{"00001_thing.sql": {Data: []byte("-- +goose Up\nCREATE TABLE thing (id TEXT PRIMARY KEY);\n")}}

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testkit.ServicePool(t, "registration", thingTable, 2, nil)
}

func draft(subject string) outbox.Draft {
	return outbox.Draft{Type: "com.partnerhub.registration.thing.made.v1", Subject: subject, Data: map[string]string{"k": "v"}}
}

// Queue puts the events on the caller's batch: the caller's statement and
// the events go in one batch, one statement per partition key (its counter
// updated once), the events get their partition's sequence in the order
// they were drafted, and the relay is woken once the transaction commits.
func TestQueueSharesTheCallersBatch(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	w := outbox.NewWriter("registration")
	woken := 0
	w.WakeOnCommit(func() { woken++ }, nil, "registration")
	var events []byte
	var evs []ce.Event
	err := pg.InTx(ctx, p, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO thing (id) VALUES ($1)`, "a")
		q, err := w.Queue(ctx, b, draft("p1"), draft("p2"), draft("p1"))
		if err != nil {
			return err
		}
		if b.Len() != 3 {
			t.Errorf("batch holds %d statements, want the caller's and one per partition key", b.Len())
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		evs = q.Done(ctx)
		for _, ev := range evs {
			events = append(events, byte('0'+ev.Sequence))
		}
		if woken != 0 {
			t.Error("relay woken before the commit")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(events) != "112" {
		t.Fatalf("sequences %q, want 1 for p1, 1 for p2, 2 for p1", events)
	}
	// The relay publishes a bucket in id order: a partition's ids follow
	// its sequence, and each row is the event drafted with that sequence.
	rows, err := p.Query(ctx, `SELECT partition_key, sequence, event_id FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, ev := range evs {
		want[ev.PartitionKey] = append(want[ev.PartitionKey], ev.ID)
	}
	got := map[string][]string{}
	for rows.Next() {
		var key, id string
		var seq int64
		if err := rows.Scan(&key, &seq, &id); err != nil {
			t.Fatal(err)
		}
		if int(seq) != len(got[key])+1 {
			t.Errorf("%s: sequence %d at id position %d", key, seq, len(got[key])+1)
		}
		got[key] = append(got[key], id)
	}
	if rows.Err() != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("rows by partition in id order %v (%v), want the drafts' events %v", got, rows.Err(), want)
	}
	var last int
	if err := p.QueryRow(ctx, `SELECT last_sequence FROM event_sequence WHERE partition_key = 'p1'`).Scan(&last); err != nil || last != 2 {
		t.Errorf("p1's counter at %d (%v), want 2", last, err)
	}
	if woken != 1 {
		t.Fatalf("relay woken %d times after the commit, want 1", woken)
	}
	var n int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d outbox rows (%v), want 3", n, err)
	}
}

// When a statement of the batch fails, nothing of it is written and the
// relay is not woken.
func TestQueueFailsWithTheCallersStatement(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	w := outbox.NewWriter("registration")
	woken := 0
	w.WakeOnCommit(func() { woken++ }, nil, "registration")
	if _, err := p.Exec(ctx, `INSERT INTO thing (id) VALUES ('a')`); err != nil {
		t.Fatal(err)
	}
	err := pg.InTx(ctx, p, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO thing (id) VALUES ($1)`, "a") // taken
		q, err := w.Queue(ctx, b, draft("p1"))
		if err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		q.Done(ctx)
		return nil
	})
	if _, unique := pg.IsUniqueViolation(err); !unique {
		t.Fatalf("err %v, want the unique violation", err)
	}
	var rows int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&rows); err != nil || rows != 0 || woken != 0 {
		t.Fatalf("%d outbox rows (%v), relay woken %d times: want none", rows, err, woken)
	}
	// An invalid draft is refused before anything is queued.
	if _, err := w.Queue(ctx, &pgx.Batch{}, outbox.Draft{Type: "bad", Subject: "x"}); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want a refusal", err)
	}
}

// TestOutboxRowsCompressWithLZ4: a row over about 2 KB (the largest events
// with their headers) is compressed at its insert, for a row the relay
// deletes within milliseconds; LZ4 costs a fraction of pglz's CPU.
func TestOutboxRowsCompressWithLZ4(t *testing.T) {
	testkit.CompressesWithLZ4(t, pool(t), "outbox", "payload", "headers")
}

// An event declares who caused it: the actor's subject (authtype, authid)
// and, for an actor with roles, the roles it acted in (authclaims), so that
// readers can tell staff's subjects from the partner's side's; our services
// reacting to each other's events declare no roles. The stored row the
// relay publishes carries the same headers.
func TestEventsDeclareTheRolesTheirActorActedIn(t *testing.T) {
	p := pool(t)
	w := outbox.NewWriter("registration")
	for _, c := range []struct {
		actor            auth.Principal
		authtype, claims string
	}{
		{auth.Principal{Kind: auth.KindUser, Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}}, "user", `{"roles":["operator"]}`},
		{auth.Principal{Kind: auth.KindService, Subject: "verifier-bot", Roles: []auth.Role{auth.RoleVerifier}}, "service_account", `{"roles":["verifier"]}`},
		{auth.Principal{Kind: auth.KindUser, Subject: "admin-1", PartnerID: "PG-1", Roles: []auth.Role{auth.RolePartnerAdmin, auth.RolePartnerUser}}, "user",
			`{"roles":["partner_admin","partner_user"]}`},
		{auth.Principal{Kind: auth.KindService, Subject: "verification"}, "service_account", ""},
	} {
		ctx := auth.WithPrincipal(context.Background(), c.actor)
		var ev ce.Event
		err := pg.InTx(ctx, p, func(ctx context.Context, tx pgx.Tx) error {
			b := &pgx.Batch{}
			q, err := w.Queue(ctx, b, draft("p-"+c.actor.Subject))
			if err != nil {
				return err
			}
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			ev = q.Done(ctx)[0]
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ev.AuthType != c.authtype || ev.AuthID != c.actor.Subject || ev.Extensions[auth.ExtAuthClaims] != c.claims {
			t.Errorf("%s: authtype %q, authid %q, authclaims %q; want %q, %q, %q", c.actor.Subject, ev.AuthType, ev.AuthID,
				ev.Extensions[auth.ExtAuthClaims], c.authtype, c.actor.Subject, c.claims)
		}
		var stored map[string]string
		if err := p.QueryRow(context.Background(), `SELECT headers FROM outbox WHERE event_id = $1`, ev.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored["ce-authid"] != c.actor.Subject || stored["ce-"+auth.ExtAuthClaims] != c.claims {
			t.Errorf("%s: the stored row's headers %v", c.actor.Subject, stored)
		}
	}
}
