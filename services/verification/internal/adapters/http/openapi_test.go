package http

import (
	"net/http"
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
)

// TestOpenAPIDocumentsEveryRoute: the document is valid OpenAPI 3.1, is
// served at /openapi.json, and lists exactly the mounted routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := &Handler{Protect: func(h http.Handler) http.Handler { return h }}
	doc := contract.RequireServed(t, h.Routes())
	contract.RequireRoutes(t, doc, h.RouteTable())
}
