// Package http is the timeline's HTTP API: one partner's events from every
// service, in order, with per-source sequence gaps.
package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// API serves the routes.
type API struct {
	App      *app.App
	Webhooks *app.Webhooks
	// Protect authenticates and rate-limits (base.Guard.Protect).
	Protect func(http.Handler) http.Handler
}

// Handler returns the routes (unknown ones answer the request.no_route problem).
func (a API) Handler() http.Handler { return httpx.NewMux(a.RouteTable(), a.Protect) }

// RouteTable lists the API (GET /openapi.json is public, the rest protected).
func (a API) RouteTable() []httpx.Route {
	routes := []httpx.Route{
		{Method: http.MethodGet, Pattern: "/v1/partners/{id}/timeline", Handler: http.HandlerFunc(a.timeline)},
		{Method: http.MethodGet, Pattern: "/v1/events", Handler: http.HandlerFunc(a.feed)},
	}
	routes = append(routes, a.webhookRoutes()...)
	return append(routes, httpx.OpenAPIRoute(OpenAPI))
}

type eventResponse struct {
	ID            string    `json:"id"`
	Source        string    `json:"source"`
	Type          string    `json:"type"`
	Subject       string    `json:"subject"`
	Time          time.Time `json:"time"`
	Sequence      string    `json:"sequence"`
	CorrelationID string    `json:"correlationid"`
	CausationID   string    `json:"causationid"`
	AuthType      string    `json:"authtype"`
	AuthID        string    `json:"authid"`
	// AuthClaims are the roles the actor acted in (since round 48; the
	// partner's side reads them where it does not read the actor).
	AuthClaims string          `json:"authclaims,omitempty"`
	Data       json.RawMessage `json:"data"`
	RecordedAt time.Time       `json:"recorded_at"`
	// DeadLetter marks an entry that is another consumer's refusal of the
	// event (time is then when it was dead-lettered).
	DeadLetter *deadLetterResponse `json:"dead_letter,omitempty"`
}

type deadLetterResponse struct {
	Code      string `json:"code"`
	Reason    string `json:"reason"`
	Service   string `json:"service"`
	Handler   string `json:"handler"`
	Delivered int    `json:"delivered"`
	// Times counts the handler's refusals of the event (a replay refused
	// again); LastAt is the last one's time, absent while there is one.
	Times  int        `json:"times"`
	LastAt *time.Time `json:"last_at,omitempty"`
}

type sourceResponse struct {
	Source       string   `json:"source"`
	Events       int      `json:"events"`
	LastSequence string   `json:"last_sequence"`
	Gaps         []string `json:"gaps"`
	// GapsTruncated says more sequences are missing than gaps lists.
	GapsTruncated bool `json:"gaps_truncated,omitempty"`
}

type timelineResponse struct {
	PartnerID string           `json:"partner_id"`
	Events    []eventResponse  `json:"events"`
	Sources   []sourceResponse `json:"sources"`
	Next      string           `json:"next"`
}

func sequence(n uint64) string {
	if n == 0 {
		return ""
	}
	return ce.FormatSequence(n)
}

func (a API) timeline(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q := r.URL.Query()
	t, err := a.App.GetTimeline(r.Context(), p, app.GetTimeline{
		PartnerID: r.PathValue("id"), After: q.Get("after"), Limit: q.Get("limit"), Type: q.Get("type"),
	})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	resp := timelineResponse{PartnerID: t.PartnerID, Events: make([]eventResponse, len(t.Events)),
		Sources: make([]sourceResponse, len(t.Sources)), Next: t.Next}
	for i, e := range t.Events {
		resp.Events[i] = toEvent(e)
	}
	for i, s := range t.Sources {
		gaps := make([]string, len(s.Gaps))
		for j, g := range s.Gaps {
			gaps[j] = sequence(g)
		}
		resp.Sources[i] = sourceResponse{Source: s.Source, Events: s.Events, LastSequence: sequence(s.LastSequence),
			Gaps: gaps, GapsTruncated: s.GapsTruncated}
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func toEvent(e domain.Event) eventResponse {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	resp := eventResponse{
		ID: e.ID, Source: e.Source, Type: e.Type, Subject: e.Subject, Time: e.Time.UTC(), Sequence: sequence(e.Sequence),
		CorrelationID: e.CorrelationID, CausationID: e.CausationID, AuthType: e.AuthType, AuthID: e.AuthID,
		AuthClaims: e.Extensions[auth.ExtAuthClaims], Data: data, RecordedAt: e.RecordedAt.UTC(),
	}
	if d := e.DeadLetter; d != nil {
		resp.DeadLetter = &deadLetterResponse{Code: d.Code, Reason: d.Reason, Service: d.Service, Handler: d.Handler, Delivered: d.Delivered,
			Times: d.Times}
		if !d.LastAt.IsZero() {
			resp.DeadLetter.LastAt = &d.LastAt
		}
	}
	return resp
}

// feed answers one page of the event feed: CloudEvents in structured JSON
// mode, as a webhook delivers them.
func (a API) feed(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q := r.URL.Query()
	f, err := a.App.GetFeed(r.Context(), p, app.GetFeed{After: q.Get("after"), Limit: q.Get("limit"), Types: q["type"], Partner: q.Get("partner")})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	events := make([]json.RawMessage, len(f.Events))
	for i, e := range f.Events {
		if events[i], err = e.StructuredJSON(); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	httpx.WriteJSON(w, http.StatusOK, feedResponse{Events: events, Next: f.Next, HasMore: f.HasMore})
}

type feedResponse struct {
	Events  []json.RawMessage `json:"events"`
	Next    string            `json:"next"`
	HasMore bool              `json:"has_more"`
}
