package bus

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/ce"
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
	MaxDeliver int           `env:"BUS_MAX_DELIVER" envDefault:"5"`
	AckWait    time.Duration `env:"BUS_ACK_WAIT" envDefault:"30s"`
	// NakBase and NakMax bound the exponential redelivery delay.
	NakBase time.Duration `env:"BUS_NAK_BASE" envDefault:"500ms"`
	NakMax  time.Duration `env:"BUS_NAK_MAX" envDefault:"30s"`
	// Prefetch bounds buffered messages per consumer (keep it small:
	// buffered messages age towards AckWait).
	Prefetch int `env:"BUS_PREFETCH" envDefault:"16"`
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
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, errors.New("NATS_REPLICAS must be in [1, 5]"))
	}
	return errors.Join(errs...)
}

// HandlerFunc handles one decoded CloudEvent. Return nil to acknowledge, an
// error to retry (transient) or dead-letter (apperr.Permanent or a
// *ce.DecodeError).
type HandlerFunc func(ctx context.Context, ev ce.Event) error

// Metadata keys the unmarshaler adds (never CloudEvent attributes).
const (
	mdDelivered = "x-bus-delivered"
	mdSubject   = "x-bus-subject"
)

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

// Router consumes CloudEvents for one service.
type Router struct {
	service string
	cfg     Config
	log     *slog.Logger
	wlog    watermill.LoggerAdapter
	router  *message.Router
	sub     *wmjs.Subscriber
	dlq     message.Publisher
	subs    map[string]map[string]HandlerFunc
	order   []string
	obs     routerObs
}

// NewRouter builds a router; subNC and dlqNC must be distinct connections
// owned by the router (it drains and closes them).
func NewRouter(service string, cfg Config, subNC, dlqNC *nats.Conn, log *slog.Logger) (*Router, error) {
	wlog := WatermillLogger(log)
	r := &Router{service: service, cfg: cfg, log: log, wlog: wlog, subs: map[string]map[string]HandlerFunc{}}
	var err error
	r.dlq, err = NewPublisher(dlqNC, wlog)
	if err != nil {
		return nil, err
	}
	r.sub, err = wmjs.NewSubscriber(wmjs.SubscriberConfig{
		Conn:                subNC,
		Logger:              wlog,
		AckWaitTimeout:      cfg.AckWait,
		ResourceInitializer: r.durable,
		NakDelay:            backoff{base: cfg.NakBase, max: cfg.NakMax},
		Unmarshaler:         unmarshaler{},
		ConsumeOptions:      []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(cfg.Prefetch)},
	})
	if err != nil {
		return nil, err
	}
	r.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, wlog)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// On handles one event type on its own subject.
func (r *Router) On(eventType string, h HandlerFunc) {
	r.Subscribe(ce.Topic(eventType), map[string]HandlerFunc{eventType: h})
}

// AnyType is the handler key that matches every CloudEvents type without
// its own handler on a filter (see SubscribeAll).
const AnyType = "*"

// Subscribe consumes a subject filter (e.g. "intake.registration.>") with one
// durable and dispatches by CloudEvents type; unknown types are
// dead-lettered with code cloudevent.unknown_type unless the filter has an
// AnyType handler.
func (r *Router) Subscribe(filter string, handlers map[string]HandlerFunc) {
	if _, ok := r.subs[filter]; !ok {
		r.order = append(r.order, filter)
		r.subs[filter] = map[string]HandlerFunc{}
	}
	for t, h := range handlers {
		r.subs[filter][t] = h
	}
}

// SubscribeAll consumes a subject filter (e.g. "registration.>") with one
// durable and hands every well-formed CloudEvent to h, whatever its type: a
// read model that must keep types it does not know yet (forward
// compatibility) uses it. Malformed messages are still dead-lettered.
func (r *Router) SubscribeAll(filter string, h HandlerFunc) {
	r.Subscribe(filter, map[string]HandlerFunc{AnyType: h})
}

// HeaderHandlerFunc handles one decoded CloudEvent together with the
// headers of the message that carried it, as received (the ce-* attributes
// and any other header, e.g. the dlq-* headers of a dead letter).
type HeaderHandlerFunc func(ctx context.Context, ev ce.Event, headers map[string]string) error

// SubscribeAllHeaders is SubscribeAll for a handler that needs the message
// headers beside the event: a consumer of dead letters (subject
// deadletter.<service>) reads why the event was refused from the dlq-*
// headers, which the CloudEvent does not carry.
func (r *Router) SubscribeAllHeaders(filter string, h HeaderHandlerFunc) {
	r.SubscribeAll(filter, func(ctx context.Context, ev ce.Event) error {
		received, _ := ctx.Value(headersKey{}).(map[string]string)
		headers := make(map[string]string, len(received))
		for k, v := range received {
			if k != mdDelivered && k != mdSubject {
				headers[k] = v
			}
		}
		return h(ctx, ev, headers)
	})
}

// headersKey carries the decoded message's headers to SubscribeAllHeaders.
type headersKey struct{}

// Filters lists the subject filters this router consumes (one durable each).
func (r *Router) Filters() []string { return append([]string(nil), r.order...) }

// Run starts consuming and blocks until ctx ends or Close.
func (r *Router) Run(ctx context.Context) error {
	if r.cfg.NATSUser != "" {
		// Fail at start with the cause rather than a durable-creation timeout.
		if err := CheckConsumes(r.cfg.NATSUser, r.order); err != nil {
			return err
		}
	}
	r.prepareObs()
	r.router.AddMiddleware(
		r.observe,
		r.deadLetter,
		middleware.Retry{
			MaxRetries: 2, InitialInterval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond, Multiplier: 2,
			ShouldRetry: func(p middleware.RetryParams) bool { return !permanent(p.Err) },
			Logger:      r.wlog,
		}.Middleware,
		r.recoverer,
	)
	for _, filter := range r.order {
		handlers := r.subs[filter]
		name := DurableName(r.service, filter)
		r.router.AddConsumerHandler(name, filter, r.sub, func(msg *message.Message) error {
			return r.dispatch(msg, handlers)
		})
	}
	return r.router.Run(ctx)
}

// Running is closed when every handler is consuming.
func (r *Router) Running() chan struct{} { return r.router.Running() }

// IsRunning reports readiness.
func (r *Router) IsRunning() bool { return r.router.IsRunning() }

// Close stops consuming, lets in-flight handlers finish and drains NATS.
func (r *Router) Close() error {
	err := r.router.Close()
	return errors.Join(err, r.dlq.Close())
}

func (r *Router) dispatch(msg *message.Message, handlers map[string]HandlerFunc) error {
	headers := make(map[string]string, len(msg.Metadata))
	for k, v := range msg.Metadata {
		headers[k] = v
	}
	ev, err := ce.Decode(headers, msg.Payload)
	if err != nil {
		return err
	}
	h, ok := handlers[ev.Type]
	if !ok {
		h, ok = handlers[AnyType]
	}
	if !ok {
		return &ce.DecodeError{Code: ce.CodeUnknownType, Detail: fmt.Sprintf("no handler for type %q on %s", ev.Type, msg.Metadata.Get(mdSubject))}
	}
	ctx := ce.WithCause(context.WithValue(msg.Context(), headersKey{}, headers), ce.CauseOf(ev))
	start := time.Now()
	err = h(ctx, ev)
	lvl := slog.LevelDebug
	if err != nil {
		lvl = slog.LevelWarn
	}
	r.log.Log(ctx, lvl, "handled event", "type", ev.Type, "id", ev.ID, "subject", ev.Subject,
		"delivered", msg.Metadata.Get(mdDelivered), "duration_ms", time.Since(start).Milliseconds(), "err", err)
	return err
}

func permanent(err error) bool {
	var de *ce.DecodeError
	return errors.As(err, &de) || apperr.Permanent(err)
}

// deadLetter sends permanent failures at once, and transient ones after
// MaxDeliver deliveries, to deadletter.<service> with the reason, then acks.
func (r *Router) deadLetter(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil {
			return out, nil
		}
		delivered, _ := strconv.Atoi(msg.Metadata.Get(mdDelivered))
		if !permanent(err) && delivered < r.cfg.MaxDeliver {
			return nil, err // nak with backoff; redelivered
		}
		code := "handler.failed"
		var de *ce.DecodeError
		if errors.As(err, &de) {
			code = de.Code
		} else if ae, ok := apperr.As(err); ok {
			code = ae.Code
		} else if delivered >= r.cfg.MaxDeliver {
			code = "handler.max_deliveries"
		}
		// A fresh but deterministic id: dedupes our own retries of this
		// publish, never collides with another service's dead letter.
		id := uuid.NewHash(sha1.New(), uuid.NameSpaceOID, []byte(r.service+"|"+msg.Metadata.Get(mdSubject)+"|"+msg.UUID), 5).String()
		dl := message.NewMessage(id, msg.Payload)
		for k, v := range msg.Metadata {
			dl.Metadata.Set(k, v)
		}
		handler := message.HandlerNameFromCtx(msg.Context())
		dl.Metadata.Set(DLQReason, truncate(err.Error(), 1024))
		dl.Metadata.Set(DLQCode, code)
		dl.Metadata.Set(DLQService, r.service)
		dl.Metadata.Set(DLQHandler, handler)
		dl.Metadata.Set(DLQSubject, msg.Metadata.Get(mdSubject))
		dl.Metadata.Set(DLQDelivered, strconv.Itoa(delivered))
		dl.Metadata.Set(DLQTime, time.Now().UTC().Format(time.RFC3339Nano))
		if perr := r.dlq.Publish(DeadLetterSubject(r.service), dl); perr != nil {
			r.log.Error("dead-letter publish failed; message will be redelivered", "err", perr, "code", code)
			return nil, errors.Join(err, perr)
		}
		markDeadLettered(msg.Context(), code, err)
		r.log.Warn("dead-lettered message", "code", code, "reason", err.Error(), "handler", handler,
			"subject", msg.Metadata.Get(mdSubject), "ce_id", msg.Metadata.Get(ce.HID), "delivered", delivered)
		return nil, nil
	}
}

func (r *Router) recoverer(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) (out []*message.Message, err error) {
		defer func() {
			if p := recover(); p != nil {
				r.log.Error("handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = fmt.Errorf("handler panicked: %v", p)
			}
		}()
		return h(msg)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// durable creates the real durable consumer of (service, filter) and never
// deletes it on close.
func (r *Router) durable(ctx context.Context, js jetstream.JetStream, filter string) (jetstream.Consumer, func(context.Context, watermill.LoggerAdapter), error) {
	s, err := StreamFor(filter)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, s.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s for %s: %w", s.Name, filter, err)
	}
	c, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       DurableName(r.service, filter),
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		// The router dead-letters at MaxDeliver; the server bound is a
		// safety net a little above it.
		MaxDeliver:    r.cfg.MaxDeliver + 2,
		MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("durable %s: %w", DurableName(r.service, filter), err)
	}
	return c, nil, nil
}

// unmarshaler turns any JetStream message into a watermill message: it never
// fails (a failing unmarshaler crashes watermill-nats), so that the handler
// can dead-letter what it cannot read.
type unmarshaler struct{}

func (unmarshaler) Unmarshal(msg jetstream.Msg) (*message.Message, error) {
	hdr := msg.Headers()
	id := hdr.Get(ce.HID)
	if id == "" {
		id = hdr.Get(nats.MsgIdHdr)
	}
	if id == "" {
		id = watermill.NewUUID()
	}
	m := message.NewMessage(id, msg.Data())
	for k, v := range hdr {
		switch k {
		case nats.MsgIdHdr, nats.ExpectedLastMsgIdHdr, nats.ExpectedStreamHdr, nats.ExpectedLastSubjSeqHdr, nats.ExpectedLastSeqHdr, "_watermill_message_uuid":
			continue
		}
		if len(v) > 0 {
			m.Metadata.Set(k, v[0])
		}
	}
	m.Metadata.Set(mdSubject, msg.Subject())
	if md, err := msg.Metadata(); err == nil {
		m.Metadata.Set(mdDelivered, strconv.FormatUint(md.NumDelivered, 10))
	}
	return m, nil
}

type backoff struct{ base, max time.Duration }

func (b backoff) WaitTime(n uint64) time.Duration {
	d := b.base
	for i := uint64(1); i < n && d < b.max; i++ {
		d *= 2
	}
	if d > b.max {
		d = b.max
	}
	return d
}
