// Package http is the agreements service's HTTP API. Every route needs a
// bearer token (the platform guard); who the caller is, and from where,
// comes from the token and the request, never from the body.
package http

import (
	"math"
	"net/http"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/services/agreements/internal/app"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Protector wraps a handler with authentication and rate limiting
// (platform.Guard in production).
type Protector interface {
	Protect(h http.Handler) http.Handler
}

// Handler returns the API over a, every route but GET /openapi.json
// protected by g.
func Handler(a app.Application, g Protector) http.Handler {
	return httpx.NewMux(Routes(a), g.Protect)
}

// Routes lists the API, for the handler, the README and the tests.
func Routes(a app.Application) []httpx.Route {
	h := handlers{a}
	route := func(method, pattern string, fn http.HandlerFunc) httpx.Route {
		return httpx.Route{Method: method, Pattern: pattern, Handler: fn}
	}
	return []httpx.Route{
		route("POST", "/v1/agreements/versions", h.publish),
		route("GET", "/v1/agreements/versions", h.listVersions),
		route("POST", "/v1/agreements/versions/{id}/retire", h.retire),
		route("POST", "/v1/partners/{id}/agreements/acceptances", h.accept),
		route("GET", "/v1/partners/{id}/agreements", h.listSigned),
		route("GET", "/v1/partners/{id}/agreements/status", h.status),
		httpx.OpenAPIRoute(OpenAPI),
	}
}

type handlers struct{ app app.Application }

func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// publishRequest is the body of POST /v1/agreements/versions.
type publishRequest struct {
	ID                        string    `json:"id"`
	Program                   string    `json:"program"`
	Name                      string    `json:"name"`
	Languages                 []string  `json:"languages"`
	Markets                   []string  `json:"markets"`
	EffectiveFrom             time.Time `json:"effective_from"`
	TextURL                   string    `json:"text_url"`
	TextSHA256                string    `json:"text_sha256"`
	Policy                    string    `json:"policy"`
	ReacceptanceWindowSeconds int64     `json:"reacceptance_window_seconds"`
}

// seconds is n seconds, saturated at the largest duration: a window of
// 2^62+1 seconds overflowed to one second, and every partner concerned was
// overdue a second after publishing.
func seconds(n int64) time.Duration {
	if n > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	if n < math.MinInt64/int64(time.Second) {
		return math.MinInt64
	}
	return time.Duration(n) * time.Second
}

func (h handlers) publish(w http.ResponseWriter, r *http.Request) {
	var req publishRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := h.app.PublishVersion.Handle(r.Context(), principal(r), app.PublishVersionCommand{Draft: domain.VersionDraft{
		ID: req.ID, Program: req.Program, Name: req.Name, Languages: req.Languages, Markets: req.Markets,
		EffectiveFrom: req.EffectiveFrom, TextURL: req.TextURL, TextSHA256: req.TextSHA256, Policy: req.Policy,
		ReacceptanceWindow: seconds(req.ReacceptanceWindowSeconds),
	}})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Existing {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/v1/agreements/versions?program="+string(res.Version.Program))
	httpx.WriteJSON(w, status, map[string]any{
		"version": versionOut(res.Version), "existing": res.Existing, "requirements_created": res.RequirementsCreated,
	})
}

func (h handlers) listVersions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res, err := h.app.ListVersions.Handle(r.Context(), principal(r), app.ListVersionsQuery{
		Program: q.Get("program"), Market: q.Get("market"), IncludeRetired: q.Get("include_retired") == "true",
	})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]versionJSON, len(res))
	for i, v := range res {
		out[i] = versionOut(v)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"versions": out})
}

func (h handlers) retire(w http.ResponseWriter, r *http.Request) {
	res, err := h.app.RetireVersion.Handle(r.Context(), principal(r), app.RetireVersionCommand{VersionID: r.PathValue("id")})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"version": versionOut(res.Version), "requirements_cancelled": res.RequirementsCancelled,
	})
}

// acceptRequest is the body of POST /v1/partners/{id}/agreements/acceptances.
// AcceptedAt is the client's claim, kept as evidence; the record's time is
// the server's.
type acceptRequest struct {
	VersionID  string     `json:"version_id"`
	Market     string     `json:"market"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
}

func (h handlers) accept(w http.ResponseWriter, r *http.Request) {
	var req acceptRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	var missing []apperr.FieldError
	if req.VersionID == "" {
		missing = append(missing, apperr.FieldError{Field: "version_id", Code: apperr.CodeFieldRequired, Message: "is required"})
	}
	if req.Market == "" {
		missing = append(missing, apperr.FieldError{Field: "market", Code: apperr.CodeFieldRequired, Message: "is required"})
	}
	if len(missing) > 0 {
		httpx.WriteError(w, r, apperr.Invalid(app.CodeInvalidInput, "required fields are missing", missing...))
		return
	}
	id, err := pathPartner(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := h.app.Accept.Handle(r.Context(), principal(r), app.AcceptCommand{
		PartnerID: id, Market: req.Market, VersionID: req.VersionID, AcceptedAt: req.AcceptedAt,
	})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if res.Pending != nil {
		// Not refused for event lag: recorded when the approval arrives.
		httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"pending_acceptance": pendingOut(*res.Pending)})
		return
	}
	status := http.StatusCreated
	if res.Existing {
		status = http.StatusOK
	}
	httpx.WriteJSON(w, status, map[string]any{
		"acceptance": acceptanceOut(res.Acceptance), "existing": res.Existing, "carried_over": res.CarriedOver,
	})
}

func (h handlers) listSigned(w http.ResponseWriter, r *http.Request) {
	id, err := pathPartner(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := h.app.ListSigned.Handle(r.Context(), principal(r), app.ListSignedQuery{PartnerID: id})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := signedJSON{PartnerID: res.PartnerID, LocationID: res.LocationID, Market: string(res.Market), Programs: []programJSON{},
		Pending: []pendingJSON{}}
	for _, pa := range res.Pending {
		out.Pending = append(out.Pending, pendingOut(pa))
	}
	for _, g := range res.Programs {
		pj := programJSON{Program: string(g.Program)}
		for _, a := range g.Agreements {
			pj.Agreements = append(pj.Agreements, signedItemJSON{
				AcceptanceID: a.AcceptanceID, VersionID: a.VersionID, Name: a.Name, TextURL: a.TextURL,
				TextSHA256: string(a.TextSHA256), Market: string(a.Market), EffectiveAt: a.EffectiveAt,
				AcceptedAt: a.AcceptedAt, AcceptedBy: acceptorOut(a.AcceptedBy), Channel: string(a.Channel),
				Current: a.Current, SupersededBy: a.SupersededBy, Suspended: a.Suspended,
			})
		}
		out.Programs = append(out.Programs, pj)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (h handlers) status(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, err := pathPartner(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := h.app.Status.Handle(r.Context(), principal(r), app.StatusQuery{
		PartnerID: id, Market: q.Get("market"), Program: q.Get("program"),
	})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, statusJSON{
		Signed: true, PartnerID: res.PartnerID, LocationID: res.LocationID, Program: string(res.Program),
		Market: string(res.Market), AcceptanceID: res.AcceptanceID, VersionID: res.VersionID,
		AcceptedAt: res.AcceptedAt, EffectiveAt: res.EffectiveAt, AcceptedBy: acceptorOut(res.AcceptedBy),
		ReacceptanceDueBy: res.ReacceptanceDueBy,
	})
}

// pathPartner reads the {id} of a partner's route, a global or a location
// partner ID, as every service reads one (pkg/ids): in its canonical form,
// or a 422 agreements.invalid_partner_id that says what was expected.
func pathPartner(r *http.Request) (string, error) {
	return ids.Read(r.PathValue("id"), "path.id", domain.ErrInvalidPartnerID.Code, ids.Partner, ids.Location)
}
