package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

const (
	typeHappened = "com.partnerhub.registration.test.happened.v1"
	typeFlaky    = "com.partnerhub.registration.test.flaky.v1"
)

var migrations = fstest.MapFS{
	"00001_seen.sql": {Data: []byte("-- +goose Up\nCREATE TABLE seen (event_id TEXT NOT NULL, payload TEXT NOT NULL);\n-- +goose Down\nDROP TABLE seen;\n")},
}

func testConfig(t *testing.T, natsURL string) platform.Config {
	t.Helper()
	_, jwks := testkit.DevKeys(t)
	return testkit.PlatformConfig(testkit.Database(t), natsURL, jwks)
}

func countSeen(t *testing.T, b *platform.Base, id string) int {
	var n int
	if err := b.Pool.QueryRow(context.Background(), "SELECT count(*) FROM seen WHERE event_id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOutboxRelayRouterInbox drives one event from a committed transaction
// through the relay and JetStream into a handler, then replays it and
// checks the inbox kept the effect single.
func TestOutboxRelayRouterInbox(t *testing.T) {
	natsURL := testkit.NATS(t)
	cfg := testConfig(t, natsURL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	decl := platform.Declaration{Name: "registration", Migrations: migrations}
	b, err := platform.Start(ctx, decl, cfg, testkit.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	var flakyCalls atomic.Int32
	insert := func(payload string) bus.HandlerFunc {
		return func(ctx context.Context, ev ce.Event) error {
			return pg.InTx(ctx, b.Pool, func(ctx context.Context, tx pgx.Tx) error {
				if payload == "" {
					payload = string(ev.Data)
				}
				_, err := tx.Exec(ctx, "INSERT INTO seen (event_id, payload) VALUES ($1, $2)", ev.ID, payload)
				return err
			})
		}
	}
	flaky := insert("flaky")
	decl.Subscriptions = []bus.Subscription{
		{Type: typeHappened, Inbox: "on_happened", Handle: insert("")},
		{Type: typeFlaky, Inbox: "on_flaky", Handle: func(ctx context.Context, ev ce.Event) error {
			if flakyCalls.Add(1) < 3 {
				return errors.New("database blip")
			}
			return flaky(ctx, ev)
		}},
	}
	if err := b.Mount(decl); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-b.Router.Running()

	var written []ce.Event
	// Through pg.InTx, as the services write: the relay is woken when the
	// transaction commits (its safety poll is idle for 15 poll intervals).
	err = pg.InTx(ctx, b.Pool, func(ctx context.Context, tx pgx.Tx) error {
		written, err = b.Outbox.Append(ctx, tx,
			outbox.Draft{Type: typeHappened, Subject: "PG-TEST1", Data: map[string]string{"n": "1"}},
			outbox.Draft{Type: typeHappened, Subject: "PG-TEST1", Data: map[string]string{"n": "2"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if written[0].Sequence != 1 || written[1].Sequence != 2 {
		t.Fatalf("sequence per partner: got %d, %d", written[0].Sequence, written[1].Sequence)
	}
	for _, ev := range written {
		testkit.Eventually(t, 10*time.Second, func() error {
			if n := countSeen(t, b, ev.ID); n != 1 {
				return fmt.Errorf("event %s seen %d times", ev.ID, n)
			}
			return nil
		})
	}

	// The message on the stream is a binary-mode CloudEvent with lower-case
	// headers and Nats-Msg-Id = ce id.
	_, js := testkit.JetStream(t, natsURL)
	raw, err := getLast(ctx, js, "REGISTRATION", testkit.Subject(typeHappened, "PG-TEST1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{ce.HSpecVersion, ce.HID, ce.HSource, ce.HType, ce.HSubject, ce.HTime, ce.HDataContentType,
		ce.HDataSchema, ce.HPartitionKey, ce.HSequence, ce.HCorrelationID} {
		if raw.Header.Get(h) == "" {
			t.Errorf("header %s missing on the wire: %v", h, raw.Header)
		}
	}
	if raw.Header.Get(ce.HSequence) != "000000000002" {
		t.Errorf("sequence not zero-padded: %q", raw.Header.Get(ce.HSequence))
	}
	if raw.Header.Get(nats.MsgIdHdr) != written[1].ID {
		t.Errorf("Nats-Msg-Id %q, want the CloudEvent id %q", raw.Header.Get(nats.MsgIdHdr), written[1].ID)
	}

	// A replay (same CloudEvent, new NATS message id so the stream does
	// not dedupe it) has no effect.
	replay := nats.NewMsg(testkit.Subject(typeHappened, written[0].PartitionKey))
	for k, v := range written[0].Headers() {
		replay.Header.Set(k, v)
	}
	replay.Data = written[0].Data
	if _, err := js.PublishMsg(ctx, replay); err != nil {
		t.Fatal(err)
	}
	// A marker published after the replay proves the replay was consumed.
	marker := publishRaw(t, js, ce.Topic(typeHappened), goodHeaders(typeHappened), []byte(`{"n":"marker"}`))
	testkit.Eventually(t, 10*time.Second, func() error {
		if countSeen(t, b, marker) != 1 {
			return errors.New("marker not processed")
		}
		return nil
	})
	if n := countSeen(t, b, written[0].ID); n != 1 {
		t.Fatalf("replayed event applied %d times", n)
	}

	// A transient failure is redelivered with backoff and then succeeds.
	flakyID := publishRaw(t, js, ce.Topic(typeFlaky), goodHeaders(typeFlaky), []byte(`{}`))
	testkit.Eventually(t, 10*time.Second, func() error {
		if countSeen(t, b, flakyID) != 1 {
			return errors.New("flaky event not processed")
		}
		return nil
	})

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// TestPoisonMessagesAreDeadLetteredWithoutBlocking publishes bad messages
// before a good one: each bad one lands in DEADLETTER with its reason code
// and the good one behind them is still processed.
func TestPoisonMessagesAreDeadLetteredWithoutBlocking(t *testing.T) {
	natsURL := testkit.NATS(t)
	cfg := testConfig(t, natsURL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	decl := platform.Declaration{Name: "registration", Migrations: migrations}
	b, err := platform.Start(ctx, decl, cfg, testkit.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	decl.Subscriptions = []bus.Subscription{{Type: typeHappened, Inbox: "on_happened", Handle: func(ctx context.Context, ev ce.Event) error {
		var body struct {
			N string `json:"n"`
		}
		if err := ev.DecodeData(&body, true); err != nil {
			return err
		}
		if body.N == "refuse" {
			return apperr.Invalid("test.refused", "refused by the handler")
		}
		if body.N == "always-fails" {
			return errors.New("dependency down")
		}
		return pg.InTx(ctx, b.Pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO seen (event_id, payload) VALUES ($1, $2)", ev.ID, body.N)
			return err
		})
	}}}
	if err := b.Mount(decl); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-b.Router.Running()
	_, js := testkit.JetStream(t, natsURL)
	subj := ce.Topic(typeHappened)

	noSpec := goodHeaders(typeHappened)
	delete(noSpec, ce.HSpecVersion)
	noID := goodHeaders(typeHappened)
	delete(noID, ce.HID)
	noType := goodHeaders(typeHappened)
	delete(noType, ce.HType)
	unknownType := goodHeaders("com.partnerhub.registration.test.unknown.v1")
	forged := goodHeaders(typeHappened)
	forged[ce.HSource] = "/services/verification"
	cases := []struct {
		name    string
		headers map[string]string
		body    []byte
		code    string
	}{
		{"missing specversion", noSpec, []byte(`{"n":"x"}`), ce.CodeMissingSpecVersion},
		{"missing id", noID, []byte(`{"n":"x"}`), ce.CodeMissingID},
		{"missing type", noType, []byte(`{"n":"x"}`), ce.CodeMissingType},
		{"unknown type", unknownType, []byte(`{"n":"x"}`), ce.CodeUnknownType},
		{"another service's source", forged, []byte(`{"n":"x"}`), bus.CodeSourceMismatch},
		{"data not json", goodHeaders(typeHappened), []byte(`<xml/>`), ce.CodeNotJSON},
		{"oversized data", goodHeaders(typeHappened), []byte(`{"n":"` + string(make([]byte, 0)) + stringOf('a', ce.MaxDataBytes+10) + `"}`), ce.CodeTooLarge},
		{"wrong schema", goodHeaders(typeHappened), []byte(`{"n":1}`), ce.CodeSchemaViolation},
		{"refused by handler", goodHeaders(typeHappened), []byte(`{"n":"refuse"}`), "test.refused"},
		{"transient until max deliveries", goodHeaders(typeHappened), []byte(`{"n":"always-fails"}`), "handler.max_deliveries"},
	}
	for _, c := range cases {
		publishRaw(t, js, subj, c.headers, c.body)
	}
	good := publishRaw(t, js, subj, goodHeaders(typeHappened), []byte(`{"n":"good"}`))
	testkit.Eventually(t, 10*time.Second, func() error {
		if countSeen(t, b, good) != 1 {
			return errors.New("good message behind the poison was not processed")
		}
		return nil
	})

	codes := map[string]int{}
	testkit.Eventually(t, 15*time.Second, func() error {
		codes = map[string]int{}
		msgs, err := readAll(ctx, js, bus.DeadLetterStream)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			codes[m.Header.Get(bus.DLQCode)]++
			if m.Header.Get(bus.DLQService) != "registration" || m.Header.Get(bus.DLQReason) == "" || m.Header.Get(bus.DLQHandler) == "" {
				return fmt.Errorf("dead letter lacks service/reason/handler: %v", m.Header)
			}
		}
		if len(msgs) < len(cases) {
			return fmt.Errorf("%d dead letters so far, want %d: %v", len(msgs), len(cases), codes)
		}
		return nil
	})
	for _, c := range cases {
		if codes[c.code] == 0 {
			t.Errorf("%s: no dead letter with code %s (got %v)", c.name, c.code, codes)
		}
	}
	cancel()
	<-done
}

// TestRuntimeRoleIsConfinedToItsSchema proves a service's runtime role
// cannot read another service's schema and cannot change DDL in its own.
func TestRuntimeRoleIsConfinedToItsSchema(t *testing.T) {
	ctx := context.Background()
	db := testkit.Database(t)
	log := testkit.Log(t)
	other := pg.Config{AdminURL: testkit.AdminURL(), Database: db, MaxConns: 2}.WithDefaults("verification")
	otherMig := fstest.MapFS{"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE secrets (v TEXT);\nINSERT INTO secrets VALUES ('x');\n")}}
	if err := pg.Provision(ctx, other, otherMig, log); err != nil {
		t.Fatal(err)
	}
	mine := pg.Config{AdminURL: testkit.AdminURL(), Database: db, MaxConns: 2}.WithDefaults("registration")
	if err := pg.Provision(ctx, mine, migrations, log); err != nil {
		t.Fatal(err)
	}
	pool, err := pg.Connect(ctx, mine)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var role string
	if err := pool.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil || role != "registration_app" {
		t.Fatalf("connected as %q (%v), want registration_app", role, err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO seen VALUES ('a','b')"); err != nil {
		t.Fatalf("runtime role cannot write its own table: %v", err)
	}
	for _, stmt := range []string{
		"SELECT * FROM verification.secrets",
		"CREATE TABLE registration.sneaky (x int)",
		"DROP TABLE registration.seen",
		"ALTER TABLE seen ADD COLUMN y int",
		"CREATE TABLE public.sneaky (x int)",
	} {
		_, err := pool.Exec(ctx, stmt)
		if !isInsufficientPrivilege(err) {
			t.Errorf("%q: want permission denied, got %v", stmt, err)
		}
	}
}

func isInsufficientPrivilege(err error) bool {
	return err != nil && (contains(err.Error(), "42501") || contains(err.Error(), "must be owner"))
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (stringIndex(s, sub) >= 0) }

func stringIndex(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func stringOf(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func goodHeaders(eventType string) map[string]string {
	return map[string]string{
		ce.HSpecVersion: "1.0", ce.HID: ce.NewID(), ce.HSource: "/services/registration", ce.HType: eventType,
		ce.HSubject: "PG-TEST1", ce.HDataContentType: "application/json",
	}
}

func publishRaw(t *testing.T, js jetstream.JetStream, subject string, headers map[string]string, body []byte) string {
	t.Helper()
	m := nats.NewMsg(testkit.Partitioned(subject, headers))
	for k, v := range headers {
		m.Header[k] = []string{v} // verbatim, lower case
	}
	m.Data = body
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return headers[ce.HID]
}

func getLast(ctx context.Context, js jetstream.JetStream, stream, subject string) (*jetstream.RawStreamMsg, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	return s.GetLastMsgForSubject(ctx, subject)
}

func readAll(ctx context.Context, js jetstream.JetStream, stream string) ([]*jetstream.RawStreamMsg, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// TestDatabaseRefusalAnswers503: when Postgres refuses the service's
// connections (no slot left), a request is answered 503 with Retry-After
// and a stable code, never a bare 500, and served again once it accepts.
func TestDatabaseRefusalAnswers503(t *testing.T) {
	cfg := testConfig(t, testkit.NATS(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	decl := platform.Declaration{Name: "registration", Migrations: migrations}
	b, err := platform.Start(ctx, decl, cfg, testkit.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/seen", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if err := b.Pool.QueryRow(r.Context(), "SELECT count(*) FROM seen").Scan(&n); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]int{"seen": n})
	})
	decl.Routes = func() http.Handler { return api }
	if err := b.Mount(decl); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-b.Router.Running()
	url := "http://" + b.Addr() + "/v1/seen"
	get := func() *http.Response {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := get(); r.StatusCode != http.StatusOK {
		t.Fatalf("before: %d", r.StatusCode)
	}
	admin, err := pgx.Connect(ctx, testkit.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	db := cfg.Postgres.Database
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+db+` CONNECTION LIMIT 0`); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(context.Background(), `ALTER DATABASE `+db+` CONNECTION LIMIT -1`) //nolint:errcheck
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = 'registration_app'`, db); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		r := get()
		defer r.Body.Close()
		var p struct {
			Code string `json:"code"`
		}
		_ = json.NewDecoder(r.Body).Decode(&p)
		if r.StatusCode != http.StatusServiceUnavailable || p.Code != httpx.CodeUnavailable || r.Header.Get("Retry-After") == "" {
			return fmt.Errorf("while refused: %d %q Retry-After %q", r.StatusCode, p.Code, r.Header.Get("Retry-After"))
		}
		return nil
	})
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+db+` CONNECTION LIMIT -1`); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if r := get(); r.StatusCode != http.StatusOK {
			return fmt.Errorf("after: %d", r.StatusCode)
		}
		return nil
	})
	cancel()
	<-done
}

// TestTwoInstancesRelayAndConsumeInParallel runs two instances of one
// service on one database and one JetStream: each owns half of the
// partitions, relays their events and consumes them; both do work, and
// every partner's events are published and handled in their sequence order
// although both instances write them.
func TestTwoInstancesRelayAndConsumeInParallel(t *testing.T) {
	natsURL := testkit.NATS(t)
	cfg := testConfig(t, natsURL)
	cfg.Bus.Rebalance = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	last := map[string]uint64{}     // partner → last sequence handled
	by := map[string]map[int]bool{} // partner → instances that handled it
	handled := 0
	start := func(i int) (*platform.Base, chan error) {
		decl := platform.Declaration{Name: "registration", Migrations: migrations}
		b, err := platform.Start(ctx, decl, cfg, testkit.Log(t))
		if err != nil {
			t.Fatal(err)
		}
		decl.Subscriptions = []bus.Subscription{{Type: typeHappened, Inbox: "on_happened", Handle: func(_ context.Context, ev ce.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if ev.Sequence != last[ev.Subject]+1 {
				t.Errorf("%s: sequence %d handled after %d", ev.Subject, ev.Sequence, last[ev.Subject])
			}
			last[ev.Subject] = ev.Sequence
			if by[ev.Subject] == nil {
				by[ev.Subject] = map[int]bool{}
			}
			by[ev.Subject][i] = true
			handled++
			return nil
		}}}
		if err := b.Mount(decl); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		<-b.Router.Running()
		return b, done
	}
	a, aDone := start(0)
	b, bDone := start(1)
	testkit.Eventually(t, 10*time.Second, func() error {
		if len(a.Owned()) != bus.Partitions/2 || len(b.Owned()) != bus.Partitions/2 {
			return fmt.Errorf("a owns %v, b owns %v", a.Owned(), b.Owned())
		}
		return nil
	})
	// Both instances write every partner's events, in turns.
	const partners, each = 16, 6
	for n := range each {
		for p := range partners {
			w := []*platform.Base{a, b}[(n+p)%2]
			err := pg.InTx(ctx, w.Pool, func(ctx context.Context, tx pgx.Tx) error {
				_, err := w.Outbox.Append(ctx, tx, outbox.Draft{Type: typeHappened, Subject: fmt.Sprintf("PG-R%02d", p), Data: map[string]int{"n": n}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	testkit.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if handled != partners*each {
			return fmt.Errorf("%d of %d handled", handled, partners*each)
		}
		return nil
	})
	if a.Relayed() == 0 || b.Relayed() == 0 {
		t.Errorf("relayed: a %d, b %d — both instances must publish", a.Relayed(), b.Relayed())
	}
	mu.Lock()
	handlers := map[int]int{}
	for p, in := range by {
		if len(in) != 1 {
			t.Errorf("%s handled by both instances", p)
		}
		for i := range in {
			handlers[i]++
		}
	}
	mu.Unlock()
	if handlers[0] == 0 || handlers[1] == 0 {
		t.Errorf("partners handled per instance %v: both must consume", handlers)
	}
	t.Logf("relayed a=%d b=%d; partners consumed %v", a.Relayed(), b.Relayed(), handlers)
	cancel()
	<-aDone
	<-bDone
}
