package http

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// addEnrollment enrolls a registered partner in one more program (201);
// with an Idempotency-Key a retry gets the first answer again.
func (a *API) addEnrollment(w http.ResponseWriter, r *http.Request) {
	a.idempotent(w, r, func(ctx context.Context, r *http.Request, p auth.Principal, body []byte) stored {
		var in domain.EnrollmentInput
		if err := httpx.DecodeStrict(body, &in); err != nil {
			return problem(r, err)
		}
		res, err := a.App.AddEnrollment(ctx, p, app.AddEnrollmentCmd{PartnerID: r.PathValue("id"), Input: in})
		if err != nil {
			return problem(r, err)
		}
		return created(res)
	})
}

// addLocation adds a business location to a registered partner (201);
// with an Idempotency-Key a retry gets the first answer again.
func (a *API) addLocation(w http.ResponseWriter, r *http.Request) {
	a.idempotent(w, r, func(ctx context.Context, r *http.Request, p auth.Principal, body []byte) stored {
		var in domain.LocationInput
		if err := httpx.DecodeStrict(body, &in); err != nil {
			return problem(r, err)
		}
		res, err := a.App.AddLocation(ctx, p, app.AddLocationCmd{PartnerID: r.PathValue("id"), Input: in})
		if err != nil {
			return problem(r, err)
		}
		return created(res)
	})
}

func created(v any) stored {
	data, _ := json.Marshal(v)
	return stored{status: http.StatusCreated, body: data, headers: map[string]string{"Content-Type": "application/json"}}
}
