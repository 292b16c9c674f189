// Package http is the HTTP API of the relationships service. Every route
// needs a bearer token (base.Guard.Protect); the principal goes to the app,
// which decides. Invitation tokens travel in a request header or body, never
// in a path or query string (those end up in access logs).
package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
)

// InvitationTokenHeader carries the invitation token on GET /v1/invitation.
const InvitationTokenHeader = "Invitation-Token"

// API serves the routes.
type API struct {
	App *app.App
	// InvitationBaseURL is the reseller-facing page; the token goes into its
	// fragment (#token=…), which browsers never send to a server.
	InvitationBaseURL *url.URL
	// Protect authenticates and rate-limits (base.Guard.Protect).
	Protect func(http.Handler) http.Handler
}

// Handler returns the routes.
func (a API) Handler() http.Handler { return httpx.NewMux(a.Routes(), a.Protect) }

// Routes lists the API (GET /openapi.json is public, the rest protected).
func (a API) Routes() []httpx.Route {
	route := func(method, pattern string, h http.HandlerFunc) httpx.Route {
		return httpx.Route{Method: method, Pattern: pattern, Handler: h}
	}
	return []httpx.Route{
		route("POST", "/v1/relationship-requests", a.createRequest),
		route("GET", "/v1/invitation", a.viewInvitation),
		route("POST", "/v1/invitation/authorise", a.authorise),
		route("POST", "/v1/invitation/decline", a.decline),
		route("POST", "/v1/invitation/defer", a.deferRequest),
		route("POST", "/v1/relationships/{id}/end", a.end),
		route("POST", "/v1/relationships/{id}/narrow", a.narrow),
		route("POST", "/v1/relationships/{id}/widen-requests", a.widen),
		route("GET", "/v1/provider/relationships", a.listForProvider),
		route("GET", "/v1/reseller/relationships", a.listForReseller),
		httpx.OpenAPIRoute(OpenAPI),
	}
}

func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// InvitationURL builds the link handed to the provider once.
func InvitationURL(base *url.URL, token string) string {
	u := *base
	u.Fragment = "token=" + token
	return u.String()
}

type createRequestBody struct {
	ResellerLocationID string   `json:"reseller_location_id"`
	Roles              []string `json:"roles"`
	DurationDays       int      `json:"duration_days"`
	AutoExtend         bool     `json:"auto_extend"`
}

type requestCreatedResponse struct {
	RelationshipID string    `json:"relationship_id"`
	RequestID      string    `json:"request_id"`
	InvitationURL  string    `json:"invitation_url"`
	Roles          []string  `json:"roles"`
	DurationDays   int       `json:"duration_days"`
	AutoExtend     bool      `json:"auto_extend"`
	ExpiresAt      time.Time `json:"expires_at"`
}

func (a API) created(w http.ResponseWriter, res app.CreateRequestResult) {
	httpx.WriteJSON(w, http.StatusCreated, requestCreatedResponse{
		RelationshipID: res.RelationshipID, RequestID: res.RequestID, InvitationURL: InvitationURL(a.InvitationBaseURL, res.Token),
		Roles: res.Roles, DurationDays: res.DurationDays, AutoExtend: res.AutoExtend, ExpiresAt: res.ExpiresAt,
	})
}

func (a API) createRequest(w http.ResponseWriter, r *http.Request) {
	var b createRequestBody
	if _, err := httpx.DecodeJSON(w, r, &b); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.CreateRequest(r.Context(), principal(r), app.CreateRequestCommand(b))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	a.created(w, res)
}

type addressResponse struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country,omitempty"`
}

type invitationResponse struct {
	RelationshipID     string          `json:"relationship_id"`
	RequestID          string          `json:"request_id"`
	Kind               string          `json:"kind"`
	Status             string          `json:"status"`
	ProviderID         string          `json:"provider_id"`
	ProviderLegalName  string          `json:"provider_legal_name"`
	ProviderAddress    addressResponse `json:"provider_address"`
	ResellerLocationID string          `json:"reseller_location_id"`
	Roles              []string        `json:"roles"`
	CurrentRoles       []string        `json:"current_roles,omitempty"`
	DurationDays       int             `json:"duration_days"`
	AutoExtend         bool            `json:"auto_extend"`
	ExpiresAt          time.Time       `json:"expires_at"`
	ConsentStatement   string          `json:"consent_statement"`
}

func (a API) viewInvitation(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get(InvitationTokenHeader)
	if token == "" {
		httpx.WriteError(w, r, tokenMissing("header."+InvitationTokenHeader, "send the invitation token in the "+InvitationTokenHeader+" header"))
		return
	}
	v, err := a.App.ViewInvitation(r.Context(), principal(r), token)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, invitationResponse{
		RelationshipID: v.RelationshipID, RequestID: v.RequestID, Kind: string(v.Kind), Status: string(v.Status),
		ProviderID: v.ProviderID, ProviderLegalName: v.ProviderLegalName, ProviderAddress: addressResponse(v.ProviderAddress),
		ResellerLocationID: v.ResellerLocationID, Roles: v.Roles, CurrentRoles: v.CurrentRoles,
		DurationDays: v.DurationDays, AutoExtend: v.AutoExtend, ExpiresAt: v.ExpiresAt, ConsentStatement: v.ConsentStatement,
	})
}

// tokenMissing refuses a request without the invitation token where it
// belongs (the header of GET /v1/invitation, the body's token of the
// answers): 422 at that field, not the 404 of a token that matches no
// invitation.
func tokenMissing(field, detail string) error {
	return apperr.Invalid("relationships.invitation_token_missing", detail, apperr.FieldError{Field: field, Code: apperr.CodeFieldRequired, Message: "is required"})
}

// decodeAnswer reads the body of an answer to an invitation into b, whose
// token must be there.
func decodeAnswer(w http.ResponseWriter, r *http.Request, b any, token func() string) bool {
	if _, err := httpx.DecodeJSON(w, r, b); err != nil {
		httpx.WriteError(w, r, err)
		return false
	}
	if token() == "" {
		httpx.WriteError(w, r, tokenMissing("token", "send the invitation token in the body's token"))
		return false
	}
	return true
}

type authoriseBody struct {
	Token   string `json:"token"`
	Consent bool   `json:"consent"`
}

type grantResponse struct {
	RelationshipID string    `json:"relationship_id"`
	GrantID        string    `json:"grant_id"`
	Roles          []string  `json:"roles"`
	StartsAt       time.Time `json:"starts_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	AutoExtend     bool      `json:"auto_extend"`
}

func (a API) authorise(w http.ResponseWriter, r *http.Request) {
	var b authoriseBody
	if !decodeAnswer(w, r, &b, func() string { return b.Token }) {
		return
	}
	res, err := a.App.Authorise(r.Context(), principal(r), app.AuthoriseCommand(b))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, grantResponse(res))
}

type declineBody struct {
	Token  string `json:"token"`
	Reason string `json:"reason"`
}

func (a API) decline(w http.ResponseWriter, r *http.Request) {
	var b declineBody
	if !decodeAnswer(w, r, &b, func() string { return b.Token }) {
		return
	}
	if err := a.App.Decline(r.Context(), principal(r), app.DeclineCommand(b)); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type deferBody struct {
	Token string `json:"token"`
}

type deferResponse struct {
	RequestID string    `json:"request_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (a API) deferRequest(w http.ResponseWriter, r *http.Request) {
	var b deferBody
	if !decodeAnswer(w, r, &b, func() string { return b.Token }) {
		return
	}
	res, err := a.App.Defer(r.Context(), principal(r), b.Token)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, deferResponse(res))
}

type endBody struct {
	Reason string `json:"reason"`
}

type endResponse struct {
	RelationshipID string    `json:"relationship_id"`
	EndedBy        string    `json:"ended_by"`
	EndedAt        time.Time `json:"ended_at"`
	Reason         string    `json:"reason"`
	AlreadyEnded   bool      `json:"already_ended"`
}

func (a API) end(w http.ResponseWriter, r *http.Request) {
	var b endBody
	if _, err := httpx.DecodeJSON(w, r, &b); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.EndRelationship(r.Context(), principal(r), app.EndRelationshipCommand{RelationshipID: r.PathValue("id"), Reason: b.Reason})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, endResponse{RelationshipID: res.RelationshipID, EndedBy: string(res.EndedBy),
		EndedAt: res.EndedAt, Reason: res.Reason, AlreadyEnded: res.AlreadyEnded})
}

type rolesBody struct {
	Roles []string `json:"roles"`
}

type narrowResponse struct {
	GrantID string   `json:"grant_id"`
	Roles   []string `json:"roles"`
	Removed []string `json:"removed"`
}

func (a API) narrow(w http.ResponseWriter, r *http.Request) {
	var b rolesBody
	if _, err := httpx.DecodeJSON(w, r, &b); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.NarrowRoles(r.Context(), principal(r), app.NarrowRolesCommand{RelationshipID: r.PathValue("id"), Roles: b.Roles})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, narrowResponse(res))
}

type widenBody struct {
	Roles        []string `json:"roles"`
	DurationDays int      `json:"duration_days"`
	AutoExtend   bool     `json:"auto_extend"`
}

func (a API) widen(w http.ResponseWriter, r *http.Request) {
	var b widenBody
	if _, err := httpx.DecodeJSON(w, r, &b); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.RequestWiderRoles(r.Context(), principal(r), app.RequestWiderRolesCommand{
		RelationshipID: r.PathValue("id"), Roles: b.Roles, DurationDays: b.DurationDays, AutoExtend: b.AutoExtend,
	})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	a.created(w, res)
}

type grantSummary struct {
	GrantID     string    `json:"grant_id"`
	State       string    `json:"state"`
	Roles       []string  `json:"roles"`
	StartsAt    time.Time `json:"starts_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	AutoExtend  bool      `json:"auto_extend"`
	SuspendedAt time.Time `json:"suspended_at,omitzero"`
	SuspendedBy string    `json:"suspended_by,omitempty"`
}

type pendingSummary struct {
	RequestID   string       `json:"request_id"`
	Kind        string       `json:"kind"`
	Status      string       `json:"status"`
	Roles       []string     `json:"roles"`
	ExpiresAt   time.Time    `json:"expires_at"`
	MailFailure *mailFailure `json:"mail_failure,omitempty"`
}

// mailFailure: the request's mail to the reseller's contact did not arrive.
type mailFailure struct {
	Template string    `json:"template"`
	Reason   string    `json:"reason"`
	Detail   string    `json:"detail"`
	FailedAt time.Time `json:"failed_at"`
}

type relationshipSummary struct {
	RelationshipID     string          `json:"relationship_id"`
	State              string          `json:"state"`
	ProviderID         string          `json:"provider_id"`
	ProviderLegalName  string          `json:"provider_legal_name"`
	ResellerID         string          `json:"reseller_id"`
	ResellerLocationID string          `json:"reseller_location_id"`
	ResellerLegalName  string          `json:"reseller_legal_name"`
	Grant              *grantSummary   `json:"grant,omitempty"`
	PendingRequest     *pendingSummary `json:"pending_request,omitempty"`
	EndedAt            *time.Time      `json:"ended_at,omitempty"`
	EndedBy            string          `json:"ended_by,omitempty"`
}

type listResponse struct {
	Relationships []relationshipSummary `json:"relationships"`
	Next          string                `json:"next"`
}

func listQuery(r *http.Request) (app.ListQuery, error) {
	var q app.ListQuery
	if raw := r.URL.Query().Get("partner_id"); raw != "" {
		id, err := ids.Read(raw, "query.partner_id", app.CodeInvalidPartnerID, ids.Partner)
		if err != nil {
			return q, err
		}
		q.PartnerID = id
	}
	if s := r.URL.Query().Get("include_closed"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, apperr.Invalid(httpx.CodeInvalidQueryParameter, "include_closed must be true or false",
				apperr.FieldError{Field: "query.include_closed", Code: "include_closed.not_boolean", Message: "must be true or false"})
		}
		q.IncludeClosed = b
	}
	limit, fe := apperr.ParseLimit(r.URL.Query().Get("limit"), app.DefaultListPage, app.MaxListPage)
	if fe != nil {
		return q, apperr.Invalid(httpx.CodeInvalidQueryParameter, "invalid query", *fe)
	}
	q.Limit = limit
	var err error
	q.After, err = page.After(r.URL.Query().Get("after"), app.CodeInvalidCursor)
	return q, err
}

func (a API) listForProvider(w http.ResponseWriter, r *http.Request) {
	a.list(w, r, a.App.ListForProvider)
}

func (a API) listForReseller(w http.ResponseWriter, r *http.Request) {
	a.list(w, r, a.App.ListForReseller)
}

func (a API) list(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, p auth.Principal, q app.ListQuery) (app.RelationshipList, error)) {
	q, err := listQuery(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := fn(r.Context(), principal(r), q)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := listResponse{Relationships: make([]relationshipSummary, 0, len(res.Relationships)), Next: res.Next}
	for _, s := range res.Relationships {
		v := relationshipSummary{
			RelationshipID: s.RelationshipID, State: string(s.State), ProviderID: s.ProviderID, ProviderLegalName: s.ProviderLegalName,
			ResellerID: s.ResellerID, ResellerLocationID: s.ResellerLocationID, ResellerLegalName: s.ResellerLegalName,
			EndedBy: string(s.EndedBy),
		}
		if !s.EndedAt.IsZero() {
			t := s.EndedAt
			v.EndedAt = &t
		}
		if g := s.Grant; g != nil {
			v.Grant = &grantSummary{GrantID: g.GrantID, State: string(g.State), Roles: g.Roles, StartsAt: g.StartsAt, ExpiresAt: g.ExpiresAt, AutoExtend: g.AutoExtend,
				SuspendedAt: g.SuspendedAt, SuspendedBy: string(g.SuspendedBy)}
		}
		if p := s.PendingRequest; p != nil {
			v.PendingRequest = &pendingSummary{RequestID: p.RequestID, Kind: string(p.Kind), Status: string(p.Status), Roles: p.Roles, ExpiresAt: p.ExpiresAt}
			if f := p.MailFailure; f != nil {
				v.PendingRequest.MailFailure = &mailFailure{Template: f.Template, Reason: f.Reason, Detail: f.Detail, FailedAt: f.At}
			}
		}
		out.Relationships = append(out.Relationships, v)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
