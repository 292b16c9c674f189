package httpx

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMountProtectsAllButPublicRoutes(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	protect := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	mux := NewMux([]Route{
		{Method: "GET", Pattern: "/private/{id}", Handler: ok},
		{Method: "POST", Pattern: "/public", Handler: ok, Public: true},
	}, protect)
	for _, c := range []struct {
		method, path string
		auth         bool
		want         int
	}{
		{"GET", "/private/1", false, 401},
		{"GET", "/private/1", true, 204},
		{"POST", "/public", false, 204},
		{"GET", "/public", false, 405}, // wrong method: a 405 problem with Allow, not the mux's plain text
		{"DELETE", "/private/1", true, 405},
		{"OPTIONS", "/private/1", false, 405},
		{"GET", "/nowhere", true, 404},
		{"POST", "/nowhere", true, 404},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.auth {
			r.Header.Set("Authorization", "Bearer x")
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s %s auth=%v: %d, want %d", c.method, c.path, c.auth, w.Code, c.want)
		}
		if w.Code == 405 {
			var p Problem
			want := map[string]string{"/public": "POST", "/private/1": "GET, HEAD"}[c.path]
			if w.Header().Get("Allow") != want || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Code != CodeMethodNotAllowed || p.Status != 405 {
				t.Errorf("%s %s: Allow %q, want %q: %s", c.method, c.path, w.Header().Get("Allow"), want, w.Body)
			}
		}
		if w.Code == 404 {
			var p Problem
			if w.Header().Get("Content-Type") != ProblemContentType || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Code != "request.no_route" {
				t.Errorf("%s %s: not a no_route problem: %s", c.method, c.path, w.Body)
			}
		}
	}
}

func TestAnAuthenticatedRoutesAnswerIsNotStored(t *testing.T) {
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("fail") {
			w.Header().Set("Content-Type", "application/json") // a handler's own write, not WriteProblem
			w.WriteHeader(http.StatusConflict)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"email": "a@example.com"})
	})
	cached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60") // a handler may choose otherwise
		WriteJSON(w, http.StatusOK, nil)
	})
	public := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, http.StatusOK, nil) })
	protect := func(h http.Handler) http.Handler { return h }
	mux := NewMux([]Route{
		{Method: "GET", Pattern: "/partners/{id}", Handler: answer},
		{Method: "GET", Pattern: "/cached", Handler: cached},
		{Method: "GET", Pattern: "/public", Handler: public, Public: true},
	}, protect)
	for path, want := range map[string]string{
		"/partners/1":      "no-store",
		"/partners/1?fail": "no-store",
		"/cached":          "private, max-age=60",
		"/public":          "",
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if got := w.Header().Get("Cache-Control"); got != want {
			t.Errorf("GET %s (%d): Cache-Control %q, want %q", path, w.Code, got, want)
		}
	}
}

func TestOpenAPIRouteServesYAMLAsJSON(t *testing.T) {
	rt := OpenAPIRoute([]byte("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n        200: {description: ok}\n"))
	if !rt.Public || rt.String() != "GET /openapi.json" {
		t.Fatalf("route %s public=%v", rt, rt.Public)
	}
	w := httptest.NewRecorder()
	rt.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/openapi.json", nil))
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || json.Unmarshal(w.Body.Bytes(), &doc) != nil {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths["/x"]["get"].Responses["200"] == nil {
		t.Fatalf("converted badly: %s", w.Body)
	}
	if _, err := YAMLToJSON([]byte("a: [1\n")); err == nil {
		t.Fatal("malformed YAML accepted")
	}
}
