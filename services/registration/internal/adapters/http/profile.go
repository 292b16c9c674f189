package http

import (
	"net/http"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

func (a *API) getProfile(w http.ResponseWriter, r *http.Request) {
	view, err := a.App.GetProfile(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view)
}

// requestProfileChange answers 201 with the profile: the verified one and
// the change (applied at once when it re-opens no check).
func (a *API) requestProfileChange(w http.ResponseWriter, r *http.Request) {
	var body domain.ProfileChangeInput
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	view, err := a.App.RequestProfileChange(r.Context(), principal(r), app.RequestProfileChangeCmd{PartnerID: r.PathValue("id"), Change: body})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, view)
}

// profileDecisionBody is a verifier's decision on a re-opened check.
type profileDecisionBody struct {
	Check   string `json:"check"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

func (a *API) decideProfileCheck(w http.ResponseWriter, r *http.Request) {
	var body profileDecisionBody
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	view, err := a.App.DecideProfileCheck(r.Context(), principal(r), app.DecideProfileCheckCmd{PartnerID: r.PathValue("id"),
		ChangeNumber: r.PathValue("number"), Check: body.Check, Outcome: body.Outcome, Reason: body.Reason})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view)
}
