// Package platform starts what every service runs beside its own logic:
// its Postgres schema (provisioned and migrated), its NATS connections and
// streams, the outbox relay, the event router and the HTTP server, and it
// shuts them down in order: stop taking requests, finish in-flight
// handlers, relay what is committed, drain NATS, close the pool.
package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/telemetry"
	"github.com/partnerhub/onboarding/pkg/timer"
)

// Config is the part of every service's configuration that the platform
// reads; embed it in the service's Config.
type Config struct {
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	HTTPAddr        string        `env:"HTTP_ADDR" envDefault:":8080"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	TimerInterval   time.Duration `env:"TIMER_INTERVAL" envDefault:"1s"`
	Postgres        pg.Config     `envPrefix:"POSTGRES_"`
	Bus             bus.Config
	Outbox          outbox.RelayConfig `envPrefix:"OUTBOX_"`
	Auth            AuthConfig
	Telemetry       telemetry.Config
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New("HTTP_ADDR is required"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("SHUTDOWN_TIMEOUT must be positive"))
	}
	if c.TimerInterval <= 0 {
		errs = append(errs, errors.New("TIMER_INTERVAL must be positive"))
	}
	errs = append(errs, c.Postgres.Validate(), c.Bus.Validate(), c.Outbox.Validate(), c.Auth.Validate(), c.Telemetry.Validate())
	return errors.Join(errs...)
}

// Base is a started platform for one service.
type Base struct {
	Service string
	Config  Config
	Log     *slog.Logger
	Pool    *pgxpool.Pool
	Outbox  *outbox.Writer
	Router  *bus.Router
	JS      jetstream.JetStream
	NC      *nats.Conn // for the service's own JetStream use (admin, reads)
	// Timers fire durable timers; add handlers before Run.
	Timers *timer.Poller
	// Guard authenticates HTTP callers and knows bus principals.
	Guard *Guard
	// Telemetry is the service's metrics registry (GET /metrics) and tracer.
	Telemetry *telemetry.Telemetry

	relay     *outbox.Relay
	relayNC   *nats.Conn
	relayPool *pgxpool.Pool
}

// Start provisions and connects. cfg.Postgres gets the service defaults;
// opts change the telemetry (tests record spans in memory).
func Start(ctx context.Context, service string, cfg Config, migrations fs.FS, log *slog.Logger, opts ...telemetry.Option) (*Base, error) {
	cfg.Postgres = cfg.Postgres.WithDefaults(service)
	b := &Base{Service: service, Config: cfg, Log: log, Outbox: outbox.NewWriter(service)}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tel, err := telemetry.New(pctx, service, cfg.Telemetry, opts...)
	if err != nil {
		return nil, err
	}
	b.Telemetry = tel
	guard, err := NewGuard(pctx, cfg.Auth)
	if err != nil {
		return nil, err
	}
	b.Guard = guard
	if err := pg.Provision(pctx, cfg.Postgres, migrations, log); err != nil {
		return nil, fmt.Errorf("provision postgres: %w", err)
	}
	pool, err := pg.Connect(pctx, cfg.Postgres)
	if err != nil {
		return nil, err
	}
	b.Pool = pool
	tel.RegisterOutboxBacklog(func(ctx context.Context) (int64, time.Duration, error) { return outbox.Stats(ctx, pool) }, log)

	if b.NC, err = bus.Connect(cfg.Bus.NATSURL, service, cfg.Bus.ConnectOptions()...); err != nil {
		return nil, err
	}
	if b.JS, err = jetstream.New(b.NC); err != nil {
		return nil, err
	}
	if err := bus.PrepareStreams(pctx, b.JS, cfg.Bus); err != nil {
		return nil, fmt.Errorf("provision streams: %w", err)
	}
	if b.relayNC, err = bus.Connect(cfg.Bus.NATSURL, service+"-relay", cfg.Bus.ConnectOptions()...); err != nil {
		return nil, err
	}
	pub, err := bus.NewPublisher(b.relayNC, bus.WatermillLogger(log))
	if err != nil {
		return nil, err
	}
	// The relay's own pool commits asynchronously: a delete lost in a crash
	// only re-publishes a row, which JetStream drops as a duplicate of the
	// same Nats-Msg-Id. It spares every change a second durable commit.
	if b.relayPool, err = pg.ConnectWith(pctx, cfg.Postgres, 2, map[string]string{"synchronous_commit": "off"}); err != nil {
		return nil, err
	}
	if b.relay, err = outbox.NewRelay(b.relayPool, outbox.Instrument(pub, tel), cfg.Outbox, bus.WatermillLogger(log)); err != nil {
		return nil, err
	}
	subNC, err := bus.Connect(cfg.Bus.NATSURL, service+"-consumer", cfg.Bus.ConnectOptions()...)
	if err != nil {
		return nil, err
	}
	dlqNC, err := bus.Connect(cfg.Bus.NATSURL, service+"-deadletter", cfg.Bus.ConnectOptions()...)
	if err != nil {
		subNC.Close()
		return nil, err
	}
	if b.Router, err = bus.NewRouter(service, cfg.Bus, subNC, dlqNC, log); err != nil {
		return nil, err
	}
	b.Router.Instrument(tel)
	b.Timers = &timer.Poller{Pool: pool, Handlers: map[string]timer.Handler{}, Interval: cfg.TimerInterval, Log: log}
	ok = true
	return b, nil
}

// Checks are the readiness checks of the platform parts.
func (b *Base) Checks() map[string]httpx.Check {
	return map[string]httpx.Check{
		"postgres": func(ctx context.Context) error { return b.Pool.Ping(ctx) },
		"nats": func(ctx context.Context) error {
			if !b.NC.IsConnected() {
				return errors.New("not connected")
			}
			return nil
		},
		"consumers": func(ctx context.Context) error {
			if !b.Router.IsRunning() {
				return errors.New("not running")
			}
			return nil
		},
	}
}

// Run runs the relay, the router, the timers and srv until ctx ends, then
// shuts down in order. It returns the first failure.
func (b *Base) Run(ctx context.Context, srv *httpx.Server) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(runCtx)
	relayCtx, stopRelay := context.WithCancel(context.Background())
	defer stopRelay()
	relayDone := make(chan error, 1)
	go func() { relayDone <- b.relay.Run(relayCtx) }()
	routerCtx, stopRouter := context.WithCancel(context.Background())
	defer stopRouter()
	routerDone := make(chan error, 1)
	go func() { routerDone <- b.Router.Run(routerCtx) }()
	g.Go(func() error { return b.Timers.Run(gctx) })
	if srv != nil {
		b.instrument(srv)
		g.Go(func() error { return srv.Run(gctx, b.Config.ShutdownTimeout) })
		b.Log.Info("listening", "addr", srv.Addr())
	}
	var failure error
	select {
	case <-gctx.Done():
	case err := <-relayDone:
		failure = fmt.Errorf("outbox relay stopped: %w", err)
		cancel()
	case err := <-routerDone:
		failure = fmt.Errorf("event router stopped: %w", err)
		cancel()
	}
	b.Log.Info("shutting down")
	if err := g.Wait(); err != nil && failure == nil && !errors.Is(err, context.Canceled) {
		failure = err
	}
	// In-flight handlers finish (their events are committed to the outbox),
	// then the relay flushes what is committed before it stops.
	if err := b.Router.Close(); err != nil {
		b.Log.Warn("router close", "err", err)
	}
	b.flushOutbox(5 * time.Second)
	if err := b.relay.Close(); err != nil {
		b.Log.Warn("relay close", "err", err)
	}
	b.Close()
	b.Log.Info("stopped")
	return failure
}

// instrument serves GET /metrics beside /healthz and records every
// request's latency and span.
func (b *Base) instrument(srv *httpx.Server) {
	t := b.Telemetry
	if h := t.MetricsHandler(); h != nil {
		srv.Handle("GET /metrics", h)
	}
	srv.Observe(httpx.Observer{Metrics: t.HTTP, Tracer: t.Tracer(), Propagator: t.Propagator})
}

func (b *Base) flushOutbox(max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		n, _, err := outbox.Stats(ctx, b.Pool)
		cancel()
		if err != nil || n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close releases connections (Run calls it).
func (b *Base) Close() {
	if b.relayNC != nil {
		_ = b.relayNC.Drain()
	}
	if b.NC != nil {
		_ = b.NC.Drain()
	}
	if b.relayPool != nil {
		b.relayPool.Close()
	}
	if b.Pool != nil {
		b.Pool.Close()
	}
	if b.Telemetry != nil {
		// Export the spans still buffered (the last requests and events).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := b.Telemetry.Shutdown(ctx); err != nil {
			b.Log.Warn("trace export flush", "err", err)
		}
		cancel()
	}
}
