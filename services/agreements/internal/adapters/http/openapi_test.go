package http

import (
	"net/http"
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/services/agreements/internal/app"
)

type deny struct{}

func (deny) Protect(h http.Handler) http.Handler { return contract.DenyAll(h) }

// TestOpenAPIDocumentsEveryRoute: the document is valid OpenAPI 3.1, is
// served at /openapi.json without a token (every other route is mounted
// behind contract.DenyAll here), and lists exactly the mounted routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := contract.RequireServed(t, Handler(app.Application{}, deny{}))
	contract.RequireRoutes(t, doc, Routes(app.Application{}))
}
