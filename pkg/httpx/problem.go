package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	"github.com/partnerhub/onboarding/pkg/pg"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details document with a stable code and
// per-field errors as extension members.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Code     string              `json:"code"`
	Errors   []apperr.FieldError `json:"errors,omitempty"`
	// Extra extension members (e.g. "matched_on", "retry_after").
	Extra map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the top-level object as RFC 9457 asks:
// the standard members first, in the struct's order, then the extension
// members in key order, each value encoded as it is (an int64 stays exact).
// An extension member never replaces a standard one, present or omitted.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	base, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return base, err
	}
	out := bytes.NewBuffer(base[:len(base)-1]) // without its closing brace
	for _, k := range slices.Sorted(maps.Keys(p.Extra)) {
		if problemMembers[k] {
			continue
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(p.Extra[k])
		if err != nil {
			return nil, fmt.Errorf("problem member %s: %w", k, err)
		}
		out.WriteByte(',')
		out.Write(key)
		out.WriteByte(':')
		out.Write(value)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// problemMembers are Problem's own members, which Extra cannot set.
var problemMembers = map[string]bool{"type": true, "title": true, "status": true, "detail": true,
	"instance": true, "code": true, "errors": true}

// ProblemTypeURI is the type URI of a problem code.
func ProblemTypeURI(code string) string { return "urn:partnerhub:problem:" + code }

// StatusOf maps an application error kind to an HTTP status.
func StatusOf(kind apperr.Kind) int {
	switch kind {
	case apperr.KindInvalid:
		return http.StatusUnprocessableEntity
	case apperr.KindNotFound:
		return http.StatusNotFound
	case apperr.KindConflict:
		return http.StatusConflict
	case apperr.KindUnauthenticated:
		return http.StatusUnauthorized
	case apperr.KindForbidden:
		return http.StatusForbidden
	case apperr.KindRateLimited:
		return http.StatusTooManyRequests
	case apperr.KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// CodeUnavailable is the problem code of a request the service could not
// serve because its database refused or lost the connection, or because it
// is still starting (Server's StartHold): retry after Retry-After seconds.
const CodeUnavailable = "service.unavailable"

// UnavailableRetryAfter is the Retry-After, in seconds, of every
// service.unavailable answer: the least the header can say. A database
// restart or failover answers again within about a second; at 2 s, the
// clients' wait was most of what a Postgres restart under load cost an
// onboarding in flight (README, round 36).
const UnavailableRetryAfter = 1

// dependencyDown is the coded 503 for an error that says the database
// cannot serve now (out of connection slots, restarting, unreachable):
// never a bare 500, also when a use case wrapped it as its own internal
// error (agreements' load errors did: a Postgres restart answered 500).
func dependencyDown(err error) (*apperr.Error, bool) {
	if ae, ok := apperr.As(err); ok && ae.Kind != apperr.KindInternal || !pg.Unavailable(err) {
		return nil, false
	}
	e := apperr.New(apperr.KindUnavailable, CodeUnavailable, "the service cannot reach its database right now; retry shortly")
	e.RetryAfterSeconds, e.Err = UnavailableRetryAfter, err
	return e, true
}

// ProblemFrom builds the problem document for err. Internal errors are not
// described to the caller (the log has them).
func ProblemFrom(err error) Problem {
	if down, ok := dependencyDown(err); ok {
		err = down
	}
	ae, ok := apperr.As(err)
	if !ok {
		return Problem{Type: ProblemTypeURI("internal"), Title: "Internal error", Status: 500, Code: "internal",
			Detail: "an unexpected error occurred; it has been logged"}
	}
	status := StatusOf(ae.Kind)
	if st, ok := statusByCode[ae.Code]; ok {
		status = st
	}
	p := Problem{
		Type:   ProblemTypeURI(ae.Code),
		Title:  http.StatusText(status),
		Status: status,
		Detail: ae.Message,
		Code:   ae.Code,
		Errors: ae.Fields,
		Extra:  ae.Details,
	}
	if ae.Kind == apperr.KindInternal {
		p.Detail = "an unexpected error occurred; it has been logged"
	}
	return p
}

// WriteProblem writes p with the problem media type.
func WriteProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// CodeBusy is the problem code of a request that ran past RequestTimeout:
// retry after Retry-After seconds.
const CodeBusy = "service.busy"

// StatusClientClosed is what the log and the metrics record of a request
// whose client went away before its answer (nginx's 499): nobody reads
// it, and it is not the service's failure.
const StatusClientClosed = 499

// WriteError maps err to a problem document and writes it; 5xx are logged.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := prepareError(w, r, err); ok {
		WriteProblem(w, p)
	}
}

// prepareError classifies err for the answer to r (a request past its
// time, a database out of reach), sets the headers that go with it
// (Retry-After, WWW-Authenticate) and logs a 5xx. false: nothing is to be
// written, the client went away (logged as such, status 499).
func prepareError(w http.ResponseWriter, r *http.Request, err error) (Problem, bool) {
	switch ctxErr := r.Context().Err(); {
	case ctxErr == nil || !errors.Is(err, ctxErr) && !pg.Unavailable(err):
	case errors.Is(ctxErr, context.Canceled):
		loggerFrom(r.Context()).InfoContext(r.Context(), "client went away before the answer", "path", r.URL.Path, "method", r.Method, "err", err)
		w.WriteHeader(StatusClientClosed)
		return Problem{}, false
	default:
		limit, _ := r.Context().Value(timeoutKey{}).(time.Duration)
		e := apperr.New(apperr.KindUnavailable, CodeBusy, fmt.Sprintf("the request did not finish within %s (what it changes may be held by another); retry shortly", limit))
		e.RetryAfterSeconds, e.Err = 2, err
		err = e
	}
	if down, ok := dependencyDown(err); ok {
		err = down
	}
	p := ProblemFrom(err)
	p.Instance = r.URL.Path
	if ae, ok := apperr.As(err); ok && (ae.Kind == apperr.KindRateLimited || ae.Kind == apperr.KindUnavailable) && ae.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfterSeconds))
	}
	if p.Status >= 500 {
		loggerFrom(r.Context()).ErrorContext(r.Context(), "request failed", "err", err, "path", r.URL.Path, "method", r.Method)
	}
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.Kind == apperr.KindUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="partnerhub"`)
	}
	return p, true
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type loggerKey struct{}

// withLogger gives the request the server's logger, so that whatever logs
// while serving it (WriteError's 5xx line) logs as the service, in JSON,
// with the request's ids — not through the process-wide default logger,
// which writes plain text without them.
func withLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// Refusal is the answer owed to an intake refused with p: its status (422
// when p has none), code, detail and field errors.
func (p Problem) Refusal() intakev1.Refusal {
	out := intakev1.Refusal{Status: p.Status, Code: p.Code, Detail: p.Detail}
	if out.Status == 0 {
		out.Status = http.StatusUnprocessableEntity
	}
	for _, f := range p.Errors {
		out.Errors = append(out.Errors, intakev1.FieldError{Field: f.Field, Code: f.Code, Message: f.Message})
	}
	return out
}
