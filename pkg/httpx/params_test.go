package httpx

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMountRefusesMalformedPathAndQueryParameters(t *testing.T) {
	reached := 0
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; w.WriteHeader(http.StatusNoContent) })
	protect := func(h http.Handler) http.Handler { return h }
	mux := NewMux([]Route{
		{Method: "GET", Pattern: "/v1/partners/{id}/agreements", Handler: ok},
		{Method: "POST", Pattern: "/v1/relationships/{id}/end", Handler: ok},
		{Method: "GET", Pattern: "/v1/tasks", Handler: ok},
		{Method: "GET", Pattern: "/confirm", Handler: ok, Public: true},
	}, protect)
	for _, c := range []struct {
		method, target, code, field string
	}{
		{"GET", "/v1/partners/%00/agreements", CodeInvalidPathParameter, "path.id"},
		{"GET", "/v1/partners/PG-1%00/agreements", CodeInvalidPathParameter, "path.id"},
		{"GET", "/v1/partners/%FF%FE/agreements", CodeInvalidPathParameter, "path.id"},
		{"GET", "/v1/partners/%C3%28/agreements", CodeInvalidPathParameter, "path.id"},
		{"GET", "/v1/partners/PG%E2%80%AE1/agreements", CodeInvalidPathParameter, "path.id"}, // right-to-left override
		{"GET", "/v1/partners/PG%E2%80%8B1/agreements", CodeInvalidPathParameter, "path.id"}, // zero-width space
		{"POST", "/v1/relationships/%1B%5B31m/end", CodeInvalidPathParameter, "path.id"},
		{"GET", "/v1/partners/" + string(make([]byte, 0)) + "x" + repeat("a", MaxParam) + "/agreements", CodeInvalidPathParameter, "path.id"},
		{"GET", "/v1/tasks?status=%00", CodeInvalidQueryParameter, "query.status"},
		{"GET", "/v1/tasks?status=open&partner=%FF", CodeInvalidQueryParameter, "query.partner"},
		{"GET", "/v1/tasks?%00=x", CodeInvalidQueryParameter, "query.\x00"},
	} {
		reached = 0
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(c.method, c.target, nil))
		var p struct {
			Code   string `json:"code"`
			Status int    `json:"status"`
			Errors []struct{ Field, Code string }
		}
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != http.StatusUnprocessableEntity || p.Code != c.code || p.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != c.field || reached != 0 {
			t.Errorf("%s %s: %d %s (reached handler %d times)", c.method, c.target, w.Code, w.Body, reached)
		}
	}
	for _, target := range []string{"/v1/partners/PG-7K3M9Q2X/agreements", "/v1/partners/%E6%A0%AA/agreements", "/v1/tasks?status=open", "/confirm?token=%00"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != http.StatusNoContent {
			t.Errorf("%s: %d %s, want it to reach the handler", target, w.Code, w.Body)
		}
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, n*len(s))
	for range n {
		b = append(b, s...)
	}
	return string(b)
}

// FuzzPathAndQuery: whatever id and query a caller sends, the shared layer
// lets a clean one reach the handler and answers anything else with a 4xx
// problem with a code — never a 500.
func FuzzPathAndQuery(f *testing.F) {
	for _, s := range []string{"PG-PRTA-HD7W-NYE", "%00", "%FF", "%E2%80%AE", "a%2Fb", "..", "株式会社", "%"} {
		f.Add(s, "status=open")
		f.Add("PG-1", "status="+s)
	}
	mux := NewMux([]Route{{Method: "GET", Pattern: "/v1/partners/{id}/agreements", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, bad := checkParam("id", r.PathValue("id")); bad {
			panic("a malformed id reached the handler: " + r.PathValue("id"))
		}
		w.WriteHeader(http.StatusNoContent)
	})}}, func(h http.Handler) http.Handler { return h })
	f.Fuzz(func(t *testing.T, id, query string) {
		req, err := http.NewRequest("GET", "http://x/v1/partners/"+id+"/agreements?"+query, nil)
		if err != nil {
			return // not a URL a client could send
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		switch {
		case w.Code == http.StatusNoContent:
		case w.Code == http.StatusTemporaryRedirect, w.Code == http.StatusMovedPermanently: // ServeMux cleaning "..", "//"
		case w.Code >= 400 && w.Code < 500:
			var p struct{ Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code == "" {
				t.Fatalf("%q ?%q: %d without a problem code: %s", id, query, w.Code, w.Body)
			}
		default:
			t.Fatalf("%q ?%q: %d %s", id, query, w.Code, w.Body)
		}
	})
}

// TestMountRefusesQueryParametersTheOperationDoesNotTake: with the
// service's OpenAPI document among the routes, a protected operation takes
// only the query parameters the document declares for it (its own, its
// path item's, $refs resolved); a public page takes any.
func TestMountRefusesQueryParametersTheOperationDoesNotTake(t *testing.T) {
	doc := []byte(`openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /v1/tasks:
    parameters: [{name: market, in: query, schema: {type: string}}]
    get:
      parameters:
        - {name: status, in: query, schema: {type: string}}
        - {name: type, in: query, schema: {type: array, items: {type: string}}}
        - {$ref: '#/components/parameters/Limit'}
  /v1/tasks/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    post: {}
  /confirm:
    get:
      parameters: [{name: token, in: query, schema: {type: string}}]
components:
  parameters:
    Limit: {name: limit, in: query, schema: {type: integer}}
`)
	reached := 0
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; w.WriteHeader(http.StatusNoContent) })
	mux := NewMux([]Route{
		{Method: "GET", Pattern: "/v1/tasks", Handler: ok},
		{Method: "POST", Pattern: "/v1/tasks/{id}", Handler: ok},
		{Method: "GET", Pattern: "/confirm", Handler: ok, Public: true},
		OpenAPIRoute(doc),
	}, func(h http.Handler) http.Handler { return h })
	for _, c := range []struct {
		method, target, field, message string
	}{
		{"GET", "/v1/tasks?stauts=open", "query.stauts", "not a query parameter of this operation; it takes limit, market, status, type"},
		{"GET", "/v1/tasks?status=open&partner_id=PG-1", "query.partner_id", "not a query parameter of this operation; it takes limit, market, status, type"},
		{"POST", "/v1/tasks/t1?note=x", "query.note", "this operation takes no query parameter"},
	} {
		reached = 0
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(c.method, c.target, nil))
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Errors []struct{ Field, Code, Message string }
		}
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != http.StatusUnprocessableEntity || p.Code != CodeInvalidQueryParameter || len(p.Errors) != 1 || p.Errors[0].Field != c.field ||
			p.Detail != "this operation does not take that query parameter" ||
			p.Errors[0].Code != CodeUnknownQueryParameter || p.Errors[0].Message != c.message || reached != 0 {
			t.Errorf("%s %s: %d %s (reached handler %d times)", c.method, c.target, w.Code, w.Body, reached)
		}
	}
	for _, c := range []struct{ method, target string }{
		{"GET", "/v1/tasks?status=open&market=JP&limit=5"}, {"GET", "/v1/tasks"}, {"POST", "/v1/tasks/t1"},
		{"GET", "/v1/tasks?type=a&type=b&status=open"}, // an array may be given more than once
		{"GET", "/confirm?token=x&utm_source=mail"},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(c.method, c.target, nil))
		if w.Code != http.StatusNoContent {
			t.Errorf("%s %s: %d %s, want it to reach the handler", c.method, c.target, w.Code, w.Body)
		}
	}
	// A parameter taken once, given twice: the first was read, and a
	// client asking for two statuses got a list of one.
	for _, target := range []string{"/v1/tasks?status=failed&status=pending", "/v1/tasks?limit=5&limit=5&market=JP"} {
		reached = 0
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Errors []struct{ Field, Code, Message string }
		}
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != http.StatusUnprocessableEntity || p.Code != CodeInvalidQueryParameter || len(p.Errors) != 1 ||
			p.Errors[0].Code != CodeRepeatedQueryParameter || p.Errors[0].Message != "given 2 times; this operation takes one value" ||
			p.Detail != "a query parameter is given more than once" || reached != 0 {
			t.Errorf("GET %s: %d %s (reached handler %d times)", target, w.Code, w.Body, reached)
		}
	}
	if _, err := QueryParameters([]byte("paths: {/x: {get: {parameters: [{$ref: '#/components/parameters/Nope'}]}}}")); err == nil {
		t.Error("a $ref that does not resolve was accepted")
	}
}
