package http

import (
	"net/http"
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
)

type pass struct{} // Protect denies all, Middleware (the anonymous rate limit) passes

func (pass) Protect(h http.Handler) http.Handler    { return contract.DenyAll(h) }
func (pass) Middleware(h http.Handler) http.Handler { return h }

// TestOpenAPIDocumentsEveryRoute: the document is valid OpenAPI 3.1, is
// served at /openapi.json without a token (every other route is mounted
// behind contract.DenyAll here), and lists exactly the mounted routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := contract.RequireServed(t, Handler(nil, pass{}, pass{}))
	contract.RequireRoutes(t, doc, Routes(nil, pass{}, pass{}))
}
