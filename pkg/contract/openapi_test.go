package contract

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/httpx"
)

const petDoc = `
openapi: 3.1.0
info: {title: pets, version: "1"}
servers: [{url: "http://127.0.0.1:8080"}]
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
  schemas:
    Pet:
      type: object
      required: [id, name, born_at]
      additionalProperties: false
      properties:
        id: {type: string}
        name: {type: string}
        born_at: {type: string, format: date-time}
        tag: {type: [string, "null"]}
  responses:
    TooMany:
      description: slow down
      headers:
        Retry-After: {required: true, schema: {type: integer}}
      content:
        application/problem+json: {schema: {type: object, required: [code]}}
security: [{bearer: []}]
tags: [{name: pets, description: the pets}]
paths:
  /pets/{id}:
    get:
      tags: [pets]
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        200:
          description: the pet
          content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}
        429: {$ref: '#/components/responses/TooMany'}
    delete:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        204: {description: gone}
  /pets/mine:
    get:
      responses:
        200:
          description: mine
          content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Pet'}}}}
`

func TestLoadOpenAPIRejectsInvalidDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"openapi 3.0":                     strings.Replace(petDoc, "3.1.0", "3.0.3", 1),
		"no info":                         strings.Replace(petDoc, "info: {title: pets, version: \"1\"}", "", 1),
		"bad type":                        strings.Replace(petDoc, "name: {type: string}", "name: {type: strin}", 1),
		"dangling ref":                    strings.Replace(petDoc, "'#/components/schemas/Pet'}}}\n        429", "'#/components/schemas/Cat'}}}\n        429", 1),
		"bad status key":                  strings.Replace(petDoc, "204: {description: gone}", "2O4: {description: gone}", 1),
		"undeclared path parameter":       strings.Replace(petDoc, "    delete:\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n", "    delete:\n", 1),
		"parameter not in path":           strings.Replace(petDoc, "  /pets/mine:\n    get:\n", "  /pets/mine:\n    get:\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n", 1),
		"junk key from an unquoted comma": strings.Replace(petDoc, "name: {type: string}", "name: {type: string, description: the pet's name, e.g. Rex}", 1),
		"no servers":                      strings.Replace(petDoc, "servers: [{url: \"http://127.0.0.1:8080\"}]\n", "", 1),
		"5XX without the retryable 503":   strings.Replace(petDoc, "        204: {description: gone}\n", "        204: {description: gone}\n        5XX: {description: unexpected}\n", 1),
		"undeclared tag":                  strings.Replace(petDoc, "      tags: [pets]\n", "      tags: [cats]\n", 1),
		"tag without a description":       strings.Replace(petDoc, "{name: pets, description: the pets}", "{name: pets}", 1),
		"duplicate operationId":           strings.Replace(strings.Replace(petDoc, "    delete:\n", "    delete:\n      operationId: x\n", 1), "  /pets/mine:\n    get:\n", "  /pets/mine:\n    get:\n      operationId: x\n", 1),
	} {
		if _, err := LoadOpenAPI([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	d, err := LoadOpenAPI([]byte(petDoc))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Operations(), ","); got != "DELETE /pets/{id},GET /pets/mine,GET /pets/{id}" {
		t.Fatalf("operations %s", got)
	}
}

func TestCheckRoutes(t *testing.T) {
	d := MustLoadOpenAPI(t, []byte(petDoc))
	missing, extra := CheckRoutes(d, []httpx.Route{
		{Method: "GET", Pattern: "/pets/{id}"}, {Method: "GET", Pattern: "/pets/mine"}, {Method: "POST", Pattern: "/pets"},
	})
	if strings.Join(missing, ",") != "POST /pets" || strings.Join(extra, ",") != "DELETE /pets/{id}" {
		t.Fatalf("missing %v extra %v", missing, extra)
	}
	open := strings.Replace(petDoc, "  /pets/mine:\n    get:\n", "  /pets/mine:\n    get:\n      security: [{}, {bearer: []}]\n", 1)
	bad := CheckSecurity(MustLoadOpenAPI(t, []byte(open)), []httpx.Route{
		{Method: "GET", Pattern: "/pets/{id}", Public: true}, {Method: "DELETE", Pattern: "/pets/{id}"}, {Method: "GET", Pattern: "/pets/mine"},
	})
	if len(bad) != 2 || !strings.Contains(bad[0], "GET /pets/{id} is public") || !strings.Contains(bad[1], "GET /pets/mine is protected") {
		t.Fatalf("security mismatches %q", bad)
	}
}

func TestValidateResponse(t *testing.T) {
	d := MustLoadOpenAPI(t, []byte(petDoc))
	js := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	prob := http.Header{"Content-Type": {"application/problem+json"}}
	for _, c := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		ok                 bool
	}{
		{"valid", "GET", "/pets/1", 200, js, `{"id":"1","name":"a","born_at":"2025-01-02T03:04:05Z","tag":null}`, true},
		{"literal path wins", "GET", "/pets/mine", 200, js, `[{"id":"1","name":"a","born_at":"2025-01-02T03:04:05Z"}]`, true},
		{"literal path schema enforced", "GET", "/pets/mine", 200, js, `{"id":"1","name":"a","born_at":"2025-01-02T03:04:05Z"}`, false},
		{"missing property", "GET", "/pets/1", 200, js, `{"id":"1","born_at":"2025-01-02T03:04:05Z"}`, false},
		{"extra property", "GET", "/pets/1", 200, js, `{"id":"1","name":"a","born_at":"2025-01-02T03:04:05Z","x":1}`, false},
		{"bad format", "GET", "/pets/1", 200, js, `{"id":"1","name":"a","born_at":"yesterday"}`, false},
		{"undocumented status", "GET", "/pets/1", 409, prob, `{"code":"x"}`, false},
		{"wrong media type", "GET", "/pets/1", 200, http.Header{"Content-Type": {"text/plain"}}, `hi`, false},
		{"429 with Retry-After", "GET", "/pets/1", 429, http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"3"}}, `{"code":"slow","status":429}`, true},
		{"429 without Retry-After", "GET", "/pets/1", 429, prob, `{"code":"slow"}`, false},
		{"problem status differs", "GET", "/pets/1", 429, http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"3"}}, `{"code":"slow","status":400}`, false},
		{"no content", "DELETE", "/pets/1", 204, http.Header{}, ``, true},
		{"body where none is documented", "DELETE", "/pets/1", 204, js, `{}`, false},
		{"unknown path refused", "GET", "/cats", 404, prob, `{}`, true},
		{"wrong method refused", "PUT", "/pets/1", 405, http.Header{}, ``, true},
		{"unknown path answered", "GET", "/cats", 200, js, `{}`, false},
		{"HEAD is answered by GET", "HEAD", "/pets/1", 200, js, ``, true},
		{"HEAD status still checked", "HEAD", "/pets/1", 409, js, ``, false},
		{"health is not part of the contract", "GET", "/healthz", 200, js, `{}`, true},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		err := d.ValidateResponse(req, c.status, c.header, []byte(c.body))
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestValidatingTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/pets/bad" {
			_, _ = io.WriteString(w, `{"id":1}`)
			return
		}
		_, _ = io.WriteString(w, `{"id":"1","name":"a","born_at":"2025-01-02T03:04:05Z"}`)
	}))
	defer srv.Close()
	d := MustLoadOpenAPI(t, []byte(petDoc))
	tr := NewValidatingTransport(nil, map[string]*OpenAPI{strings.TrimPrefix(srv.URL, "http://"): d})
	client := &http.Client{Transport: tr}
	for _, p := range []string{"/pets/1", "/pets/bad"} {
		res, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if len(body) == 0 {
			t.Fatal("the transport consumed the body")
		}
	}
	v := tr.Violations()
	if tr.Checked() != 2 || len(v) != 1 || !strings.Contains(v[0].URL, "/pets/bad") {
		t.Fatalf("checked %d, violations %v", tr.Checked(), v)
	}
}

func TestRequireServedAndFetched(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mux := httpx.NewMux([]httpx.Route{httpx.OpenAPIRoute([]byte(petDoc)), {Method: "GET", Pattern: "/pets/{id}", Handler: ok}}, DenyAll)
	d := RequireServed(t, mux)
	if len(d.Operations()) != 3 {
		t.Fatal(d.Operations())
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/pets/1", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("DenyAll let a protected route through: %d", rec.Code)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	docs, err := FetchDocs(nil, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if d := docs[strings.TrimPrefix(srv.URL, "http://")]; d == nil || d.Title != "pets" {
		t.Fatalf("fetched %v", docs)
	}
}
