package http

import (
	"net/http"
	"slices"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// reviewRoutes are the routes of reviews without a case (duplicate claims,
// e-mail disputes): list, read, claim, decide.
func (h *Handler) reviewRoutes() []httpx.Route {
	return []httpx.Route{
		{Method: "GET", Pattern: "/v1/verification/reviews", Handler: http.HandlerFunc(h.listReviews)},
		{Method: "GET", Pattern: "/v1/verification/reviews/{review_id}", Handler: http.HandlerFunc(h.getReview)},
		{Method: "POST", Pattern: "/v1/verification/reviews/{review_id}/claim", Handler: http.HandlerFunc(h.claimReview)},
		{Method: "POST", Pattern: "/v1/verification/reviews/{review_id}/decisions", Handler: http.HandlerFunc(h.decideReview)},
	}
}

func (h *Handler) listReviews(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := app.ReviewFilter{Kind: domain.ReviewKind(q.Get("kind")), Status: domain.ReviewStatus(q.Get("status"))}
	var fields []apperr.FieldError
	if f.Kind != "" && !f.Kind.Valid() {
		fields = append(fields, apperr.FieldError{Field: "query.kind", Code: "review.kind_unknown", Message: "kind must be duplicate_claim or email_dispute"})
	}
	if s := f.Status; s != "" && !slices.Contains([]domain.ReviewStatus{domain.ReviewOpen, domain.ReviewDecided, domain.ReviewCancelled}, s) {
		fields = append(fields, apperr.FieldError{Field: "query.status", Code: "review.status_unknown", Message: "status must be open, decided or cancelled"})
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
	reviews, next, err := h.App.ListReviews(r.Context(), principal(r), f)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"reviews": reviews, "next": next})
}

func (h *Handler) getReview(w http.ResponseWriter, r *http.Request) {
	rv, err := h.App.GetReview(r.Context(), principal(r), r.PathValue("review_id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, rv)
}

func (h *Handler) claimReview(w http.ResponseWriter, r *http.Request) {
	rv, err := h.App.ClaimReview(r.Context(), principal(r), r.PathValue("review_id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, rv)
}

// ReviewDecisionRequest is the body of POST /v1/verification/reviews/{review_id}/decisions.
type ReviewDecisionRequest struct {
	DecisionID   string `json:"decision_id"`
	Outcome      string `json:"outcome"`
	ReasonCode   string `json:"reason_code,omitempty"`
	Message      string `json:"message,omitempty"`
	InternalNote string `json:"internal_note,omitempty"`
}

func (h *Handler) decideReview(w http.ResponseWriter, r *http.Request) {
	var req ReviewDecisionRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	rv, replayed, err := h.App.DecideReview(r.Context(), principal(r), app.DecideReviewCommand{ReviewID: r.PathValue("review_id"),
		DecisionID: req.DecisionID, Outcome: domain.ReviewOutcome(req.Outcome), Reason: domain.ReasonCode(req.ReasonCode),
		Message: req.Message, InternalNote: req.InternalNote})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	httpx.WriteJSON(w, status, map[string]any{"review": rv, "replayed": replayed})
}
