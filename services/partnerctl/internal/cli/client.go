package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/partnerhub/onboarding/pkg/auth"
)

// serviceURLs are the base URLs of the HTTP services.
type serviceURLs struct {
	Registration, EmailOwnership, Verification, Agreements, Relationships, Notifier, Timeline string
}

func (u *serviceURLs) flags(f *pflag.FlagSet, g *globals) {
	for _, s := range []struct {
		p          *string
		name, port string
	}{
		{&u.Registration, "registration", "8081"},
		{&u.EmailOwnership, "email-ownership", "8082"},
		{&u.Verification, "verification", "8083"},
		{&u.Agreements, "agreements", "8084"},
		{&u.Relationships, "relationships", "8085"},
		{&u.Notifier, "notifier", "8086"},
		{&u.Timeline, "timeline", "8087"},
	} {
		env := "PARTNERHUB_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_")) + "_URL"
		f.StringVar(s.p, s.name+"-url", g.env(env, "http://127.0.0.1:"+s.port), s.name+" base URL (env "+env+")")
	}
}

// devTokenTTL keeps minted tokens short: they exist for one command.
const devTokenTTL = 5 * time.Minute

// caller is who a command acts as when it mints a development token.
type caller struct {
	role    auth.Role
	extra   []auth.Role
	kind    auth.Kind
	partner string // the partner the command is about, if the role is scoped to one
}

// bearer returns the token to send: --token as given, else a development
// token minted for c (subject and partner overridable by --as-sub and
// --as-partner).
func (g *globals) bearer(c caller) (string, error) {
	// The environment is read here, not as the flag's default, so that
	// --help never prints a token.
	if tok := firstNonEmpty(g.token, g.getenv("PARTNERHUB_TOKEN")); tok != "" {
		return tok, nil
	}
	if _, err := os.Stat(auth.DevPrivateKeyPath(g.keysDir)); err != nil {
		return "", authError{fmt.Errorf("no token: pass --token (or PARTNERHUB_TOKEN) from your identity provider, "+
			"or create the development key with 'make run' or 'partnerctl keys init' (looked in %s)", g.keysDir)}
	}
	signer, err := auth.EnsureDevKeys(g.keysDir)
	if err != nil {
		return "", authError{fmt.Errorf("development keys in %s: %w", g.keysDir, err)}
	}
	// The development identity provider signs in with MFA, as partner
	// tenants must (the privileged partner actions require it).
	p := auth.Principal{Kind: c.kind, Subject: g.asSub, PartnerID: c.partner, Roles: append([]auth.Role{c.role}, c.extra...),
		AMR: []string{"pwd", auth.AMRMultiFactor}}
	if p.Kind == "" {
		p.Kind = auth.KindUser
	}
	if p.Subject == "" {
		p.Subject = "partnerctl-" + strings.ReplaceAll(string(c.role), "_", "-")
	}
	if g.asPartner != "" {
		p.PartnerID = g.asPartner
	}
	scoped := c.role == auth.RolePartnerAdmin || c.role == auth.RolePartnerUser || c.role == auth.RoleProviderAdmin
	if scoped && p.PartnerID == "" {
		return "", usagef("acting as %s needs a partner: pass --as-partner PG-… (or --token)", c.role)
	}
	return signer.Mint(p, auth.DevIssuer, auth.DevAudience, devTokenTTL)
}

// tokenSubject reads the sub claim of a JWT without verifying it (the
// server verifies; this only names the caller in derived keys).
func tokenSubject(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(data, &c)
	return c.Sub
}

// request is one API call.
type request struct {
	method, url, token string
	body               []byte // JSON, or nil
	header             map[string]string
	want               []int // success statuses; default any 2xx
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends r. A non-success answer is an *apiError carrying the problem.
func (g *globals) do(ctx context.Context, r request) (response, error) {
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, rd)
	if err != nil {
		return response{}, usagef("bad URL %q: %v", r.url, err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", "partnerctl")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		// The URL error repeats the URL only, never headers (tokens).
		return response{}, fmt.Errorf("%s %s: %w (is the service running? see --help for the URL flags)", r.method, r.url, unwrapURLError(err))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read answer: %w", r.method, r.url, err)
	}
	out := response{status: res.StatusCode, header: res.Header, body: body}
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	if len(r.want) > 0 {
		ok = false
		for _, w := range r.want {
			ok = ok || w == res.StatusCode
		}
	}
	if !ok {
		return out, newAPIError(r.method, r.url, res, body)
	}
	return out, nil
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// callJSON sends r and decodes a JSON answer into out (if not nil).
func (g *globals) callJSON(ctx context.Context, r request, out any) (response, error) {
	res, err := g.do(ctx, r)
	if err != nil {
		return res, err
	}
	if out != nil && len(res.body) > 0 {
		if err := json.Unmarshal(res.body, out); err != nil {
			return res, fmt.Errorf("%s %s: unexpected answer: %w", r.method, r.url, err)
		}
	}
	return res, nil
}

// fieldError is one entry of a problem's errors[] (pkg/apperr.FieldError).
type fieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// problem is an RFC 9457 document as pkg/httpx writes it.
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	Instance string       `json:"instance"`
	Code     string       `json:"code"`
	Errors   []fieldError `json:"errors"`
	extra    map[string]json.RawMessage
}

// apiError is a non-success answer of an API.
type apiError struct {
	method, url string
	status      int
	problem     problem // zero Code when the body was not a problem
	body        []byte
	retryAfter  string
}

func newAPIError(method, url string, res *http.Response, body []byte) *apiError {
	e := &apiError{method: method, url: url, status: res.StatusCode, body: body, retryAfter: res.Header.Get("Retry-After")}
	if json.Unmarshal(body, &e.problem) == nil {
		var all map[string]json.RawMessage
		_ = json.Unmarshal(body, &all)
		for _, k := range []string{"type", "title", "status", "detail", "instance", "code", "errors"} {
			delete(all, k)
		}
		e.problem.extra = all
	}
	return e
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.method, e.url, e.status, http.StatusText(e.status))
	if e.problem.Code != "" {
		s += ": " + e.problem.Code
	}
	if e.problem.Detail != "" {
		s += ": " + e.problem.Detail
	}
	return s
}

// exitCode maps the HTTP status to partnerctl's exit codes.
func (e *apiError) exitCode() int {
	switch e.status {
	case http.StatusNotFound, http.StatusGone:
		return ExitNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return ExitUnauthorized
	case http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed, http.StatusUnprocessableEntity,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return ExitRefused
	}
	return ExitFailure
}

// print explains the problem for a person: what was called, the code, the
// detail, every field error and any extension members.
func (e *apiError) print(w io.Writer) {
	fmt.Fprintf(w, "partnerctl: %s %s: %d %s\n", e.method, e.url, e.status, http.StatusText(e.status))
	p := e.problem
	if p.Code == "" {
		if body := strings.TrimSpace(string(e.body)); body != "" {
			fmt.Fprintf(w, "  %s\n", truncate(body, 500))
		}
	} else {
		fmt.Fprintf(w, "  code:   %s\n", p.Code)
		if p.Detail != "" {
			fmt.Fprintf(w, "  detail: %s\n", p.Detail)
		}
		for _, fe := range p.Errors {
			fmt.Fprintf(w, "  - %s: %s (%s)\n", fe.Field, fe.Message, fe.Code)
		}
		keys := make([]string, 0, len(p.extra))
		for k := range p.extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, truncate(string(p.extra[k]), 300))
		}
	}
	if e.retryAfter != "" {
		fmt.Fprintf(w, "  retry after %ss\n", e.retryAfter)
	}
	if hint := e.hint(); hint != "" {
		fmt.Fprintf(w, "  hint: %s\n", hint)
	}
}

func (e *apiError) hint() string {
	switch e.status {
	case http.StatusUnauthorized:
		return "the token was refused: expired, or signed by a key the service does not trust (--keys must be the stack's key; production needs --token)"
	case http.StatusForbidden:
		return "the token lacks the role this needs (see the command's --help); with a development token use --as-sub/--as-partner, or pass --token"
	}
	return ""
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// isStatus reports whether err is an API answer with one of statuses.
func isStatus(err error, statuses ...int) bool {
	var ae *apiError
	if !errors.As(err, &ae) {
		return false
	}
	for _, s := range statuses {
		if ae.status == s {
			return true
		}
	}
	return false
}

// withTimeout bounds one command's API work by --timeout.
func (g *globals) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, g.timeout)
}

// jsonBody marshals v for a request body.
func jsonBody(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain maps and structs are passed
	}
	return data
}
