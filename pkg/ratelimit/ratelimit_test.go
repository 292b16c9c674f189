package ratelimit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
)

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func mustLimiter(t *testing.T, cfg Config) (*Limiter, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = clock.Now
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, clock
}

func TestAllowTokenBucket(t *testing.T) {
	l, clock := mustLimiter(t, Config{Rate: 1, Burst: 2})
	type step struct {
		advance   time.Duration
		wantOK    bool
		wantAfter time.Duration
	}
	steps := []step{
		{wantOK: true},
		{wantOK: true},
		{wantOK: false, wantAfter: time.Second}, // burst spent
		{advance: 400 * time.Millisecond, wantAfter: 600 * time.Millisecond}, // refused requests consume nothing
		{advance: 600 * time.Millisecond, wantOK: true},
		{wantOK: false, wantAfter: time.Second},
		{advance: 10 * time.Second, wantOK: true}, // refilled to burst, not beyond
		{wantOK: true},
		{wantOK: false, wantAfter: time.Second},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		ok, after := l.Allow("sub:a")
		if ok != s.wantOK || after != s.wantAfter {
			t.Fatalf("step %d: Allow = %v, %s; want %v, %s", i, ok, after, s.wantOK, s.wantAfter)
		}
	}
	if ok, _ := l.Allow("sub:b"); !ok {
		t.Fatal("another caller was limited by a's bucket")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 10 * time.Second: 10} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%s) = %d, want %d", d, got, want)
		}
	}
}

func TestEviction(t *testing.T) {
	t.Run("idle buckets are swept", func(t *testing.T) {
		l, clock := mustLimiter(t, Config{Rate: 1, Burst: 1, IdleTTL: time.Minute})
		for i := range 10 {
			l.Allow(fmt.Sprintf("ip:10.0.0.%d", i))
		}
		clock.Advance(time.Minute)
		l.Allow("ip:fresh")
		if got := l.Len(); got != 1 {
			t.Fatalf("Len = %d after the idle TTL, want 1", got)
		}
	})
	t.Run("memory is bounded, least recently used goes first", func(t *testing.T) {
		l, clock := mustLimiter(t, Config{Rate: 1, Burst: 1, MaxKeys: 3})
		for _, k := range []string{"a", "b", "c"} {
			l.Allow(k)
			clock.Advance(time.Millisecond)
		}
		l.Allow("a") // a is now the most recent; b the oldest
		clock.Advance(time.Millisecond)
		l.Allow("d")
		if got := l.Len(); got != 3 {
			t.Fatalf("Len = %d, want 3", got)
		}
		if ok, _ := l.Allow("a"); ok {
			t.Fatal("a's spent bucket was evicted instead of the least recently used one")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	err := Config{Rate: -1, Burst: -1, IdleTTL: time.Second, MaxKeys: -1}.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, w := range []string{"Rate", "Burst", "MaxKeys"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}
	if err := (Config{Rate: 0.01, Burst: 100, IdleTTL: time.Minute}).WithDefaults().Validate(); err == nil ||
		!strings.Contains(err.Error(), "IdleTTL") {
		t.Fatalf("an IdleTTL shorter than the refill time must be refused: %v", err)
	}
	if err := (Config{}).WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	withPrincipal := func(sub string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if sub != "" {
				r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Subject: sub}))
			}
			next.ServeHTTP(w, r)
		})
	}
	type call struct {
		method, sub, remote string
		advance             time.Duration
		wantStatus          int
		wantRetry           string
	}
	tests := []struct {
		name  string
		cfg   Config
		calls []call
	}{
		{
			name: "429 with Retry-After from the reservation",
			cfg:  Config{Rate: 0.1, Burst: 1, IdleTTL: time.Hour}, // one token per 10 s
			calls: []call{
				{method: "POST", sub: "u1", wantStatus: 200},
				{method: "POST", sub: "u1", wantStatus: 429, wantRetry: "10"},
				{method: "POST", sub: "u1", advance: 7500 * time.Millisecond, wantStatus: 429, wantRetry: "3"},
				{method: "POST", sub: "u1", advance: 2500 * time.Millisecond, wantStatus: 200},
			},
		},
		{
			name: "keyed by subject, not by IP",
			cfg:  Config{Rate: 1, Burst: 1},
			calls: []call{
				{method: "POST", sub: "u1", remote: "192.0.2.1:1", wantStatus: 200},
				{method: "POST", sub: "u2", remote: "192.0.2.1:1", wantStatus: 200},
				{method: "POST", sub: "u1", remote: "192.0.2.2:1", wantStatus: 429, wantRetry: "1"},
			},
		},
		{
			name: "anonymous callers keyed by IP",
			cfg:  Config{Rate: 1, Burst: 1},
			calls: []call{
				{method: "POST", remote: "192.0.2.1:1", wantStatus: 200},
				{method: "POST", remote: "192.0.2.1:2", wantStatus: 429, wantRetry: "1"},
				{method: "POST", remote: "192.0.2.9:1", wantStatus: 200},
			},
		},
		{
			name: "reads pass unless included",
			cfg:  Config{Rate: 1, Burst: 1},
			calls: []call{
				{method: "POST", sub: "u1", wantStatus: 200},
				{method: "GET", sub: "u1", wantStatus: 200},
				{method: "GET", sub: "u1", wantStatus: 200},
				{method: "DELETE", sub: "u1", wantStatus: 429, wantRetry: "1"},
			},
		},
		{
			name: "reads limited when included",
			cfg:  Config{Rate: 1, Burst: 1, IncludeReads: true},
			calls: []call{
				{method: "GET", sub: "u1", wantStatus: 200},
				{method: "GET", sub: "u1", wantStatus: 429, wantRetry: "1"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clock := mustLimiter(t, tc.cfg)
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
			for i, c := range tc.calls {
				clock.Advance(c.advance)
				req := httptest.NewRequest(c.method, "/v1/registrations", nil)
				if c.remote != "" {
					req.RemoteAddr = c.remote
				}
				rec := httptest.NewRecorder()
				withPrincipal(c.sub, l.Middleware(ok)).ServeHTTP(rec, req)
				if rec.Code != c.wantStatus {
					t.Fatalf("call %d: status %d, want %d", i, rec.Code, c.wantStatus)
				}
				if got := rec.Header().Get("Retry-After"); got != c.wantRetry {
					t.Fatalf("call %d: Retry-After %q, want %q", i, got, c.wantRetry)
				}
				if c.wantStatus == 429 {
					var body struct {
						Code       string `json:"code"`
						RetryAfter int    `json:"retry_after"`
					}
					if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != CodeRateLimited ||
						fmt.Sprint(body.RetryAfter) != c.wantRetry {
						t.Fatalf("call %d: body %s (%v)", i, rec.Body, err)
					}
				}
			}
		})
	}
}
