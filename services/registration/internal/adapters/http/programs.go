package http

import (
	"net/http"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// addEnrollment enrolls a registered partner in one more program (201).
func (a *API) addEnrollment(w http.ResponseWriter, r *http.Request) {
	var body domain.EnrollmentInput
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.AddEnrollment(r.Context(), principal(r), app.AddEnrollmentCmd{PartnerID: r.PathValue("id"), Input: body})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, res)
}

// addLocation adds a business location to a registered partner (201).
func (a *API) addLocation(w http.ResponseWriter, r *http.Request) {
	var body domain.LocationInput
	if _, err := httpx.DecodeJSON(w, r, &body); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	res, err := a.App.AddLocation(r.Context(), principal(r), app.AddLocationCmd{PartnerID: r.PathValue("id"), Input: body})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, res)
}
