package http

import (
	"net/http"
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
)

// TestOpenAPIDocumentsEveryRoute: the document is valid OpenAPI 3.1, is
// served at /openapi.json, and lists exactly the mounted routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	a := API{Protect: func(h http.Handler) http.Handler { return h }}
	doc := contract.RequireServed(t, a.Handler())
	contract.RequireRoutes(t, doc, a.RouteTable())
}
