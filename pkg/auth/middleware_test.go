package auth

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/httpx"
)

type problemBody struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func TestMiddleware(t *testing.T) {
	clock := &fakeClock{now: t0}
	signer, dir := mustDevKeys(t, clock)
	cfg := DevConfig(dir)
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	v := mustVerifier(t, cfg, clock)
	valid, _ := signer.Mint(Principal{Subject: "user-1", PartnerID: "PG-0001", Roles: []Role{RolePartnerUser}}, DevIssuer, DevAudience, time.Hour)
	expiredSigner := *signer
	expiredSigner.Now = func() time.Time { return t0.Add(-3 * time.Hour) }
	expired, _ := expiredSigner.Mint(Principal{Subject: "user-1"}, DevIssuer, DevAudience, time.Hour)

	tests := []struct {
		name       string
		header     map[string]string
		remote     string
		wantStatus int
		wantCode   string
		wantChall  string // substring of WWW-Authenticate
		wantNoErr  bool   // challenge must carry no error= (RFC 6750 §3.1)
		wantIP     string
		wantReqID  string
	}{
		{name: "missing header", wantStatus: 401, wantCode: CodeTokenMissing, wantChall: `Bearer realm="partnerhub"`, wantNoErr: true},
		{name: "basic scheme", header: map[string]string{"Authorization": "Basic dTpw"}, wantStatus: 401, wantCode: CodeTokenMissing, wantChall: `Bearer realm="partnerhub"`, wantNoErr: true},
		{name: "bearer without token", header: map[string]string{"Authorization": "Bearer "}, wantStatus: 401, wantCode: CodeTokenMissing, wantNoErr: true},
		{name: "garbage token", header: map[string]string{"Authorization": "Bearer abc.def.ghi"}, wantStatus: 401, wantCode: CodeTokenInvalid,
			wantChall: `Bearer realm="partnerhub", error="invalid_token", error_description="`},
		{name: "expired token", header: map[string]string{"Authorization": "Bearer " + expired}, wantStatus: 401, wantCode: CodeTokenExpired,
			wantChall: `error_description="the token has expired"`},
		{name: "valid, direct peer", header: map[string]string{"Authorization": "bearer " + valid, "X-Forwarded-For": "1.2.3.4", "X-Request-Id": "req-42"},
			remote: "192.0.2.7:5555", wantStatus: 200, wantIP: "192.0.2.7", wantReqID: "req-42"},
		{name: "valid, trusted proxy", header: map[string]string{"Authorization": "Bearer " + valid, "X-Forwarded-For": "6.6.6.6, 1.2.3.4, 10.1.1.1"},
			remote: "10.0.0.1:5555", wantStatus: 200, wantIP: "1.2.3.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Principal
			var reached bool
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				got, _ = FromContext(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/v1/partners/PG-0001", nil)
			req.Header.Set("User-Agent", "curl/8")
			if tc.remote != "" {
				req.RemoteAddr = tc.remote
			}
			for k, val := range tc.header {
				req.Header.Set(k, val)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if rec.Header().Get(HeaderRequestID) == "" {
				t.Fatal("no X-Request-Id on the response")
			}
			if tc.wantStatus != 200 {
				if reached {
					t.Fatal("handler ran for an unauthenticated request")
				}
				chall := rec.Header().Get("WWW-Authenticate")
				if !strings.Contains(chall, tc.wantChall) {
					t.Fatalf("WWW-Authenticate = %q, want it to contain %q", chall, tc.wantChall)
				}
				if tc.wantNoErr == strings.Contains(chall, "error=") {
					t.Fatalf("WWW-Authenticate = %q: error= present is %v", chall, !tc.wantNoErr)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("content type %q", ct)
				}
				var pb problemBody
				if err := json.Unmarshal(rec.Body.Bytes(), &pb); err != nil {
					t.Fatal(err)
				}
				if pb.Code != tc.wantCode || pb.Status != 401 {
					t.Fatalf("problem = %+v, want code %s", pb, tc.wantCode)
				}
				return
			}
			if got.Subject != "user-1" || got.PartnerID != "PG-0001" || !got.Has(RolePartnerUser) {
				t.Fatalf("principal = %+v", got)
			}
			if got.SourceIP != tc.wantIP || got.UserAgent != "curl/8" {
				t.Fatalf("request facts = ip %q ua %q, want ip %q", got.SourceIP, got.UserAgent, tc.wantIP)
			}
			if tc.wantReqID != "" && got.RequestID != tc.wantReqID {
				t.Fatalf("request id = %q, want %q", got.RequestID, tc.wantReqID)
			}
			if got.RequestID == "" || got.RequestID != rec.Header().Get(HeaderRequestID) {
				t.Fatalf("request id %q not echoed (%q)", got.RequestID, rec.Header().Get(HeaderRequestID))
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, remote, xff, want string
		trusted                 []netip.Prefix
	}{
		{name: "no trust configured ignores XFF", remote: "10.0.0.1:1", xff: "1.2.3.4", want: "10.0.0.1"},
		{name: "untrusted peer ignores XFF", remote: "8.8.8.8:1", xff: "1.2.3.4", trusted: trusted, want: "8.8.8.8"},
		{name: "trusted peer, right-most untrusted hop", remote: "10.0.0.1:1", xff: "9.9.9.9, 1.2.3.4", trusted: trusted, want: "1.2.3.4"},
		{name: "chain of trusted proxies", remote: "10.0.0.1:1", xff: "1.2.3.4, 10.0.0.2", trusted: trusted, want: "1.2.3.4"},
		{name: "garbled hop stops the walk", remote: "10.0.0.1:1", xff: "1.2.3.4, nonsense", trusted: trusted, want: "10.0.0.1"},
		{name: "ipv6 loopback proxy", remote: "[::1]:1", xff: "2001:db8::1", trusted: trusted, want: "2001:db8::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := ClientIP(r, tc.trusted); got != tc.want {
				t.Fatalf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestMiddlewareReusesServerRequestID: behind httpx.Middleware the principal
// carries the id the server logs, not a second one.
// TestUserAgentIsKeptAsTextItCanStore: a User-Agent of bytes that are not
// UTF-8 (HTTP allows them) reached the audit rows as is, and Postgres
// refused the write (500); a long one was kept whole.
func TestUserAgentIsKeptAsTextItCanStore(t *testing.T) {
	clock := &fakeClock{now: t0}
	signer, dir := mustDevKeys(t, clock)
	v := mustVerifier(t, DevConfig(dir), clock)
	tok, _ := signer.Mint(Principal{Subject: "user-1"}, DevIssuer, DevAudience, time.Hour)
	for _, c := range []struct{ name, ua, want string }{
		{"not UTF-8", "portal\xff\xfe/1.0", "portal\uFFFD/1.0"},
		{"as sent", "Mozilla/5.0 (X11; Linux x86_64) ポータル/2", "Mozilla/5.0 (X11; Linux x86_64) ポータル/2"},
		{"long", strings.Repeat("a", MaxUserAgent-1) + "ポ" + strings.Repeat("b", 9000), strings.Repeat("a", MaxUserAgent-1)},
	} {
		var got Principal
		h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, _ = FromContext(r.Context()) }))
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("User-Agent", c.ua)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got.UserAgent != c.want || !utf8.ValidString(got.UserAgent) || len(got.UserAgent) > MaxUserAgent {
			t.Errorf("%s: user agent %q (%d bytes), want %q", c.name, got.UserAgent, len(got.UserAgent), c.want)
		}
	}
}

func TestMiddlewareReusesServerRequestID(t *testing.T) {
	clock := &fakeClock{now: t0}
	signer, dir := mustDevKeys(t, clock)
	v := mustVerifier(t, DevConfig(dir), clock)
	tok, _ := signer.Mint(Principal{Subject: "user-1"}, DevIssuer, DevAudience, time.Hour)
	var got Principal
	h := httpx.Middleware(slog.New(slog.DiscardHandler), v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = FromContext(r.Context())
		if got.RequestID != httpx.RequestID(r.Context()) {
			t.Errorf("principal request id %q, server's %q", got.RequestID, httpx.RequestID(r.Context()))
		}
	})))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || got.RequestID == "" || got.RequestID != rec.Header().Get(HeaderRequestID) {
		t.Fatalf("status %d, request id %q vs header %q", rec.Code, got.RequestID, rec.Header().Get(HeaderRequestID))
	}
}
