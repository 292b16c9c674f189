package bus

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/inbox"
	"github.com/partnerhub/onboarding/pkg/pg"
)

// Config tunes consumption.
type Config struct {
	NATSURL  string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	Replicas int    `env:"NATS_REPLICAS" envDefault:"1"`
	// NATSUser and NATSPassword authenticate the service as its own bus
	// user (see Permissions); empty means an unauthenticated development
	// server.
	NATSUser     string `env:"NATS_USER"`
	NATSPassword string `env:"NATS_PASSWORD"`
	// MaxDeliver bounds deliveries of a failing message before it is
	// dead-lettered (transient errors); bad input is dead-lettered at once.
	MaxDeliver int `env:"BUS_MAX_DELIVER" envDefault:"5"`
	// AckWait is how long JetStream waits for an acknowledgement before it
	// hands the message to another consumer instance: the time to recover
	// what a killed process held. Messages held longer (queued or in a slow
	// handler) are kept alive with in-progress heartbeats.
	AckWait time.Duration `env:"BUS_ACK_WAIT" envDefault:"6s"`
	// NakBase and NakMax bound the exponential redelivery delay.
	NakBase time.Duration `env:"BUS_NAK_BASE" envDefault:"500ms"`
	NakMax  time.Duration `env:"BUS_NAK_MAX" envDefault:"30s"`
	// Prefetch bounds the messages pulled ahead per durable.
	Prefetch int `env:"BUS_PREFETCH" envDefault:"64"`
	// Workers handle one durable's messages concurrently; all messages of a
	// partition key go to the same worker, in stream order.
	Workers int `env:"BUS_WORKERS" envDefault:"4"`
	// Batch bounds the messages a worker handles in one transaction.
	Batch int `env:"BUS_BATCH" envDefault:"32"`
}

// ConnectOptions are the options of every connection of the service: its
// credentials, its private inbox prefix (the only replies its user may
// subscribe to) and a handler that logs permission violations, which NATS
// reports only asynchronously (the denied request just times out).
func (c Config) ConnectOptions() []nats.Option {
	if c.NATSUser == "" {
		return nil
	}
	return []nats.Option{
		nats.UserInfo(c.NATSUser, c.NATSPassword),
		nats.CustomInboxPrefix(InboxPrefix(c.NATSUser)),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{"err", err, "user", c.NATSUser, "connection", nc.Opts.Name}
			if sub != nil {
				attrs = append(attrs, "subject", sub.Subject)
			}
			slog.Default().Error("NATS asynchronous error", attrs...)
		}),
	}
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.NATSURL == "" {
		errs = append(errs, errors.New("NATS_URL is required"))
	}
	if c.MaxDeliver < 1 || c.MaxDeliver > 100 {
		errs = append(errs, errors.New("BUS_MAX_DELIVER must be in [1, 100]"))
	}
	if c.AckWait < time.Second {
		errs = append(errs, errors.New("BUS_ACK_WAIT must be at least 1s"))
	}
	if c.NakBase <= 0 || c.NakMax < c.NakBase {
		errs = append(errs, errors.New("BUS_NAK_BASE must be > 0 and BUS_NAK_MAX >= BUS_NAK_BASE"))
	}
	if c.Prefetch < 1 || c.Prefetch > 1000 {
		errs = append(errs, errors.New("BUS_PREFETCH must be in [1, 1000]"))
	}
	if c.Workers < 1 || c.Workers > 64 {
		errs = append(errs, errors.New("BUS_WORKERS must be in [1, 64]"))
	}
	if c.Batch < 1 || c.Batch > 1000 {
		errs = append(errs, errors.New("BUS_BATCH must be in [1, 1000]"))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, errors.New("NATS_REPLICAS must be in [1, 5]"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	if c.AckWait == 0 {
		c.AckWait = 6 * time.Second
	}
	if c.NakBase == 0 {
		c.NakBase = 500 * time.Millisecond
	}
	if c.NakMax == 0 {
		c.NakMax = 30 * time.Second
	}
	if c.Prefetch == 0 {
		c.Prefetch = 64
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.Batch == 0 {
		c.Batch = 32
	}
	return c
}

// HandlerFunc handles one decoded CloudEvent. Return nil to acknowledge, an
// error to retry (transient) or dead-letter (apperr.Permanent or a
// *ce.DecodeError). When the router has a pool, ctx carries the delivery's
// transaction (pg.TxFrom): what the handler writes through pg.InTx commits
// with the rest of its batch, or is undone alone if the handler fails.
type HandlerFunc func(ctx context.Context, ev ce.Event) error

// Dead-letter headers.
const (
	DLQReason    = "dlq-reason"
	DLQCode      = "dlq-code"
	DLQService   = "dlq-service"
	DLQHandler   = "dlq-handler"
	DLQSubject   = "dlq-subject"
	DLQDelivered = "dlq-delivered"
	DLQTime      = "dlq-time"
)

// CodeSourceMismatch dead-letters an event whose source is not the service
// that owns its subject (defence in depth beside NATS permissions).
const CodeSourceMismatch = "cloudevent.source_mismatch"

// AnyType is the Subscription type that takes every CloudEvents type of its
// filter without a subscription of its own (read models).
const AnyType = "*"

// Subscription is one event type a service consumes: declared once, it is
// what the router runs and what the deployment derives the service's NATS
// permissions and AsyncAPI receive operations from.
type Subscription struct {
	// Type is the CloudEvents type, or AnyType.
	Type string
	// Filter is the subject filter of the durable; default the type's
	// subject. Subscriptions with the same filter share one durable.
	Filter string
	// Inbox names the handler in the inbox: the event's effects and its
	// inbox row commit together, and a redelivery does nothing. Empty: the
	// handler is idempotent by itself.
	Inbox string
	// Handle handles one event.
	Handle HandlerFunc
	// Headers, when set instead of Handle, also gets the message headers
	// (a dead-letter reader takes the dlq-* headers from them).
	Headers HeaderHandlerFunc
	// KeepUndecodable acknowledges messages that are not well-formed
	// CloudEvents instead of dead-lettering them: for a reader of other
	// services' dead letters, which are already dead-lettered.
	KeepUndecodable bool
	// Workers and Batch override the configuration for this durable (a read
	// model that needs no per-partner order takes big batches on one worker).
	Workers, Batch int
}

// HeaderHandlerFunc handles one decoded CloudEvent together with the
// headers of the message that carried it, as received.
type HeaderHandlerFunc func(ctx context.Context, ev ce.Event, headers map[string]string) error

// FilterOf is the durable's subject filter of s.
func (s Subscription) FilterOf() string {
	if s.Filter != "" {
		return s.Filter
	}
	return ce.Topic(s.Type)
}

// Router consumes CloudEvents for one service: one durable per subject
// filter, Workers goroutines per durable with every partition key pinned to
// one of them (so one partner's events are handled one at a time, in stream
// order), and a worker's queued messages handled in one transaction.
type Router struct {
	service string
	cfg     Config
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	pool    *pgxpool.Pool
	subs    map[string]*filterSub
	order   []string
	obs     routerObs
	running chan struct{}
	isRun   atomic.Bool
	closing chan struct{}
	once    sync.Once
	done    chan struct{}
}

type filterSub struct {
	filter   string
	durable  string
	byType   map[string]Subscription
	keepBad  bool
	producer string // the source every event on filter must have ("" = any)
	workers  int
	batch    int
}

// NewRouter builds a router on nc (owned by the router: Close drains it).
// With a pool, every delivery runs in a transaction (see HandlerFunc).
func NewRouter(service string, cfg Config, nc *nats.Conn, pool *pgxpool.Pool, log *slog.Logger) (*Router, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	return &Router{service: service, cfg: cfg.withDefaults(), log: log, nc: nc, js: js, pool: pool,
		subs: map[string]*filterSub{}, running: make(chan struct{}), closing: make(chan struct{}), done: make(chan struct{})}, nil
}

// Add subscribes s.
func (r *Router) Add(subs ...Subscription) {
	for _, s := range subs {
		f := s.FilterOf()
		fs, ok := r.subs[f]
		if !ok {
			fs = &filterSub{filter: f, durable: DurableName(r.service, f), byType: map[string]Subscription{}, producer: OwnerSource(f),
				workers: r.cfg.Workers, batch: r.cfg.Batch}
			r.subs[f] = fs
			r.order = append(r.order, f)
		}
		fs.byType[s.Type] = s
		fs.keepBad = fs.keepBad || s.KeepUndecodable
		if s.Workers > 0 {
			fs.workers = s.Workers
		}
		if s.Batch > 0 {
			fs.batch = s.Batch
		}
	}
}

// On handles one event type on its own subject.
func (r *Router) On(eventType string, h HandlerFunc) {
	r.Add(Subscription{Type: eventType, Handle: h})
}

// Subscribe consumes a subject filter (e.g. "intake.registration.>") with one
// durable and dispatches by CloudEvents type; unknown types are
// dead-lettered with code cloudevent.unknown_type unless the filter has an
// AnyType handler.
func (r *Router) Subscribe(filter string, handlers map[string]HandlerFunc) {
	for t, h := range handlers {
		r.Add(Subscription{Type: t, Filter: filter, Handle: h})
	}
}

// SubscribeAll hands every well-formed CloudEvent on filter to h, whatever
// its type: a read model that must keep types it does not know yet.
func (r *Router) SubscribeAll(filter string, h HandlerFunc) {
	r.Add(Subscription{Type: AnyType, Filter: filter, Handle: h})
}

// SubscribeAllHeaders is SubscribeAll for a handler that needs the message
// headers beside the event.
func (r *Router) SubscribeAllHeaders(filter string, h HeaderHandlerFunc) {
	r.Add(Subscription{Type: AnyType, Filter: filter, Headers: h})
}

// Filters lists the subject filters this router consumes (one durable each).
func (r *Router) Filters() []string { return append([]string(nil), r.order...) }

// OwnerSource is the CloudEvents source every event on a producer stream's
// subjects must have; "" where any source may publish (intake, dead letters).
func OwnerSource(filter string) string {
	s, err := StreamFor(filter)
	if err != nil || s.Name == DeadLetterStream || strings.Contains(s.Producer, " ") {
		return ""
	}
	return "/services/" + s.Producer
}

// Run creates the durables (waiting for the streams while they do not
// exist yet), consumes, and blocks until ctx ends or Close.
func (r *Router) Run(ctx context.Context) error {
	defer close(r.done)
	r.prepareObs()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	consumers := make([]*consumer, 0, len(r.order))
	for _, f := range r.order {
		c, err := r.start(ctx, r.subs[f])
		if err != nil {
			for _, c := range consumers {
				c.stop()
			}
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		consumers = append(consumers, c)
	}
	r.isRun.Store(true)
	close(r.running)
	<-ctx.Done()
	r.isRun.Store(false)
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Add(1)
		go func() { defer wg.Done(); c.stop() }()
	}
	wg.Wait()
	return nil
}

// Running is closed when every durable is consuming.
func (r *Router) Running() chan struct{} { return r.running }

// IsRunning reports readiness.
func (r *Router) IsRunning() bool { return r.isRun.Load() }

// Close stops consuming, lets in-flight handlers finish, hands queued
// messages back to JetStream (another replica takes them at once) and
// drains the connection.
func (r *Router) Close() error {
	r.once.Do(func() { close(r.closing) })
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
	}
	if r.nc.IsClosed() {
		return nil
	}
	return r.nc.Drain()
}

// start creates the durable of fs (retrying while its stream is missing or
// the server is unavailable, so that a service started before the streams
// job waits instead of exiting) and starts consuming it.
func (r *Router) start(ctx context.Context, fs *filterSub) (*consumer, error) {
	var cons jetstream.Consumer
	for attempt := 0; ; attempt++ {
		var err error
		cons, err = r.durable(ctx, fs)
		if err == nil {
			break
		}
		if !transientJS(err) || ctx.Err() != nil {
			return nil, err
		}
		wait := min(250*time.Millisecond<<min(attempt, 5), 5*time.Second)
		r.log.Warn("waiting for JetStream to create a durable", "durable", fs.durable, "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	c := &consumer{r: r, fs: fs, held: map[jetstream.Msg]time.Time{}, workers: make([]chan jetstream.Msg, fs.workers)}
	for i := range c.workers {
		c.workers[i] = make(chan jetstream.Msg, max(r.cfg.Prefetch, fs.batch))
		c.wg.Add(1)
		go c.work(c.workers[i])
	}
	c.hbStop = make(chan struct{})
	c.wg.Add(1)
	go c.heartbeat()
	cc, err := cons.Consume(c.receive, jetstream.PullMaxMessages(max(r.cfg.Prefetch, fs.batch)),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if !errors.Is(err, jetstream.ErrNoHeartbeat) || r.nc.IsConnected() {
				r.log.Debug("consume", "durable", fs.durable, "err", err)
			}
		}))
	if err != nil {
		c.closeWorkers()
		return nil, fmt.Errorf("consume %s: %w", fs.durable, err)
	}
	c.cc = cc
	return c, nil
}

func transientJS(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrConnectionReconnecting)
}

// durable creates the real durable consumer of (service, filter) and never
// deletes it.
func (r *Router) durable(ctx context.Context, fs *filterSub) (jetstream.Consumer, error) {
	s, err := StreamFor(fs.filter)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := r.js.Stream(ctx, s.Name)
	if err != nil {
		return nil, fmt.Errorf("stream %s for %s: %w", s.Name, fs.filter, err)
	}
	c, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       fs.durable,
		FilterSubject: fs.filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		// The router dead-letters at MaxDeliver; the server bound is a
		// safety net a little above it.
		MaxDeliver:    r.cfg.MaxDeliver + 2,
		MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("durable %s: %w", fs.durable, err)
	}
	return c, nil
}

// consumer is one running durable.
type consumer struct {
	r       *Router
	fs      *filterSub
	cc      jetstream.ConsumeContext
	workers []chan jetstream.Msg
	wg      sync.WaitGroup
	mu      sync.Mutex
	held    map[jetstream.Msg]time.Time // received, not yet acked or nacked
	stopped atomic.Bool
	hbStop  chan struct{}
}

// receive runs on the consume goroutine, in stream order: it pins the
// message to the worker of its partition key.
func (c *consumer) receive(msg jetstream.Msg) {
	if c.stopped.Load() {
		_ = msg.Nak() // handed back at once: another replica takes it
		return
	}
	c.mu.Lock()
	c.held[msg] = time.Now()
	c.mu.Unlock()
	h := msg.Headers()
	key := h.Get(ce.HPartitionKey)
	if key == "" {
		key = h.Get(ce.HSubject)
	}
	if key == "" {
		key = msg.Subject() + h.Get(ce.HID)
	}
	f := fnv.New32a()
	_, _ = f.Write([]byte(key))
	c.workers[f.Sum32()%uint32(len(c.workers))] <- msg
}

func (c *consumer) release(msg jetstream.Msg) {
	c.mu.Lock()
	delete(c.held, msg)
	c.mu.Unlock()
}

// heartbeat keeps messages held longer than a third of AckWait (queued
// behind others, or in a slow handler) from being redelivered elsewhere.
func (c *consumer) heartbeat() {
	defer c.wg.Done()
	every := c.r.cfg.AckWait / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.hbStop:
			return
		case now := <-t.C:
			c.mu.Lock()
			var late []jetstream.Msg
			for m, since := range c.held {
				if now.Sub(since) >= every {
					late = append(late, m)
				}
			}
			c.mu.Unlock()
			for _, m := range late {
				_ = m.InProgress()
			}
		}
	}
}

// stop stops pulling, lets the workers finish what they hold (queued
// messages are handed back with a nak) and waits for them.
func (c *consumer) stop() {
	c.stopped.Store(true)
	if c.cc != nil {
		c.cc.Stop()
		select {
		case <-c.cc.Closed():
		case <-time.After(5 * time.Second):
		}
	}
	c.closeWorkers()
}

func (c *consumer) closeWorkers() {
	for _, w := range c.workers {
		close(w)
	}
	close(c.hbStop)
	c.wg.Wait()
}

// work handles the messages of one worker: whatever is queued when it
// starts, up to Batch, in one transaction.
func (c *consumer) work(in chan jetstream.Msg) {
	defer c.wg.Done()
	batch := make([]jetstream.Msg, 0, c.fs.batch)
	for msg := range in {
		batch = append(batch[:0], msg)
	fill:
		for len(batch) < c.fs.batch {
			select {
			case m, ok := <-in:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		if c.stopped.Load() {
			for _, m := range batch {
				_ = m.Nak()
				c.release(m)
			}
			continue
		}
		c.handle(batch)
	}
}

// delivery is one message of a batch and what became of it.
type delivery struct {
	msg       jetstream.Msg
	headers   map[string]string
	delivered uint64
	ev        ce.Event
	sub       Subscription
	err       error // the handler's (or decoding's) error
	obs       *deliveryObs
}

// handle runs a batch: decode, then every message in one transaction, each
// in a savepoint (a failing one is undone alone); after the commit, acks,
// retries and dead letters. When the transaction itself fails, each message
// is tried again in a transaction of its own.
func (c *consumer) handle(batch []jetstream.Msg) {
	ds := make([]*delivery, 0, len(batch))
	var todo []*delivery
	for _, m := range batch {
		d := c.decode(m)
		ds = append(ds, d)
		if d.err == nil {
			todo = append(todo, d)
		}
	}
	if len(todo) > 0 {
		if err := c.inTx(todo); err != nil && len(todo) > 1 {
			c.r.log.Warn("batch transaction failed; handling its events one by one", "durable", c.fs.durable, "events", len(todo), "err", err)
			for _, d := range todo {
				if err := c.inTx([]*delivery{d}); err != nil && d.err == nil {
					d.err = err
				}
			}
		} else if err != nil && todo[0].err == nil {
			todo[0].err = err
		}
	}
	for _, d := range ds {
		c.settle(d)
	}
}

// decode reads the message's CloudEvent and picks its subscription.
func (c *consumer) decode(m jetstream.Msg) *delivery {
	d := &delivery{msg: m, headers: make(map[string]string, len(m.Headers())+2)}
	for k, v := range m.Headers() {
		switch k {
		case nats.MsgIdHdr, nats.ExpectedLastMsgIdHdr, nats.ExpectedStreamHdr, nats.ExpectedLastSubjSeqHdr, nats.ExpectedLastSeqHdr:
			continue
		}
		if len(v) > 0 {
			d.headers[k] = v[0]
		}
	}
	if md, err := m.Metadata(); err == nil {
		d.delivered = md.NumDelivered
	}
	d.obs = c.r.observeStart(c.fs, d)
	ev, err := ce.Decode(d.headers, m.Data())
	if err != nil {
		d.err = err
		return d
	}
	d.ev = ev
	if c.fs.producer != "" && ev.Source != c.fs.producer {
		d.err = &ce.DecodeError{Code: CodeSourceMismatch,
			Detail: fmt.Sprintf("source %q on %s, which only %s publishes", ev.Source, m.Subject(), c.fs.producer)}
		return d
	}
	s, ok := c.fs.byType[ev.Type]
	if !ok {
		s, ok = c.fs.byType[AnyType]
	}
	if !ok {
		d.err = &ce.DecodeError{Code: ce.CodeUnknownType, Detail: fmt.Sprintf("no handler for type %q on %s", ev.Type, m.Subject())}
		return d
	}
	d.sub = s
	return d
}

// inTx handles ds in one transaction (none without a pool). Handler errors
// are recorded on each delivery; the returned error is the transaction's.
func (c *consumer) inTx(ds []*delivery) error {
	ctx := context.Background()
	if c.r.pool == nil {
		for _, d := range ds {
			d.err = c.call(ctx, d)
		}
		return nil
	}
	// Lock partners in one order in every batch: two batches touching the
	// same partners cannot deadlock.
	slices.SortStableFunc(ds, func(a, b *delivery) int { return strings.Compare(a.ev.PartitionKey, b.ev.PartitionKey) })
	tctx, tx, err := pg.Begin(ctx, c.r.pool)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after commit
	for _, d := range ds {
		d.err = pg.Nested(tctx, c.r.pool, func(ctx context.Context, _ pgx.Tx) error { return c.call(ctx, d) })
		if d.err != nil && tx.Conn().IsClosed() {
			return d.err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		for _, d := range ds {
			if d.err == nil {
				d.err = err
			}
		}
		return err
	}
	return nil
}

// call runs the handler of d (with the inbox when declared), recovering a
// panic as an error.
func (c *consumer) call(ctx context.Context, d *delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.r.log.Error("handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()), "durable", c.fs.durable)
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	ctx = ce.WithCause(d.obs.ctx(ctx), ce.CauseOf(d.ev))
	handle := func(ctx context.Context) error {
		if d.sub.Headers != nil {
			return d.sub.Headers(ctx, d.ev, withoutRouterHeaders(d.headers))
		}
		return d.sub.Handle(ctx, d.ev)
	}
	start := time.Now()
	if d.sub.Inbox != "" && c.r.pool != nil {
		err = inbox.Once(ctx, c.r.pool, d.sub.Inbox, d.ev, func(ctx context.Context, _ pgx.Tx) error { return handle(ctx) })
	} else {
		err = handle(ctx)
	}
	lvl := slog.LevelDebug
	if err != nil {
		lvl = slog.LevelWarn
	}
	c.r.log.Log(ctx, lvl, "handled event", "type", d.ev.Type, "id", d.ev.ID, "subject", d.ev.Subject,
		"delivered", d.delivered, "duration_ms", time.Since(start).Milliseconds(), "err", err)
	return err
}

func withoutRouterHeaders(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = v
	}
	return out
}

func permanent(err error) bool {
	var de *ce.DecodeError
	return errors.As(err, &de) || apperr.Permanent(err)
}

// settle acknowledges d, or redelivers it later, or dead-letters it.
func (c *consumer) settle(d *delivery) {
	defer c.release(d.msg)
	err := d.err
	if err == nil {
		_ = d.msg.Ack()
		d.obs.end(outcomeAck, "", nil)
		return
	}
	var de *ce.DecodeError
	if c.fs.keepBad && errors.As(err, &de) {
		// Already a dead letter of another service: kept, not dead-lettered again.
		c.r.log.Debug("skipped an undecodable message", "durable", c.fs.durable, "subject", d.msg.Subject(), "err", err)
		_ = d.msg.Ack()
		d.obs.end(outcomeAck, "", nil)
		return
	}
	if !permanent(err) && int(d.delivered) < c.r.cfg.MaxDeliver {
		_ = d.msg.NakWithDelay(c.r.nakDelay(d.delivered))
		d.obs.end(outcomeRetry, "", err)
		return
	}
	code := "handler.failed"
	if errors.As(err, &de) {
		code = de.Code
	} else if ae, ok := apperr.As(err); ok {
		code = ae.Code
	} else if int(d.delivered) >= c.r.cfg.MaxDeliver {
		code = "handler.max_deliveries"
	}
	if perr := c.r.deadLetter(d, c.fs.durable, code, err); perr != nil {
		c.r.log.Error("dead-letter publish failed; message will be redelivered", "err", perr, "code", code)
		_ = d.msg.NakWithDelay(c.r.nakDelay(d.delivered))
		d.obs.end(outcomeRetry, "", errors.Join(err, perr))
		return
	}
	_ = d.msg.Ack()
	d.obs.end(outcomeDeadLetter, code, err)
	c.r.log.Warn("dead-lettered message", "code", code, "reason", err.Error(), "handler", c.fs.durable,
		"subject", d.msg.Subject(), "ce_id", d.headers[ce.HID], "delivered", d.delivered)
}

func (r *Router) nakDelay(delivered uint64) time.Duration {
	d := r.cfg.NakBase
	for i := uint64(1); i < delivered && d < r.cfg.NakMax; i++ {
		d *= 2
	}
	return min(d, r.cfg.NakMax)
}

// deadLetter publishes d to deadletter.<service> with the reason.
func (r *Router) deadLetter(d *delivery, durable, code string, err error) error {
	// A fresh but deterministic id: dedupes our own retries of this
	// publish, never collides with another service's dead letter.
	origID := d.headers[ce.HID]
	if origID == "" {
		if md, e := d.msg.Metadata(); e == nil {
			origID = strconv.FormatUint(md.Sequence.Stream, 10)
		}
	}
	id := uuid.NewHash(sha1.New(), uuid.NameSpaceOID, []byte(r.service+"|"+d.msg.Subject()+"|"+origID), 5).String()
	dl := nats.NewMsg(DeadLetterSubject(r.service))
	dl.Data = d.msg.Data()
	for k, v := range d.headers {
		dl.Header[k] = []string{v}
	}
	set := func(k, v string) { dl.Header[k] = []string{v} }
	set(DLQReason, truncate(err.Error(), 1024))
	set(DLQCode, code)
	set(DLQService, r.service)
	set(DLQHandler, durable)
	set(DLQSubject, d.msg.Subject())
	set(DLQDelivered, strconv.FormatUint(d.delivered, 10))
	set(DLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, perr := r.js.PublishMsg(ctx, dl, jetstream.WithMsgID(id))
	return perr
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
