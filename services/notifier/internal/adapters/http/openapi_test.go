package http

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
)

// TestOpenAPIDocumentsEveryRoute: the document is valid OpenAPI 3.1, is
// served at /openapi.json without a token (every other protected route is
// mounted behind contract.DenyAll here), and lists exactly the mounted
// routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	a := API{Protect: contract.DenyAll}
	doc := contract.RequireServed(t, a.Handler())
	contract.RequireRoutes(t, doc, a.RouteTable())
}
