// Package platform runs a service from its declaration: its Postgres schema
// (provisioned and migrated), its NATS connections and streams, the outbox
// relay, the event router, the jobs and the HTTP server; and it shuts them
// down in order: stop taking requests, finish in-flight handlers, relay what
// is committed, drain NATS, close the pool.
package platform

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/jobs"
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
	// TimerInterval is the safety poll of the jobs that know when their
	// work is next due (they sleep until then and are woken by commits);
	// it is no latency floor.
	TimerInterval time.Duration `env:"TIMER_INTERVAL" envDefault:"30s"`
	// TimerSlack is how late the kernel may fire the process' timers
	// (TimerSlack, the constant, is the default; Main applies it before
	// this is loaded, and Validate reports a bad value).
	TimerSlack time.Duration      `env:"TIMER_SLACK" envDefault:"4ms"`
	Postgres   pg.Config          `envPrefix:"POSTGRES_"`
	Bus        bus.Config         //
	Outbox     outbox.RelayConfig `envPrefix:"OUTBOX_"`
	Auth       AuthConfig
	Telemetry  telemetry.Config
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
	if !validTimerSlack(c.TimerSlack) {
		errs = append(errs, errors.New("TIMER_SLACK must be from 0 to 1s"))
	}
	errs = append(errs, c.Postgres.Validate(), c.Bus.Validate(), c.Outbox.Validate(), c.Auth.Validate(), c.Telemetry.Validate())
	return errors.Join(errs...)
}

// Declaration is a service as the platform runs it: declared once, in the
// service's wiring. Built from an unwired service (nil dependencies: the
// handlers and jobs are never called) it is also what the deployment
// derives the service's NATS permissions, accounts.conf and AsyncAPI
// receive operations from.
type Declaration struct {
	// Name is the service's name: its CloudEvents source, schema, durables
	// and bus user.
	Name string
	// Migrations are the service's own SQL migrations (after the
	// platform's outbox, inbox, sequence, timer and audit tables).
	Migrations fs.FS
	// Subscriptions are the event types it consumes.
	Subscriptions []bus.Subscription
	// Jobs are its due-time and periodic work.
	Jobs []jobs.Job
	// Routes builds its HTTP API (nil: health, readiness and metrics only).
	Routes func() http.Handler
	// Checks are its own readiness checks, beside the platform's (postgres,
	// nats, consumers): a dependency only it has, such as the notifier's
	// SMTP server.
	Checks map[string]httpx.Check
}

// Consumes lists the subject filters of d's durables, in declaration
// order, as the server sees them (partitioned or shared).
func (d Declaration) Consumes() []bus.Durable {
	var out []bus.Durable
	at := map[string]int{}
	for _, s := range d.Subscriptions {
		f := s.FilterOf()
		if i, ok := at[f]; ok {
			out[i].Shared = out[i].Shared || s.Shared
			out[i].Replaces = cmp.Or(out[i].Replaces, s.Replaces)
			continue
		}
		at[f] = len(out)
		out = append(out, bus.Durable{Filter: f, Shared: s.Shared, Replaces: s.Replaces})
	}
	return out
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
	NC      *nats.Conn // the relay's, and the service's own JetStream use (reads)
	// Jobs runs the declared jobs; Wake one when its work became due sooner.
	Jobs *jobs.Runner
	// Timers are the service's durable timers (a job when a handler is set).
	Timers *timer.Timers
	// Guard authenticates HTTP callers and knows bus principals.
	Guard *Guard
	// Telemetry is the service's metrics registry (GET /metrics) and tracer.
	Telemetry *telemetry.Telemetry

	relay   *outbox.Relay
	owner   *bus.Owner
	server  *httpx.Server
	mounted bool
}

// Start provisions and connects for the service d declares (its Name and
// Migrations). Dependencies that are not there yet (Postgres starting,
// NATS unreachable, streams not provisioned) are waited for with backoff
// until ctx ends: a service started before them keeps trying, never exits.
// opts change the telemetry (tests record spans in memory).
func Start(ctx context.Context, d Declaration, cfg Config, log *slog.Logger, opts ...telemetry.Option) (*Base, error) {
	service := d.Name
	cfg.Postgres = cfg.Postgres.WithDefaults(service)
	b := &Base{Service: service, Config: cfg, Log: log, Outbox: outbox.NewWriter(service)}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	tel, err := telemetry.New(ctx, service, cfg.Telemetry, opts...)
	if err != nil {
		return nil, err
	}
	b.Telemetry = tel
	// The port answers from now on: alive, not ready until the service is
	// wired (/readyz says what it waits for), API requests held meanwhile.
	st := &startup{}
	st.state.Store(&startState{what: "authentication keys"})
	if b.server, err = httpx.NewServer(cfg.HTTPAddr, nil, log, map[string]httpx.Check{"start-up": st.check}); err != nil {
		return nil, err
	}
	b.instrument(b.server)
	b.server.Serve()
	log.Info("listening", "addr", b.server.Addr(), "ready", false)
	retry := st.retry
	if err := retry(ctx, log, "authentication keys", func(ctx context.Context) error {
		b.Guard, err = NewGuard(ctx, cfg.Auth)
		return err
	}); err != nil {
		return nil, err
	}
	if err := retry(ctx, log, "postgres provisioning", func(ctx context.Context) error {
		return pg.Provision(ctx, cfg.Postgres, d.Migrations, log)
	}); err != nil {
		return nil, fmt.Errorf("provision postgres: %w", err)
	}
	if err := retry(ctx, log, "postgres", func(ctx context.Context) error {
		b.Pool, err = pg.Connect(ctx, cfg.Postgres)
		return err
	}); err != nil {
		return nil, err
	}
	tel.RegisterOutboxBacklog(func(ctx context.Context) (int64, time.Duration, error) { return outbox.Stats(ctx, b.Pool) }, log)

	if err := retry(ctx, log, "nats", func(context.Context) error {
		b.NC, err = bus.Connect(cfg.Bus.NATSURL, service, cfg.Bus.ConnectOptions()...)
		return err
	}); err != nil {
		return nil, err
	}
	if b.JS, err = jetstream.New(b.NC); err != nil {
		return nil, err
	}
	if err := retry(ctx, log, "streams", func(ctx context.Context) error { return bus.PrepareStreams(ctx, b.JS, cfg.Bus) }); err != nil {
		return nil, fmt.Errorf("provision streams: %w", err)
	}
	// One owner shares this service's partitions among its instances: the
	// router consumes them and the relay publishes them.
	b.owner = bus.NewOwner(service, b.Pool, cfg.Bus, log)
	b.relay = outbox.NewRelay(b.Pool, b.JS, b.owner, cfg.Outbox, log, tel)
	b.Outbox.RelayOnCommit(b.relay, b.owner, service)
	var subNC *nats.Conn
	if err := retry(ctx, log, "nats", func(context.Context) error {
		subNC, err = bus.Connect(cfg.Bus.NATSURL, service+"-consumer", cfg.Bus.ConnectOptions()...)
		return err
	}); err != nil {
		return nil, err
	}
	if b.Router, err = bus.NewRouter(service, cfg.Bus, subNC, b.Pool, log); err != nil {
		subNC.Close()
		return nil, err
	}
	b.Router.Instrument(tel)
	b.Router.UseOwner(b.owner)
	b.Jobs = jobs.New(log)
	b.Jobs.Transient = pg.Unavailable
	b.Timers = timer.New(b.Pool, log)
	st.state.Store(&startState{})
	ok = true
	return b, nil
}

// startup is what a starting instance's readiness says: the dependency it
// connects to, and the last failure while it waits for it.
type startup struct{ state atomic.Pointer[startState] }

type startState struct {
	what    string
	err     error
	attempt int
}

func (s *startup) check(context.Context) error {
	st := s.state.Load()
	if st.what == "" {
		return errors.New("starting: wiring the service")
	}
	if st.err == nil {
		return fmt.Errorf("starting: connecting to %s", st.what)
	}
	return fmt.Errorf("starting: waiting for %s (attempt %d): %w", st.what, st.attempt, st.err)
}

// retry runs fn until it succeeds, fails for good (a configuration or
// migration error), or ctx ends, waiting longer after each transient
// failure and saying so in the log and the readiness.
func (s *startup) retry(ctx context.Context, log *slog.Logger, what string, fn func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		if attempt == 0 {
			s.state.Store(&startState{what: what})
		}
		actx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := fn(actx)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		s.state.Store(&startState{what: what, err: err, attempt: attempt + 1})
		wait := min(250*time.Millisecond<<min(attempt, 5), 5*time.Second)
		log.Warn("waiting for a dependency", "dependency", what, "err", err.Error(), "attempt", attempt+1, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (gave up: %w)", what, err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func transient(err error) bool {
	return pg.Unavailable(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrNoServers)
}

// Mount installs what d declares: its subscriptions on the router, its
// jobs (and the durable timers job when a timer handler is set), and its
// routes on the HTTP server beside /healthz, /readyz and /metrics.
func (b *Base) Mount(d Declaration) error {
	if b.mounted {
		return errors.New("platform: a service is mounted once")
	}
	if d.Name != b.Service {
		return fmt.Errorf("platform: declaration of %q mounted on %q", d.Name, b.Service)
	}
	b.mounted = true
	b.Router.Add(d.Subscriptions...)
	js := append([]jobs.Job(nil), d.Jobs...)
	if b.Timers.HasHandlers() {
		js = append(js, b.Timers.Job(b.Jobs, b.Config.TimerInterval))
	}
	if err := b.Jobs.Add(js...); err != nil {
		return err
	}
	var routes http.Handler = http.NewServeMux()
	if d.Routes != nil {
		routes = d.Routes()
	}
	checks := b.Checks()
	for name, c := range d.Checks {
		checks[name] = c
	}
	b.server.SetAPI(routes, checks)
	return nil
}

// Addr is where the HTTP server listens (useful with HTTP_ADDR=127.0.0.1:0).
func (b *Base) Addr() string {
	if b.server == nil {
		return ""
	}
	return b.server.Addr()
}

// Relayed is how many events this instance's relay has published.
func (b *Base) Relayed() int64 { return b.relay.Published() }

// Owned lists the partitions this instance owns now.
func (b *Base) Owned() []int { return b.owner.Owned() }

// Checks are the readiness checks of the platform parts.
func (b *Base) Checks() map[string]httpx.Check {
	return map[string]httpx.Check{
		"postgres": func(ctx context.Context) error { return b.Pool.Ping(ctx) },
		// NATS away degrades the instance without making it unready: a
		// write's events wait in the outbox, and every instance shares the
		// outage.
		"nats": func(ctx context.Context) error {
			if !b.NC.IsConnected() {
				return httpx.Degraded(errors.New("not connected: events wait in the outbox and are not consumed"))
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

// Run runs the relay, the router, the jobs and the HTTP server until ctx
// ends, then shuts down in order. It returns the first failure.
func (b *Base) Run(ctx context.Context) error {
	if !b.mounted {
		return errors.New("platform: Run before Mount")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Before anything else uses the pool: the query reuses the connection
	// the start-up opened instead of opening one more beside the others.
	b.Router.Prepare(runCtx)
	g, gctx := errgroup.WithContext(runCtx)
	ownerCtx, stopOwner := context.WithCancel(context.Background())
	defer stopOwner()
	ownerDone := make(chan error, 1)
	go func() { ownerDone <- b.owner.Run(ownerCtx) }()
	relayCtx, stopRelay := context.WithCancel(context.Background())
	defer stopRelay()
	relayDone := make(chan error, 1)
	go func() { relayDone <- b.relay.Run(relayCtx) }()
	routerCtx, stopRouter := context.WithCancel(context.Background())
	defer stopRouter()
	routerDone := make(chan error, 1)
	go func() { routerDone <- b.Router.Run(routerCtx) }()
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	jobsDone := make(chan error, 1)
	go func() { jobsDone <- b.Jobs.Run(jobsCtx) }()
	g.Go(func() error { return b.server.Run(gctx, b.Config.ShutdownTimeout) })
	b.Log.Info("running", "addr", b.server.Addr())
	var failure error
	select {
	case <-gctx.Done():
	case err := <-relayDone:
		failure = fmt.Errorf("outbox relay stopped: %w", err)
		relayDone <- nil
		cancel()
	case err := <-routerDone:
		if err != nil {
			failure = fmt.Errorf("event router stopped: %w", err)
		}
		routerDone <- nil
		cancel()
	}
	b.Log.Info("shutting down")
	if err := g.Wait(); err != nil && failure == nil && !errors.Is(err, context.Canceled) {
		failure = err
	}
	// In-flight handlers and jobs finish (their events are committed to the
	// outbox), then the relay publishes what is committed before it stops.
	if err := b.Router.Close(); err != nil {
		b.Log.Warn("router close", "err", err)
	}
	stopRouter()
	<-routerDone
	stopJobs()
	<-jobsDone
	stopRelay()
	<-relayDone
	// The relay publishes what is committed in the partitions this
	// instance owns and deletes it, then the partitions are given back.
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 5*time.Second)
	if !b.relay.Drain(flushCtx) || b.relay.Flush(flushCtx) != nil {
		b.Log.Warn("outbox not empty at shutdown; the next start (or another replica) relays the rest")
	}
	cancelFlush()
	stopOwner()
	<-ownerDone
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

// Close releases connections (Run calls it) and closes the port.
func (b *Base) Close() {
	if b.server != nil {
		b.server.Close()
	}
	if b.NC != nil {
		_ = b.NC.Drain()
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
