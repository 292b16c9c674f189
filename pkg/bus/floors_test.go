package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// effectsTable records every effect a handler committed, duplicates
// included (no key on the event id).
var effectsTable = fstest.MapFS{"00001_effects.sql": {Data: []byte(
	"-- +goose Up\nCREATE TABLE effects (id BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL, partner TEXT NOT NULL, n INT NOT NULL);\n")}}

// effectsSetup is an embedded server with the registration stream and the
// effects table of relationships.
func effectsSetup(t *testing.T) (string, jetstream.JetStream, *pgxpool.Pool) {
	t.Helper()
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	return url, js, testkit.ServicePool(t, "relationships", effectsTable, 4, nil)
}

// effectsRouter runs a router of relationships whose handler records each
// event's effect in its transaction, with the inbox.
func effectsRouter(t *testing.T, cfg bus.Config, pool *pgxpool.Pool, sub bus.Subscription) *bus.Router {
	t.Helper()
	router, _ := newRouter(t, "relationships", cfg, pool)
	sub.Inbox = "on_happened"
	sub.Handle = func(ctx context.Context, ev ce.Event) error {
		return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO effects (event_id, partner, n) VALUES ($1, $2, $3)`, ev.ID, ev.PartitionKey, number(t, ev))
			return err
		})
	}
	router.Add(sub)
	runRouter(t, router)
	return router
}

// effects counts the effects committed and the distinct events they are of.
func effects(t *testing.T, pool *pgxpool.Pool) (all, distinct int) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT event_id) FROM effects`).Scan(&all, &distinct); err != nil {
		t.Fatal(err)
	}
	return all, distinct
}

// TestDurablesLostInAServerRestartAreCreatedFromTheirFloors: the durables
// live in the server's memory, so a restart loses them; the router creates
// them again from the ack floors it copied to Postgres and goes on. Nothing
// published before, during or after the restart is lost, no effect is
// committed twice, and each partner's events are handled in order.
func TestDurablesLostInAServerRestartAreCreatedFromTheirFloors(t *testing.T) {
	srv := testkit.RestartableNATS(t)
	_, js := testkit.JetStream(t, srv.URL())
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	pool := testkit.ServicePool(t, "relationships", effectsTable, 4, nil)
	cfg := testConfig(srv.URL())
	cfg.FloorInterval = 100 * time.Millisecond
	effectsRouter(t, cfg, pool, bus.Subscription{Type: typeHappened})
	ctx := context.Background()

	const partners, perRound = 8, 25
	sent := 0
	round := func(js jetstream.JetStream) {
		for i := 0; i < perRound; i++ {
			for p := 0; p < partners; p++ {
				publishRetrying(t, js, fmt.Sprintf("PF-%d", p), sent)
				sent++
			}
		}
	}
	waitEffects := func(want int) {
		t.Helper()
		testkit.Eventually(t, 30*time.Second, func() error {
			if _, n := effects(t, pool); n != want {
				return fmt.Errorf("%d events handled, want %d", n, want)
			}
			return nil
		})
	}
	round(js)
	waitEffects(sent)
	// Floors recorded for the partitions that had traffic.
	testkit.Eventually(t, 5*time.Second, func() error {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM bus_floors WHERE floor > 0`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no ack floor recorded")
		}
		return nil
	})
	// The durables are in memory.
	stream, err := js.Stream(ctx, "REGISTRATION")
	if err != nil {
		t.Fatal(err)
	}
	lister := stream.ListConsumers(ctx)
	durables := 0
	for info := range lister.Info() {
		durables++
		if !info.Config.MemoryStorage {
			t.Errorf("durable %s is on file", info.Name)
		}
	}
	if durables == 0 {
		t.Fatal("no durable")
	}

	// Events published while the server restarts, and after.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(50 * time.Millisecond)
		srv.Restart()
	}()
	round(js)
	wg.Wait()
	round(js)
	waitEffects(sent)

	// The lost durables came back from their floors, not from the start.
	stream, err = js.Stream(ctx, "REGISTRATION")
	if err != nil {
		t.Fatal(err)
	}
	fromFloor := 0
	lister = stream.ListConsumers(ctx)
	for info := range lister.Info() {
		if info.Config.DeliverPolicy == jetstream.DeliverByStartSequencePolicy && info.Config.OptStartSeq > 1 {
			fromFloor++
		}
	}
	if fromFloor == 0 {
		t.Error("no durable was created again from a recorded floor")
	}
	time.Sleep(cfg.AckWait / 2) // redeliveries, if any, have come
	all, distinct := effects(t, pool)
	if all != distinct || distinct != sent {
		t.Errorf("%d effects of %d events, %d sent", all, distinct, sent)
	}
	// Each partner's events were handled in order.
	rows, err := pool.Query(ctx, `SELECT partner, n FROM effects ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]int{}
	for rows.Next() {
		var partner string
		var n int
		if err := rows.Scan(&partner, &n); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[partner]; ok && n < prev {
			t.Errorf("partner %s: event %d handled after %d", partner, n, prev)
		}
		last[partner] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// publishRetrying publishes as publish does, again (with the same
// deduplication id) while the server is away.
func publishRetrying(t *testing.T, js jetstream.JetStream, partner string, n int) {
	t.Helper()
	ev := ce.Event{ID: ce.NewID(), Source: "/services/registration", Type: typeHappened, Subject: partner, PartitionKey: partner,
		Time: time.Now().UTC(), DataContentType: ce.JSON, Data: fmt.Appendf(nil, `{"n":%d}`, n)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := nats.NewMsg(bus.PartitionSubject(ce.Topic(typeHappened), bus.PartitionFor(partner)))
		for k, v := range ev.Headers() {
			m.Header[k] = []string{v}
		}
		m.Data = ev.Data
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(ev.ID))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAFileDurableMovesToMemoryFromItsAckFloor: a durable an earlier
// version left on file is moved to memory where it stood; what it had
// acknowledged is not delivered again.
func TestAFileDurableMovesToMemoryFromItsAckFloor(t *testing.T) {
	url, js, pool := effectsSetup(t)
	ctx := context.Background()
	const filter = "registration.>"
	for i := range 10 {
		publish(t, js, "PM-1", i)
	}
	// The durable as an earlier version made it: on file, 5 acknowledged.
	stream, err := js.Stream(ctx, "REGISTRATION")
	if err != nil {
		t.Fatal(err)
	}
	name := bus.DurableName("relationships", filter)
	old, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: name, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := old.Fetch(5)
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}

	effectsRouter(t, testConfig(url), pool, bus.Subscription{Type: bus.AnyType, Filter: filter, Shared: true})
	testkit.Eventually(t, 20*time.Second, func() error {
		if _, n := effects(t, pool); n != 5 {
			return fmt.Errorf("%d events handled, want the 5 not acknowledged", n)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	var first int
	if err := pool.QueryRow(ctx, `SELECT min(n) FROM effects`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if all, _ := effects(t, pool); all != 5 || first != 5 {
		t.Errorf("%d effects from event %d, want 5 from event 5", all, first)
	}
	c, err := stream.Consumer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !c.CachedInfo().Config.MemoryStorage {
		t.Error("the durable is still on file")
	}
}

// TestADurableRestartedFromItsStartIsMovedToItsFloor: a cluster keeps its
// durables' definitions on disk and a memory durable's state in memory, so
// after a restart of all its servers the durable is there again, from its
// deliver policy. The router finds it behind its recorded ack floor and
// creates it again from the floor instead of reading the stream again.
func TestADurableRestartedFromItsStartIsMovedToItsFloor(t *testing.T) {
	url, js, pool := effectsSetup(t)
	ctx := context.Background()
	const filter = "registration.>"
	name := bus.DurableName("relationships", filter)
	cfg := testConfig(url)
	cfg.FloorInterval = 100 * time.Millisecond
	sub := bus.Subscription{Type: bus.AnyType, Filter: filter, Shared: true}
	first := effectsRouter(t, cfg, pool, sub)
	for i := range 10 {
		publish(t, js, "PR-1", i)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		var floor int64
		err := pool.QueryRow(ctx, `SELECT floor FROM bus_floors WHERE durable = $1`, name).Scan(&floor)
		if err != nil || floor != 10 {
			return fmt.Errorf("recorded floor %d (%v), want 10", floor, err)
		}
		return nil
	})
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	// What the cluster's restart leaves: the durable again, from its start.
	stream, err := js.Stream(ctx, "REGISTRATION")
	if err != nil {
		t.Fatal(err)
	}
	old, err := stream.Consumer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	restarted := old.CachedInfo().Config
	restarted.DeliverPolicy, restarted.OptStartSeq = jetstream.DeliverAllPolicy, 0
	if err := stream.DeleteConsumer(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.CreateConsumer(ctx, restarted); err != nil {
		t.Fatal(err)
	}

	effectsRouter(t, cfg, pool, sub)
	publish(t, js, "PR-1", 10)
	testkit.Eventually(t, 10*time.Second, func() error {
		if _, n := effects(t, pool); n != 11 {
			return fmt.Errorf("%d events handled, want 11", n)
		}
		return nil
	})
	c, err := stream.Consumer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config; got.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || got.OptStartSeq != 11 {
		t.Errorf("the durable starts %v at %d, want at 11, after its recorded floor", got.DeliverPolicy, got.OptStartSeq)
	}
	if all, _ := effects(t, pool); all != 11 {
		t.Errorf("%d effects, want 11", all)
	}
}

// TestADurableGivenAWiderFilterStartsWhereTheOneItReplacesStood: a
// subscription whose filter changed (Replaces: the filter before) is a new
// durable; it starts after what the replaced durable acknowledged — as the
// server has it, or as recorded when the server lost it — instead of
// reading the stream again from its beginning, and the replaced durable is
// deleted, its recorded floor given to the new one.
func TestADurableGivenAWiderFilterStartsWhereTheOneItReplacesStood(t *testing.T) {
	const before, after = "registration.test.>", "registration.>"
	const typeOther = "com.partnerhub.registration.other.happened.v1"
	for _, lost := range []bool{false, true} {
		name := "on the server"
		if lost {
			name = "recorded, the server having lost it"
		}
		t.Run(name, func(t *testing.T) {
			url, js, pool := effectsSetup(t)
			ctx := context.Background()
			oldName, newName := bus.DurableName("relationships", before), bus.DurableName("relationships", after)
			cfg := testConfig(url)
			cfg.FloorInterval = time.Hour // the server's floor only
			if lost {
				cfg.FloorInterval = 100 * time.Millisecond
			}
			first := effectsRouter(t, cfg, pool, bus.Subscription{Type: bus.AnyType, Filter: before, Shared: true})
			for i := range 10 {
				publish(t, js, "PW-1", i)
			}
			stream, err := js.Stream(ctx, "REGISTRATION")
			if err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, 10*time.Second, func() error {
				c, err := stream.Consumer(ctx, oldName)
				if err != nil {
					return err
				}
				if f := c.CachedInfo().AckFloor.Stream; f != 10 {
					return fmt.Errorf("ack floor %d, want 10", f)
				}
				if lost {
					var floor int64
					if err := pool.QueryRow(ctx, `SELECT floor FROM bus_floors WHERE durable = $1`, oldName).Scan(&floor); err != nil || floor != 10 {
						return fmt.Errorf("recorded floor %d (%v), want 10", floor, err)
					}
				}
				return nil
			})
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			if lost {
				if err := stream.DeleteConsumer(ctx, oldName); err != nil {
					t.Fatal(err)
				}
			}

			effectsRouter(t, cfg, pool, bus.Subscription{Type: bus.AnyType, Filter: after, Shared: true, Replaces: before})
			publish(t, js, "PW-1", 10)
			publishType(t, js, typeOther, "PW-1", 11)
			testkit.Eventually(t, 10*time.Second, func() error {
				if _, n := effects(t, pool); n != 12 {
					return fmt.Errorf("%d events handled, want 12", n)
				}
				return nil
			})
			time.Sleep(300 * time.Millisecond)
			if all, _ := effects(t, pool); all != 12 {
				t.Errorf("%d effects, want 12: the new durable read again what the replaced one had handled", all)
			}
			c, err := stream.Consumer(ctx, newName)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.CachedInfo().Config; got.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || got.OptStartSeq != 11 {
				t.Errorf("the new durable starts %v at %d, want at 11", got.DeliverPolicy, got.OptStartSeq)
			}
			if _, err := stream.Consumer(ctx, oldName); !errors.Is(err, jetstream.ErrConsumerNotFound) {
				t.Errorf("the replaced durable is still there (%v)", err)
			}
			if lost {
				var floor int64
				if err := pool.QueryRow(ctx, `SELECT floor FROM bus_floors WHERE durable = $1`, newName).Scan(&floor); err != nil || floor < 10 {
					t.Errorf("the new durable's recorded floor is %d (%v), want the replaced one's 10 or more", floor, err)
				}
			}
		})
	}
}

// TestAReplacedDurableStillPulledFromIsLeftUntilItIsNot: in a rolling
// upgrade an instance of the previous version still pulls from the
// replaced durable; deleted under it, it would create it again (from its
// recorded floor, or from the stream's beginning). The new version deletes
// it only once nobody pulls from it.
func TestAReplacedDurableStillPulledFromIsLeftUntilItIsNot(t *testing.T) {
	const before, after = "registration.test.>", "registration.>"
	url, js, pool := effectsSetup(t)
	ctx := context.Background()
	oldName := bus.DurableName("relationships", before)
	stream, err := js.Stream(ctx, "REGISTRATION")
	if err != nil {
		t.Fatal(err)
	}
	old, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: oldName, FilterSubject: before, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	previous, err := old.Consume(func(m jetstream.Msg) { _ = m.Ack() })
	if err != nil {
		t.Fatal(err)
	}
	defer previous.Stop()

	cfg := testConfig(url)
	cfg.Rebalance = 200 * time.Millisecond
	effectsRouter(t, cfg, pool, bus.Subscription{Type: bus.AnyType, Filter: after, Shared: true, Replaces: before})
	time.Sleep(2 * time.Second)
	if _, err := stream.Consumer(ctx, oldName); err != nil {
		t.Fatalf("the replaced durable was deleted while an instance pulled from it (%v)", err)
	}
	previous.Stop()
	testkit.Eventually(t, 10*time.Second, func() error {
		if _, err := stream.Consumer(ctx, oldName); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("the replaced durable is still there (%v)", err)
		}
		return nil
	})
}
