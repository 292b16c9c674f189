// Package http is the notifier's HTTP API: the operators' view of every
// mail (status, attempts, SMTP reply codes; addresses masked) and the
// public unsubscribe page of reminders (its GET only shows; its button's
// POST, or a mail client's RFC 8058 one-click POST, acts).
package http

import (
	"net/http"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// API serves the routes.
type API struct {
	App *app.App
	// Protect authenticates and rate-limits (base.Guard.Protect).
	Protect func(http.Handler) http.Handler
	// Limit rate-limits the anonymous unsubscribe POST (per client address).
	Limit func(http.Handler) http.Handler
	// MessageIDDomain is the right side of the Message-IDs, to show them.
	MessageIDDomain string
}

// Handler returns the routes (unknown ones answer the request.no_route problem).
func (a API) Handler() http.Handler { return httpx.NewMux(a.RouteTable(), a.Protect) }

// RouteTable lists the API.
func (a API) RouteTable() []httpx.Route {
	limit := a.Limit
	if limit == nil {
		limit = func(h http.Handler) http.Handler { return h }
	}
	return []httpx.Route{
		{Method: http.MethodGet, Pattern: "/v1/mails", Handler: http.HandlerFunc(a.list)},
		{Method: http.MethodGet, Pattern: "/v1/mails/{id}", Handler: http.HandlerFunc(a.get)},
		{Method: http.MethodGet, Pattern: "/unsubscribe", Handler: http.HandlerFunc(a.unsubscribePage), Public: true},
		{Method: http.MethodPost, Pattern: "/unsubscribe", Handler: limit(http.HandlerFunc(a.unsubscribe)), Public: true},
		httpx.OpenAPIRoute(OpenAPI),
	}
}

type attemptResponse struct {
	Number     int        `json:"number"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Outcome    string     `json:"outcome"`
	SMTPCode   int        `json:"smtp_code,omitempty"`
	Error      string     `json:"error,omitempty"`
}

type triggerResponse struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type mailResponse struct {
	ID          string `json:"id"`
	MessageID   string `json:"message_id"`
	Template    string `json:"template"`
	Category    string `json:"category"`
	PartnerID   string `json:"partner_id"`
	ChallengeID string `json:"challenge_id,omitempty"`
	Recipient   string `json:"recipient"`
	Language    string `json:"language,omitempty"`
	Status      string `json:"status"`
	FailReason  string `json:"fail_reason,omitempty"`
	// SuppressedReason says why a suppressed mail was never sent.
	SuppressedReason string            `json:"suppressed_reason,omitempty"`
	NextAttemptAt    *time.Time        `json:"next_attempt_at,omitempty"`
	ExpiresAt        *time.Time        `json:"expires_at,omitempty"`
	Trigger          triggerResponse   `json:"trigger"`
	Attempts         []attemptResponse `json:"attempts"`
}

type mailsResponse struct {
	PartnerID    string         `json:"partner_id"`
	RemindersOff bool           `json:"reminders_off"`
	Mails        []mailResponse `json:"mails"`
	Next         string         `json:"next"`
}

func opt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (a API) toMail(s domain.DeliverySnapshot) mailResponse {
	q := s.Request
	m := mailResponse{ID: q.ID, MessageID: "<" + q.ID + "@" + a.MessageIDDomain + ">", Template: q.TemplateID, Category: string(q.Category),
		PartnerID: q.PartnerID, ChallengeID: q.ChallengeID, Recipient: app.MaskAddress(q.Recipient), Language: string(q.Language),
		Status: string(s.Status), ExpiresAt: opt(q.ExpiresAt),
		Trigger: triggerResponse{Type: q.TriggerType, ID: q.CausationID}, Attempts: make([]attemptResponse, len(s.Attempts))}
	switch {
	case s.Status == domain.StatusSuppressed && s.FailReason == "":
		m.SuppressedReason = "reminders_off"
	case s.Status == domain.StatusSuppressed:
		m.SuppressedReason = string(s.FailReason)
	default:
		m.FailReason = string(s.FailReason)
	}
	if s.Status == domain.StatusPending || s.Status == domain.StatusSending {
		m.NextAttemptAt = opt(s.NextAttemptAt)
	}
	for i, at := range s.Attempts {
		m.Attempts[i] = attemptResponse{Number: at.Number, StartedAt: at.StartedAt.UTC(), FinishedAt: opt(at.FinishedAt),
			Outcome: string(at.Outcome), SMTPCode: at.SMTPCode, Error: at.Error}
		if m.Attempts[i].Outcome == "" {
			m.Attempts[i].Outcome = "in_flight"
		}
	}
	return m
}

func (a API) list(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	limit, fe := apperr.ParseLimit(q.Get("limit"), app.DefaultMailPage, app.MaxMailPage)
	if fe != nil {
		httpx.WriteError(w, r, apperr.Invalid(httpx.CodeInvalidQueryParameter, "invalid query", *fe))
		return
	}
	after, err := page.After(q.Get("after"), app.CodeInvalidCursor)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.Mails(r.Context(), p, app.MailQuery{PartnerID: q.Get("partner_id"), Status: domain.Status(q.Get("status")), Limit: limit, After: after})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := mailsResponse{PartnerID: res.PartnerID, RemindersOff: res.RemindersOff, Mails: make([]mailResponse, len(res.Mails)), Next: res.Next}
	for i, m := range res.Mails {
		out.Mails[i] = a.toMail(m)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a API) get(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	m, err := a.App.Mail(r.Context(), p, r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a.toMail(m))
}
