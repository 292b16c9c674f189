// Package httpx is the HTTP edge shared by services: a server with health
// and readiness endpoints and graceful shutdown, strict JSON decoding, and
// RFC 9457 problem details for every error.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// Check is one readiness check (a dependency ping).
type Check func(ctx context.Context) error

// Degraded marks a readiness check's failure as one the instance still
// serves requests through (NATS away: a write's events wait in its outbox):
// /readyz reports it and stays ready, so that an outage of a dependency every
// instance shares does not take the whole API out of its load balancer.
func Degraded(err error) error { return degradedError{err} }

type degradedError struct{ err error }

func (e degradedError) Error() string { return e.err.Error() }
func (e degradedError) Unwrap() error { return e.err }

// Server serves an API beside /healthz (liveness) and /readyz (readiness).
type Server struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
	mux *http.ServeMux
	obs atomic.Pointer[Observer]
	// timeout is the request timeout (a time.Duration).
	timeout atomic.Int64
	// api is the API's handler once the service is wired (SetAPI); set
	// closes when it is, closed when the server closes first.
	api    atomic.Pointer[http.Handler]
	set    chan struct{}
	closed chan struct{}
	hold   time.Duration
	serve  sync.Once
	served chan error
	mu     sync.Mutex
	checks map[string]Check
	drain  bool
	ending bool
}

// StartHold bounds how long a request that reaches a server before its
// API is set (the service still connecting to its database and broker)
// waits for it: a request during a restart's start-up is answered by the
// API a moment later, one during a longer wait gets 503 service.unavailable
// with Retry-After.
const StartHold = 5 * time.Second

// Observer is what the server records of each request: a latency
// histogram (nil: none) and a server span named by the route pattern,
// child of the caller's traceparent.
type Observer struct {
	Metrics    *telemetry.HTTPMetrics
	Tracer     trace.Tracer
	Propagator propagation.TextMapPropagator
}

// NewServer listens on addr at once (":0" picks a port; see Addr). A nil
// api is a server started before its service is wired: it answers
// /healthz and /readyz (the checks say what the start-up waits for) and
// holds API requests until SetAPI, at most StartHold.
func NewServer(addr string, api http.Handler, log *slog.Logger, checks map[string]Check) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	s := &Server{ln: ln, log: log, checks: checks, mux: mux, set: make(chan struct{}), closed: make(chan struct{}),
		hold: StartHold, served: make(chan error, 1)}
	s.SetRequestTimeout(RequestTimeout)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("/", s.serveAPI)
	if api != nil {
		s.SetAPI(api, checks)
	}
	s.srv = &http.Server{
		Handler:           middleware(log, mux, s.observer, s.requestTimeout),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    32 << 10,
		// net/http's own errors (a panic it recovered, a bad TLS
		// handshake, a failed accept) go to the service's JSON log too.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError),
	}
	return s, nil
}

// SetAPI installs the service's API and readiness checks on a server that
// NewServer started without them; the requests it held go to api now.
func (s *Server) SetAPI(api http.Handler, checks map[string]Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = checks
	if s.api.Swap(&api) == nil {
		close(s.set)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if api := s.api.Load(); api != nil {
		(*api).ServeHTTP(w, r)
		return
	}
	t := time.NewTimer(s.hold)
	defer t.Stop()
	select {
	case <-s.set:
		(*s.api.Load()).ServeHTTP(w, r)
		return
	case <-r.Context().Done():
		w.WriteHeader(StatusClientClosed)
		return
	case <-t.C:
	case <-s.closed:
	}
	w.Header().Set("Retry-After", strconv.Itoa(UnavailableRetryAfter))
	WriteProblem(w, Problem{Type: ProblemTypeURI(CodeUnavailable), Title: http.StatusText(http.StatusServiceUnavailable),
		Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Instance: r.URL.Path,
		Detail: "the service is starting (GET /readyz says what it waits for); retry shortly"})
}

// Handle mounts a platform endpoint beside /healthz (e.g. "GET /metrics"),
// outside the API's own middleware (no authentication). Call before Run.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Observe records metrics and spans of every request from now on.
func (s *Server) Observe(o Observer) { s.obs.Store(&o) }

func (s *Server) observer() *Observer { return s.obs.Load() }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	draining, checks := s.drain, s.checks
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{}
	ok := !draining
	if draining {
		status["server"] = "shutting down"
	}
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var degraded degradedError
		if err := checks[n](ctx); errors.As(err, &degraded) {
			status[n] = "degraded: " + err.Error()
		} else if err != nil {
			ok = false
			status[n] = err.Error()
		} else {
			status[n] = "ok"
		}
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	WriteJSON(w, code, map[string]any{"ready": ok, "checks": status})
}

// Serve starts serving in the background, once (Run waits on it): a
// service serves its health and readiness while it starts.
func (s *Server) Serve() {
	s.serve.Do(func() { go func() { s.served <- s.srv.Serve(s.ln) }() })
}

// Close stops a server that Run does not: the listener and every
// connection are closed at once, held requests answer 503.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.ending {
		s.ending = true
		close(s.closed)
	}
	s.mu.Unlock()
	_ = s.srv.Close()
	_ = s.ln.Close()
}

// Run serves until ctx ends, then shuts down gracefully: readiness turns
// false, in-flight requests finish (up to timeout).
func (s *Server) Run(ctx context.Context, timeout time.Duration) error {
	s.Serve()
	errc := s.served
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.drain = true
	if !s.ending { // requests still held for an API answer 503 now
		s.ending = true
		close(s.closed)
	}
	s.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		// Past the grace period: cut what is left (requests still running,
		// or connections opened without sending a request, which Shutdown
		// waits on for 5s) rather than hang the process.
		s.log.Warn("http shutdown grace period over; closing remaining connections", "timeout", timeout, "err", err)
		_ = s.srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// RequestTimeout bounds how long a request may run by default: past it, its
// context ends and it answers 503 service.busy with Retry-After
// (WriteError) — a lock held elsewhere, a saturated database — well before
// the server's 30 s write timeout would cut the connection without an
// answer.
const RequestTimeout = 20 * time.Second

type timeoutKey struct{}

// SetRequestTimeout changes RequestTimeout for this server's requests from
// now on.
func (s *Server) SetRequestTimeout(d time.Duration) { s.timeout.Store(int64(d)) }

func (s *Server) requestTimeout() time.Duration { return time.Duration(s.timeout.Load()) }

// Middleware adds a request id, bounds the request's time
// (RequestTimeout), recovers panics as 500 problems and logs each request.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return middleware(log, next, func() *Observer { return nil }, func() time.Duration { return RequestTimeout })
}

// middleware is Middleware that also records what obs (read per request,
// nil: nothing) asks for. The route is r.Pattern as set by the ServeMux
// below: the platform mux sets "/" for the API, and the API's own mux
// overwrites it with its pattern on the same *http.Request.
func middleware(log *slog.Logger, next http.Handler, obs func() *Observer, timeout func() time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if !ValidRequestID(rid) {
			rid = newRequestID()
		}
		w.Header().Set("X-Request-Id", rid)
		ctx := withLogger(context.WithValue(r.Context(), requestIDKey{}, rid), log)
		if ce.CauseFrom(ctx).CorrelationID == "" {
			// The request is the start of a conversation: every event its
			// use case writes shares its id as the correlation id.
			ctx = ce.WithCause(ctx, ce.Cause{CorrelationID: rid})
		}
		infra := r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics"
		o := obs()
		var span trace.Span
		if o != nil && o.Tracer != nil && !infra {
			// The caller's traceparent becomes this span's parent; without
			// recording, the span still carries the caller's context on to
			// the events the request writes.
			ctx = o.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
			ctx, span = o.Tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		}
		ctx, cancel := context.WithTimeout(ctx, timeout())
		defer cancel()
		ctx = context.WithValue(ctx, timeoutKey{}, timeout())
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(r.Context(), "http handler panicked", "panic", fmt.Sprint(p), "path", r.URL.Path)
				if !rec.wrote {
					WriteError(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			elapsed := time.Since(start)
			if o != nil {
				route, method := telemetry.Route(r.Pattern), telemetry.Method(r.Method)
				o.Metrics.Observe(route, method, rec.status, elapsed)
				if span != nil {
					if span.IsRecording() {
						span.SetName(method + " " + route)
						span.SetAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route),
							attribute.String("url.path", r.URL.Path), attribute.Int("http.response.status_code", rec.status))
						if rec.status >= 500 {
							span.SetStatus(codes.Error, http.StatusText(rec.status))
						}
					}
					span.End()
				}
			}
			if infra {
				return
			}
			log.InfoContext(r.Context(), "http request", "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", elapsed.Milliseconds(), "request_id", rid)
		}()
		next.ServeHTTP(rec, r)
	})
}

type requestIDKey struct{}

// RequestID returns the request id of r's context.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// ValidRequestID reports whether a caller's X-Request-Id is taken as the
// request's id: 1 to 128 bytes of printable ASCII. It becomes the
// correlation id of every event the request writes, and lands in logs and
// audit rows, so anything else (a byte Postgres cannot store as UTF-8, a
// space) is replaced by a fresh id rather than failing the request.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}
