// Package http is the verification service's HTTP API: verifiers list,
// claim and decide review tasks; upstream systems submit document metadata
// and read cases and requirements for their applicants. Every route is
// protected (bearer JWT + rate limit); the app checks roles.
package http

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// Handler serves the API.
type Handler struct {
	App *app.App
	// Protect wraps every route (platform Guard.Protect).
	Protect func(http.Handler) http.Handler
	// Policy is the app's policy (appeals remaining in case views).
	Policy domain.Policy
}

// Routes returns the API mux.
func (h *Handler) Routes() http.Handler { return httpx.NewMux(h.RouteTable(), h.Protect) }

// RouteTable lists the API (GET /openapi.json is public, the rest protected).
func (h *Handler) RouteTable() []httpx.Route {
	route := func(method, pattern string, fn http.HandlerFunc) httpx.Route {
		return httpx.Route{Method: method, Pattern: pattern, Handler: fn}
	}
	return append(h.reviewRoutes(),
		route("GET", "/v1/verification/tasks", h.listTasks),
		route("POST", "/v1/verification/tasks/{task_id}/claim", h.claim),
		route("POST", "/v1/verification/tasks/{task_id}/decisions", h.decide),
		route("GET", "/v1/verification/cases/{case_id}", h.getCase),
		route("POST", "/v1/verification/cases/{case_id}/revocations", h.revoke),
		route("POST", "/v1/verification/cases/{case_id}/reviews", h.reopen),
		route("GET", "/v1/verification/partners/{partner_id}/case", h.getCase),
		route("GET", "/v1/verification/partners/{partner_id}/requirements", h.requirements),
		route("POST", "/v1/verification/partners/{partner_id}/documents", h.submitDocument),
		route("POST", "/v1/verification/partners/{partner_id}/domain-proofs", h.proveDomain),
		route("GET", "/v1/verification/catalog", h.catalog),
		httpx.OpenAPIRoute(OpenAPI),
	)
}

func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

type taskJSON struct {
	CaseID    string            `json:"case_id"`
	PartnerID string            `json:"partner_id"`
	Market    string            `json:"market"`
	Task      domain.ReviewTask `json:"task"`
}

// queueParams reads the query parameters every verifier queue (tasks,
// reviews) takes beside its filters and after, market, unclaimed and limit (1..500),
// adding what is wrong to fields. A market no case can have ("jp") matched
// nothing (200, an empty queue) before: a typo read as "no work".
func queueParams(q url.Values, fields []apperr.FieldError) (market string, unclaimed bool, limit int, _ []apperr.FieldError) {
	if market = q.Get("market"); market != "" && !domain.ValidMarket(market) {
		fields = append(fields, apperr.FieldError{Field: "query.market", Code: "query.market_invalid", Message: "market must be an ISO 3166-1 alpha-2 code in upper case, such as JP"})
	}
	if v := q.Get("unclaimed"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fields = append(fields, apperr.FieldError{Field: "query.unclaimed", Code: "query.not_boolean", Message: "unclaimed must be true or false"})
		}
		unclaimed = b
	}
	limit, fe := apperr.ParseLimit(q.Get("limit"), 0, 500) // 0: the queue's own default
	if fe != nil {
		fields = append(fields, *fe)
	}
	return market, unclaimed, limit, fields
}

func (h *Handler) listTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := app.TaskFilter{Check: domain.CheckKind(q.Get("check")), Status: domain.TaskStatus(q.Get("status"))}
	var fields []apperr.FieldError
	if f.Check != "" && !f.Check.Valid() {
		fields = append(fields, apperr.FieldError{Field: "query.check", Code: "check.unknown", Message: "check must be email_ownership, employment or company"})
	}
	if s := f.Status; s != "" && !slices.Contains([]domain.TaskStatus{domain.TaskOpen, domain.TaskPendingConfirmation, domain.TaskDecided, domain.TaskCancelled}, s) {
		fields = append(fields, apperr.FieldError{Field: "query.status", Code: "task.status_unknown", Message: "status must be open, pending_confirmation, decided or cancelled"})
	}
	f.Market, f.Unclaimed, f.Limit, fields = queueParams(q, fields)
	if len(fields) > 0 {
		httpx.WriteError(w, r, apperr.Invalid(httpx.CodeInvalidQueryParameter, "invalid query parameters", fields...))
		return
	}
	var err error
	if f.After, err = page.After(q.Get("after"), app.CodeInvalidCursor); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	tasks, next, err := h.App.ListTasks(r.Context(), principal(r), f)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]taskJSON, len(tasks))
	for i, t := range tasks {
		out[i] = taskJSON{CaseID: t.CaseID, PartnerID: t.PartnerID, Market: t.Market, Task: t.Task}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tasks": out, "next": next})
}

func (h *Handler) claim(w http.ResponseWriter, r *http.Request) {
	res, err := h.App.ClaimTask(r.Context(), principal(r), app.ClaimTaskCommand{TaskID: r.PathValue("task_id")})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"case_id": res.CaseID, "task_id": res.Task.ID,
		"claimed_by": res.Task.ClaimedBy, "lease_until": res.LeaseUntil, "task": res.Task})
}

// DecisionRequest is the body of POST /v1/verification/tasks/{task_id}/decisions.
type DecisionRequest struct {
	DecisionID       string   `json:"decision_id"`
	Outcome          string   `json:"outcome"`
	ReasonCode       string   `json:"reason_code,omitempty"`
	Mode             string   `json:"mode,omitempty"`
	ApplicantMessage string   `json:"applicant_message,omitempty"`
	InternalNote     string   `json:"internal_note,omitempty"`
	Documents        []string `json:"documents,omitempty"`
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request) {
	var req DecisionRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	cmd := app.DecideCommand{DecisionID: req.DecisionID, TaskID: r.PathValue("task_id"), Outcome: domain.Outcome(req.Outcome),
		Reason: domain.ReasonCode(req.ReasonCode), Mode: domain.RejectionMode(req.Mode),
		ApplicantMessage: req.ApplicantMessage, InternalNote: req.InternalNote}
	for _, d := range req.Documents {
		cmd.Documents = append(cmd.Documents, domain.DocumentType(d))
	}
	res, err := h.App.Decide(r.Context(), principal(r), cmd)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	httpx.WriteJSON(w, status, map[string]any{"case_id": res.CaseID, "decision": res.Decision, "replayed": res.Replayed,
		"check_state": res.CheckState, "case_status": res.CaseStatus})
}

// DocumentRequest is the body of POST /v1/verification/partners/{partner_id}/documents.
type DocumentRequest struct {
	Check      string `json:"check"`
	Type       string `json:"type"`
	IssuedOn   string `json:"issued_on"`
	SHA256     string `json:"sha256"`
	SizeBytes  int64  `json:"size_bytes"`
	MediaType  string `json:"media_type"`
	StorageURI string `json:"storage_uri"`
}

func (h *Handler) submitDocument(w http.ResponseWriter, r *http.Request) {
	var req DocumentRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	partnerID, err := pathPartner(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := h.App.SubmitDocument(r.Context(), principal(r), app.SubmitDocumentCommand{PartnerID: partnerID,
		Document: domain.DocumentInput{Check: domain.CheckKind(req.Check), Type: domain.DocumentType(req.Type), IssuedOn: req.IssuedOn,
			SHA256: req.SHA256, SizeBytes: req.SizeBytes, MediaType: req.MediaType, StorageURI: req.StorageURI}})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	httpx.WriteJSON(w, status, map[string]any{"case_id": res.CaseID, "document": res.Document, "replayed": res.Replayed,
		"appeals_remaining": res.AppealsRemaining})
}

// CodeInvalidPartnerID answers a {partner_id} that is not a global partner ID.
const CodeInvalidPartnerID = "verification.invalid_partner_id"

// pathPartner reads the {partner_id} of a partner's route as every service
// reads a partner ID (pkg/ids): in its canonical form, or a 422 that says
// what was expected.
func pathPartner(r *http.Request) (string, error) {
	return ids.Read(r.PathValue("partner_id"), "path.partner_id", CodeInvalidPartnerID, ids.Partner)
}

// caseQuery reads a case's route: by its case id or by its partner's.
func caseQuery(r *http.Request) (app.CaseQuery, error) {
	if r.PathValue("partner_id") == "" {
		return app.CaseQuery{CaseID: r.PathValue("case_id")}, nil
	}
	partnerID, err := pathPartner(r)
	return app.CaseQuery{PartnerID: partnerID}, err
}

type checkJSON struct {
	*domain.Check
	AppealsRemaining int `json:"appeals_remaining"`
}

type caseJSON struct {
	CaseID     string             `json:"case_id"`
	PartnerID  string             `json:"partner_id"`
	LocationID string             `json:"location_id,omitempty"`
	Market     string             `json:"market"`
	Status     domain.CaseStatus  `json:"status"`
	SubStatus  string             `json:"sub_status"`
	Failure    *domain.Failure    `json:"failure,omitempty"`
	Revocation *domain.Revocation `json:"revocation,omitempty"`
	// DomainProof is how the applicant may prove its e-mail domain.
	DomainProof *domainProofJSON   `json:"domain_proof,omitempty"`
	Checks      []checkJSON        `json:"checks"`
	Tasks       []taskSummary      `json:"tasks"`
	Documents   []*domain.Document `json:"documents"`
	Decisions   []*domain.Decision `json:"decisions"`
	OpenedAt    time.Time          `json:"opened_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
	ClosedAt    time.Time          `json:"closed_at,omitzero"`
	// PartnerClosedAt: the partner's account was closed then; its case is
	// never reviewed again (since round 45).
	PartnerClosedAt time.Time `json:"partner_closed_at,omitzero"`
	// EarlierAccounts: the company's earlier accounts (staff only: a
	// redacted case has none).
	EarlierAccounts []domain.EarlierAccount `json:"earlier_accounts,omitempty"`
}

type domainProofJSON struct {
	Domain      string `json:"domain"`
	DNSTXTName  string `json:"dns_txt_name"`
	DNSTXTValue string `json:"dns_txt_value"`
	HTTPURL     string `json:"http_url"`
	HTTPBody    string `json:"http_body"`
}

type taskSummary struct {
	ID         string            `json:"id"`
	Check      domain.CheckKind  `json:"check"`
	Round      int               `json:"round"`
	Status     domain.TaskStatus `json:"status"`
	DueAt      time.Time         `json:"due_at"`
	ClaimedBy  string            `json:"claimed_by,omitempty"`
	LeaseUntil time.Time         `json:"lease_until,omitzero"`
	Overdue    bool              `json:"overdue"`
}

func (h *Handler) getCase(w http.ResponseWriter, r *http.Request) {
	q, err := caseQuery(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	c, err := h.App.GetCase(r.Context(), principal(r), q)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, h.caseView(c))
}

// caseView is the case as the API shows it.
func (h *Handler) caseView(c *domain.Case) caseJSON {
	out := caseJSON{CaseID: c.ID, PartnerID: c.PartnerID, LocationID: c.LocationID, Market: c.Market, Status: c.Status,
		SubStatus: c.SubStatus, Failure: c.Failure, Revocation: c.Revocation, Tasks: []taskSummary{}, Documents: c.Documents,
		Decisions: c.Decisions, OpenedAt: c.OpenedAt, UpdatedAt: c.UpdatedAt, ClosedAt: c.ClosedAt,
		PartnerClosedAt: c.PartnerClosedAt, EarlierAccounts: c.EarlierAccounts}
	for _, ck := range c.Checks {
		out.Checks = append(out.Checks, checkJSON{Check: ck, AppealsRemaining: ck.AppealsRemaining(h.Policy)})
	}
	if dp := c.DomainProof; dp != nil {
		out.DomainProof = &domainProofJSON{Domain: dp.Domain, DNSTXTName: dp.TXTName(), DNSTXTValue: dp.Value(), HTTPURL: dp.URL(), HTTPBody: dp.Value()}
	}
	for _, t := range c.Tasks {
		out.Tasks = append(out.Tasks, taskSummary{ID: t.ID, Check: t.Check, Round: t.Round, Status: t.Status, DueAt: t.DueAt,
			ClaimedBy: t.ClaimedBy, LeaseUntil: t.LeaseUntil, Overdue: t.Overdue})
	}
	if out.Documents == nil {
		out.Documents = []*domain.Document{}
	}
	if out.Decisions == nil {
		out.Decisions = []*domain.Decision{}
	}
	return out
}

// RevocationRequest is the body of POST /v1/verification/cases/{case_id}/revocations.
type RevocationRequest struct {
	DecisionID string `json:"decision_id"`
	Reason     string `json:"reason"`
}

// revoke withdraws a case's approval: 201 with the case, 200 when the
// revocation was recorded before.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	var req RevocationRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := h.App.Revoke(r.Context(), principal(r), app.RevokeCommand{CaseID: r.PathValue("case_id"),
		DecisionID: req.DecisionID, Reason: req.Reason})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	httpx.WriteJSON(w, status, h.caseView(res.Case))
}

// reopen reviews a revoked (or approved) case again: 201 with the case.
// ReopenRequest is the body of POST /v1/verification/cases/{id}/reviews.
type ReopenRequest struct {
	Note string `json:"note"`
}

func (h *Handler) reopen(w http.ResponseWriter, r *http.Request) {
	var req ReopenRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	c, err := h.App.ReopenReview(r.Context(), principal(r), app.ReopenReviewCommand{CaseID: r.PathValue("case_id"), Note: req.Note})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, h.caseView(c))
}

// proveDomain looks for the applicant's domain proof and, found, passes
// the employment check on it: 200 with the case.
// DomainProofRequest is the body of POST …/partners/{id}/domain-proofs.
type DomainProofRequest struct {
	Method string `json:"method"`
}

func (h *Handler) proveDomain(w http.ResponseWriter, r *http.Request) {
	var req DomainProofRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	partnerID, err := pathPartner(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	c, err := h.App.ProveDomain(r.Context(), principal(r), app.ProveDomainCommand{PartnerID: partnerID, Method: req.Method})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, h.caseView(c))
}

func (h *Handler) requirements(w http.ResponseWriter, r *http.Request) {
	q, err := caseQuery(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	v, err := h.App.Requirements(r.Context(), principal(r), q)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

// catalog lists the reason codes and document types (for verifier tools and
// upstream forms); any authenticated caller may read it.
func (h *Handler) catalog(w http.ResponseWriter, r *http.Request) {
	if principal(r).IsZero() {
		httpx.WriteError(w, r, apperr.New(apperr.KindUnauthenticated, "auth.unauthenticated", "authentication required"))
		return
	}
	reasons := make([]domain.Reason, 0, len(domain.Reasons))
	for _, rs := range domain.Reasons {
		reasons = append(reasons, rs)
	}
	slices.SortFunc(reasons, func(a, b domain.Reason) int { return strings.Compare(string(a.Code), string(b.Code)) })
	docs := make([]domain.DocumentTypeInfo, 0, len(domain.DocumentTypes))
	for _, d := range domain.DocumentTypes {
		docs = append(docs, d)
	}
	slices.SortFunc(docs, func(a, b domain.DocumentTypeInfo) int { return strings.Compare(string(a.Type), string(b.Type)) })
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"reasons": reasons, "document_types": docs,
		"appeal_limit": h.Policy.AppealLimit, "max_company_document_age_months": h.Policy.MaxCompanyDocumentAgeMonths})
}
