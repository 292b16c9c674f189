// Package testkit gives tests real infrastructure: an embedded JetStream
// server on a random port, a fresh Postgres database per test, and an
// eventually helper instead of sleeps.
package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/natsembed"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// AdminURL is the superuser DSN of the test Postgres (PG_TEST_ADMIN_URL or
// the local default).
func AdminURL() string {
	if u := os.Getenv("PG_TEST_ADMIN_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NATS starts an embedded JetStream server for the test and returns its URL.
func NATS(tb testing.TB) string {
	tb.Helper()
	s, err := natsembed.Start("127.0.0.1", -1, tb.TempDir())
	if err != nil {
		tb.Fatalf("start embedded nats: %v", err)
	}
	tb.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// NATSServer is an embedded JetStream server a test can restart on the
// same port and store, as an operator restarts one: what the server held
// in memory (durables kept there) is gone, what it stored is not.
type NATSServer struct {
	tb   testing.TB
	port int
	dir  string
	mu   sync.Mutex
	s    *server.Server
}

// RestartableNATS starts a NATSServer for the test; shut down at cleanup.
func RestartableNATS(tb testing.TB) *NATSServer {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	n := &NATSServer{tb: tb, port: port, dir: tb.TempDir()}
	n.start()
	tb.Cleanup(func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.s.Shutdown()
	})
	return n
}

func (n *NATSServer) start() {
	s, err := natsembed.Start("127.0.0.1", n.port, n.dir)
	if err != nil {
		n.tb.Fatalf("start embedded nats: %v", err)
	}
	n.mu.Lock()
	n.s = s
	n.mu.Unlock()
}

// URL is the server's client URL, the same across restarts.
func (n *NATSServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// Restart shuts the server down and starts it again on its port and store.
func (n *NATSServer) Restart() {
	n.mu.Lock()
	n.s.Shutdown()
	n.s.WaitForShutdown()
	n.mu.Unlock()
	n.start()
}

// JetStream connects to url for test assertions; closed at cleanup.
func JetStream(tb testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		tb.Fatalf("connect nats: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Database creates a fresh, empty database for the test and returns its
// name; it is dropped at cleanup.
func Database(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("connect postgres: %v (is it running? see README)", err)
	}
	defer conn.Close(context.Background())
	name := "t_" + RandomID(8)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return name
}

// NoTables are the migrations of a service that has only the platform's
// tables (inbox, outbox, timers).
var NoTables fs.FS = fstest.MapFS{"00001_none.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}

// ServicePool provisions service's schema in a fresh test database (the
// platform's tables and migrations) and returns its runtime pool, of
// maxConns connections traced by tracer when it is not nil.
func ServicePool(tb testing.TB, service string, migrations fs.FS, maxConns int32, tracer pgx.QueryTracer) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	c := pg.Config{AdminURL: AdminURL(), Database: Database(tb), MaxConns: maxConns}.WithDefaults(service)
	if err := pg.Provision(ctx, c, migrations, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		tb.Fatalf("provision %s: %v", service, err)
	}
	pool, err := pg.Connect(ctx, c)
	if err != nil {
		tb.Fatalf("connect %s: %v", service, err)
	}
	if tracer != nil {
		cfg := pool.Config()
		pool.Close()
		cfg.ConnConfig.Tracer = tracer
		if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			tb.Fatalf("connect %s: %v", service, err)
		}
	}
	tb.Cleanup(pool.Close)
	return pool
}

// TracedServicePool is ServicePool whose connections report what they send
// to the returned Statements: for tests that count statements and round
// trips.
func TracedServicePool(tb testing.TB, service string, migrations fs.FS, maxConns int32) (*pgxpool.Pool, *Statements) {
	tb.Helper()
	statements := &Statements{}
	return ServicePool(tb, service, migrations, maxConns, statements), statements
}

// Statements is a pgx tracer (pgx.QueryTracer, pgx.BatchTracer) that
// records the statements a pool sends: those sent alone, and each batch's
// in order. Tests count round trips and what went in them with it.
type Statements struct {
	mu      sync.Mutex
	alone   []string
	batches [][]string
}

func (s *Statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alone = append(s.alone, d.SQL)
	return ctx
}

func (s *Statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *Statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	sqls := make([]string, 0, len(d.Batch.QueuedQueries))
	for _, q := range d.Batch.QueuedQueries {
		sqls = append(sqls, q.SQL)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, sqls)
	return ctx
}

func (s *Statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (s *Statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// Alone returns the statements sent on their own so far.
func (s *Statements) Alone() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.alone...)
}

// Batches returns the batches sent so far, each as its statements.
func (s *Statements) Batches() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.batches...)
}

// Reset forgets what was recorded.
func (s *Statements) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alone, s.batches = nil, nil
}

// Begins counts the transactions begun: BEGIN sent on its own, and BEGIN
// sent first in a batch (with the transaction's first statement).
func (s *Statements) Begins() (alone, inBatch int) {
	for _, sql := range s.Alone() {
		if IsBegin(sql) {
			alone++
		}
	}
	for _, b := range s.Batches() {
		if len(b) > 0 && IsBegin(b[0]) {
			inBatch++
		}
	}
	return alone, inBatch
}

// IsBegin reports whether sql begins a transaction.
func IsBegin(sql string) bool {
	f := strings.Fields(strings.ToLower(sql))
	return len(f) > 0 && f[0] == "begin"
}

// RandomID returns n random bytes hex-encoded (lower case).
func RandomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Eventually polls cond every 20ms until it returns nil or timeout passes,
// then fails the test with cond's last error.
func Eventually(tb testing.TB, timeout time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Errorf is fmt.Errorf, for terse Eventually conditions.
func Errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// DevKeys creates a signing key for the test and returns the signer and the
// path of its public JWKS (for AUTH_JWKS_FILE).
func DevKeys(tb testing.TB) (*auth.Signer, string) {
	tb.Helper()
	dir := tb.TempDir()
	s, err := auth.EnsureDevKeys(dir)
	if err != nil {
		tb.Fatalf("dev keys: %v", err)
	}
	return s, auth.DevJWKSPath(dir)
}

// Token mints a bearer token for p with the dev issuer and audience.
func Token(tb testing.TB, s *auth.Signer, p auth.Principal) string {
	tb.Helper()
	tok, err := s.Mint(p, auth.DevIssuer, auth.DevAudience, time.Hour)
	if err != nil {
		tb.Fatalf("mint token: %v", err)
	}
	return tok
}

// PlatformConfig is the platform configuration of a service under test: the
// database and JetStream server of the test, the test's signing key, a
// random HTTP port, short polling and redelivery intervals, and a pool of two
// connections — one the partition owner holds, one for the work. A use
// case that takes a second connection while its transaction holds one hangs
// here at once, as it would under load with any pool: its callbacks read
// with the transaction's context (round 50 found three that did not,
// registration's profile changes and verification's review decisions
// answering 503 after 20 s with a dozen at once).
func PlatformConfig(database, natsURL, jwksFile string) platform.Config {
	return platform.Config{
		LogLevel: "warn", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second, TimerInterval: 50 * time.Millisecond,
		Postgres: pg.Config{AdminURL: AdminURL(), Database: database, MaxConns: 2},
		Bus: bus.Config{NATSURL: natsURL, Replicas: 1, MaxDeliver: 6, AckWait: 5 * time.Second,
			NakBase: 20 * time.Millisecond, NakMax: 200 * time.Millisecond, Prefetch: 16, Workers: 2, Batch: 16},
		Outbox: outbox.RelayConfig{PollInterval: time.Second, BatchSize: 100, PublishTimeout: 5 * time.Second},
		Auth: platform.AuthConfig{JWKSFile: jwksFile, Issuer: auth.DevIssuer, Audience: auth.DevAudience,
			RateLimit: 1000, RateBurst: 1000, DevPrincipals: true, RequireMFA: true},
		Telemetry: telemetry.Config{MetricsEnabled: true},
	}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (a logger, a
// child process) and a reading test.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Subject is the subject the relay publishes an event of eventType about
// partitionKey on (its partition's, for a service's event); intake events
// are published on their bare topic. Tests that publish events by hand use
// it so that the services' partition durables receive them.
func Subject(eventType, partitionKey string) string {
	topic := ce.Topic(eventType)
	if bus.OwnerSource(topic) == "" {
		return topic
	}
	return bus.PartitionSubject(topic, bus.PartitionFor(partitionKey))
}

// Partitioned is subject as the relay would publish it: a service's bare
// topic (four tokens) gets the partition of the event's partition key
// (ce-partitionkey, else ce-subject, in headers); anything else is kept.
func Partitioned(subject string, headers map[string]string) string {
	if len(strings.Split(subject, ".")) != bus.TopicTokens || bus.OwnerSource(subject) == "" {
		return subject
	}
	key := headers[ce.HPartitionKey]
	if key == "" {
		key = headers[ce.HSubject]
	}
	return bus.PartitionSubject(subject, bus.PartitionFor(key))
}
