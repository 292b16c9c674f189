package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// OpenAPIPath is where every service serves its OpenAPI document (no
// authentication, like /healthz).
const OpenAPIPath = "/openapi.json"

// Route is one operation of a service's API. A service lists its routes in
// a table so that tests can compare them with its OpenAPI document.
type Route struct {
	Method  string // GET, POST, PUT, ...
	Pattern string // http.ServeMux path pattern, e.g. /v1/partners/{id}
	Handler http.Handler
	// Public routes are mounted as they are; the others are wrapped by the
	// protect function given to Mount (authentication and rate limit).
	Public bool
	// openapi is the document OpenAPIRoute serves: Mount reads from it the
	// query parameters each operation takes.
	openapi []byte
}

// String is the ServeMux pattern of r, e.g. "GET /v1/partners/{id}".
func (r Route) String() string { return r.Method + " " + r.Pattern }

// Mount registers routes on mux, wrapping the non-public ones with protect
// and marking their answers Cache-Control: no-store (see noStore),
// validates every route's path parameters (and a protected route's query
// parameters) once for all services (see checkParams), and answers every
// other request with a problem instead of the mux's plain text: 405 (code
// request.method_not_allowed, with Allow) when the path is a route with
// other methods, else 404 (code request.no_route).
func Mount(mux *http.ServeMux, routes []Route, protect func(http.Handler) http.Handler) {
	var declared map[string][]QueryParameter
	for _, r := range routes {
		if r.openapi != nil {
			var err error
			if declared, err = QueryParameters(r.openapi); err != nil {
				panic(fmt.Sprintf("httpx: OpenAPI document: %v", err))
			}
		}
	}
	catchAll := true
	for _, r := range routes {
		// nil (no document, or an operation it lacks, which the service's
		// routes test refuses): any query parameter.
		query := declared[r.String()]
		h := checkParams(r, query, r.Handler) // after authentication: a stranger learns nothing about ids
		if !r.Public {
			h = noStore(protect(h))
		}
		mux.Handle(r.String(), h)
		if r.Pattern == "/" && r.Method == "" {
			catchAll = false
		}
	}
	if catchAll {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if allow := allowed(mux, routes, r); len(allow) > 0 {
				methodNotAllowed(w, r, allow)
				return
			}
			NoRoute(w, r)
		})
	}
}

// noStore marks every answer of h Cache-Control: no-store (a handler may
// set another before it writes): the answers of authenticated routes carry
// one principal's view of partners, contacts and secrets, which no cache
// along the way, nor the client's, is to keep or hand to the next caller.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// CodeMethodNotAllowed is the problem of a request whose path is a route
// of the service but not with its method (405, with Allow).
const CodeMethodNotAllowed = "request.method_not_allowed"

// allowed lists the methods that mux routes r's path with, HEAD beside
// GET (none: the path is no route).
func allowed(mux *http.ServeMux, routes []Route, r *http.Request) []string {
	var allow []string
	for _, rt := range routes {
		m := rt.Method
		if m == "" || slices.Contains(allow, m) {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); strings.HasPrefix(pattern, m+" ") {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	slices.Sort(allow)
	return allow
}

// methodNotAllowed answers 405 with the problem code
// request.method_not_allowed and the Allow header RFC 9110 asks for.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow []string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	WriteError(w, r, apperr.Invalid(CodeMethodNotAllowed, r.Method+" is not a method of "+r.URL.Path+"; it takes "+strings.Join(allow, ", ")))
}

// NewMux is Mount on a new ServeMux.
func NewMux(routes []Route, protect func(http.Handler) http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	Mount(mux, routes, protect)
	return mux
}

// NoRoute answers 404 with the problem code request.no_route.
func NoRoute(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, apperr.NotFound("request.no_route", "no route "+r.Method+" "+r.URL.Path))
}

// OpenAPIRoute is the public route GET /openapi.json serving doc, an
// OpenAPI document in YAML or JSON (converted to JSON here, once). It
// panics if doc is neither: documents are embedded in the binary and their
// tests load them, so a broken one never gets this far.
func OpenAPIRoute(doc []byte) Route {
	js, err := YAMLToJSON(doc)
	if err != nil {
		panic(fmt.Sprintf("httpx: OpenAPI document: %v", err))
	}
	return Route{Method: http.MethodGet, Pattern: OpenAPIPath, Public: true, openapi: doc,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, _ = w.Write(js)
		})}
}

// YAMLToJSON converts a YAML document (JSON is YAML) to compact JSON. Map
// keys must be strings, as JSON needs.
func YAMLToJSON(doc []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// jsonable replaces the map[any]any that YAML may produce by
// map[string]any, turning integer keys into strings and refusing others.
func jsonable(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			var ks string
			switch kt := k.(type) {
			case string:
				ks = kt
			case int: // unquoted status codes: 200:
				ks = strconv.Itoa(kt)
			default:
				return nil, fmt.Errorf("map key %v is not a string", k)
			}
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		out := slices.Clone(t)
		for i, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	default:
		return v, nil
	}
}

// QueryParameters lists, for each operation of an OpenAPI document ("GET
// /v1/partners/{id}"), the query parameters it declares (its path item's
// and its own; a $ref to #/components/parameters resolved), each with
// whether it is an array. An operation without any has an empty list,
// never nil.
func QueryParameters(doc []byte) (map[string][]QueryParameter, error) {
	var d struct {
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			Parameters map[string]openAPIParameter `yaml:"parameters"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	resolve := func(list []openAPIParameter) ([]QueryParameter, error) {
		var out []QueryParameter
		for _, p := range list {
			if p.Ref != "" {
				name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
				c, found := d.Components.Parameters[name]
				if !ok || !found {
					return nil, fmt.Errorf("parameter $ref %q does not resolve", p.Ref)
				}
				p = c
			}
			if p.In == "query" {
				out = append(out, QueryParameter{Name: p.Name, Many: p.Schema.Type == "array"})
			}
		}
		return out, nil
	}
	out := map[string][]QueryParameter{}
	for path, item := range d.Paths {
		var shared []openAPIParameter
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&shared); err != nil {
				return nil, fmt.Errorf("%s: parameters: %w", path, err)
			}
		}
		for method, n := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
			default:
				continue
			}
			var op struct {
				Parameters []openAPIParameter `yaml:"parameters"`
			}
			if err := n.Decode(&op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			names, err := resolve(append(slices.Clone(shared), op.Parameters...))
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			out[strings.ToUpper(method)+" "+path] = append([]QueryParameter{}, names...)
		}
	}
	return out, nil
}

type openAPIParameter struct {
	Ref    string `yaml:"$ref"`
	Name   string `yaml:"name"`
	In     string `yaml:"in"`
	Schema struct {
		Type string `yaml:"type"`
	} `yaml:"schema"`
}

// QueryParameter is a query parameter an operation's OpenAPI document
// declares.
type QueryParameter struct {
	Name string
	// Many: its schema is an array, so it may be given more than once
	// (?type=a&type=b); any other is taken once.
	Many bool
}
