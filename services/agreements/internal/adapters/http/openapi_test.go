package http

import (
	"net/http"
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/services/agreements/internal/app"
)

type open struct{}

func (open) Protect(h http.Handler) http.Handler { return h }

// TestOpenAPIDocumentsEveryRoute: the document is valid OpenAPI 3.1, is
// served at /openapi.json, and lists exactly the mounted routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := contract.RequireServed(t, Handler(app.Application{}, open{}))
	contract.RequireRoutes(t, doc, Routes(app.Application{}))
}
