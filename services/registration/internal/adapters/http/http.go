// Package http is registration's JSON API.
package http

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// API serves the registration routes.
type API struct {
	App  *app.App
	Repo *postgres.Repository
	Pool *pgxpool.Pool
}

// Handler returns the routes; protect wraps those that need a caller, and
// a partner user's request counts as its partner's activity (standing).
func (a *API) Handler(protect func(http.Handler) http.Handler) http.Handler {
	return httpx.NewMux(a.Routes(), func(h http.Handler) http.Handler { return protect(a.activity(h)) })
}

// activity records the caller's partner as active (a cheap write, skipped
// when recent); a failure to record it never fails the request.
func (a *API) activity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = a.App.RecordActivity(r.Context(), principal(r))
		next.ServeHTTP(w, r)
	})
}

// Routes lists the API (GET /openapi.json is public, the rest protected).
func (a *API) Routes() []httpx.Route {
	route := func(method, pattern string, h http.HandlerFunc) httpx.Route {
		return httpx.Route{Method: method, Pattern: pattern, Handler: pathIDs(pattern, h)}
	}
	return []httpx.Route{
		route("POST", "/v1/registrations", a.submit),
		route("GET", "/v1/registrations/{id}", a.getRegistration),
		route("GET", "/v1/partners", a.searchPartners),
		route("GET", "/v1/partners/{id}", a.getPartner),
		route("PUT", "/v1/partners/{id}/market", a.changeMarket),
		route("PUT", "/v1/partners/{id}/enrollments/{program}/location", a.linkLocation),
		route("POST", "/v1/partners/{id}/enrollments", a.addEnrollment),
		route("POST", "/v1/partners/{id}/locations", a.addLocation),
		route("POST", "/v1/duplicate-claims", a.fileClaim),
		route("GET", "/v1/duplicate-claims/{claim_id}", a.getClaim),
		route("PUT", "/v1/partners/{id}/compliance-hold", a.placeComplianceHold),
		route("DELETE", "/v1/partners/{id}/compliance-hold", a.liftComplianceHold),
		route("POST", "/v1/partners/{id}/closure", a.close),
		route("POST", "/v1/partners/{id}/reactivation", a.reactivate),
		route("GET", "/v1/partners/{id}/security-requirements", a.getSecurity),
		route("PUT", "/v1/partners/{id}/security-requirements", a.reportSecurity),
		route("GET", "/v1/partners/{id}/enrollments/{program}/requirements", a.requirements),
		route("GET", "/v1/partners/{id}/profile", a.getProfile),
		route("POST", "/v1/partners/{id}/profile-changes", a.requestProfileChange),
		route("POST", "/v1/partners/{id}/profile-changes/{number}/decisions", a.decideProfileCheck),
		httpx.OpenAPIRoute(OpenAPI),
	}
}

// pathIDs reads the identifiers in a route's path before h runs — a
// partner's {id}, a duplicate claim's {claim_id} — as every service reads
// its path's: a malformed one, or one of another kind, is a 422 whose
// field is "path.<name>"; h gets its canonical form.
func pathIDs(pattern string, h http.HandlerFunc) http.HandlerFunc {
	var params []pathID
	for _, p := range []pathID{{"id", ids.Partner}, {"claim_id", ids.DuplicateClaim}} {
		if strings.Contains(pattern, "{"+p.name+"}") {
			params = append(params, p)
		}
	}
	if len(params) == 0 {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		for _, p := range params {
			id, err := app.ReadID("path."+p.name, p.kind, r.PathValue(p.name))
			if err != nil {
				httpx.WriteError(w, r, err)
				return
			}
			r.SetPathValue(p.name, id)
		}
		h(w, r)
	}
}

type pathID struct {
	name string
	kind ids.Kind
}

func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// submit registers a company. With an Idempotency-Key header, the first
// response for (caller, key) is stored in the same transaction as the
// change and replayed for the same body; another body under the same key is
// refused.
func (a *API) submit(w http.ResponseWriter, r *http.Request) {
	a.idempotent(w, r, a.runSubmit)
}

// idempotent runs a creating request once per (caller, Idempotency-Key):
// the first answer is stored in the same transaction as the change and
// replayed for the same body (Idempotent-Replayed: true); another body under
// the same key is refused. An answer that refuses the request for what it
// says (400, 422) is not kept: the key is free again. Without the header
// run simply runs.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, run func(ctx context.Context, r *http.Request, p auth.Principal, body []byte) stored) {
	body, err := httpx.ReadJSONBody(w, r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	key, err := httpx.IdempotencyKey(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	p := principal(r)
	hash := httpx.RequestDigest(r, body)
	var resp stored
	err = pg.InTx(r.Context(), a.Pool, func(ctx context.Context, tx pgx.Tx) error {
		if key != "" {
			prev, found, err := claimKey(ctx, tx, p.Subject, key, hash)
			if err != nil || found {
				resp = prev
				return err
			}
		}
		resp = run(ctx, r, p, body)
		if resp.status >= 500 {
			return resp.err // transient: nothing is stored, the client may retry
		}
		if key == "" {
			return nil
		}
		// The answer goes with the COMMIT, in one round trip. A request
		// refused for what it says (400, 422) did nothing: the key is let go,
		// so the corrected request may use it (as Stripe's keys behave), not
		// kept for an answer that is no operation's.
		b := &pgx.Batch{}
		if resp.status == http.StatusBadRequest || resp.status == http.StatusUnprocessableEntity {
			b.Queue(`DELETE FROM idempotency_keys WHERE principal=$1 AND key=$2`, p.Subject, key)
		} else {
			b.Queue(`UPDATE idempotency_keys SET status=$3, headers=$4, body=$5 WHERE principal=$1 AND key=$2`,
				p.Subject, key, resp.status, resp.headersJSON(), resp.body)
		}
		return pg.SendLast(ctx, tx, b)
	})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	resp.write(w)
}

func (a *API) runSubmit(ctx context.Context, r *http.Request, p auth.Principal, body []byte) stored {
	var in domain.RegistrationInput
	if err := httpx.DecodeStrict(body, &in); err != nil {
		return problem(r, err)
	}
	view, err := a.App.SubmitRegistration(ctx, p, in)
	if err != nil {
		return problem(r, err)
	}
	data, _ := json.Marshal(view)
	return stored{status: http.StatusCreated, body: data, headers: map[string]string{
		"Content-Type": "application/json", "Location": "/v1/registrations/" + string(view.PartnerID)}}
}

// claimKey inserts the key or returns the stored response. A concurrent
// request with the same key waits on the insert until the first commits.
func claimKey(ctx context.Context, tx pgx.Tx, principal, key, hash string) (stored, bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (principal, key, request_hash) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
		principal, key, hash)
	if err != nil {
		return stored{}, false, err
	}
	if tag.RowsAffected() == 1 {
		return stored{}, false, nil
	}
	var prevHash string
	var status *int
	var headers, body []byte
	if err := tx.QueryRow(ctx, `SELECT request_hash, status, headers, body FROM idempotency_keys WHERE principal=$1 AND key=$2`,
		principal, key).Scan(&prevHash, &status, &headers, &body); err != nil {
		return stored{}, false, err
	}
	if prevHash != hash {
		return stored{}, true, httpx.IdempotencyKeyReused()
	}
	if status == nil {
		return stored{}, true, apperr.Conflict("idempotency.in_progress", "a request with this Idempotency-Key is still in progress")
	}
	s := stored{status: *status, body: body, headers: map[string]string{}, replay: true}
	_ = json.Unmarshal(headers, &s.headers)
	return s, true, nil
}

type stored struct {
	status  int
	headers map[string]string
	body    []byte
	replay  bool
	err     error
}

func (s stored) headersJSON() []byte { b, _ := json.Marshal(s.headers); return b }

func (s stored) write(w http.ResponseWriter) {
	for k, v := range s.headers {
		w.Header().Set(k, v)
	}
	if s.replay {
		w.Header().Set(httpx.ReplayedHeader, "true")
	}
	w.WriteHeader(s.status)
	_, _ = w.Write(s.body)
}

func problem(r *http.Request, err error) stored {
	p := httpx.ProblemFrom(err)
	p.Instance = r.URL.Path
	data, _ := json.Marshal(p)
	h := map[string]string{"Content-Type": httpx.ProblemContentType}
	return stored{status: p.Status, body: data, headers: h, err: err}
}

func (a *API) getRegistration(w http.ResponseWriter, r *http.Request) {
	view, err := a.App.GetRegistration(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view)
}

func (a *API) getPartner(w http.ResponseWriter, r *http.Request) {
	view, err := a.App.GetPartner(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view)
}

// searchPartners lists and searches partners for operators.
func (a *API) searchPartners(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := a.App.SearchPartners(r.Context(), principal(r), app.SearchPartners{
		Name: q.Get("name"), RegistrationNumber: q.Get("registration_number"), Status: q.Get("status"),
		Market: q.Get("market"), Program: q.Get("program"),
		CreatedAfter: q.Get("created_after"), CreatedBefore: q.Get("created_before"),
		UpdatedAfter: q.Get("updated_after"), UpdatedBefore: q.Get("updated_before"),
		After: q.Get("after"), Limit: q.Get("limit"),
	})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"partners": page.Partners, "next": page.Next})
}

// The request bodies of the routes other than POST /v1/registrations
// (domain.RegistrationInput).
type (
	marketBody struct {
		Market string `json:"market"`
	}
	locationBody struct {
		LocationID string `json:"location_id"`
	}
	claimBody struct {
		DuplicateAttemptID string `json:"duplicate_attempt_id"`
		Statement          string `json:"statement"`
	}
)

func (a *API) changeMarket(w http.ResponseWriter, r *http.Request) {
	var body marketBody
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.ChangeMarket(r.Context(), principal(r), app.ChangeMarketCmd{PartnerID: r.PathValue("id"), Market: body.Market})
	writeLifecycle(w, r, res, err)
}

func (a *API) linkLocation(w http.ResponseWriter, r *http.Request) {
	var body locationBody
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.LinkLocationToEnrollment(r.Context(), principal(r), app.LinkLocationCmd{
		PartnerID: r.PathValue("id"), Program: r.PathValue("program"), LocationID: body.LocationID})
	writeLifecycle(w, r, res, err)
}

func writeLifecycle(w http.ResponseWriter, r *http.Request, res app.LifecycleResult, err error) {
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"changed": res.Changed, "partner": res.Partner})
}

func (a *API) fileClaim(w http.ResponseWriter, r *http.Request) {
	var body claimBody
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.FileDuplicateClaim(r.Context(), principal(r), app.FileDuplicateClaimCmd{
		DuplicateAttemptID: strings.TrimSpace(body.DuplicateAttemptID), Statement: body.Statement})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, res)
}

// note is the body of the standing routes that need a reason.
type note struct {
	Note string `json:"note"`
}

func (a *API) placeComplianceHold(w http.ResponseWriter, r *http.Request) {
	var body note
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.PlaceComplianceHold(r.Context(), principal(r), app.ComplianceHoldCmd{PartnerID: r.PathValue("id"), Note: body.Note})
	writeLifecycle(w, r, res, err)
}

func (a *API) liftComplianceHold(w http.ResponseWriter, r *http.Request) {
	res, err := a.App.LiftComplianceHold(r.Context(), principal(r), app.ComplianceHoldCmd{PartnerID: r.PathValue("id"),
		Note: r.URL.Query().Get("note")})
	writeLifecycle(w, r, res, err)
}

func (a *API) close(w http.ResponseWriter, r *http.Request) {
	var body note
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.ClosePartner(r.Context(), principal(r), app.ClosePartnerCmd{PartnerID: r.PathValue("id"), Note: body.Note})
	writeLifecycle(w, r, res, err)
}

func (a *API) reactivate(w http.ResponseWriter, r *http.Request) {
	res, err := a.App.ReactivatePartner(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"changed": res.Changed, "review_required": res.ReviewRequired, "partner": res.Partner})
}

func (a *API) getSecurity(w http.ResponseWriter, r *http.Request) {
	view, err := a.App.GetSecurityStatus(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view)
}

// securityReportBody is the body of PUT …/security-requirements.
type securityReportBody struct {
	Status                  string     `json:"status"`
	MFAEnforcedUsersPercent *float64   `json:"mfa_enforced_users_percent"`
	MFARequestsPercent      *float64   `json:"mfa_requests_percent"`
	MeasuredAt              *time.Time `json:"measured_at"`
}

func (a *API) reportSecurity(w http.ResponseWriter, r *http.Request) {
	var body securityReportBody
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.ReportSecurityStatus(r.Context(), principal(r), app.SecurityReportCmd{PartnerID: r.PathValue("id"),
		Status: body.Status, MFAEnforcedUsersPercent: body.MFAEnforcedUsersPercent, MFARequestsPercent: body.MFARequestsPercent,
		MeasuredAt: body.MeasuredAt})
	writeLifecycle(w, r, res, err)
}

func (a *API) requirements(w http.ResponseWriter, r *http.Request) {
	view, err := a.App.EnrollmentRequirements(r.Context(), principal(r), r.PathValue("id"), r.PathValue("program"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view)
}
