package http

import (
	"net/http"

	"github.com/partnerhub/onboarding/pkg/httpx"
)

func (a *API) getClaim(w http.ResponseWriter, r *http.Request) {
	v, err := a.App.GetDuplicateClaim(r.Context(), principal(r), r.PathValue("claim_id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}
