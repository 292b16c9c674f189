package http

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
)

// TestOpenAPIDocumentsEveryRoute: the document is valid OpenAPI 3.1, is
// served at /openapi.json without a token (every other route is mounted
// behind contract.DenyAll here), and lists exactly the mounted routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := &Handler{Protect: contract.DenyAll}
	doc := contract.RequireServed(t, h.Routes())
	contract.RequireRoutes(t, doc, h.RouteTable())
}
