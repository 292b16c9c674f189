// Package ratelimit limits callers with a token bucket each, keyed by the
// authenticated subject (else the client IP), and answers 429 with
// Retry-After. Buckets live in memory per process: with N instances a caller
// gets up to N times the rate, which is acceptable for abuse protection.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
)

// CodeRateLimited is the problem code of a 429.
const CodeRateLimited = "rate_limited"

// Defaults of Config.
const (
	DefaultRate    = 5.0 // tokens per second
	DefaultBurst   = 10
	DefaultMaxKeys = 100_000
	minIdleTTL     = time.Minute
)

// Config configures a Limiter.
type Config struct {
	Rate  float64 // sustained requests per second per caller; zero means DefaultRate
	Burst int     // bucket size; zero means DefaultBurst
	// IdleTTL is how long an unused bucket is kept. It must be at least the
	// time to refill a bucket, so eviction never hands out tokens early.
	IdleTTL time.Duration
	// MaxKeys bounds memory: past it the least recently used bucket is dropped.
	MaxKeys int
	// IncludeReads limits GET/HEAD/OPTIONS too; by default only writes are limited.
	IncludeReads bool
	// TrustedProxies, as in auth.Config, for keying anonymous callers by IP.
	TrustedProxies []netip.Prefix
	Now            func() time.Time
}

func (c Config) refill() time.Duration {
	if c.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(c.Burst) / c.Rate * float64(time.Second))
}

// WithDefaults returns c with every unset field given its default.
func (c Config) WithDefaults() Config {
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.IdleTTL == 0 {
		c.IdleTTL = max(minIdleTTL, 2*c.refill())
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Rate <= 0 || math.IsInf(c.Rate, 0) || math.IsNaN(c.Rate) {
		errs = append(errs, fmt.Errorf("ratelimit: Rate %v must be a positive number", c.Rate))
	}
	if c.Burst < 1 {
		errs = append(errs, fmt.Errorf("ratelimit: Burst %d must be at least 1", c.Burst))
	}
	if c.IdleTTL < c.refill() {
		errs = append(errs, fmt.Errorf("ratelimit: IdleTTL %s is shorter than the refill time %s", c.IdleTTL, c.refill()))
	}
	if c.MaxKeys < 1 {
		errs = append(errs, fmt.Errorf("ratelimit: MaxKeys %d must be at least 1", c.MaxKeys))
	}
	return errors.Join(errs...)
}

// Limiter holds one token bucket per caller key. Safe for concurrent use.
type Limiter struct {
	cfg       Config
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns a Limiter for cfg (defaults applied, then validated).
func New(cfg Config) (*Limiter, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Limiter{cfg: cfg, buckets: map[string]*bucket{}, lastSweep: cfg.Now()}, nil
}

// Allow takes a token from key's bucket. When none is left it reports how
// long until one is; a refused request consumes nothing.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketFor(key, now)
	r := b.lim.ReserveN(now, 1)
	if !r.OK() { // only if Burst < 1, which Validate forbids
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Len is the number of buckets held (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (l *Limiter) bucketFor(key string, now time.Time) *bucket {
	if now.Sub(l.lastSweep) >= l.cfg.IdleTTL {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.cfg.MaxKeys {
			l.sweep(now)
		}
		if len(l.buckets) >= l.cfg.MaxKeys {
			l.evictOldest()
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.Rate), l.cfg.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b
}

// sweep drops buckets idle for IdleTTL: they have refilled, so a fresh
// bucket is indistinguishable from them.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= l.cfg.IdleTTL {
			delete(l.buckets, k)
		}
	}
}

// evictOldest is the memory bound under a flood of distinct keys; O(n), but
// only reached when MaxKeys buckets are all active.
func (l *Limiter) evictOldest() {
	var oldestKey string
	var oldest time.Time
	for k, b := range l.buckets {
		if oldestKey == "" || b.seen.Before(oldest) {
			oldestKey, oldest = k, b.seen
		}
	}
	delete(l.buckets, oldestKey)
}

// Middleware limits each caller: the authenticated subject (so it belongs
// after auth's middleware), else the client IP. A refused request gets a
// 429 problem (code rate_limited) with Retry-After in whole seconds.
func (l *Limiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.cfg.IncludeReads && isRead(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := l.Allow(l.keyOf(r))
		if !ok {
			secs := RetryAfterSeconds(wait)
			e := apperr.New(apperr.KindRateLimited, CodeRateLimited,
				"too many requests; retry after "+strconv.Itoa(secs)+" s").With("retry_after", secs)
			e.RetryAfterSeconds = secs
			httpx.WriteError(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least 1, as the
// Retry-After header needs.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

func (l *Limiter) keyOf(r *http.Request) string {
	if p, ok := auth.FromContext(r.Context()); ok && !p.IsZero() {
		return "sub:" + p.Subject
	}
	return "ip:" + auth.ClientIP(r, l.cfg.TrustedProxies)
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}
