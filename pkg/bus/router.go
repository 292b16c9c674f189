package bus

import (
	"cmp"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
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
	"github.com/partnerhub/onboarding/pkg/normalize"
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
	AckWait time.Duration `env:"BUS_ACK_WAIT" envDefault:"3s"`
	// NakBase and NakMax bound the exponential redelivery delay.
	NakBase time.Duration `env:"BUS_NAK_BASE" envDefault:"500ms"`
	NakMax  time.Duration `env:"BUS_NAK_MAX" envDefault:"30s"`
	// Prefetch bounds the messages pulled ahead per durable.
	Prefetch int `env:"BUS_PREFETCH" envDefault:"64"`
	// Workers handle one subscription's messages concurrently; all messages
	// of a partition key go to the same worker, in stream order.
	Workers int `env:"BUS_WORKERS" envDefault:"4"`
	// Rebalance is how often an instance checks how many instances of its
	// service run and takes or gives back partitions to own its share.
	Rebalance time.Duration `env:"BUS_REBALANCE" envDefault:"2s"`
	// Batch bounds the messages a worker handles in one transaction. A
	// subscription whose handler acts outside the database (sends mail)
	// sets Batch 1: a batch that fails is handled again event by event.
	Batch int `env:"BUS_BATCH" envDefault:"32"`
	// Durables is where JetStream keeps the service's durables: memory
	// (their ack floors copied to the service's database every
	// FloorInterval, a lost durable created again from there) or file.
	Durables string `env:"BUS_DURABLES" envDefault:"memory"`
	// FloorInterval is how often the ack floors of the durables that
	// settled messages are copied: what a server restart makes the
	// service receive again (its inbox makes that a no-op).
	FloorInterval time.Duration `env:"BUS_FLOOR_INTERVAL" envDefault:"5s"`
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
	// Zero Workers, Batch and Rebalance take their defaults.
	if c.Workers < 0 || c.Workers > 64 {
		errs = append(errs, errors.New("BUS_WORKERS must be in [1, 64]"))
	}
	if c.Batch < 0 || c.Batch > 1000 {
		errs = append(errs, errors.New("BUS_BATCH must be in [1, 1000]"))
	}
	if c.Rebalance != 0 && (c.Rebalance < 100*time.Millisecond || c.Rebalance > time.Minute) {
		errs = append(errs, errors.New("BUS_REBALANCE must be in [100ms, 1m]"))
	}
	if c.Durables != "" && c.Durables != StorageMemory && c.Durables != StorageFile {
		errs = append(errs, errors.New("BUS_DURABLES must be memory or file"))
	}
	if c.FloorInterval != 0 && (c.FloorInterval < 100*time.Millisecond || c.FloorInterval > time.Minute) {
		errs = append(errs, errors.New("BUS_FLOOR_INTERVAL must be in [100ms, 1m]"))
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
		c.AckWait = 3 * time.Second
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
	if c.Durables == "" {
		c.Durables = StorageMemory
	}
	if c.FloorInterval == 0 {
		c.FloorInterval = 5 * time.Second
	}
	if c.Rebalance == 0 {
		c.Rebalance = 2 * time.Second
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

// CodeIDReused is the code an event is answered with by a Subscription's
// Reused handler (ErrIDReused).
const CodeIDReused = "cloudevent.id_reused"

// ErrIDReused is what a Reused handler answers ev with: its id was handled
// before with other data, and nothing was done with this one.
func ErrIDReused(ev ce.Event) error {
	return apperr.Conflict(CodeIDReused, "an event with id "+ev.ID+" from "+ev.Source+
		" was handled before with other data, so nothing was done with this one: publish it with an id of its own (an event's id is unique per source)")
}

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
	// Shared makes every replica pull from one durable instead of owning
	// partitions: for a read model that needs no per-partner order (intake
	// and dead-letter filters are always shared).
	Shared bool
	// Workers and Batch override the configuration for this filter (a read
	// model that needs no per-partner order takes big batches on one worker).
	Workers, Batch int
	// Reused, when set (with an Inbox), runs instead of dropping an event
	// whose id the inbox processed before with other content (type and
	// data): its publisher reused an id, and this content was never
	// handled. It runs once per content, in the transaction of its batch,
	// like a handler. For subscriptions whose publishers are outside
	// (intake), which are owed an answer; without it such an event is
	// dropped like a redelivery.
	Reused HandlerFunc
	// Linger lets this filter's messages wait up to this long after they
	// were received for company before their worker handles them: a read
	// model or projection off the critical path then shares a transaction
	// instead of taking one of its own. An event of the same partner that
	// may not wait (a subscription without a Linger, the default) takes the
	// partner's lingering events along at once, in its transaction, after
	// them; the lingering events of other partners wait on, and those still
	// waiting are handled together when the first deadline comes or the
	// batch is full. So lingering never delays an urgent event, nor puts
	// another partner's work in front of it. It is for subscriptions no one
	// waits on.
	Linger time.Duration
	// Replaces is the filter this subscription's durable read before it
	// was given its filter (a wider one on the same stream, say), so that
	// the change does not read the stream again from its beginning: when
	// the durable does not exist yet, it is created from where the
	// replaced durable's ack floor stands (on the server, or as recorded
	// in bus_floors, whichever is further; the recorded floor is copied
	// to the new durable), and the replaced durable is deleted once no
	// instance pulls from it (see retire). Events on the new filter's
	// other subjects published before that floor are not read: declare it
	// only when there are none.
	Replaces string
}

// ReadModelLinger is the Linger of a read model off every critical path:
// long enough to gather the bursts of several onboardings' events (they
// come a few milliseconds apart), short against what anyone reading it
// waits.
const ReadModelLinger = 50 * time.Millisecond

// ProjectionLinger is the Linger of a projection or bookkeeping event that
// shares its workers with urgent subscriptions and that nothing waits on at
// once (a contact kept for the mails to come): it rides in the transaction
// of its partner's next urgent event when that comes within this long (in
// an onboarding it usually does), else it is handled with the other
// lingering events of its worker.
const ProjectionLinger = 150 * time.Millisecond

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

// Router consumes CloudEvents for one service.
//
// A subscription on a producer stream is consumed partition by partition
// (see Partitions): each instance of the service owns a share of the
// partitions (Postgres advisory locks, rebalanced as instances come and go)
// and pulls only from their durables, so two instances never hold events of
// the same partner at once. Whatever is pulled goes to Workers goroutines
// shared by every subscription of the router with the same Workers and
// Batch, every partition key pinned to one of them, so one partner's
// events are handled one at a time (each durable's in stream order) while
// other partners' are handled concurrently; a worker handles what it has
// queued, whichever durables it came from, in one transaction.
// Shared subscriptions (intake, dead letters, read models) use one durable
// that every instance pulls from.
type Router struct {
	service string
	cfg     Config
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	pool    *pgxpool.Pool
	subs    map[string]*subscription
	order   []string
	obs     routerObs
	// handedBackHere: durable name → handBack, what this instance handed
	// back last (recordHandBack).
	handedBackHere sync.Map
	running        chan struct{}
	isRun          atomic.Bool
	closing        chan struct{}
	once           sync.Once
	done           chan struct{}
	owner          *Owner
	ownRun         bool // the router runs its owner (none was given)
	fl             floors

	pmu     sync.Mutex
	parted  []*subscription         // the partitioned subscriptions, once Run built them
	started bool                    // Run built them
	taken   map[int]context.Context // partitions taken before Run built them
}

// NewRouter builds a router on nc (owned by the router: Close drains it).
// With a pool, every delivery runs in a transaction (see HandlerFunc) and
// instances share partitions through it; without one, the router owns
// every partition.
func NewRouter(service string, cfg Config, nc *nats.Conn, pool *pgxpool.Pool, log *slog.Logger) (*Router, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	r := &Router{service: service, cfg: cfg.withDefaults(), log: log, nc: nc, js: js, pool: pool,
		fl:   floors{tracked: map[string]*pulled{}},
		subs: map[string]*subscription{}, running: make(chan struct{}), closing: make(chan struct{}), done: make(chan struct{})}
	nc.SetDisconnectErrHandler(func(c *nats.Conn, err error) {
		if err == nil || c.IsClosed() || c.IsDraining() {
			return // closed by this process (shutdown), not lost
		}
		log.Warn("NATS connection lost; consumers wait for it", "err", err)
	})
	nc.SetReconnectHandler(func(*nats.Conn) { r.reconnected() })
	return r, nil
}

// Add subscribes s.
func (r *Router) Add(subs ...Subscription) {
	for _, s := range subs {
		if s.Reused != nil && s.Inbox == "" {
			panic("bus: subscription " + s.Type + " has Reused without an Inbox")
		}
		f := s.FilterOf()
		if s.Replaces != "" {
			from, err1 := StreamFor(s.Replaces)
			to, err2 := StreamFor(f)
			if err1 != nil || err2 != nil || from.Name != to.Name || s.Replaces == f {
				panic("bus: subscription " + s.Type + " replaces " + s.Replaces + ", not another filter of its stream")
			}
		}
		fs, ok := r.subs[f]
		if !ok {
			fs = &subscription{r: r, filter: f, durable: DurableName(r.service, f), byType: map[string]Subscription{},
				producer: OwnerSource(f), workers: r.cfg.Workers, batch: r.cfg.Batch,
				held: map[jetstream.Msg]held{}, pulls: map[int]*pulled{}}
			r.subs[f] = fs
			r.order = append(r.order, f)
		}
		fs.byType[s.Type] = s
		fs.keepBad = fs.keepBad || s.KeepUndecodable
		fs.shared = fs.shared || s.Shared
		if s.Workers > 0 {
			fs.workers = s.Workers
		}
		if s.Batch > 0 {
			fs.batch = s.Batch
		}
		fs.linger = max(fs.linger, s.Linger)
		if s.Replaces != "" {
			fs.replaces = s.Replaces
		}
	}
}

// On handles one event type on its own subject.
func (r *Router) On(eventType string, h HandlerFunc) {
	r.Add(Subscription{Type: eventType, Handle: h})
}

// Subscribe consumes a subject filter (e.g. "intake.registration.>") and
// dispatches by CloudEvents type; unknown types are dead-lettered with code
// cloudevent.unknown_type unless the filter has an AnyType handler.
func (r *Router) Subscribe(filter string, handlers map[string]HandlerFunc) {
	for t, h := range handlers {
		r.Add(Subscription{Type: t, Filter: filter, Handle: h})
	}
}

// SubscribeAll hands every well-formed CloudEvent on filter to h, whatever
// its type: a read model that must keep types it does not know yet. It
// needs no per-partner order: its durable is shared.
func (r *Router) SubscribeAll(filter string, h HandlerFunc) {
	r.Add(Subscription{Type: AnyType, Filter: filter, Handle: h, Shared: true})
}

// SubscribeAllHeaders is SubscribeAll for a handler that needs the message
// headers beside the event.
func (r *Router) SubscribeAllHeaders(filter string, h HeaderHandlerFunc) {
	r.Add(Subscription{Type: AnyType, Filter: filter, Headers: h, Shared: true})
}

// Durables lists the filters this router consumes, as the server sees them.
func (r *Router) Durables() []Durable {
	out := make([]Durable, 0, len(r.order))
	for _, f := range r.order {
		out = append(out, Durable{Filter: f, Shared: r.subs[f].shared})
	}
	return out
}

// Owned is how many partitions this instance consumes now.
func (r *Router) Owned() int {
	if r.owner == nil {
		return 0
	}
	return len(r.owner.Owned())
}

// UseOwner makes the router consume the partitions o assigns to this
// instance (the platform shares one owner between the router and the
// outbox relay, and runs it). Without one, Run runs its own. Call before Run.
func (r *Router) UseOwner(o *Owner) {
	r.owner = o
	o.Join(r)
}

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
	r.buildWorkers()
	floorsDone := make(chan struct{})
	if r.memory() {
		r.Prepare(ctx)
		go func() { defer close(floorsDone); r.keepFloors(ctx) }()
	} else {
		close(floorsDone)
	}
	defer func() {
		// What was settled last is recorded before the service stops.
		<-floorsDone
		if r.memory() {
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.recordFloors(fctx); err != nil {
				r.log.Warn("cannot record the durables' ack floors at shutdown", "err", err)
			}
		}
	}()
	for _, f := range r.order {
		s := r.subs[f]
		if !(Durable{Filter: f, Shared: s.shared}).Partitioned() {
			if err := s.pull(ctx, -1); err != nil {
				r.stopAll()
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			continue
		}
		r.pmu.Lock()
		r.parted = append(r.parted, s)
		r.pmu.Unlock()
	}
	// Partitions the owner assigned before the subscriptions were built.
	r.pmu.Lock()
	r.started = true
	taken := r.taken
	r.taken = nil
	r.pmu.Unlock()
	for p, pctx := range taken {
		r.TakePartition(pctx, p, true)
	}
	ownDone := make(chan struct{})
	if r.owner == nil && len(r.parted) > 0 {
		r.owner, r.ownRun = NewOwner(r.service, r.pool, r.cfg, r.log), true
		r.owner.Join(r)
	}
	if r.ownRun {
		go func() {
			defer close(ownDone)
			_ = r.owner.Run(ctx)
		}()
	} else {
		close(ownDone)
	}
	if r.owner != nil && len(r.parted) > 0 { // read after Run built it
		select {
		case <-r.owner.Ready():
		case <-ctx.Done():
		}
	}
	r.isRun.Store(true)
	close(r.running)
	<-ctx.Done()
	r.isRun.Store(false)
	// Queued messages are handed back at once, in-flight ones finish, then
	// the pulls stop (the partitions stay owned until the owner closes).
	for _, f := range r.order {
		r.subs[f].stopped.Store(true)
	}
	<-ownDone
	r.stopAll()
	return nil
}

// TakePartition starts pulling partition p of every partitioned
// subscription: at once when no durable of p has unacknowledged
// deliveries, or only ones an instance handed back when it gave p up
// (they are redelivered first), so that readiness means consuming;
// otherwise (safe: an instance died holding them) in the background after
// the ack wait, when they are due again, so that they are handled before
// anything newer of the same partners.
func (r *Router) TakePartition(ctx context.Context, p int, safe bool) {
	r.pmu.Lock()
	if !r.started {
		if r.taken == nil {
			r.taken = map[int]context.Context{}
		}
		r.taken[p] = ctx
		r.pmu.Unlock()
		return
	}
	parted := r.parted
	r.pmu.Unlock()
	// The durables are looked up (and created or moved) several at once:
	// one after the other, a service of many subscriptions (the notifier:
	// 29) took 0.5-0.7 s of JetStream requests to pull a partition again
	// after a database restart, which every event of it waited for.
	pull := func(sorted bool) {
		forEach(parted, func(s *subscription) bool {
			if err := s.pullAgain(ctx, p, nil, sorted); err != nil && ctx.Err() == nil {
				r.log.Error("cannot pull a partition", "durable", s.durable, "partition", p, "err", err)
			}
			return false
		})
	}
	if !safe || !r.inFlight(ctx, parted, p) {
		r.log.Debug("taking a partition", "partition", p, "safe", safe)
		pull(false)
		return
	}
	go func() {
		r.log.Info("took over a partition with deliveries in flight; waiting for them to come back", "partition", p)
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.cfg.AckWait + 500*time.Millisecond):
		}
		pull(true)
	}()
}

// GivePartition stops pulling partition p and lets what is held of it settle.
func (r *Router) GivePartition(p int) {
	r.pmu.Lock()
	delete(r.taken, p)
	parted := r.parted
	r.pmu.Unlock()
	var wg sync.WaitGroup
	for _, s := range parted {
		wg.Add(1)
		go func() { defer wg.Done(); s.unpull(p) }()
	}
	wg.Wait()
}

// inFlight reports whether a durable of partition p has deliveries not
// acknowledged yet that its last owner did not hand back.
func (r *Router) inFlight(ctx context.Context, parted []*subscription, p int) bool {
	return forEach(parted, func(s *subscription) bool {
		name, filter := s.names(p)
		st, err := StreamFor(filter)
		if err != nil {
			return false
		}
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		c, err := r.js.Consumer(ictx, st.Name, name) // its info, as the server has it now
		if err != nil {
			return false
		}
		info := c.CachedInfo()
		if info.NumAckPending == 0 {
			return false
		}
		back := r.handedBack(ictx, name, info)
		r.log.Debug("a partition's durable has deliveries pending", "durable", name, "ack_pending", info.NumAckPending,
			"redelivered", info.NumRedelivered, "delivered", info.Delivered.Consumer, "handed_back", back)
		return !back
	})
}

// partitionRequests bounds the JetStream requests a partition's take sends
// at once.
const partitionRequests = 8

// forEach runs fn on every subscription, partitionRequests at a time, and
// reports whether fn returned true for any.
func forEach(subs []*subscription, fn func(*subscription) bool) bool {
	var (
		wg    sync.WaitGroup
		found atomic.Bool
	)
	sem := make(chan struct{}, partitionRequests)
	for _, s := range subs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if fn(s) {
				found.Store(true)
			}
		}()
	}
	wg.Wait()
	return found.Load()
}

// The hand-back record (bus_handbacks): an instance that gave a partition
// up cleanly — drained its pull, and everything it held of the partition
// handled or handed back with a nak — writes where the partition's durable
// stood, before it frees the partition. What the durable has pending then
// is due again at once (a nak, or a failed handler's retry delay), and is
// redelivered before anything newer. The next owner, finding deliveries
// pending, pulls at once when the durable has delivered nothing since;
// otherwise someone may have died holding deliveries, and it waits them
// out. Graceful stops and rebalances under load (the client prefetches, and
// hands the prefetched back) used to stall the partition for the ack wait.
const recordHandBackSQL = `INSERT INTO bus_handbacks (durable, delivered, consumer_created) VALUES ($1, $2, $3)
	ON CONFLICT (durable) DO UPDATE SET delivered = excluded.delivered,
		consumer_created = excluded.consumer_created, handed_back_at = now()`

// handBack is where a durable stood when a partition was handed back.
type handBack struct{ delivered, created int64 }

// recordHandBack writes pl's durable's hand-back record, and remembers it:
// the partitions an instance gave up because its partition session was
// lost (Postgres restarting) are most often taken again by the same
// instance, before the database answers the write; without a database, or
// when it does not answer, another next owner waits.
func (r *Router) recordHandBack(pl *pulled) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := pl.cons.Info(ctx)
	if err != nil {
		r.log.Debug("cannot record a hand-back; the next owner of the partition waits out the ack wait", "durable", pl.name, "err", err)
		return
	}
	h := handBack{int64(info.Delivered.Consumer), info.Created.UnixNano()}
	r.handedBackHere.Store(pl.name, h)
	r.log.Debug("handed a partition's durable back", "durable", pl.name, "delivered", h.delivered, "ack_pending", info.NumAckPending)
	if r.pool == nil {
		return
	}
	if _, err = r.pool.Exec(ctx, recordHandBackSQL, pl.name, h.delivered, h.created); err != nil {
		r.log.Debug("cannot record a hand-back; another next owner of the partition waits out the ack wait", "durable", pl.name, "err", err)
	}
}

// handedBack reports whether what durable name has pending was handed
// back by its last owner: it delivered nothing since (and is the same
// durable, not one created again). This instance's own hand-backs are
// known without the database.
func (r *Router) handedBack(ctx context.Context, name string, info *jetstream.ConsumerInfo) bool {
	same := func(h handBack) bool {
		return uint64(h.delivered) == info.Delivered.Consumer && h.created == info.Created.UnixNano()
	}
	if h, ok := r.handedBackHere.Load(name); ok && same(h.(handBack)) {
		return true
	}
	if r.pool == nil {
		return false
	}
	var h handBack
	err := r.pool.QueryRow(ctx, `SELECT delivered, consumer_created FROM bus_handbacks WHERE durable = $1`, name).Scan(&h.delivered, &h.created)
	return err == nil && same(h)
}

// stopAll stops every pull and waits for the workers.
func (r *Router) stopAll() {
	var wg sync.WaitGroup
	for _, f := range r.order {
		s := r.subs[f]
		wg.Add(1)
		go func() { defer wg.Done(); s.stop() }()
	}
	wg.Wait()
}

// Running is closed when the shared durables are consuming and the first
// partition assignment is done.
func (r *Router) Running() chan struct{} { return r.running }

// IsRunning reports readiness.
func (r *Router) IsRunning() bool { return r.isRun.Load() }

// Close stops consuming, lets in-flight handlers finish, hands queued
// messages back to JetStream (another instance takes them at once), gives
// up its partitions and drains the connection.
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

func transientJS(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrConnectionReconnecting)
}

// subscription is the running side of one filter: its pulls (one per owned
// partition, or one shared), its workers and the messages it holds.
type subscription struct {
	r        *Router
	filter   string
	durable  string // the base name; partition p's is durable + "_p<p>"
	byType   map[string]Subscription
	keepBad  bool
	shared   bool
	producer string // the source every event on filter must have ("" = any)
	workers  int
	batch    int
	linger   time.Duration
	replaces string // the filter whose durable this one took over ("" = none)

	w        *workers // shared with the router's other subscriptions of the same settings
	wg       sync.WaitGroup
	mu       sync.Mutex
	held     map[jetstream.Msg]held // received, not yet acked or nacked
	received uint64                 // messages received so far (held.n)
	pulls    map[int]*pulled
	stopped  atomic.Bool
	hbStop   chan struct{}
	// beat serialises in-progress marks: a heartbeat's, oldest first, and
	// a message's received within the ack wait after one (lastBeat).
	beat     sync.Mutex
	lastBeat time.Time
}

type held struct {
	since     time.Time
	partition int
	n         uint64 // the order it was received in (the durable's order within a pull)
}

func (s *subscription) startHeartbeat() {
	s.hbStop = make(chan struct{})
	s.wg.Add(1)
	go s.heartbeat()
}

// workers handle the messages of every subscription of a router that has
// the same Workers and Batch: each partition key is pinned to one
// worker whatever durable its event came from, so one partner's events are
// handled one at a time across all the service's subscriptions (in the
// order they were received), and a worker's batch (one transaction) may
// mix event types, where one worker per durable made a transaction per
// durable.
type workers struct {
	r      *Router
	batch  int
	queues []chan queued
	wg     sync.WaitGroup

	mu    sync.Mutex
	users int           // subscriptions not stopped yet
	done  chan struct{} // closed when the last user stopped and the workers ended
}

// queued is a received message, the subscription that received it, its
// partition key and when it arrived.
type queued struct {
	msg jetstream.Msg
	s   *subscription
	key string
	at  time.Time
}

// lingers reports whether q may wait for company: its subscription has a
// Linger and is not stopping.
func (q queued) lingers() bool { return q.s.linger > 0 && !q.s.stopped.Load() }

// until is when q stops waiting for company.
func (q queued) until() time.Time { return q.at.Add(q.s.linger) }

type workerKey struct{ n, batch int }

// buildWorkers gives every subscription its workers: one set per distinct
// (Workers, Batch), started here. Lingering subscriptions share them with
// urgent ones: their events ride with their partner's next urgent event.
func (r *Router) buildWorkers() {
	sets := map[workerKey]*workers{}
	for _, f := range r.order {
		s := r.subs[f]
		k := workerKey{s.workers, s.batch}
		w, ok := sets[k]
		if !ok {
			w = &workers{r: r, batch: s.batch, queues: make([]chan queued, s.workers), done: make(chan struct{})}
			for i := range w.queues {
				w.queues[i] = make(chan queued, max(r.cfg.Prefetch, s.batch))
				w.wg.Add(1)
				go w.work(w.queues[i])
			}
			sets[k] = w
		}
		w.users++
		s.w = w
		s.startHeartbeat()
	}
}

// leave is called by each user once it stopped pulling: the last closes
// the queues; every user waits until the workers ended (what was queued
// for a stopped subscription is handed back, in-flight batches finish).
func (w *workers) leave() {
	w.mu.Lock()
	w.users--
	last := w.users == 0
	w.mu.Unlock()
	if last {
		for _, q := range w.queues {
			close(q)
		}
		w.wg.Wait()
		close(w.done)
	}
	<-w.done
}

// names are the durable name and filter of partition p (-1: shared).
func (s *subscription) names(p int) (string, string) {
	if p < 0 {
		return s.durable, s.filter
	}
	return PartitionDurable(s.r.service, s.filter, p), PartitionFilter(s.filter, p)
}

// replaced is the name of the durable of partition p (-1: shared) that
// partition's durable took over (see Subscription.Replaces); "" if none.
func (s *subscription) replaced(p int) string {
	switch {
	case s.replaces == "":
		return ""
	case p < 0:
		return DurableName(s.r.service, s.replaces)
	default:
		return PartitionDurable(s.r.service, s.replaces, p)
	}
}

// pull creates the durable of partition p (retrying while its stream is
// missing or the server is unavailable, so that a service started before
// the streams job waits instead of exiting) and starts pulling from it.
func (s *subscription) pull(ctx context.Context, p int) error {
	return s.pullAgain(ctx, p, nil, false)
}

// pullAgain is pull; with old set, it replaces old's pull (a durable the
// server lost) only if old is still partition p's: one given away
// meanwhile stays given.
func (s *subscription) pullAgain(ctx context.Context, p int, old *pulled, sorted bool) error {
	name, filter := s.names(p)
	var cons jetstream.Consumer
	var created time.Time
	for attempt := 0; ; attempt++ {
		var err error
		cons, created, err = s.r.durable(ctx, name, filter, s.replaced(p))
		if err == nil {
			break
		}
		if !transientJS(err) || ctx.Err() != nil {
			return err
		}
		wait := min(250*time.Millisecond<<min(attempt, 5), 5*time.Second)
		s.r.log.Warn("waiting for JetStream to create a durable", "durable", name, "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	pl := &pulled{name: name, stream: cons.CachedInfo().Stream, created: created, ctx: ctx, cons: cons}
	if sorted {
		// Taken over from an instance that died holding deliveries.
		pl.redelivered = newRedelivered(func(m jetstream.Msg) { s.receive(m, p) })
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if pl.giving.Load() || s.stopped.Load() {
			// Prefetched for a partition given up, or by a subscription
			// that stops (it gives every partition up next): handed back
			// once the pull is closed, and then redelivered at once, to its
			// next owner (see unpull).
			if !pl.keepBack(m) {
				s.r.log.Debug("a closed pull received a delivery; it is redelivered after the ack wait", "durable", name, "subject", m.Subject())
			}
			return
		}
		if pl.redelivered != nil {
			pl.redelivered.receive(m)
			return
		}
		s.receive(m, p)
	}, jetstream.PullMaxMessages(max(s.r.cfg.Prefetch, s.batch)),
		// An idle pull is renewed every pullExpiry, with a heartbeat every
		// 30 s (the client's cap), instead of every 30 s with one every
		// 15 s: a service has dozens of durables (one per partition), and
		// their keep-alives were most of nats-server's idle work.
		jetstream.PullExpiry(pullExpiry),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.r.log.Debug("consume", "durable", name, "err", err)
			if s.r.memory() && lostDurable(err) && !s.stopped.Load() {
				s.r.lost(pl)
			}
		}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", name, err)
	}
	pl.cc = cc
	s.mu.Lock()
	if old != nil && s.pulls[p] != old {
		s.mu.Unlock()
		cc.Stop()
		return nil
	}
	s.pulls[p] = pl
	s.mu.Unlock()
	s.r.fl.mu.Lock()
	s.r.fl.tracked[name] = pl
	s.r.fl.mu.Unlock()
	return nil
}

// unpull stops pulling partition p and waits until the messages of p it
// holds are settled (handled, or handed back).
func (s *subscription) unpull(p int) {
	s.mu.Lock()
	pl := s.pulls[p]
	delete(s.pulls, p)
	s.mu.Unlock()
	if pl == nil {
		return
	}
	// Drain, not Stop: Stop discards the messages the client has prefetched
	// without a word, and they stay pending on the server for the ack wait
	// — the next owner of the partition (this instance again, after a lost
	// session) then waits that long before it pulls. Drained, they are
	// handed back at once — once the pull is closed: handed back while it
	// drained, a message went straight back to the pull still open on the
	// server, to be handed back again, and again: seven deliveries within
	// 2 ms used up the durable's MaxDeliver and the server dropped the
	// event, neither handled nor dead-lettered (pkg/bus
	// TestAnInstanceOutlivesTheEndOfItsPartitionSession, in CI).
	pl.giving.Store(true)
	if pl.redelivered != nil {
		for _, m := range pl.redelivered.takeAll() {
			pl.keepBack(m)
		}
	}
	pl.cc.Drain()
	drained := true
	select {
	case <-pl.cc.Closed():
	case <-time.After(5 * time.Second):
		drained = false
	}
	if !drained {
		s.r.log.Debug("a given-up partition's pull did not drain within 5 s", "durable", pl.name)
	}
	deadline := time.Now().Add(s.r.cfg.AckWait)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := 0
		for _, h := range s.held {
			if h.partition == p {
				n++
			}
		}
		s.mu.Unlock()
		if n == 0 {
			s.handBackKept(pl, p)
			if drained && p >= 0 {
				s.r.recordHandBack(pl)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	// What is held now is redelivered after its ack wait; what came after
	// it waits as long (handed back, it would be redelivered first).
	kept := pl.takeBack()
	s.r.log.Debug("a given-up partition's deliveries were not settled within the ack wait", "durable", pl.name, "kept", len(kept))
}

// handBackKept hands back what pl received while its partition was given
// up, in stream order, after everything received before it was settled.
func (s *subscription) handBackKept(pl *pulled, p int) {
	last := pl.cons.CachedInfo().Config.MaxDeliver
	for _, m := range pl.takeBack() {
		if md, err := m.Metadata(); err == nil && last > 0 && int(md.NumDelivered) >= last {
			s.deadLetterHandedBack(m)
			continue
		}
		s.handBack(m, p)
	}
}

// CodeLastDeliveryHandedBack is the dead-letter code of an event handed
// back (its partition given up, its router stopping) on the last delivery
// its durable makes (MaxDeliver): the server would not deliver it again,
// and dropped it without a word. It was not handled: replay it.
const CodeLastDeliveryHandedBack = "bus.last_delivery_handed_back"

// deadLetterHandedBack dead-letters m, to be handed back on its durable's
// last delivery, instead of letting the server drop it.
func (s *subscription) deadLetterHandedBack(m jetstream.Msg) {
	d := &delivery{s: s, msg: m, headers: deliveryHeaders(m)}
	if md, err := m.Metadata(); err == nil {
		d.delivered = md.NumDelivered
	}
	d.obs = s.r.observeStart(s, d)
	err := fmt.Errorf("handed back on delivery %d, the last its durable makes: not handled here, not delivered again", d.delivered)
	if perr := s.r.deadLetter(d, s.durable, CodeLastDeliveryHandedBack, err); perr != nil {
		s.r.log.Error("dead-letter publish failed; the event handed back on its last delivery is dropped by the server", "handler", s.durable, "subject", m.Subject(), "err", perr)
		_ = m.Nak()
		d.obs.end(outcomeRetry, "", errors.Join(err, perr))
		return
	}
	_ = m.Ack()
	d.obs.end(outcomeDeadLetter, CodeLastDeliveryHandedBack, err)
	s.r.log.Warn("dead-lettered message", "code", CodeLastDeliveryHandedBack, "reason", err.Error(), "handler", s.durable,
		"subject", m.Subject(), "ce_id", d.headers[ce.HID], "delivered", d.delivered)
}

// pullExpiry is how long a pull request of an idle durable waits on the
// server before the client renews it.
const pullExpiry = 2 * time.Minute

// receive runs on a pull's goroutine, in stream order: it pins the
// message to the worker of its partition key.
func (s *subscription) receive(msg jetstream.Msg, p int) {
	s.mu.Lock()
	s.received++
	now := time.Now()
	s.held[msg] = held{since: now, partition: p, n: s.received}
	s.mu.Unlock()
	s.markIfBeaten(msg, now)
	h := msg.Headers()
	key := h.Get(ce.HPartitionKey)
	if key == "" {
		key = h.Get(ce.HSubject)
	}
	if key == "" {
		key = msg.Subject() + h.Get(ce.HID)
	}
	s.w.queues[KeyHash(key)%uint32(len(s.w.queues))] <- queued{msg: msg, s: s, key: key, at: time.Now()}
}

// handBack returns msg, received by partition p's pull (-1: shared) but
// not to be handled here, to the server for redelivery at once. The server
// redelivers what was handed back in the order of the naks, before
// anything newer; the workers hand back, in the order received, what they
// had queued for a stopped subscription, so msg — received after all of
// it — waits until nothing of p is held any more (handled, or handed back)
// first. Nak'd at once, it went back ahead of what was queued: the next
// owner handled a partner's newer event before its older ones.
func (s *subscription) handBack(msg jetstream.Msg, p int) {
	deadline := time.Now().Add(s.r.cfg.AckWait)
	for time.Now().Before(deadline) && s.holds(p) {
		time.Sleep(5 * time.Millisecond)
	}
	err := msg.Nak()
	if s.r.log.Enabled(context.Background(), slog.LevelDebug) {
		var seq uint64
		if md, merr := msg.Metadata(); merr == nil {
			seq = md.Sequence.Stream
		}
		s.r.log.Debug("handed a delivery back", "subject", msg.Subject(), "stream_seq", seq, "partition", p, "err", err)
	}
}

// holds reports whether s holds a message of partition p.
func (s *subscription) holds(p int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.held {
		if h.partition == p {
			return true
		}
	}
	return false
}

// release forgets msg, settled or handed back: its durable's ack floor
// may have moved.
func (s *subscription) release(msg jetstream.Msg) {
	s.mu.Lock()
	if h, ok := s.held[msg]; ok {
		if pl := s.pulls[h.partition]; pl != nil {
			pl.settled.Store(true)
		}
		delete(s.held, msg)
	}
	s.mu.Unlock()
}

// heartbeat keeps messages held longer than a third of AckWait (queued
// behind others, or in a slow handler) from being redelivered elsewhere.
func (s *subscription) heartbeat() {
	defer s.wg.Done()
	every := s.r.cfg.AckWait / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.hbStop:
			return
		case now := <-t.C:
			s.beat.Lock()
			s.mu.Lock()
			due := heartbeats(s.held, now, every)
			s.mu.Unlock()
			for _, m := range due {
				_ = m.InProgress()
			}
			if len(due) > 0 {
				s.lastBeat = now
			}
			s.beat.Unlock()
		}
	}
}

// markIfBeaten marks msg, just received, in progress when a heartbeat
// went out within the ack wait: the server may have delivered msg before
// that heartbeat while the client still held it in its buffer, so the
// heartbeat missed it and gave the older messages a later ack deadline
// than msg's. If this instance then died, JetStream redelivered msg — a
// partner's newer event — before them (TestPartitionsOfACrashedInstanceAreTakenOver,
// once under CI load, after the heartbeat rule below). Marked after the
// heartbeat's marks, msg's deadline is never the earlier one. Without a
// recent heartbeat (the usual case) nothing is sent.
func (s *subscription) markIfBeaten(msg jetstream.Msg, now time.Time) {
	s.beat.Lock()
	defer s.beat.Unlock()
	if beaten(s.lastBeat, now, s.r.cfg.AckWait) {
		_ = msg.InProgress()
	}
}

// beaten reports whether a heartbeat sent at last may have extended a held
// message's ack deadline beyond that of a message received now.
func beaten(last, now time.Time, ackWait time.Duration) bool {
	return !last.IsZero() && now.Sub(last) < ackWait
}

// heartbeats are the held messages to mark in progress at a tick: none
// while every one is younger than every (its own ack wait still runs),
// else all of them, oldest first. A message's ack deadline is then its last
// heartbeat's or its delivery's plus the ack wait, never earlier for a later
// message of the durable: if this instance dies, JetStream redelivers what
// it held in the order it was delivered (it queues expired messages by
// sequence within one check, but a message whose deadline ran out in an
// earlier check goes first). Marking only the old ones let a younger
// message held behind a partner's long-running event expire before it, and
// the next owner handled the partner's newer event first.
func heartbeats(hs map[jetstream.Msg]held, now time.Time, every time.Duration) []jetstream.Msg {
	late := false
	all := make([]jetstream.Msg, 0, len(hs))
	for m, h := range hs {
		late = late || now.Sub(h.since) >= every
		all = append(all, m)
	}
	if !late {
		return nil
	}
	slices.SortFunc(all, func(a, b jetstream.Msg) int { return cmp.Compare(hs[a].n, hs[b].n) })
	return all
}

// stop stops every pull, lets the workers finish what they hold (queued
// messages are handed back with a nak) and waits for them.
func (s *subscription) stop() {
	s.stopped.Store(true)
	s.mu.Lock()
	var ps []int
	for p := range s.pulls {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	// Each pull ends as a partition given up does (unpull): drained, what
	// the client buffered handed back in order, what was held settled, the
	// hand-back recorded. A service stops its router before its partition
	// owner gives the partitions back; with Stop, what the client had
	// prefetched stayed pending on the server until the ack wait, and the
	// next owner (the restarted instance, in a rolling deploy) waited that
	// long before it pulled: 7 s stalls in BENCH_RESTART runs.
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); s.unpull(p) }()
	}
	wg.Wait()
	if s.w == nil {
		return
	}
	s.w.leave()
	close(s.hbStop)
	s.wg.Wait()
	s.w = nil
}

// work handles the messages of one worker. An event that may not wait is
// handled at once with what else is queued (up to Batch, one transaction),
// taking along the lingering events of its own partner, which came first;
// the lingering events of other partners wait on, together, until the
// earliest of their deadlines or a full batch (see gather).
func (w *workers) work(in chan queued) {
	defer w.wg.Done()
	var held []queued
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	arrived := make([]queued, 0, w.batch)
	for {
		var expired <-chan time.Time
		if len(held) > 0 {
			expired = timer.C
		}
		select {
		case q, ok := <-in:
			if !ok {
				w.run(held)
				return
			}
			arrived = append(arrived[:0], q)
		fill:
			for len(arrived) < w.batch {
				select {
				case m, ok := <-in:
					if !ok {
						break fill
					}
					arrived = append(arrived, m)
				default:
					break fill
				}
			}
		case <-expired:
			w.run(held)
			held = nil
			continue
		}
		timer.Stop()
		var now []queued
		now, held = gather(held, arrived)
		for len(now) > 0 {
			n := min(len(now), w.batch)
			w.run(now[:n])
			now = now[n:]
		}
		if len(held) >= w.batch {
			w.run(held)
			held = nil
		}
		if len(held) > 0 {
			wait := time.Until(deadline(held))
			if wait <= 0 {
				w.run(held)
				held = nil
				continue
			}
			timer.Reset(wait)
		}
	}
}

// gather splits what a worker holds into what it handles now and what
// lingers on. held are the lingering events still waiting, arrived those
// received since, each in arrival order. Now: every arrived event that may
// not wait (no Linger, or its subscription is stopping, so that what it
// received goes back at once) and every event, held or arrived, of those
// events' partners, in arrival order (a partner's earlier events go first
// and all commit together). The rest waits: another partner's lingering
// events never ride in front of an urgent event, so their work does not
// land on its path.
func gather(held, arrived []queued) (now, wait []queued) {
	if len(held) == 0 && !slices.ContainsFunc(arrived, queued.lingers) {
		return arrived, nil // no linger involved: the common case, no allocation
	}
	urgent := map[string]bool{}
	for _, q := range arrived {
		if !q.lingers() {
			urgent[q.key] = true
		}
	}
	for _, q := range held {
		if urgent[q.key] {
			now = append(now, q)
		} else {
			wait = append(wait, q)
		}
	}
	for _, q := range arrived {
		if urgent[q.key] || !q.lingers() {
			now = append(now, q)
		} else {
			wait = append(wait, q)
		}
	}
	return now, wait
}

// deadline is when the first of the waiting events stops waiting.
func deadline(wait []queued) time.Time {
	d := wait[0].until()
	for _, q := range wait[1:] {
		if u := q.until(); u.Before(d) {
			d = u
		}
	}
	return d
}

// run handles a batch; what a stopped subscription received goes back at
// once (another instance takes it).
func (w *workers) run(batch []queued) {
	live := batch[:0]
	for _, q := range batch {
		if q.s.stopped.Load() {
			_ = q.msg.Nak()
			q.s.release(q.msg)
			continue
		}
		live = append(live, q)
	}
	if len(live) > 0 {
		w.handle(live)
	}
}

// delivery is one message of a batch and what became of it.
type delivery struct {
	s         *subscription // that received it
	msg       jetstream.Msg
	headers   map[string]string
	delivered uint64
	ev        ce.Event
	sub       Subscription
	processed bool  // the inbox has it: processed before, its handler does not run
	reused    bool  // processed before with other content: Subscription.Reused runs instead
	err       error // the handler's (or decoding's) error
	obs       *deliveryObs
}

// handle runs a batch: decode, then every message in one transaction,
// all or nothing; when a handler fails (or the commit does), each message
// is handled again in a transaction of its own, so that one failure costs
// its batch a second try, never a lost or duplicated effect. Then acks,
// retries and dead letters.
func (w *workers) handle(batch []queued) {
	ds := make([]*delivery, 0, len(batch))
	var todo []*delivery
	for _, q := range batch {
		d := q.s.decode(q.msg)
		ds = append(ds, d)
		if d.err == nil {
			todo = append(todo, d)
		}
	}
	if len(todo) > 0 {
		w.r.inTxs(todo)
		w.awaitDatabase(todo)
	}
	for _, d := range ds {
		d.s.settle(d)
	}
}

// awaitDatabase handles again, in place, the deliveries that failed
// because the database could not be reached (restarting, failing over, out
// of connections: pg.Unavailable), until it answers or their subscription
// stops. The outage is not the events' fault: redelivered, they spent
// their deliveries within seconds and were dead-lettered, to be replayed by
// hand. Held here they keep their order (the worker holds its partition's
// later events behind them) and their ack wait (the heartbeat).
func (w *workers) awaitDatabase(ds []*delivery) {
	since := time.Now()
	for attempt := uint64(1); ; attempt++ {
		var down []*delivery
		for _, d := range ds {
			if d.err != nil && pg.Unavailable(d.err) && !d.s.stopped.Load() {
				down = append(down, d)
			}
		}
		if len(down) == 0 {
			if attempt > 1 {
				w.r.log.Info("database answers again; held events handled", "events", len(ds), "waited_ms", time.Since(since).Milliseconds())
			}
			return
		}
		if attempt == 1 {
			w.r.log.Warn("database unavailable; holding events until it answers", "events", len(down), "durable", down[0].s.durable, "err", down[0].err)
		}
		wait := time.Now().Add(databaseRetry(int(attempt)))
		for time.Now().Before(wait) && !slices.ContainsFunc(down, func(d *delivery) bool { return d.s.stopped.Load() }) {
			time.Sleep(min(100*time.Millisecond, time.Until(wait)))
		}
		w.r.inTxs(down)
	}
}

// deadLetterID is the Nats-Msg-Id of d's dead letter: one per stream
// message and consumer. The same message delivered to the consumer again
// (our own retry of the publish, or a durable re-created from an ack floor
// that lagged behind the dead-lettering) gives the same id, which the
// DEADLETTER stream drops within its duplicate window; the same event
// published again — an operator's replay of the dead letter, a producer's
// second publish — is another stream message and, failing again, another
// dead letter. Round 27's id was the event's id, so a replay that failed
// again within the window was dropped and the dead letter list did not
// change, as if the replay had worked.
func deadLetterID(service, durable string, d *delivery) string {
	key := service + "|" + durable + "|"
	if md, err := d.msg.Metadata(); err == nil {
		key += md.Stream + "|" + strconv.FormatUint(md.Sequence.Stream, 10)
	} else {
		key += d.msg.Subject() + "|" + d.headers[ce.HID]
	}
	return uuid.NewHash(sha1.New(), uuid.NameSpaceOID, []byte(key), 5).String()
}

// deliveryHeaders are m's headers, each one's first value, without the
// broker's publish headers.
func deliveryHeaders(m jetstream.Msg) map[string]string {
	h := make(map[string]string, len(m.Headers())+2)
	for k, v := range m.Headers() {
		switch k {
		case nats.MsgIdHdr, nats.ExpectedLastMsgIdHdr, nats.ExpectedStreamHdr, nats.ExpectedLastSubjSeqHdr, nats.ExpectedLastSeqHdr:
			continue
		}
		if len(v) > 0 {
			h[k] = v[0]
		}
	}
	return h
}

// decode reads the message's CloudEvent and picks its subscription.
func (s *subscription) decode(m jetstream.Msg) *delivery {
	d := &delivery{s: s, msg: m, headers: deliveryHeaders(m)}
	if md, err := m.Metadata(); err == nil {
		d.delivered = md.NumDelivered
	}
	d.obs = s.r.observeStart(s, d)
	ev, err := ce.Decode(d.headers, m.Data())
	if err != nil {
		d.err = err
		return d
	}
	ev.Publisher = IntakePublisher(m.Subject())
	d.ev = ev
	if s.producer != "" && ev.Source != s.producer {
		d.err = &ce.DecodeError{Code: CodeSourceMismatch,
			Detail: fmt.Sprintf("source %q on %s, which only %s publishes", ev.Source, m.Subject(), s.producer)}
		return d
	}
	sub, ok := s.byType[ev.Type]
	if !ok {
		sub, ok = s.byType[AnyType]
	}
	if !ok {
		d.err = &ce.DecodeError{Code: ce.CodeUnknownType, Detail: fmt.Sprintf("no handler for type %q on %s", ev.Type, m.Subject())}
		return d
	}
	d.sub = sub
	return d
}

// errProcessedBefore: the inbox claim sent with the first handler's first
// statement found that handler's event processed before. The handler has
// begun, so the transaction is undone and the batch runs again with its
// claim first.
var errProcessedBefore = errors.New("bus: event processed before")

// inTxs handles ds in one transaction whose inbox claim goes out with the
// first handler's first statement (no round trip of its own). When that
// handler's event proves processed before, ds run again with the claim
// first; when a handler fails (or the commit does), each delivery runs in a
// transaction of its own, so that one failure costs its batch a second try,
// never a lost or duplicated effect.
func (r *Router) inTxs(ds []*delivery) {
	err := r.inTx(ds, true)
	if errors.Is(err, errProcessedBefore) {
		err = r.inTx(ds, false)
	}
	switch {
	case err == nil:
	case len(ds) == 1 || pg.Unavailable(err):
		// The database is away: every event waits for it, in order
		// (awaitDatabase), rather than some being tried alone.
		for _, d := range ds {
			d.err = err
		}
	default:
		r.log.Debug("batch transaction failed; handling its events one by one", "durable", ds[0].s.durable, "events", len(ds), "err", err)
		// ds are in partner order (inTx sorted them, stably). A partner
		// whose event found the database away has its later events wait
		// with it: tried alone, one of them could commit first when the
		// database came back between the two.
		var away map[string]error
		for _, d := range ds {
			if e, ok := away[d.ev.PartitionKey]; ok {
				d.err = e
				continue
			}
			if d.err = r.inTx([]*delivery{d}, false); pg.Unavailable(d.err) {
				if away == nil {
					away = map[string]error{}
				}
				away[d.ev.PartitionKey] = d.err
			}
		}
	}
}

// inTx handles ds in one transaction (each on its own without a pool):
// the first handler error, or the commit's, rolls the whole transaction
// back and is returned (and recorded on the delivery that failed). The
// events of subscriptions with an inbox are claimed in one statement: sent
// ahead of the first handler's first statement when ahead is set, before
// any handler runs otherwise.
func (r *Router) inTx(ds []*delivery, ahead bool) error {
	for _, d := range ds {
		d.err, d.processed = nil, false
	}
	ctx := context.Background()
	if r.pool == nil {
		var first error
		for _, d := range ds {
			if d.err = d.s.call(ctx, d); d.err != nil && first == nil {
				first = d.err
			}
		}
		return first
	}
	// Lock partners in one order in every batch: two batches touching the
	// same partners cannot deadlock.
	slices.SortStableFunc(ds, func(a, b *delivery) int { return strings.Compare(a.ev.PartitionKey, b.ev.PartitionKey) })
	tctx, tx, err := pg.Begin(ctx, r.pool)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after commit
	first := ds[0]
	if err := claim(tctx, tx, ds, ahead, first); err != nil {
		return err
	}
	// With the claim ahead, the first handler runs before its event is
	// known to be fresh: when it is not, everything is undone.
	undo := func() bool { return ahead && first.processed }
	for i, d := range ds {
		if i == 1 {
			// Only the first handler runs before the claim is known.
			if err := tx.SendAhead(tctx); err != nil {
				return err
			}
		}
		if err := d.s.call(tctx, d); err != nil {
			if undo() {
				return errProcessedBefore
			}
			d.err = err
			return err
		}
	}
	if err := tx.SendAhead(tctx); err != nil { // the first handler sent nothing
		return err
	}
	if undo() {
		return errProcessedBefore
	}
	return tx.Commit(ctx)
}

// claim records in the inbox, in one statement, the events of ds whose
// subscriptions declare one, and marks those already processed: their
// handlers will not run. With ahead, the statement is queued to go out with
// the transaction's first statement, and fails it when first's event is
// among those processed.
func claim(ctx context.Context, tx *pg.Tx, ds []*delivery, ahead bool, first *delivery) error {
	var keys []inbox.Key
	var claiming []*delivery
	for _, d := range ds {
		if d.sub.Inbox != "" {
			k := inbox.Key{Handler: d.sub.Inbox, Source: d.ev.Source, ID: d.ev.ID, Type: d.ev.Type}
			if d.sub.Reused != nil {
				k.Digest = inbox.Digest(d.ev.Type, d.ev.Data)
			}
			keys = append(keys, k)
			claiming = append(claiming, d)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	mark := func(found []inbox.Claimed) {
		for i, d := range claiming {
			d.processed, d.reused = found[i] != inbox.Fresh, found[i] == inbox.Reused
		}
	}
	if ahead {
		b := &pgx.Batch{}
		inbox.QueueClaim(b, keys, func(found []inbox.Claimed) error {
			mark(found)
			if first.processed {
				return errProcessedBefore
			}
			return nil
		})
		tx.Ahead(b)
		return nil
	}
	found, err := inbox.Claim(ctx, tx, keys)
	if err != nil {
		return err
	}
	mark(found)
	return nil
}

// call runs the handler of d unless the inbox found d processed before,
// recovering a panic as an error.
func (s *subscription) call(ctx context.Context, d *delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.r.log.Error("handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()), "durable", s.durable)
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
	switch {
	case d.reused:
		err = d.sub.Reused(ctx, d.ev)
	case !d.processed:
		err = handle(ctx)
	}
	lvl := slog.LevelDebug
	if err != nil && (!d.processed || d.reused) { // processed: the claim sent with its first statement failed it
		lvl = slog.LevelWarn
	}
	if s.r.log.Enabled(ctx, lvl) { // the arguments cost allocations on every delivery
		s.r.log.Log(ctx, lvl, "handled event", "type", d.ev.Type, "id", d.ev.ID, "subject", d.ev.Subject,
			"delivered", d.delivered, "processed_before", d.processed, "duration_ms", time.Since(start).Milliseconds(), "err", err)
	}
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
func (s *subscription) settle(d *delivery) {
	defer s.release(d.msg)
	err := d.err
	if err == nil {
		_ = d.msg.Ack()
		d.obs.end(outcomeAck, "", nil)
		return
	}
	var de *ce.DecodeError
	if s.keepBad && errors.As(err, &de) {
		// Already a dead letter of another service: kept, not dead-lettered again.
		s.r.log.Debug("skipped an undecodable message", "durable", s.durable, "subject", d.msg.Subject(), "err", err)
		_ = d.msg.Ack()
		d.obs.end(outcomeAck, "", nil)
		return
	}
	awaiting := isAwaiting(err)
	if !permanent(err) && (int(d.delivered) < s.r.maxDeliver(awaiting) || pg.Unavailable(err)) {
		// An unreachable database here means the subscription stopped
		// while it waited (awaitDatabase): never the event's fault.
		_ = d.msg.NakWithDelay(s.r.retryDelay(d.delivered, awaiting))
		d.obs.end(outcomeRetry, "", err)
		return
	}
	code := "handler.failed"
	if errors.As(err, &de) {
		code = de.Code
	} else if ae, ok := apperr.As(err); ok {
		code = ae.Code
	} else if int(d.delivered) >= s.r.maxDeliver(awaiting) {
		code = "handler.max_deliveries"
	}
	if perr := s.r.deadLetter(d, s.durable, code, err); perr != nil {
		s.r.log.Error("dead-letter publish failed; message will be redelivered", "err", perr, "code", code)
		_ = d.msg.NakWithDelay(s.r.nakDelay(d.delivered))
		d.obs.end(outcomeRetry, "", errors.Join(err, perr))
		return
	}
	_ = d.msg.Ack()
	d.obs.end(outcomeDeadLetter, code, err)
	s.r.log.Warn("dead-lettered message", "code", code, "reason", err.Error(), "handler", s.durable,
		"subject", d.msg.Subject(), "ce_id", d.headers[ce.HID], "delivered", d.delivered)
}

// awaitingRetries are the quick redeliveries an awaiting event gets before
// the usual backoff (Awaiting), on top of MaxDeliver.
const awaitingRetries = 2

// maxDeliver is how many deliveries a failing event gets before it is
// dead-lettered.
func (r *Router) maxDeliver(awaiting bool) int {
	if awaiting {
		return r.cfg.MaxDeliver + awaitingRetries
	}
	return r.cfg.MaxDeliver
}

// retryDelay is how long a failed delivery waits for its next: the usual
// backoff, after a tenth and then two fifths of NakBase for an awaiting
// event (50 and 200 ms by default).
func (r *Router) retryDelay(delivered uint64, awaiting bool) time.Duration {
	if !awaiting {
		return r.nakDelay(delivered)
	}
	switch delivered {
	case 1:
		return max(r.cfg.NakBase/10, time.Millisecond)
	case 2:
		return max(r.cfg.NakBase*2/5, time.Millisecond)
	}
	return r.nakDelay(delivered - awaitingRetries)
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
	id := deadLetterID(r.service, durable, d)
	dl := nats.NewMsg(DeadLetterSubject(r.service))
	dl.Data = d.msg.Data()
	for k, v := range d.headers {
		dl.Header[k] = []string{v}
	}
	set := func(k, v string) { dl.Header[k] = []string{v} }
	set(DLQReason, normalize.Clip(err.Error(), 1024))
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
