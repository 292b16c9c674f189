package bus_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

const typeHappened = "com.partnerhub.registration.test.happened.v1"

func testConfig(url string) bus.Config {
	return bus.Config{NATSURL: url, Replicas: 1, MaxDeliver: 3, AckWait: 5 * time.Second,
		NakBase: 10 * time.Millisecond, NakMax: 100 * time.Millisecond, Prefetch: 64, Workers: 4, Batch: 32}
}

// newRouter builds a router for service on its own connection.
func newRouter(t *testing.T, service string, cfg bus.Config, pool *pgxpool.Pool) (*bus.Router, *nats.Conn) {
	t.Helper()
	nc, err := bus.Connect(cfg.NATSURL, service+"-consumer", cfg.ConnectOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := bus.NewRouter(service, cfg, nc, pool, testkit.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	return r, nc
}

func runRouter(t *testing.T, r *bus.Router) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = r.Close()
		<-done
	})
	select {
	case <-r.Running():
	case err := <-done:
		t.Fatalf("router stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("router not running")
	}
}

func streams(t *testing.T, js jetstream.JetStream, names ...string) {
	t.Helper()
	if err := bus.EnsureStreams(context.Background(), js, 1, names...); err != nil {
		t.Fatal(err)
	}
}

// publish sends a registration event about partner with n in its data.
func publish(t *testing.T, js jetstream.JetStream, partner string, n int) string {
	t.Helper()
	return publishType(t, js, typeHappened, partner, n)
}

// publishType sends a registration event of type typ about partner.
func publishType(t *testing.T, js jetstream.JetStream, typ, partner string, n int) string {
	t.Helper()
	return publishEvent(t, js, ce.NewID(), typ, partner, n, "")
}

// publishEvent sends the registration event id; msgID, when set, is the
// broker's deduplication id in place of the event's (to send an event again).
func publishEvent(t *testing.T, js jetstream.JetStream, id, typ, partner string, n int, msgID string) string {
	t.Helper()
	ev := ce.Event{ID: id, Source: "/services/registration", Type: typ, Subject: partner, PartitionKey: partner,
		Time: time.Now().UTC(), DataContentType: ce.JSON, Data: fmt.Appendf(nil, `{"n":%d}`, n)}
	m := nats.NewMsg(bus.PartitionSubject(ce.Topic(typ), bus.PartitionFor(partner)))
	for k, v := range ev.Headers() {
		m.Header[k] = []string{v}
	}
	m.Data = ev.Data
	if _, err := js.PublishMsg(context.Background(), m, jetstream.WithMsgID(cmp.Or(msgID, ev.ID))); err != nil {
		t.Fatal(err)
	}
	return ev.ID
}

func number(t *testing.T, ev ce.Event) int {
	var body struct{ N int }
	if err := ev.DecodeData(&body, false); err != nil {
		t.Error(err)
	}
	return body.N
}

// A dead-letter consumer gets the dlq-* headers beside the decoded event.
func TestSubscribeAllHeadersGivesTheMessageHeaders(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	ctx := context.Background()
	streams(t, js, bus.DeadLetterStream)
	router, _ := newRouter(t, "timeline", testConfig(url), nil)
	type got struct {
		ev      ce.Event
		headers map[string]string
	}
	received := make(chan got, 1)
	router.SubscribeAllHeaders(bus.DeadLetterSubject("registration"), func(_ context.Context, ev ce.Event, h map[string]string) error {
		received <- got{ev, h}
		return nil
	})
	runRouter(t, router)

	ev := ce.Event{ID: ce.NewID(), Source: "/services/registration", Type: "com.partnerhub.registration.x.v1", Subject: "PG-1",
		Time: time.Now().UTC(), DataContentType: ce.JSON, Data: []byte(`{}`)}
	m := nats.NewMsg(bus.DeadLetterSubject("registration"))
	for k, v := range ev.Headers() {
		m.Header[k] = []string{v}
	}
	m.Header[bus.DLQCode] = []string{"registration.not_yet_approved"}
	m.Header[bus.DLQHandler] = []string{"registration__registration_x_v1"}
	m.Data = ev.Data
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-received:
		if g.ev.ID != ev.ID || g.headers[ce.HID] != ev.ID {
			t.Errorf("event %s, ce-id header %q, want %s", g.ev.ID, g.headers[ce.HID], ev.ID)
		}
		if g.headers[bus.DLQCode] != "registration.not_yet_approved" || g.headers[bus.DLQHandler] != "registration__registration_x_v1" {
			t.Errorf("dlq headers %v", g.headers)
		}
		if _, ok := g.headers[nats.MsgIdHdr]; ok {
			t.Error("the Nats-Msg-Id header leaked into the event headers")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler got nothing")
	}
}

// TestPartnerOrderHeldAcrossConcurrentWorkers: events of many partners are
// handled by several workers at once, and each partner's events one at a
// time, in the order they were published.
func TestPartnerOrderHeldAcrossConcurrentWorkers(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	const partners, each = 12, 15
	for i := range each {
		for p := range partners {
			publish(t, js, fmt.Sprintf("PG-%02d", p), i)
		}
	}
	router, _ := newRouter(t, "relationships", testConfig(url), nil)
	var mu sync.Mutex
	seen := map[string][]int{}
	var inFlight, maxInFlight atomic.Int32
	busy := map[string]bool{}
	done := make(chan struct{})
	total := 0
	router.On(typeHappened, func(_ context.Context, ev ce.Event) error {
		n := inFlight.Add(1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		mu.Lock()
		if busy[ev.Subject] {
			t.Errorf("two deliveries of %s handled at once", ev.Subject)
		}
		busy[ev.Subject] = true
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		busy[ev.Subject] = false
		seen[ev.Subject] = append(seen[ev.Subject], number(t, ev))
		total++
		if total == partners*each {
			close(done)
		}
		mu.Unlock()
		inFlight.Add(-1)
		return nil
	})
	runRouter(t, router)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("not every event was handled")
	}
	for p, ns := range seen {
		for i, n := range ns {
			if n != i {
				t.Fatalf("%s handled out of order: %v", p, ns)
			}
		}
	}
	if maxInFlight.Load() < 2 {
		t.Errorf("at most %d deliveries in flight: the workers did not run concurrently", maxInFlight.Load())
	}
}

// TestAPartnersEventsShareOneWorkerAcrossDurables: two event types are two
// durables, but a partner's events of both go to one worker of the
// service: never handled at once (each type still in stream order), and a
// worker's transaction takes what is queued of both types.
func TestAPartnersEventsShareOneWorkerAcrossDurables(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	pool := seenPool(t)
	ctx := context.Background()
	const typeOther = "com.partnerhub.registration.test.other.v1"
	const partners, each = 6, 12
	router, _ := newRouter(t, "relationships", testConfig(url), pool)
	var mu sync.Mutex
	busy := map[string]bool{}
	last := map[string]int{}
	handler := func(ctx context.Context, ev ce.Event) error {
		n := number(t, ev)
		mu.Lock()
		if busy[ev.Subject] {
			t.Errorf("two events of %s handled at once", ev.Subject)
		}
		busy[ev.Subject] = true
		k := ev.Subject + ev.Type
		if prev, ok := last[k]; ok && n <= prev {
			t.Errorf("%s: %d handled after %d", k, n, prev)
		}
		last[k] = n
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		busy[ev.Subject] = false
		mu.Unlock()
		return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, txid_current()::text)`, ev.ID, n)
			return err
		})
	}
	router.Add(bus.Subscription{Type: typeHappened, Inbox: "on_happened", Handle: handler},
		bus.Subscription{Type: typeOther, Inbox: "on_other", Handle: handler})
	runRouter(t, router)
	// Published while the router runs, so that both durables' events
	// queue up behind the batch being handled.
	for i := range each {
		for p := range partners {
			publish(t, js, fmt.Sprintf("PW-%d", p), i)
			publishType(t, js, typeOther, fmt.Sprintf("PW-%d", p), 1000+i)
		}
	}
	waitSeen(t, pool, 2*partners*each)
	var mixed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT xid FROM seen GROUP BY xid
		HAVING bool_or(n < 1000) AND bool_or(n >= 1000)) x`).Scan(&mixed); err != nil {
		t.Fatal(err)
	}
	var txs int
	_ = pool.QueryRow(ctx, `SELECT count(DISTINCT xid) FROM seen`).Scan(&txs)
	t.Logf("%d events in %d transactions, %d of both durables", 2*partners*each, txs, mixed)
	if mixed == 0 {
		t.Error("no transaction held events of both durables: each durable has its own workers")
	}
}

var seenTable = fstest.MapFS{"00001_seen.sql": {Data: []byte("-- +goose Up\nCREATE TABLE seen (event_id TEXT PRIMARY KEY, n INT NOT NULL, xid TEXT NOT NULL);\n")}}

func seenPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testkit.ServicePool(t, "relationships", seenTable, 4, nil)
}

// registrationAndSeen starts NATS with the REGISTRATION and dead-letter
// streams, and a pool of a service whose database has the seen table.
func registrationAndSeen(t *testing.T) (string, jetstream.JetStream, *pgxpool.Pool) {
	t.Helper()
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	testkit.DurablesOnFailure(t, js, "REGISTRATION")
	return url, js, seenPool(t)
}

// waitSeen waits until the seen table holds want rows.
func waitSeen(t *testing.T, pool *pgxpool.Pool, want int) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() error {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM seen`).Scan(&n); err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("%d rows seen, want %d", n, want)
		}
		return nil
	})
}

// claims counts the inbox statements sent, and those sent in one batch
// with BEGIN and a statement of a handler after them.
func claims(s *testkit.Statements) (all, withFirst int) {
	isClaim := func(sql string) bool { return strings.Contains(sql, "INSERT INTO inbox") }
	for _, sql := range s.Alone() {
		if isClaim(sql) {
			all++
		}
	}
	for _, b := range s.Batches() {
		for i, sql := range b {
			if !isClaim(sql) {
				continue
			}
			all++
			if i > 0 && testkit.IsBegin(b[0]) && i+1 < len(b) && strings.Contains(b[i+1], "INSERT INTO seen") {
				withFirst++
			}
		}
	}
	return all, withFirst
}

// TestABatchClaimsItsEventsInOneStatement: a batch writes the inbox rows
// of its events with one statement, sent with the first handler's first
// statement; an event processed before (here published again under another
// broker id) is claimed by none, so its effects are not made again, while
// the events batched with it are handled. (A duplicate whose handler runs
// first in its batch begins before the claim is known, and is undone.)
func TestABatchClaimsItsEventsInOneStatement(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	statements := &testkit.Statements{}
	pool := testkit.ServicePool(t, "relationships", seenTable, 4, statements)
	const events = 40
	ids := make([]string, 0, events)
	partner := func(i int) string { return fmt.Sprintf("PC-%02d", i%5) }
	for i := range events {
		ids = append(ids, publish(t, js, partner(i), i))
	}
	cfg := testConfig(url)
	cfg.Workers = 1
	router, _ := newRouter(t, "relationships", cfg, pool)
	router.Add(bus.Subscription{Type: typeHappened, Inbox: "on_happened", Handle: func(ctx context.Context, ev ce.Event) error {
		// Every effect is a row of its own: one made twice would show.
		return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1 || '#' || gen_random_uuid(), $2, txid_current()::text)`, ev.ID, number(t, ev))
			return err
		})
	}})
	runRouter(t, router)
	ctx := context.Background()
	settled := func(want int) {
		t.Helper()
		waitSeen(t, pool, want)
		testkit.Eventually(t, 15*time.Second, func() error {
			stream, err := js.Stream(ctx, "REGISTRATION")
			if err != nil {
				return err
			}
			consumers := stream.ListConsumers(ctx)
			for c := range consumers.Info() {
				if c.NumPending+uint64(c.NumAckPending) > 0 {
					return fmt.Errorf("%s: %d pending, %d unacknowledged", c.Name, c.NumPending, c.NumAckPending)
				}
			}
			return consumers.Err()
		})
	}
	settled(events)
	var txs int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT xid) FROM seen`).Scan(&txs); err != nil {
		t.Fatal(err)
	}
	claimed, withFirst := claims(statements)
	t.Logf("%d events in %d transactions; %d inbox statements, %d of them sent with BEGIN and a handler's statement", events, txs, claimed, withFirst)
	if claimed != txs {
		t.Errorf("%d inbox statements for %d transactions: a batch did not claim its events at once", claimed, txs)
	}
	if withFirst != claimed {
		t.Errorf("%d of %d inbox statements went out with BEGIN and the first handler's statement", withFirst, claimed)
	}

	// Half of them again, each before a fresh event of its partner.
	for i := range events / 2 {
		publishEvent(t, js, ids[i], typeHappened, partner(i), i, ids[i]+"-again")
		publish(t, js, partner(i), events+i)
	}
	settled(events + events/2)
	var twice int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT split_part(event_id, '#', 1) FROM seen GROUP BY 1 HAVING count(*) > 1) d`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d events had their effects made twice", twice)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM inbox`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != events+events/2 {
		t.Errorf("inbox rows %d, want %d", rows, events+events/2)
	}
}

// TestAReusedIDIsAnsweredOnce: an event whose id was handled before with
// other data (a publisher outside reusing an id) goes to the subscription's
// Reused, once per content, in a transaction like a handler's; the same
// id with data handled before is a redelivery, and does nothing.
func TestAReusedIDIsAnsweredOnce(t *testing.T) {
	url, js, pool := registrationAndSeen(t)
	router, _ := newRouter(t, "relationships", testConfig(url), pool)
	write := func(id string) bus.HandlerFunc {
		return func(ctx context.Context, ev ce.Event) error {
			return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, txid_current()::text)`, id+ev.ID, number(t, ev))
				return err
			})
		}
	}
	router.Add(bus.Subscription{Type: typeHappened, Inbox: "on_happened", Handle: write(""), Reused: write("reused:")})
	runRouter(t, router)
	id := ce.NewID()
	publishEvent(t, js, id, typeHappened, "PG-1", 1, "first")
	waitSeen(t, pool, 1)
	publishEvent(t, js, id, typeHappened, "PG-1", 2, "other data")
	waitSeen(t, pool, 2)
	publishEvent(t, js, id, typeHappened, "PG-1", 2, "other data again")
	publishEvent(t, js, id, typeHappened, "PG-1", 1, "first again")
	last := publishEvent(t, js, ce.NewID(), typeHappened, "PG-1", 3, "") // after them on the partner's worker
	waitSeen(t, pool, 3)
	rows, err := pool.Query(context.Background(), `SELECT event_id, n FROM seen ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID string
		N  int
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	if want := []row{{id, 1}, {"reused:" + id, 2}, {last, 3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("handled %v, want %v", got, want)
	}
}

// TestAPartnersEventsWaitTogetherForTheDatabase: when a batch fails because
// the database is away, its events are not tried one by one: one of a
// partner's later events could commit before the earlier one, the database
// answering again between the two (CI saw [2 1]). They wait together and go
// on in order.
func TestAPartnersEventsWaitTogetherForTheDatabase(t *testing.T) {
	url, js, pool := registrationAndSeen(t)
	publish(t, js, "PG-1", 1)
	publish(t, js, "PG-1", 2)
	cfg := testConfig(url)
	cfg.Workers = 1
	router, _ := newRouter(t, "relationships", cfg, pool)
	var first atomic.Int32
	var mu sync.Mutex
	var order []int
	router.Add(bus.Subscription{Type: typeHappened, Inbox: "on_happened", Handle: func(ctx context.Context, ev ce.Event) error {
		n := number(t, ev)
		if n == 1 && first.Add(1) <= 2 {
			// The batch's try and a try alone find the database away.
			return &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}
		}
		return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, txid_current()::text)`, ev.ID, n); err != nil {
				return err
			}
			pg.AfterCommit(ctx, func() {
				mu.Lock()
				order = append(order, n)
				mu.Unlock()
			})
			return nil
		})
	}})
	runRouter(t, router)
	waitSeen(t, pool, 2)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, []int{1, 2}) {
		t.Errorf("committed %v, want [1 2]", order)
	}
}

// TestQueuedEventsShareATransaction: events waiting for a worker are handled
// in one transaction, each with its inbox row; when one of a batch fails,
// the batch is handled again event by event, so the failing one is undone
// alone (and dead-lettered) while the others commit once.
func TestQueuedEventsShareATransaction(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	pool := seenPool(t)
	const events = 40
	for i := range events {
		publish(t, js, fmt.Sprintf("PG-%02d", i%5), i)
	}
	cfg := testConfig(url)
	cfg.Workers = 1
	router, _ := newRouter(t, "relationships", cfg, pool)
	var refuse atomic.Int32
	refuse.Store(-1)
	router.Add(bus.Subscription{Type: typeHappened, Inbox: "on_happened", Handle: func(ctx context.Context, ev ce.Event) error {
		n := number(t, ev)
		err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, txid_current()::text)`, ev.ID, n)
			return err
		})
		if n == int(refuse.Load()) {
			return apperr.Invalid("test.refused", "refused after writing") // its write must not survive
		}
		return err
	}})
	runRouter(t, router)
	ctx := context.Background()
	waitSeen(t, pool, events)
	var txs, inbox int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT xid), (SELECT count(*) FROM inbox) FROM seen`).Scan(&txs, &inbox); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events in %d transactions", events, txs)
	if txs > events/4 {
		t.Errorf("%d events took %d transactions: queued events were not batched", events, txs)
	}
	if inbox != events {
		t.Errorf("inbox rows %d, want %d", inbox, events)
	}

	// A batch with a refused event: the others commit once, it is undone.
	refuse.Store(events + 7)
	var refused string
	for i := events; i < 2*events; i++ {
		id := publish(t, js, fmt.Sprintf("PG-%02d", i%5), i)
		if i == events+7 {
			refused = id
		}
	}
	waitSeen(t, pool, 2*events-1)
	var seven int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM seen WHERE n = $1`, events+7).Scan(&seven); err != nil {
		t.Fatal(err)
	}
	if seven != 0 {
		t.Errorf("the refused event's write survived")
	}
	waitDeadLetter(t, js, "relationships", refused, "test.refused")
}

// waitDeadLetter waits for service's last dead letter to be event id with code.
func waitDeadLetter(t *testing.T, js jetstream.JetStream, service, id, code string) {
	t.Helper()
	ctx := context.Background()
	testkit.Eventually(t, 10*time.Second, func() error {
		dl, err := js.Stream(ctx, bus.DeadLetterStream)
		if err != nil {
			return err
		}
		m, err := dl.GetLastMsgForSubject(ctx, bus.DeadLetterSubject(service))
		if err != nil {
			return err
		}
		if m.Header.Get(ce.HID) != id || m.Header.Get(bus.DLQCode) != code {
			return fmt.Errorf("dead letter %s %s", m.Header.Get(ce.HID), m.Header.Get(bus.DLQCode))
		}
		return nil
	})
}

// TestSlowHandlersAreKeptAlive: a delivery held longer than the ack wait
// (by a slow handler, or queued behind one) is not redelivered: the router
// tells JetStream it is in progress.
func TestSlowHandlersAreKeptAlive(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	cfg := testConfig(url)
	cfg.AckWait, cfg.Workers = time.Second, 1
	router, _ := newRouter(t, "relationships", cfg, nil)
	var calls atomic.Int32
	done := make(chan struct{}, 2)
	router.On(typeHappened, func(_ context.Context, ev ce.Event) error {
		calls.Add(1)
		if number(t, ev) == 0 {
			time.Sleep(3 * time.Second)
		}
		done <- struct{}{}
		return nil
	})
	runRouter(t, router)
	publish(t, js, "PG-1", 0)
	publish(t, js, "PG-1", 1)
	for range 2 {
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("not handled")
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if n := calls.Load(); n != 2 {
		t.Fatalf("2 events handled %d times: a held delivery was redelivered", n)
	}
}

// TestAnotherInstanceTakesOverWhatACrashedOneHeld: an instance that dies
// holding deliveries (its connection gone, nothing acknowledged) loses
// nothing: within the ack wait another instance on the same durable gets
// them.
func TestAnotherInstanceTakesOverWhatACrashedOneHeld(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	cfg := testConfig(url)
	cfg.AckWait = 2 * time.Second

	crashed, crashedNC := newRouter(t, "relationships", cfg, nil)
	holding := make(chan struct{}, 10)
	stuck := make(chan struct{})
	crashed.On(typeHappened, func(context.Context, ce.Event) error {
		holding <- struct{}{}
		<-stuck // hangs until the test ends
		return errors.New("never")
	})
	go func() { _ = crashed.Run(context.Background()) }()
	<-crashed.Running()
	t.Cleanup(func() { close(stuck) })
	ids := map[string]bool{publish(t, js, "PG-1", 1): true, publish(t, js, "PG-2", 2): true}
	for range 2 {
		select {
		case <-holding:
		case <-time.After(10 * time.Second):
			t.Fatal("the first instance got nothing")
		}
	}
	crashedNC.Close() // the process is gone: no ack, no nak, no heartbeat

	survivor, _ := newRouter(t, "relationships", cfg, nil)
	got := make(chan string, 10)
	survivor.On(typeHappened, func(_ context.Context, ev ce.Event) error {
		got <- ev.ID
		return nil
	})
	start := time.Now()
	runRouter(t, survivor)
	for len(ids) > 0 {
		select {
		case id := <-got:
			delete(ids, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d deliveries of the crashed instance never came back", len(ids))
		}
	}
	if took := time.Since(start); took > cfg.AckWait+3*time.Second {
		t.Errorf("took over after %s, more than the ack wait %s", took, cfg.AckWait)
	}
}

// TestReplicasSharePartitions: two instances of a service split the
// partitions between them and both handle events, each partner's on one
// instance and in order; when one stops, the other takes its partitions
// over and nothing is lost or reordered.
func TestReplicasSharePartitions(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	pool := seenPool(t)
	cfg := testConfig(url)
	cfg.Rebalance = 100 * time.Millisecond

	var mu sync.Mutex
	handledBy := map[string]map[string]bool{} // partner → instances
	next := map[string]int{}                  // partner → next n expected
	count := 0
	handler := func(instance string) bus.HandlerFunc {
		return func(_ context.Context, ev ce.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if handledBy[ev.Subject] == nil {
				handledBy[ev.Subject] = map[string]bool{}
			}
			handledBy[ev.Subject][instance] = true
			if n := number(t, ev); n != next[ev.Subject] {
				t.Errorf("%s: got %d, want %d (out of order)", ev.Subject, n, next[ev.Subject])
			}
			next[ev.Subject]++
			count++
			return nil
		}
	}
	start := func(instance string) (*bus.Router, chan error) {
		r, _ := newRouter(t, "relationships", cfg, pool)
		r.On(typeHappened, handler(instance))
		done := make(chan error, 1)
		go func() { done <- r.Run(context.Background()) }()
		<-r.Running()
		return r, done
	}
	a, aDone := start("a")
	b, bDone := start("b")
	defer func() { _ = b.Close(); <-bDone }()
	testkit.Eventually(t, 10*time.Second, func() error {
		if a.Owned() != bus.Partitions/2 || b.Owned() != bus.Partitions/2 {
			return fmt.Errorf("a owns %d, b owns %d partitions", a.Owned(), b.Owned())
		}
		return nil
	})
	const partners, each = 24, 10
	for i := range each {
		for p := range partners {
			publish(t, js, fmt.Sprintf("PG-%02d", p), i)
		}
	}
	waitCount := func(want int) {
		t.Helper()
		testkit.Eventually(t, 20*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if count != want {
				return fmt.Errorf("%d of %d handled", count, want)
			}
			return nil
		})
	}
	waitCount(partners * each)
	mu.Lock()
	byInstance := map[string]int{}
	for p, in := range handledBy {
		if len(in) != 1 {
			t.Errorf("%s handled by %v: its partition was not owned by one instance", p, in)
		}
		for i := range in {
			byInstance[i]++
		}
	}
	mu.Unlock()
	if byInstance["a"] == 0 || byInstance["b"] == 0 {
		t.Fatalf("partners handled per instance %v: both must work", byInstance)
	}

	// a stops: b takes every partition over and goes on in order.
	_ = a.Close()
	<-aDone
	testkit.Eventually(t, 10*time.Second, func() error {
		if b.Owned() != bus.Partitions {
			return fmt.Errorf("b owns %d partitions", b.Owned())
		}
		return nil
	})
	for p := range partners {
		publish(t, js, fmt.Sprintf("PG-%02d", p), each)
	}
	waitCount(partners * (each + 1))
}

// TestPartitionsOfACrashedInstanceAreTakenOver: an instance that dies
// (its NATS connection and its database session gone, nothing acked)
// while holding deliveries of its partitions loses nothing: another
// instance takes the partitions over and, once the ack wait has passed,
// handles what the dead one held, before anything newer of the same
// partners — within the recovery budget (ack wait + a rebalance round).
func TestPartitionsOfACrashedInstanceAreTakenOver(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	pool := seenPool(t)
	cfg := testConfig(url)
	cfg.AckWait, cfg.Rebalance = 2*time.Second, 200*time.Millisecond
	ctx := context.Background()

	// The instance that will die has a pool of its own, as a process has.
	deadPool, err := pgxpool.NewWithConfig(ctx, pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(deadPool.Close) // runs after its handler is released
	crashed, crashedNC := newRouter(t, "relationships", cfg, deadPool)
	holding := make(chan struct{}, 10)
	stuck := make(chan struct{})
	crashed.On(typeHappened, func(context.Context, ce.Event) error {
		holding <- struct{}{}
		<-stuck
		return errors.New("never")
	})
	crashCtx, crash := context.WithCancel(ctx)
	go func() { _ = crashed.Run(crashCtx) }()
	<-crashed.Running()
	t.Cleanup(func() { close(stuck) })
	held := publish(t, js, "PG-1", 0)
	select {
	case <-holding:
	case <-time.After(10 * time.Second):
		t.Fatal("the first instance got nothing")
	}
	newer := publish(t, js, "PG-1", 1)
	// The process dies: no ack, no heartbeat, and its database session —
	// with the partition locks — ends.
	crashedNC.Close()
	crash()
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND pid <> pg_backend_pid()
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	died := time.Now()

	survivor, _ := newRouter(t, "relationships", cfg, pool)
	var mu sync.Mutex
	var order []string
	survivor.On(typeHappened, func(_ context.Context, ev ce.Event) error {
		mu.Lock()
		order = append(order, ev.ID)
		mu.Unlock()
		return nil
	})
	runRouter(t, survivor)
	testkit.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(order) < 2 {
			return fmt.Errorf("%d of 2 handled", len(order))
		}
		return nil
	})
	took := time.Since(died)
	mu.Lock()
	defer mu.Unlock()
	if order[0] != held || order[1] != newer {
		t.Errorf("handled %v, want the held event %s before the newer %s", order, held, newer)
	}
	if budget := cfg.AckWait + 2*cfg.Rebalance + 2*time.Second; took > budget {
		t.Errorf("recovered after %s, more than %s", took, budget)
	}
	t.Logf("recovered after %s", took.Round(time.Millisecond))
}

// TestAnInstanceOutlivesTheEndOfItsPartitionSession: Postgres ends the
// session that holds an instance's partition locks (a restart, a
// failover, an operator) while the instance waits between rounds. The
// instance gives its partitions up, takes them again within a rebalance
// interval — not the idle one — and handles what comes next. It used to
// dereference the released connection and crash.
func TestAnInstanceOutlivesTheEndOfItsPartitionSession(t *testing.T) {
	url, js, pool := registrationAndSeen(t)
	cfg := testConfig(url)
	cfg.Rebalance = 300 * time.Millisecond
	ctx := context.Background()
	router, _ := newRouter(t, "relationships", cfg, pool)
	router.On(typeHappened, func(ctx context.Context, ev ce.Event) error {
		_, err := pool.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, '') ON CONFLICT DO NOTHING`, ev.ID, number(t, ev))
		return err
	})
	runRouter(t, router)
	publish(t, js, "PG-1", 0)
	waitSeen(t, pool, 1)
	time.Sleep(500 * time.Millisecond) // owning every partition, it waits out the idle interval
	tag, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("no partition session to end (%v)", err)
	}
	ended := time.Now()
	publish(t, js, "PG-2", 1)
	waitSeen(t, pool, 2)
	// Within a few rebalance intervals, not the idle one (30 s). An event
	// published while the instance gives its partitions up may reach the
	// pull request being closed, before the server knows it is: it is then
	// pending until its ack wait, and taken with the partition once that
	// ends (what the client had prefetched of it is handed back at once).
	if took, budget := time.Since(ended), cfg.AckWait+2*cfg.Rebalance+2*time.Second; took > budget {
		t.Errorf("handled %s after the session ended, want within %s", took.Round(time.Millisecond), budget)
	}
}

// TestADeliveryToAPullBeingClosedIsHandedBackOnce: an event reaches an
// idle partition's pull as the instance gives the partition up, or as the
// router stops, before the server knows the pull is closed. It is handed
// back once, when the pull is closed, and the partition's next owner
// handles it. Handed back at once, it went straight back to the same pull,
// again and again: in CI seven deliveries in 2 ms used up the durable's
// MaxDeliver, and the server dropped the event — neither handled nor
// dead-lettered.
func TestADeliveryToAPullBeingClosedIsHandedBackOnce(t *testing.T) {
	for _, how := range []string{"partition given up", "router stopping"} {
		t.Run(how, func(t *testing.T) {
			url, js, pool := registrationAndSeen(t)
			start := func() *bus.Router {
				router, _ := newRouter(t, "relationships", testConfig(url), pool)
				router.On(typeHappened, func(ctx context.Context, ev ce.Event) error {
					_, err := pool.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, '') ON CONFLICT DO NOTHING`, ev.ID, number(t, ev))
					return err
				})
				runRouter(t, router)
				return router
			}
			router := start()
			publish(t, js, "PG-1", 0) // the durables exist and pull
			waitSeen(t, pool, 1)

			p := bus.PartitionFor("PG-2")
			if how == "router stopping" {
				router.BeginStopping()
			} else {
				router.BeginGivingUp(p)
			}
			publish(t, js, "PG-2", 1)
			time.Sleep(500 * time.Millisecond) // what it would do with the event, it has done
			durable := bus.PartitionDurable("relationships", ce.Topic(typeHappened), p)
			c, err := js.Consumer(context.Background(), "REGISTRATION", durable)
			if err != nil {
				t.Fatal(err)
			}
			if d := c.CachedInfo().Delivered.Consumer; d != 1 {
				t.Fatalf("delivered %d times while the pull was being closed, want once", d)
			}

			if how == "router stopping" {
				_ = router.Close()
				start()
			} else {
				router.GivePartition(p)
				router.TakePartition(context.Background(), p, true)
			}
			waitSeen(t, pool, 2)
		})
	}
}

// TestARetakenPartitionDoesNotWaitForWhatItHandedBack: when Postgres
// ends the partition session of a busy instance, the instance hands back
// what its client had buffered of the partition (Nak) and takes the
// partition again a round later. Those deliveries are pending on the
// server, as an instance that died holding them leaves them, but they are
// due again at once: the instance pulls at once — it does not wait out
// the ack wait as it must for a dead instance's — and handles them first,
// in order. Before, every lost session on a busy partition stalled it for
// the ack wait.
func TestARetakenPartitionDoesNotWaitForWhatItHandedBack(t *testing.T) {
	retakeAfterALostSession(t, false)
}

// TestARetakenPartitionDoesNotWaitWhenTheRecordWasRefused: the same, when
// the database does not take the hand-back record (a Postgres restart
// ends the session and refuses the write that follows): the instance that
// takes its partition again knows what it handed back itself. Without it,
// the partition waited out the ack wait (one Postgres restart in three
// under load stalled an onboarding for 7.9 s).
func TestARetakenPartitionDoesNotWaitWhenTheRecordWasRefused(t *testing.T) {
	retakeAfterALostSession(t, true)
}

// retakeAfterALostSession ends the partition session of an instance busy
// with one partner's events and checks that it handles them all, in order,
// well before the ack wait; with refuseRecord the hand-back records can
// be neither written nor read (their table is held locked).
func retakeAfterALostSession(t *testing.T, refuseRecord bool) {
	url, js, pool := registrationAndSeen(t)
	cfg := testConfig(url)
	// One worker whose queue holds 64: with the first event's handler held
	// and the queue full, the client buffers the rest of the pull.
	cfg.AckWait, cfg.Rebalance, cfg.Workers, cfg.Batch, cfg.Prefetch = 10*time.Second, 300*time.Millisecond, 1, 1, 64
	if refuseRecord {
		cfg.AckWait = 20 * time.Second // the refused write takes its 2 s
	}
	ctx := context.Background()
	router, _ := newRouter(t, "relationships", cfg, pool)
	gate := make(chan struct{})
	var once sync.Once
	holding := make(chan struct{})
	rec := &recorder{t: t, pool: pool}
	router.On(typeHappened, func(ctx context.Context, ev ce.Event) error {
		once.Do(func() { close(holding); <-gate })
		return rec.handle(ctx, ev)
	})
	runRouter(t, router)
	const events = 200
	for n := range events {
		publish(t, js, "PG-1", n)
	}
	<-holding
	time.Sleep(300 * time.Millisecond) // the client buffers what the full queue does not take
	if refuseRecord {
		// Held locked: the record's write and read run out of time.
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(context.Background()) }()
		if _, err := tx.Exec(ctx, `LOCK TABLE bus_handbacks IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
	}
	tag, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("no partition session to end (%v)", err)
	}
	time.Sleep(300 * time.Millisecond) // the instance gives its partitions up
	close(gate)
	opened := time.Now()
	waitSeen(t, pool, events)
	took := time.Since(opened)
	if order := rec.handledAll(events); !slices.IsSorted(order) || len(order) != events {
		t.Errorf("handled %d events, in order %v", len(order), slices.IsSorted(order))
	}
	// Well under the ack wait (10 s), which the instance waited before:
	// the handed-back deliveries are pulled again a round after the
	// partition is free (about a second here under load, handling included).
	if budget := cfg.AckWait / 2; took > budget {
		t.Errorf("all handled %s after the handler was released, want within %s (not the ack wait)", took.Round(time.Millisecond), budget)
	}
	t.Logf("all handled %s after the handler was released", took.Round(time.Millisecond))
}

// TestAGracefulStopHandsItsPartitionsOverAtOnce: an instance stopped
// while busy (a rolling deploy) hands back what it had received and not
// handled; the instance that takes its partitions over pulls at once and
// handles them first, in order — not after the ack wait, which is for an
// instance that died holding deliveries. The stopping instance is wired
// and stopped as the platform does it: the partition owner is shared with
// the relay and run beside the router, and the router is closed before
// the owner gives the partitions back.
func TestAGracefulStopHandsItsPartitionsOverAtOnce(t *testing.T) {
	url, js, pool := registrationAndSeen(t)
	cfg := testConfig(url)
	// One worker whose queue holds 256: with the first event's handler held
	// and the queue full, the client buffers the rest of the pull.
	cfg.AckWait, cfg.Rebalance, cfg.Workers, cfg.Batch, cfg.Prefetch = 10*time.Second, 300*time.Millisecond, 1, 1, 256
	rec := &recorder{t: t, pool: pool}
	stopping, _ := newRouter(t, "relationships", cfg, pool)
	owner := bus.NewOwner("relationships", pool, cfg, testkit.Log(t))
	stopping.UseOwner(owner)
	ownerCtx, stopOwner := context.WithCancel(context.Background())
	ownerDone := make(chan error, 1)
	go func() { ownerDone <- owner.Run(ownerCtx) }()
	gate := make(chan struct{})
	holding := make(chan struct{})
	var once sync.Once
	stopping.On(typeHappened, func(ctx context.Context, ev ce.Event) error {
		once.Do(func() { close(holding); <-gate })
		return rec.handle(ctx, ev)
	})
	done := make(chan error, 1)
	go func() { done <- stopping.Run(context.Background()) }()
	<-stopping.Running()
	const events = 800
	for n := range events {
		publish(t, js, "PG-1", n)
	}
	<-holding
	time.Sleep(300 * time.Millisecond) // its queue is full, its client buffers the rest
	closed := make(chan struct{})
	go func() { _ = stopping.Close(); close(closed) }()
	time.Sleep(300 * time.Millisecond)
	close(gate) // the handler in flight finishes; the rest is handed back
	<-closed
	<-done
	stopOwner() // then the partitions are given back, as the platform does
	<-ownerDone

	successor, _ := newRouter(t, "relationships", cfg, pool)
	var first atomic.Int64 // Unix nanoseconds
	successor.On(typeHappened, func(ctx context.Context, ev ce.Event) error {
		first.CompareAndSwap(0, time.Now().UnixNano())
		return rec.handle(ctx, ev)
	})
	start := time.Now()
	runRouter(t, successor)
	waitSeen(t, pool, events)
	if order := rec.handledAll(events); len(order) != events || !slices.IsSorted(order) {
		t.Errorf("handled %d of %d events, in order: %v", len(order), events, slices.IsSorted(order))
	}
	// Well under the ack wait (10 s), which the successor waited before.
	if took, budget := time.Unix(0, first.Load()).Sub(start), cfg.AckWait/2; took > budget {
		t.Errorf("the successor handled its first event %s after it started, want within %s (not the ack wait)", took.Round(time.Millisecond), budget)
	} else {
		t.Logf("the successor handled its first event %s after it started, the last %s", took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
}

// recorder handles events by recording them in seen, and the order of
// their numbers.
type recorder struct {
	t     *testing.T
	pool  *pgxpool.Pool
	mu    sync.Mutex
	order []int
}

func (r *recorder) handle(ctx context.Context, ev ce.Event) error {
	if _, err := r.pool.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, '') ON CONFLICT DO NOTHING`, ev.ID, number(r.t, ev)); err != nil {
		return err
	}
	r.mu.Lock()
	r.order = append(r.order, number(r.t, ev))
	r.mu.Unlock()
	return nil
}

// handled is the order the numbers were handled in so far.
func (r *recorder) handled() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.order)
}

// handledAll is the order of n handled numbers, once the handlers of n
// returned: a handler's row is seen in the database before the handler
// returns to record it (a check right after waitSeen read 199 of 200
// once, under load).
func (r *recorder) handledAll(n int) []int {
	r.t.Helper()
	testkit.Eventually(r.t, 5*time.Second, func() error {
		if got := len(r.handled()); got < n {
			return fmt.Errorf("%d handlers returned, want %d", got, n)
		}
		return nil
	})
	return r.handled()
}

// TestEventsWaitOutADatabaseOutage: while the service's database refuses
// it (restarting, failing over, out of connections), an event is held and
// tried again in place, not redelivered until its deliveries run out: once
// the database answers it is handled, in order with what followed, and
// nothing is dead-lettered. Before, it was dead-lettered within a second
// (MaxDeliver 3 here), to be replayed by hand.
func TestEventsWaitOutADatabaseOutage(t *testing.T) {
	url, js, pool := registrationAndSeen(t)
	ctx := context.Background()
	router, _ := newRouter(t, "relationships", testConfig(url), pool)
	var mu sync.Mutex
	var order []int
	// Shared, as an intake or the timeline's catch-all: consumed by every
	// instance whatever partitions it owns (a partitioned one stops with
	// its partitions when the database ends the owner's session).
	router.Add(bus.Subscription{Type: bus.AnyType, Filter: "registration.>", Shared: true, Handle: func(ctx context.Context, ev ce.Event) error {
		return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, '')`, ev.ID, number(t, ev)); err != nil {
				return err
			}
			mu.Lock()
			order = append(order, number(t, ev))
			mu.Unlock()
			return nil
		})
	}})
	runRouter(t, router)
	admin, err := pgx.Connect(ctx, testkit.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	db := pool.Config().ConnConfig.Database
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+db+` CONNECTION LIMIT 0`); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(context.Background(), `ALTER DATABASE `+db+` CONNECTION LIMIT -1`) //nolint:errcheck
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db); err != nil {
		t.Fatal(err)
	}
	publish(t, js, "PG-1", 1)
	publish(t, js, "PG-1", 2)
	time.Sleep(3 * time.Second) // the redeliveries of MaxDeliver 3 took well under one
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+db+` CONNECTION LIMIT -1`); err != nil {
		t.Fatal(err)
	}
	waitSeen(t, pool, 2)
	mu.Lock()
	if !slices.Equal(order, []int{1, 2}) {
		t.Errorf("handled %v, want [1 2]", order)
	}
	mu.Unlock()
	dl, err := js.Stream(ctx, bus.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := dl.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Errorf("dead letters: %v (%v)", info, err)
	}
}

// TestLingeringWorkerHandlesABurstInOneTransaction: a subscription with a
// Linger gathers the events of a burst that arrive one by one (as an
// onboarding's do, milliseconds apart) into one transaction, where a
// worker without it handles each as it comes; and stopping the router
// while it lingers still settles everything (nothing is left unacked).
func TestLingeringWorkerHandlesABurstInOneTransaction(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	pool := seenPool(t)
	ctx := context.Background()
	cfg := testConfig(url)
	router, _ := newRouter(t, "timeline", cfg, pool)
	var handled atomic.Int32
	router.Add(bus.Subscription{Type: bus.AnyType, Filter: "registration.>", Shared: true, Workers: 1, Batch: 100,
		Linger: 300 * time.Millisecond, Handle: func(ctx context.Context, ev ce.Event) error {
			handled.Add(1)
			return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, txid_current()::text)`, ev.ID, number(t, ev))
				return err
			})
		}})
	done := make(chan error, 1)
	go func() { done <- router.Run(ctx) }()
	<-router.Running()

	const burst = 8
	for i := range burst {
		publish(t, js, fmt.Sprintf("PG-%d", i), i)
		time.Sleep(10 * time.Millisecond) // each arrives alone
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := handled.Load(); n < burst {
			return fmt.Errorf("%d of %d handled", n, burst)
		}
		return nil
	})
	var txs int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT xid) FROM seen`).Scan(&txs); err != nil {
		t.Fatal(err)
	}
	if txs > 2 {
		t.Errorf("a burst of %d events took %d transactions: the worker did not linger", burst, txs)
	}

	// Stopped while lingering over a second burst: what it held is
	// handled or handed back at once, so the next instance has every event
	// well within the ack wait (nothing waits for a redelivery timeout).
	for i := burst; i < 2*burst; i++ {
		publish(t, js, fmt.Sprintf("PG-%d", i), i)
	}
	time.Sleep(50 * time.Millisecond)
	_ = router.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	next, _ := newRouter(t, "timeline", cfg, pool)
	next.Add(bus.Subscription{Type: bus.AnyType, Filter: "registration.>", Shared: true, Workers: 1, Batch: 100,
		Linger: 300 * time.Millisecond, Handle: func(ctx context.Context, ev ce.Event) error {
			return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, txid_current()::text) ON CONFLICT DO NOTHING`, ev.ID, number(t, ev))
				return err
			})
		}})
	runRouter(t, next)
	waitSeen(t, pool, 2*burst)
	if took := time.Since(stopped); took >= cfg.AckWait {
		t.Errorf("the second burst was handled %s after the stop: held deliveries were not handed back", took)
	}
}

// TestALingeringEventRidesWithItsPartnersUrgentEvent: an event of a
// lingering subscription waits on its worker; another partner's urgent
// event is handled at once without it (its work is not put in front of
// that event), and the partner's own urgent event takes it along at once,
// in one transaction; alone, a lingering event is handled once its linger
// ran out.
func TestALingeringEventRidesWithItsPartnersUrgentEvent(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	pool := seenPool(t)
	ctx := context.Background()
	const typeProjected = "com.partnerhub.registration.test.projected.v1"
	const linger = 3 * time.Second // far above a slow machine's handling time
	router, _ := newRouter(t, "relationships", testConfig(url), pool)
	record := func(ctx context.Context, ev ce.Event) error {
		return pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO seen VALUES ($1, $2, txid_current()::text)`, ev.ID, number(t, ev))
			return err
		})
	}
	router.Add(bus.Subscription{Type: typeHappened, Inbox: "on_happened", Workers: 1, Handle: record},
		bus.Subscription{Type: typeProjected, Inbox: "on_projected", Workers: 1, Linger: linger, Handle: record})
	runRouter(t, router)
	handled := func(n int) (string, bool) {
		var xid string
		err := pool.QueryRow(ctx, `SELECT xid FROM seen WHERE n = $1`, n).Scan(&xid)
		return xid, err == nil
	}
	waitFor := func(n int) {
		t.Helper()
		testkit.Eventually(t, 10*time.Second, func() error {
			if _, ok := handled(n); !ok {
				return fmt.Errorf("event %d is not handled yet", n)
			}
			return nil
		})
	}

	sent := time.Now()
	publishType(t, js, typeProjected, "PL-1", 1)
	time.Sleep(300 * time.Millisecond)
	if _, ok := handled(1); ok {
		t.Fatal("the lingering event was handled before anything came to keep it company")
	}
	publish(t, js, "PL-2", 2) // another partner's urgent event
	waitFor(2)
	if _, ok := handled(1); ok {
		t.Error("another partner's urgent event took the lingering event along")
	}
	publish(t, js, "PL-1", 3) // the partner's own urgent event
	waitFor(3)
	x1, ok1 := handled(1)
	x3, _ := handled(3)
	if !ok1 || x1 != x3 {
		t.Errorf("the lingering event (handled %v, tx %s) did not ride in its partner's urgent transaction %s", ok1, x1, x3)
	}
	if took := time.Since(sent); took >= linger {
		t.Errorf("the urgent events waited for the linger: done %s after the first was published", took)
	}

	alone := time.Now()
	publishType(t, js, typeProjected, "PL-4", 4)
	waitFor(4)
	if waited := time.Since(alone); waited < linger-100*time.Millisecond {
		t.Errorf("a lingering event alone was handled after %s, before its linger of %s ran out", waited, linger)
	}
}

// TestAnInstanceOwningEveryPartitionIsQuietWhileIdle: an instance that owns
// every partition has nothing to take, so it sends the database nothing
// every BUS_REBALANCE while nothing happens (an idle stack made a round per
// service every 2 s); an instance that joins still gets its share at once,
// and the partitions of one that stops are taken over at once.
func TestAnInstanceOwningEveryPartitionIsQuietWhileIdle(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	streams(t, js, "REGISTRATION", bus.DeadLetterStream)
	pool := seenPool(t)
	ctx := context.Background()
	cfg := testConfig(url)
	cfg.Rebalance = 100 * time.Millisecond
	start := func() (*bus.Router, chan error) {
		r, _ := newRouter(t, "relationships", cfg, pool)
		r.On(typeHappened, func(context.Context, ce.Event) error { return nil })
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		<-r.Running()
		return r, done
	}
	a, aDone := start()
	testkit.Eventually(t, 10*time.Second, func() error {
		if a.Owned() != bus.Partitions {
			return fmt.Errorf("a owns %d partitions", a.Owned())
		}
		return nil
	})
	// The session holding the partition locks: when did it last send a
	// statement?
	time.Sleep(time.Second)
	var quiet time.Duration
	if err := pool.QueryRow(ctx, `SELECT (EXTRACT(EPOCH FROM now() - a.query_start) * 1e9)::bigint FROM pg_stat_activity a
		WHERE a.pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid < 1000
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
		LIMIT 1`).Scan(&quiet); err != nil {
		t.Fatal(err)
	}
	if quiet < 500*time.Millisecond {
		t.Errorf("the owner of every partition sent a statement %s ago: it still runs a round every %s while idle", quiet, cfg.Rebalance)
	}

	b, bDone := start()
	defer func() { _ = b.Close(); <-bDone }()
	testkit.Eventually(t, 3*time.Second, func() error {
		if a.Owned() != bus.Partitions/2 || b.Owned() != bus.Partitions/2 {
			return fmt.Errorf("a owns %d, b owns %d partitions", a.Owned(), b.Owned())
		}
		return nil
	})
	_ = a.Close()
	<-aDone
	testkit.Eventually(t, 3*time.Second, func() error {
		if b.Owned() != bus.Partitions {
			return fmt.Errorf("b owns %d partitions after a stopped", b.Owned())
		}
		return nil
	})
}

// TestAReplayThatFailsAgainIsDeadLetteredAgain: a dead letter is one per
// stream message and consumer. The same event published again (an
// operator's replay before the fix) and failing again is a second dead
// letter, not dropped as a duplicate of the first; the same stream message
// delivered again (a durable re-created from a floor that lagged) is not.
func TestAReplayThatFailsAgainIsDeadLetteredAgain(t *testing.T) {
	url, js, pool := registrationAndSeen(t)
	ctx := context.Background()
	refuse := func(context.Context, ce.Event) error { return apperr.Invalid("test.refused", "refused") }
	deadLetters := func(want uint64) {
		t.Helper()
		testkit.Eventually(t, 10*time.Second, func() error {
			info, err := js.Stream(ctx, bus.DeadLetterStream)
			if err != nil {
				return err
			}
			if n := info.CachedInfo().State.Msgs; n != want {
				return fmt.Errorf("%d dead letters, want %d", n, want)
			}
			return nil
		})
	}
	cfg := testConfig(url)
	first, _ := newRouter(t, "relationships", cfg, pool)
	first.Add(bus.Subscription{Type: typeHappened, Inbox: "on_happened", Handle: refuse})
	runRouter(t, first)
	id := ce.NewID()
	publishEvent(t, js, id, typeHappened, "PG-01", 1, "")
	waitDeadLetter(t, js, "relationships", id, "test.refused")
	publishEvent(t, js, id, typeHappened, "PG-01", 1, id+"-replay") // the replay: the same event, another message
	deadLetters(2)

	// The durable lost and re-created from the stream's start: both
	// messages are delivered and refused again, and dropped as the
	// dead letters they already are.
	_ = first.Close()
	stream, err := js.Stream(ctx, "REGISTRATION")
	if err != nil {
		t.Fatal(err)
	}
	for name := range stream.ConsumerNames(ctx).Name() {
		if err := stream.DeleteConsumer(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `DELETE FROM bus_floors`); err != nil {
		t.Fatal(err)
	}
	again, _ := newRouter(t, "relationships", cfg, pool)
	var delivered atomic.Int32
	again.Add(bus.Subscription{Type: typeHappened, Inbox: "on_happened", Handle: func(ctx context.Context, ev ce.Event) error {
		delivered.Add(1)
		return refuse(ctx, ev)
	}})
	runRouter(t, again)
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := delivered.Load(); n < 2 {
			return fmt.Errorf("%d deliveries after the durable was re-created, want 2", n)
		}
		return nil
	})
	testkit.Eventually(t, 10*time.Second, func() error { // acknowledged once their dead letters were published
		for name := range stream.ConsumerNames(ctx).Name() {
			c, err := stream.Consumer(ctx, name)
			if err != nil {
				return err
			}
			if info := c.CachedInfo(); info.NumPending > 0 || info.NumAckPending > 0 {
				return fmt.Errorf("%s: %d to deliver, %d unacknowledged", name, info.NumPending, info.NumAckPending)
			}
		}
		return nil
	})
	deadLetters(2)
}

// TestAnOwnerTakesItsPartitionsAgainSoonAfterItsSessionEnds: Postgres ends
// the session holding an instance's partition locks (a restart) and answers
// again at once: the instance owns its partitions again within a fraction
// of a second — it does not wait a rebalance interval (here 10 s), during
// which none of its partners' events moved (a Postgres restart under load
// kept them waiting 2 s more than the restart).
func TestAnOwnerTakesItsPartitionsAgainSoonAfterItsSessionEnds(t *testing.T) {
	pool := seenPool(t)
	cfg := testConfig(testkit.NATS(t))
	cfg.Rebalance = 10 * time.Second
	owner := bus.NewOwner("relationships", pool, cfg, testkit.Log(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- owner.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-owner.Ready()
	if n := len(owner.Owned()); n != bus.Partitions {
		t.Fatalf("owns %d partitions, want %d", n, bus.Partitions)
	}
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	testkit.Eventually(t, 5*time.Second, func() error {
		if n := len(owner.Owned()); n != 0 {
			return fmt.Errorf("still owns %d partitions", n)
		}
		return nil
	})
	testkit.Eventually(t, 15*time.Second, func() error {
		if n := len(owner.Owned()); n != bus.Partitions {
			return fmt.Errorf("owns %d partitions again", n)
		}
		return nil
	})
	if took := time.Since(ended); took > 2*time.Second {
		t.Errorf("owned its partitions again %s after the session ended, want within 2 s (not the rebalance interval, %s)", took.Round(time.Millisecond), cfg.Rebalance)
	}
}
