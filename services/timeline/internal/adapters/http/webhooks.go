package http

import (
	"errors"
	"net/http"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// The request bodies of the webhook routes.
type (
	createEndpointBody struct {
		URL         string   `json:"url"`
		EventTypes  []string `json:"event_types"`
		Description string   `json:"description"`
		Consumer    string   `json:"consumer"`
		Scope       string   `json:"scope"`
	}
	updateEndpointBody struct {
		URL         *string   `json:"url"`
		EventTypes  *[]string `json:"event_types"`
		Description *string   `json:"description"`
	}
	rotateBody struct {
		// PreviousSecretExpiresIn is how many seconds the previous secret
		// keeps signing (default 86400).
		PreviousSecretExpiresIn *int64 `json:"previous_secret_expires_in"`
	}
)

func (a API) webhookRoutes() []httpx.Route {
	h := func(method, pattern string, fn http.HandlerFunc) httpx.Route {
		return httpx.Route{Method: method, Pattern: pattern, Handler: fn}
	}
	return []httpx.Route{
		h(http.MethodPost, "/v1/webhooks/endpoints", a.createEndpoint),
		h(http.MethodGet, "/v1/webhooks/endpoints", a.listEndpoints),
		h(http.MethodGet, "/v1/webhooks/endpoints/{id}", a.getEndpoint),
		h(http.MethodPatch, "/v1/webhooks/endpoints/{id}", a.updateEndpoint),
		h(http.MethodDelete, "/v1/webhooks/endpoints/{id}", a.deleteEndpoint),
		h(http.MethodPost, "/v1/webhooks/endpoints/{id}/enable", a.enableEndpoint),
		h(http.MethodPost, "/v1/webhooks/endpoints/{id}/disable", a.disableEndpoint),
		h(http.MethodPost, "/v1/webhooks/endpoints/{id}/secret/rotate", a.rotateSecret),
		h(http.MethodGet, "/v1/webhooks/endpoints/{id}/deliveries", a.listDeliveries),
		h(http.MethodPost, "/v1/webhooks/endpoints/{id}/deliveries/{delivery}/redeliver", a.redeliver),
	}
}

type secretResponse struct {
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

type endpointResponse struct {
	ID             string           `json:"id"`
	Consumer       string           `json:"consumer"`
	Scope          string           `json:"scope"`
	URL            string           `json:"url"`
	Description    string           `json:"description"`
	EventTypes     []string         `json:"event_types"`
	Status         string           `json:"status"`
	DisabledReason string           `json:"disabled_reason,omitempty"`
	DisabledAt     *time.Time       `json:"disabled_at,omitempty"`
	FailingSince   *time.Time       `json:"failing_since,omitempty"`
	Secrets        []secretResponse `json:"secrets"`
	CreatedBy      string           `json:"created_by"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
}

func when(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toEndpoint(e domain.Endpoint) endpointResponse {
	r := endpointResponse{ID: e.ID, Consumer: e.Consumer, Scope: e.Scope, URL: e.URL, Description: e.Description,
		EventTypes: e.EventTypes, Status: e.Status, DisabledReason: e.DisabledReason, DisabledAt: when(e.DisabledAt),
		FailingSince: when(e.FailingSince), Secrets: make([]secretResponse, len(e.Secrets)), CreatedBy: e.CreatedBy,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
	if r.EventTypes == nil {
		r.EventTypes = []string{}
	}
	for i, s := range e.Secrets {
		r.Secrets[i] = secretResponse{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), ExpiresAt: when(s.ExpiresAt)}
	}
	return r
}

type deliveryResponse struct {
	ID          string           `json:"id"`
	EndpointID  string           `json:"endpoint_id"`
	EventSource string           `json:"event_source"`
	EventID     string           `json:"event_id"`
	EventType   string           `json:"event_type"`
	State       string           `json:"state"`
	Attempts    int              `json:"attempts"`
	NextAttempt *time.Time       `json:"next_attempt_at,omitempty"`
	LastStatus  int              `json:"last_status"`
	LastError   string           `json:"last_error"`
	AttemptLog  []domain.Attempt `json:"attempt_log"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

func toDelivery(d domain.Delivery) deliveryResponse {
	r := deliveryResponse{ID: d.ID, EndpointID: d.EndpointID, EventSource: d.EventSource, EventID: d.EventID, EventType: d.EventType,
		State: d.State, Attempts: d.Attempts, NextAttempt: when(d.NextAttempt), LastStatus: d.LastStatus, LastError: d.LastError,
		AttemptLog: d.Log, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if d.State != domain.DeliveryPending {
		r.NextAttempt = nil
	}
	if r.AttemptLog == nil {
		r.AttemptLog = []domain.Attempt{}
	}
	return r
}

func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// createEndpoint registers an endpoint. Under an Idempotency-Key, a retry
// of the same request by the same principal answers the endpoint it
// created (Idempotent-Replayed: true) instead of creating another; another
// request under the key is refused. A refused request leaves the key free.
func (a API) createEndpoint(w http.ResponseWriter, r *http.Request) {
	var body createEndpointBody
	raw, err := httpx.DecodeJSON(w, r, &body)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	key, err := httpx.IdempotencyKey(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	cmd := app.CreateEndpoint{URL: body.URL, EventTypes: body.EventTypes, Description: body.Description,
		Consumer: body.Consumer, Scope: body.Scope}
	if key != "" {
		cmd.Once = app.Idempotency{Key: key, RequestDigest: httpx.RequestDigest(r, raw)}
	}
	created, err := a.Webhooks.CreateEndpoint(r.Context(), principal(r), cmd)
	if errors.Is(err, app.ErrKeyReused) {
		err = httpx.IdempotencyKeyReused()
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/webhooks/endpoints/"+created.Endpoint.ID)
	if created.Replayed {
		w.Header().Set(httpx.ReplayedHeader, "true")
	}
	httpx.WriteJSON(w, http.StatusCreated, struct {
		endpointResponse
		Secret string `json:"secret"`
	}{toEndpoint(created.Endpoint), created.Secret})
}

func (a API) listEndpoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, next, err := a.Webhooks.ListEndpoints(r.Context(), principal(r), q.Get("consumer"), q.Get("after"), q.Get("limit"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]endpointResponse, len(list))
	for i, e := range list {
		out[i] = toEndpoint(e)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"endpoints": out, "next": next})
}

func (a API) writeEndpoint(w http.ResponseWriter, r *http.Request, e domain.Endpoint, err error) {
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toEndpoint(e))
}

func (a API) getEndpoint(w http.ResponseWriter, r *http.Request) {
	e, err := a.Webhooks.GetEndpoint(r.Context(), principal(r), r.PathValue("id"))
	a.writeEndpoint(w, r, e, err)
}

func (a API) updateEndpoint(w http.ResponseWriter, r *http.Request) {
	var body updateEndpointBody
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	e, err := a.Webhooks.UpdateEndpoint(r.Context(), principal(r), r.PathValue("id"),
		app.UpdateEndpoint{URL: body.URL, EventTypes: body.EventTypes, Description: body.Description})
	a.writeEndpoint(w, r, e, err)
}

func (a API) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	if err := a.Webhooks.DeleteEndpoint(r.Context(), principal(r), r.PathValue("id")); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a API) enableEndpoint(w http.ResponseWriter, r *http.Request) {
	e, err := a.Webhooks.EnableEndpoint(r.Context(), principal(r), r.PathValue("id"))
	a.writeEndpoint(w, r, e, err)
}

func (a API) disableEndpoint(w http.ResponseWriter, r *http.Request) {
	e, err := a.Webhooks.DisableEndpoint(r.Context(), principal(r), r.PathValue("id"))
	a.writeEndpoint(w, r, e, err)
}

func (a API) rotateSecret(w http.ResponseWriter, r *http.Request) {
	var body rotateBody
	if r.ContentLength != 0 { // the body is optional
		if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	var overlap *time.Duration
	if s := body.PreviousSecretExpiresIn; s != nil {
		d := time.Duration(min(max(*s, -1), 1<<32)) * time.Second
		overlap = &d
	}
	rot, err := a.Webhooks.RotateSecret(r.Context(), principal(r), r.PathValue("id"), overlap)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"endpoint": toEndpoint(rot.Endpoint), "secret": rot.Secret,
		"previous_secret_expires_at": rot.PreviousExpireAt.UTC()})
}

func (a API) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, next, err := a.Webhooks.ListDeliveries(r.Context(), principal(r), r.PathValue("id"), q.Get("state"), q.Get("after"), q.Get("limit"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]deliveryResponse, len(list))
	for i, d := range list {
		out[i] = toDelivery(d)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"deliveries": out, "next": next})
}

func (a API) redeliver(w http.ResponseWriter, r *http.Request) {
	d, err := a.Webhooks.Redeliver(r.Context(), principal(r), r.PathValue("id"), r.PathValue("delivery"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, toDelivery(d))
}
