package cli

// Unit tests of the HTTP adapter side of partnerctl against fake services.
// The fakes answer with the JSON the real handlers write (field names copied
// from services/*/internal/adapters/http); the real services are exercised
// end to end elsewhere. Every fake verifies the bearer token with the test's
// development key, so a test also proves which role a command acts as.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
)

type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
	who                 auth.Principal
}

type fakeAPI struct {
	t    *testing.T
	keys string
	srv  *httptest.Server
	mux  *http.ServeMux
	mu   sync.Mutex
	reqs []seen
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, keys: t.TempDir(), mux: http.NewServeMux()}
	if _, err := auth.EnsureDevKeys(f.keys); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), auth.DevConfig(f.keys))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close(context.Background()) })
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if p, err := v.Verify(r.Context(), tok); err == nil {
			s.who = p
		} else if tok != "opaque-production-token" {
			writeProblem(w, 401, "auth.invalid_token", "the bearer token is not valid", nil)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, s)
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// args points every service URL and the keys at the fake.
func (f *fakeAPI) args(a ...string) []string {
	base := []string{"--keys", f.keys}
	for _, s := range []string{"registration", "email-ownership", "verification", "agreements", "relationships", "notifier", "timeline"} {
		base = append(base, "--"+s+"-url", f.srv.URL)
	}
	return append(base, a...)
}

func (f *fakeAPI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeAPI) only(t *testing.T, method, path string) seen {
	t.Helper()
	var found []seen
	for _, r := range f.requests() {
		if r.method == method && r.path == path {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d requests %s %s, want 1: %+v", len(found), method, path, f.requests())
	}
	return found[0]
}

func writeJSONAnswer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// writeProblem writes what pkg/httpx.WriteProblem writes.
func writeProblem(w http.ResponseWriter, status int, code, detail string, fields []fieldError) {
	p := map[string]any{"type": "urn:partnerhub:problem:" + code, "title": http.StatusText(status), "status": status,
		"detail": detail, "code": code}
	if len(fields) > 0 {
		p["errors"] = fields
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

func runIn(t *testing.T, stdin string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = RunWithInput(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// registrationAnswer is a 201 of POST /v1/registrations (app.RegistrationView).
const registrationAnswer = `{"partner_id":"PG-7K3M9Q","market":"JP","status":"pending","legal_name":"株式会社さくらテック",
"locations":[{"id":"PL-4T8W2N","country":"JP","status":"pending"}],
"enrollments":[{"id":"EN-1","program":"partner_network","country":"JP","status":"pending_verification","status_changed_at":"2026-11-21T10:00:00Z"},
{"id":"EN-2","program":"indirect_reseller","country":"JP","status":"pending_verification","support":{"website":"https://sakura-tech.co.jp/support","email":"support@sakura-tech.co.jp"},"status_changed_at":"2026-11-21T10:00:00Z"}],
"created_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-21T10:00:00Z","location_id":"PL-4T8W2N",
"submitted":{"market":"JP"},"normalized":{}}`

const registrationYAML = `# a registration as an integrator writes it
market: JP
language: ja
company:
  legal_name: （株）さくらテック
  registration_number: {scheme: jp_corporate_number, value: "7000012050002"}
  address: {line1: 西新宿2-8-1, city: 新宿区, region: 東京都, postal_code: "163-8001"}
contact: {first_name: 花子, last_name: 佐藤, email: hanako.sato@sakura-tech.co.jp}
programs:
  - program: partner_network
  - program: indirect_reseller
affirmations: {authority_to_represent: true, consent_to_verification: true}
`

func TestRegistrationsSubmitYAMLIsIdempotentByContent(t *testing.T) {
	f := newFakeAPI(t)
	answers := map[string]bool{} // idempotency keys already answered
	f.mux.HandleFunc("POST /v1/registrations", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if answers[key] {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		answers[key] = true
		w.Header().Set("Location", "/v1/registrations/PG-7K3M9Q")
		writeJSONAnswer(w, 201, registrationAnswer)
	})
	file := filepath.Join(t.TempDir(), "company.yaml")
	if err := os.WriteFile(file, []byte(registrationYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runIn(t, "", nil, f.args("registrations", "submit", "-f", file)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"partner   PG-7K3M9Q  株式会社さくらテック  (pending, market JP)", "location  PL-4T8W2N",
		"EN-1        partner_network    pending_verification", "EN-2        indirect_reseller  pending_verification"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	req := f.only(t, "POST", "/v1/registrations")
	if req.who.Subject != "partnerctl-upstream-system" || !req.who.Has(auth.RoleUpstreamSystem) || req.who.Kind != auth.KindService {
		t.Errorf("acted as %+v, want the upstream_system service", req.who)
	}
	if req.header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", req.header.Get("Content-Type"))
	}
	var sent map[string]any
	if err := json.Unmarshal(req.body, &sent); err != nil {
		t.Fatalf("YAML was not sent as JSON: %v: %s", err, req.body)
	}
	company := sent["company"].(map[string]any)
	if company["legal_name"] != "（株）さくらテック" || company["registration_number"].(map[string]any)["value"] != "7000012050002" ||
		len(sent["programs"].([]any)) != 2 || sent["affirmations"].(map[string]any)["authority_to_represent"] != true {
		t.Errorf("sent %s", req.body)
	}
	key := req.header.Get("Idempotency-Key")
	if key != contentKey(req.body) || !strings.HasPrefix(key, "partnerctl-") {
		t.Errorf("Idempotency-Key %q is not the content hash", key)
	}

	// The same file again: same key, the stored answer, said so.
	code, out2, errOut := runIn(t, "", nil, f.args("registrations", "submit", "-f", file)...)
	if code != ExitOK || !strings.Contains(errOut, "replayed") || out2 != out {
		t.Fatalf("re-run: exit %d, stderr %q, out %q", code, errOut, out2)
	}
	reqs := f.requests()
	if got := reqs[len(reqs)-1].header.Get("Idempotency-Key"); got != key {
		t.Errorf("re-run key %q, want %q", got, key)
	}

	// stdin, JSON, -o json: the API's JSON unchanged; an explicit key is sent as is.
	code, out, errOut = runIn(t, `{"market":"JP"}`, nil, f.args("registrations", "submit", "-f", "-", "-o", "json", "--idempotency-key", "portal-8812")...)
	if code != ExitOK || strings.TrimSpace(out) != registrationAnswer {
		t.Fatalf("json: exit %d, %s %s", code, out, errOut)
	}
	reqs = f.requests()
	if last := reqs[len(reqs)-1]; string(last.body) != `{"market":"JP"}` || last.header.Get("Idempotency-Key") != "portal-8812" {
		t.Errorf("stdin request: %s key %q", last.body, last.header.Get("Idempotency-Key"))
	}
}

func TestInputFileParsing(t *testing.T) {
	tests := []struct {
		name, ext, in string
		want          string // JSON, or "" for a usage error
		errText       string
	}{
		{"json by extension", ".json", ` {"a":1} `, `{"a":1}`, ""},
		{"yaml by extension", ".yaml", "a: 1\nb: [x, y]\n", `{"a":1,"b":["x","y"]}`, ""},
		{"yml", ".yml", "a: {b: c}", `{"a":{"b":"c"}}`, ""},
		{"json by content", "", `{"a": "b"}`, `{"a": "b"}`, ""},
		{"yaml by content", "", "a: b", `{"a":"b"}`, ""},
		{"yaml keeps quoted numbers as strings", ".yaml", `n: "0123"`, `{"n":"0123"}`, ""},
		{"bom", ".json", "\ufeff{\"a\":1}", `{"a":1}`, ""},
		{"empty", ".json", "  \n", "", "is empty"},
		{"broken json", ".json", `{"a":`, "", "not a JSON object"},
		{"json array", ".json", `[1]`, "", "not a JSON object"},
		{"yaml scalar", ".yaml", "just text", "", "one object"},
		{"yaml list", ".yaml", "- a\n- b", "", "one object"},
		{"two documents", ".yaml", "a: 1\n---\nb: 2\n", "", "more than one YAML document"},
		{"non-string keys", ".yaml", "a:\n  1: x\n", "", "keys must be strings"},
		{"bad yaml", ".yaml", "a: [1, 2", "", "not valid YAML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toJSONObject("in", tc.ext, []byte(tc.in))
			if tc.want == "" {
				var ue usageError
				if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err %v, want a usage error with %q", err, tc.errText)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestAPIProblemsArePrintedAndMapToExitCodes(t *testing.T) {
	tests := []struct {
		status   int
		code     string
		fields   []fieldError
		want     int
		wantText []string
	}{
		{422, "registration.invalid_input", []fieldError{{Field: "contact.email", Code: "email.free_mail_domain", Message: "use a company address"},
			{Field: "company.address.postal_code", Code: "postal_code.invalid", Message: "must be 123-4567"}}, ExitRefused,
			[]string{"422 Unprocessable Entity", "code:   registration.invalid_input", "detail: the input is invalid",
				"- contact.email: use a company address (email.free_mail_domain)", "- company.address.postal_code: must be 123-4567 (postal_code.invalid)"}},
		{409, "registration.duplicate_entity", nil, ExitRefused, []string{"409 Conflict", "registration.duplicate_entity"}},
		{404, "registration.partner_not_found", nil, ExitNotFound, []string{"404 Not Found", "registration.partner_not_found"}},
		{403, "auth.role_required", nil, ExitUnauthorized, []string{"auth.role_required", "hint: the token lacks the role"}},
		{401, "auth.invalid_token", nil, ExitUnauthorized, []string{"auth.invalid_token", "hint: the token was refused"}},
		{500, "internal", nil, ExitFailure, []string{"500 Internal Server Error"}},
		{503, "unavailable", nil, ExitFailure, []string{"503"}},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			f := newFakeAPI(t)
			f.mux.HandleFunc("GET /v1/registrations/{id}", func(w http.ResponseWriter, r *http.Request) {
				writeProblem(w, tc.status, tc.code, "the input is invalid", tc.fields)
			})
			code, out, errOut := runIn(t, "", nil, f.args("partners", "status", "PG-X")...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d; %s", code, tc.want, errOut)
			}
			if out != "" {
				t.Errorf("table mode printed on stdout: %q", out)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			// -o json: the problem document, unchanged, on stdout for programs.
			code, out, _ = runIn(t, "", nil, f.args("partners", "status", "PG-X", "-o", "json")...)
			var p problem
			if code != tc.want || json.Unmarshal([]byte(out), &p) != nil || p.Code != tc.code || len(p.Errors) != len(tc.fields) {
				t.Errorf("-o json: exit %d, stdout %q", code, out)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/verification/tasks", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"tasks":[]}`)
	})
	// --token is sent as it is (production): no key needed.
	code, _, errOut := runIn(t, "", nil, append(f.args("tasks", "list"), "--keys", t.TempDir(), "--token", "opaque-production-token")...)
	if code != ExitOK {
		t.Fatalf("--token: exit %d %s", code, errOut)
	}
	if got := f.requests()[0].header.Get("Authorization"); got != "Bearer opaque-production-token" {
		t.Errorf("Authorization %q", got)
	}
	// PARTNERHUB_TOKEN likewise, and --help never shows it.
	env := map[string]string{"PARTNERHUB_TOKEN": "opaque-production-token"}
	if code, _, errOut := runIn(t, "", env, append(f.args("tasks", "list"), "--keys", t.TempDir())...); code != ExitOK {
		t.Fatalf("env token: exit %d %s", code, errOut)
	}
	if _, out, _ := runIn(t, "", env, "tasks", "list", "--help"); strings.Contains(out, "opaque-production-token") {
		t.Error("--help prints the token from the environment")
	}
	// Neither a token nor a development key: exit 5, saying what to do.
	code, _, errOut = runIn(t, "", nil, append(f.args("tasks", "list"), "--keys", filepath.Join(t.TempDir(), "none"))...)
	if code != ExitUnauthorized || !strings.Contains(errOut, "--token") || !strings.Contains(errOut, "keys init") {
		t.Fatalf("no credentials: exit %d %s", code, errOut)
	}
	// A development token the service does not trust (another key): 401 → 5.
	other := t.TempDir()
	if _, err := auth.EnsureDevKeys(other); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runIn(t, "", nil, append(f.args("tasks", "list"), "--keys", other)...); code != ExitUnauthorized {
		t.Fatalf("untrusted key: exit %d %s", code, errOut)
	}
	// A service that is not there: exit 1 naming the URL.
	code, _, errOut = runIn(t, "", nil, f.args("tasks", "list", "--verification-url", "http://127.0.0.1:1")...)
	if code != ExitFailure || !strings.Contains(errOut, "http://127.0.0.1:1/v1/verification/tasks") {
		t.Fatalf("unreachable: exit %d %s", code, errOut)
	}
}

func TestPartnersStatusCombinesThreeServices(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/registrations/PG-7K3M9Q", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, strings.Replace(registrationAnswer, `"normalized":{}`,
			`"normalized":{},"email_ownership":[{"enrollment_id":"EN-1","address":"hanako.sato@sakura-tech.co.jp","confirmed_at":"2026-11-21T10:05:00Z"}]`, 1))
	})
	f.mux.HandleFunc("GET /v1/enrollments/{id}/ownership", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "EN-1":
			writeJSONAnswer(w, 200, `{"enrollment_id":"EN-1","partner_id":"PG-7K3M9Q","program":"partner_network","state":"confirmed","address":"hanako.sato@sakura-tech.co.jp",
"opened_at":"2026-11-21T10:00:00Z","expires_at":"2026-11-24T10:00:00Z","confirmed_at":"2026-11-21T10:05:00Z","wrong_codes_left":5,"dispute_open":false,"next_resend_at":"2026-11-21T10:01:00Z"}`)
		default:
			writeJSONAnswer(w, 200, `{"enrollment_id":"EN-2","partner_id":"PG-7K3M9Q","program":"indirect_reseller","state":"pending","address":"hanako.sato@sakura-tech.co.jp",
"opened_at":"2026-11-21T10:00:00Z","expires_at":"2026-11-24T10:00:00Z","wrong_codes_left":4,"dispute_open":true,"next_resend_at":"2026-11-21T10:01:00Z"}`)
		}
	})
	f.mux.HandleFunc("GET /v1/verification/partners/PG-7K3M9Q/case", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"case_id":"VC-1","partner_id":"PG-7K3M9Q","location_id":"PL-4T8W2N","market":"JP","status":"pending","sub_status":"awaiting_review",
"checks":[{"kind":"email_ownership","state":"passed","appeals_used":0,"updated_at":"2026-11-21T10:05:00Z","appeals_remaining":2},
{"kind":"employment","state":"passed","appeals_used":0,"updated_at":"2026-11-21T10:05:00Z","appeals_remaining":2},
{"kind":"company","state":"action_required","reason":"company_not_found","appeals_used":0,"updated_at":"2026-11-21T10:06:00Z","appeals_remaining":2}],
"tasks":[{"id":"T-9","check":"company","round":1,"status":"open","due_at":"2026-11-23T10:00:00Z","claimed_by":"vera","lease_until":"2026-11-21T11:00:00Z","overdue":false}],
"documents":[],"decisions":[],"opened_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-21T10:06:00Z"}`)
	})
	f.mux.HandleFunc("GET /v1/verification/partners/PG-7K3M9Q/requirements", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"case_id":"VC-1","partner_id":"PG-7K3M9Q","status":"pending","sub_status":"awaiting_documents",
"due":[{"check":"company","state":"action_required","reason":"company_not_found","description":"send a certified copy of the register","due_at":"2026-12-05T10:00:00Z","appeals_remaining":2,"accepted_ways":[]}],
"past_due":[],"in_review":[{"check":"company","task_id":"T-9","due_at":"2026-11-23T10:00:00Z"}],"as_of":"2026-11-21T10:07:00Z"}`)
	})
	f.mux.HandleFunc("GET /v1/partners/PG-7K3M9Q/agreements/status", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("market") != "JP" {
			writeProblem(w, 422, "agreements.invalid_input", "market", nil)
			return
		}
		switch r.URL.Query().Get("program") {
		case "partner_network":
			writeJSONAnswer(w, 200, `{"signed":true,"partner_id":"PG-7K3M9Q","location_id":"PL-4T8W2N","program":"partner_network","market":"JP",
"acceptance_id":"AC-1","version_id":"partner_network-2025-01","accepted_at":"2026-11-21T10:00:00Z","effective_at":"2026-11-21T10:00:00Z",
"accepted_by":{"user_id":"upstream-portal","role":"upstream_system"}}`)
		default:
			writeProblem(w, 409, "agreements.not_signed", "no accepted indirect_reseller agreement", nil)
		}
	})
	f.mux.HandleFunc("GET /v1/partners/PG-7K3M9Q/enrollments/{program}/requirements", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("program") == "partner_network" {
			writeJSONAnswer(w, 200, `{"partner_id":"PG-7K3M9Q","enrollment_id":"EN-1","program":"partner_network","enrollment_status":"pending_verification",
"partner_status":"pending","can_transact":false,"as_of":"2026-11-21T10:07:00Z","requirements":[{"kind":"verification_review","party":"vendor",
"description":"the vendor reviews the company","cures":[]}]}`)
			return
		}
		writeJSONAnswer(w, 200, `{"partner_id":"PG-7K3M9Q","enrollment_id":"EN-2","program":"indirect_reseller","enrollment_status":"pending_verification",
"partner_status":"pending","can_transact":false,"as_of":"2026-11-21T10:07:00Z","requirements":[{"kind":"email_confirmation","party":"partner",
"description":"confirm the contact e-mail address","cures":[{"action":"resend_confirmation","description":"ask for a new mail","service":"email-ownership","method":"POST","path":"/v1/resend"}]},
{"kind":"documents","party":"partner","reason":"company_not_found","description":"send a certified copy","due_at":"2026-12-05T10:00:00Z","past_due":false,"cures":[]}]}`)
	})
	code, out, errOut := runIn(t, "", nil, f.args("partners", "status", "PG-7K3M9Q")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Partner       PG-7K3M9Q  株式会社さくらテック",
		"Status        pending (market JP)",
		"Location      PL-4T8W2N (pending)",
		"EN-1  partner_network    pending_verification  confirmed hanako.sato@sakura-tech.co.jp 2026-11-21 10:05:00Z",
		"EN-2  indirect_reseller  pending_verification  pending hanako.sato@sakura-tech.co.jp, link expires 2026-11-24 10:00:00Z, DISPUTE OPEN",
		"case VC-1: pending (awaiting_review)",
		"check company          action_required company_not_found",
		"task  T-9 company round 1 open, claimed by vera, due 2026-11-23 10:00:00Z",
		"due       company: send a certified copy of the register (company_not_found) by 2026-12-05 10:00:00Z",
		"waits on a verifier: company (task T-9, due 2026-11-23 10:00:00Z)",
		"partner_network      signed partner_network-2025-01, accepted 2026-11-21 10:00:00Z by upstream-portal",
		"indirect_reseller    not in effect: agreements.not_signed: no accepted indirect_reseller agreement",
		"partner_network      not yet (enrollment pending_verification, partner pending)",
		"verification_review                waits on vendor   the vendor reviews the company",
		"email_confirmation                 waits on partner  confirm the contact e-mail address\n      cure: POST /v1/resend (email-ownership)",
		"documents:company_not_found        waits on partner  send a certified copy — due 2026-12-05 10:00:00Z",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, r := range f.requests() {
		if !r.who.Has(auth.RoleOperator) {
			t.Errorf("%s %s as %+v, want operator", r.method, r.path, r.who)
		}
	}

	// A service that does not answer: the rest is printed, then exit 1.
	code, out, errOut = runIn(t, "", nil, f.args("partners", "status", "PG-7K3M9Q", "--agreements-url", "http://127.0.0.1:1")...)
	if code != ExitFailure || !strings.Contains(out, "case VC-1: pending") || !strings.Contains(out, "indirect_reseller    (agreements did not answer)") ||
		!strings.Contains(errOut, "the summary is partial") {
		t.Errorf("partial: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, _ = runIn(t, "", nil, f.args("partners", "status", "PG-7K3M9Q", "-o", "json")...)
	var combined struct {
		Registration struct {
			PartnerID string `json:"partner_id"`
		} `json:"registration"`
		EmailOwnership map[string]struct {
			State string `json:"state"`
		} `json:"email_ownership"`
		Verification struct {
			Case struct {
				CaseID string `json:"case_id"`
			} `json:"case"`
			Requirements struct{ Due []any } `json:"requirements"`
		} `json:"verification"`
		Agreements map[string]struct {
			Signed bool   `json:"signed"`
			Code   string `json:"code"`
		} `json:"agreements"`
		Requirements map[string]struct {
			CanTransact bool `json:"can_transact"`
		} `json:"requirements"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &combined) != nil || combined.Registration.PartnerID != "PG-7K3M9Q" || combined.EmailOwnership["EN-2"].State != "pending" ||
		combined.Verification.Case.CaseID != "VC-1" || len(combined.Verification.Requirements.Due) != 1 ||
		!combined.Agreements["partner_network"].Signed || combined.Agreements["indirect_reseller"].Code != "agreements.not_signed" ||
		len(combined.Requirements) != 2 {
		t.Fatalf("-o json: exit %d %s", code, out)
	}
}

const taskList = `{"tasks":[{"case_id":"VC-1","partner_id":"PG-7K3M9Q","market":"JP","task":{"id":"T-9","check":"company","round":1,"status":"open",
"created_at":"2026-11-21T10:06:00Z","due_at":"2026-11-23T10:00:00Z","content":{"partner_id":"PG-7K3M9Q","market":"JP","check":"company",
"submitted":{},"normalized":{"legal_name":"株式会社さくらテック"},"contact_email":"hanako.sato@sakura-tech.co.jp","contact_domain":"sakura-tech.co.jp"}}}]}`

// A work list is read a page at a time: --limit 0 follows next to the last
// page, --limit N stops at N and says there is more; -o json is one answer
// with every page's tasks.
func TestTasksListFollowsNext(t *testing.T) {
	f := newFakeAPI(t)
	second := strings.NewReplacer(`"T-9"`, `"T-10"`, `"PG-7K3M9Q"`, `"PG-8Z2X4R"`).Replace(taskList)
	f.mux.HandleFunc("GET /v1/verification/tasks", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("after") {
		case "":
			writeJSONAnswer(w, 200, strings.Replace(taskList, `]}`, `],"next":"c1"}`, 1))
		case "c1":
			writeJSONAnswer(w, 200, strings.Replace(second, `]}`, `],"next":""}`, 1))
		default:
			writeProblem(w, 422, "verification.invalid_cursor", "after", nil)
		}
	})
	code, out, errOut := runIn(t, "", nil, f.args("tasks", "list", "--limit", "0")...)
	if code != ExitOK || !strings.Contains(out, "T-9 ") || !strings.Contains(out, "T-10 ") || strings.Contains(out, "more with") {
		t.Fatalf("--limit 0: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runIn(t, "", nil, f.args("tasks", "list", "--limit", "1")...)
	if code != ExitOK || !strings.Contains(out, "T-9 ") || strings.Contains(out, "T-10") || !strings.Contains(out, "(first 1 tasks; more with a higher --limit") {
		t.Fatalf("--limit 1: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runIn(t, "", nil, f.args("tasks", "list", "--limit", "0", "-o", "json")...)
	var all struct {
		Tasks []struct {
			Task struct{ ID string } `json:"task"`
		} `json:"tasks"`
		Next *string `json:"next"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &all) != nil || len(all.Tasks) != 2 || all.Tasks[1].Task.ID != "T-10" || all.Next == nil || *all.Next != "" {
		t.Fatalf("-o json: %d %s %s", code, out, errOut)
	}
}

func TestTasksListClaimDecide(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/verification/tasks", func(w http.ResponseWriter, r *http.Request) { writeJSONAnswer(w, 200, taskList) })
	f.mux.HandleFunc("POST /v1/verification/tasks/{id}/claim", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"case_id":"VC-1","task_id":"T-9","claimed_by":"vera","lease_until":"2026-11-21T11:00:00Z","task":{}}`)
	})
	decisions := map[string]bool{}
	f.mux.HandleFunc("POST /v1/verification/tasks/{id}/decisions", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			DecisionID string `json:"decision_id"`
			Outcome    string `json:"outcome"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		status, replayed := 201, decisions[req.DecisionID]
		if replayed {
			status = 200
		}
		decisions[req.DecisionID] = true
		writeJSONAnswer(w, status, `{"case_id":"VC-1","decision":{"id":"`+req.DecisionID+`","task_id":"T-9","check":"company","verifier":"vera","outcome":"`+
			req.Outcome+`","status":"final","at":"2026-11-21T10:30:00Z"},"replayed":`+map[bool]string{true: "true", false: "false"}[replayed]+
			`,"check_state":"passed","case_status":"approved"}`)
	})

	code, out, errOut := runIn(t, "", nil, f.args("tasks", "list", "--status", "open", "--unclaimed", "--check", "company")...)
	if code != ExitOK {
		t.Fatalf("list: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "TASK  PARTNER    CHECK    ROUND  STATUS  CLAIMED BY  DUE                   COMPANY" ||
		lines[1] != "T-9   PG-7K3M9Q  company  1      open    -           2026-11-23 10:00:00Z  株式会社さくらテック" {
		t.Errorf("table:\n%s", out)
	}
	if q := f.only(t, "GET", "/v1/verification/tasks").query; q != "check=company&limit=100&status=open&unclaimed=true" {
		t.Errorf("query %q", q)
	}

	code, out, _ = runIn(t, "", nil, f.args("tasks", "claim", "T-9", "--as-sub", "vera")...)
	if code != ExitOK || out != "claimed task T-9 (case VC-1) as vera until 2026-11-21 11:00:00Z\n" {
		t.Errorf("claim: %d %q", code, out)
	}
	if who := f.only(t, "POST", "/v1/verification/tasks/T-9/claim").who; who.Subject != "vera" || !who.Has(auth.RoleVerifier) {
		t.Errorf("claimed as %+v", who)
	}

	args := f.args("tasks", "decide", "T-9", "--outcome", "reject", "--reason", "fraud_suspected", "--final", "--message", "m", "--note", "n", "--as-sub", "vera")
	code, out, errOut = runIn(t, "", nil, args...)
	if code != ExitOK || !strings.Contains(out, "recorded: reject, status final") || !strings.Contains(out, "check company is now passed; case VC-1 is approved") {
		t.Fatalf("decide: %d %q %s", code, out, errOut)
	}
	var body map[string]any
	first := f.only(t, "POST", "/v1/verification/tasks/T-9/decisions")
	_ = json.Unmarshal(first.body, &body)
	id, _ := body["decision_id"].(string)
	if !strings.HasPrefix(id, "partnerctl-") || body["outcome"] != "reject" || body["reason_code"] != "fraud_suspected" || body["mode"] != "FINAL" ||
		body["applicant_message"] != "m" || body["internal_note"] != "n" || len(body) != 6 {
		t.Errorf("decision body %s", first.body)
	}
	// Re-running the same decision is a replay (same derived id)…
	code, out, _ = runIn(t, "", nil, args...)
	if code != ExitOK || !strings.Contains(out, "already recorded (replay)") {
		t.Errorf("re-run: %d %q", code, out)
	}
	// …while a second verifier's confirmation is a decision of its own.
	runIn(t, "", nil, f.args("tasks", "decide", "T-9", "--outcome", "reject", "--reason", "fraud_suspected", "--final", "--message", "m", "--note", "n", "--as-sub", "second")...)
	reqs := f.requests()
	var last map[string]any
	_ = json.Unmarshal(reqs[len(reqs)-1].body, &last)
	if last["decision_id"] == id {
		t.Error("a second verifier got the first verifier's decision id")
	}
	// An approval carries nothing but the outcome.
	runIn(t, "", nil, f.args("tasks", "decide", "T-9", "--outcome", "approve")...)
	reqs = f.requests()
	last = nil
	_ = json.Unmarshal(reqs[len(reqs)-1].body, &last)
	if len(last) != 2 || last["outcome"] != "approve" {
		t.Errorf("approve body %s", reqs[len(reqs)-1].body)
	}
}

func TestAgreementsAcceptAndList(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/partners/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"partner_id":"PG-7K3M9Q","market":"JP","status":"active","legal_name":"x","locations":[],"enrollments":[],"created_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-21T10:00:00Z"}`)
	})
	f.mux.HandleFunc("POST /v1/partners/{id}/agreements/acceptances", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 201, `{"acceptance":{"id":"AC-2","partner_id":"PG-7K3M9Q","location_id":"PL-4T8W2N","program":"indirect_reseller","market":"JP",
"version_id":"indirect_reseller-2025-01","text_sha256":"ab","acceptor":{"user_id":"ichiro","role":"partner_admin"},"accepted_at":"2026-11-21T12:00:00Z",
"effective_at":"2026-11-21T12:00:00Z","channel":"api"},"existing":false,"carried_over":false}`)
	})
	f.mux.HandleFunc("GET /v1/agreements/versions", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"versions":[{"id":"indirect_reseller-2025-01","program":"indirect_reseller","name":"PartnerHub Partner Agreement for Indirect Resellers",
"languages":["en","ja"],"markets":["JP"],"effective_from":"2025-01-01T00:00:00Z","text_url":"https://x","text_sha256":"ab","policy":"grandfather",
"published_at":"2025-01-01T00:00:00Z","published_by":"seed"}]}`)
	})
	code, out, errOut := runIn(t, "", nil, f.args("agreements", "accept", "PG-7K3M9Q", "--version", "indirect_reseller-2025-01", "--as-sub", "ichiro")...)
	if code != ExitOK || !strings.HasPrefix(out, "accepted indirect_reseller-2025-01 for PG-7K3M9Q (indirect_reseller, JP) by ichiro at 2026-11-21 12:00:00Z") {
		t.Fatalf("accept: %d %q %s", code, out, errOut)
	}
	acc := f.only(t, "POST", "/v1/partners/PG-7K3M9Q/agreements/acceptances")
	if string(acc.body) != `{"market":"JP","version_id":"indirect_reseller-2025-01"}` {
		t.Errorf("body %s", acc.body)
	}
	if acc.who.PartnerID != "PG-7K3M9Q" || acc.who.Subject != "ichiro" || !acc.who.Has(auth.RolePartnerAdmin) {
		t.Errorf("accepted as %+v", acc.who)
	}
	code, out, _ = runIn(t, "", nil, f.args("agreements", "list", "--program", "indirect_reseller", "--market", "JP")...)
	if code != ExitOK || !strings.Contains(out, "indirect_reseller-2025-01  indirect_reseller  PartnerHub Partner Agreement for Indirect Resellers  JP       en,ja      2025-01-01 00:00:00Z  grandfather  -") {
		t.Errorf("list: %d\n%s", code, out)
	}
	if code, _, errOut := runIn(t, "", nil, f.args("agreements", "accept", "PG-7K3M9Q")...); code != ExitUsage || !strings.Contains(errOut, "--version is required") {
		t.Errorf("missing version: %d %s", code, errOut)
	}
}

func TestRelationshipsNeverEchoTheInvitation(t *testing.T) {
	const secret = "inv-s3cr3t-TOKEN"
	link := "https://partners.example/invitation#token=" + secret
	f := newFakeAPI(t)
	f.mux.HandleFunc("POST /v1/relationship-requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 201, `{"relationship_id":"REL-1","request_id":"RQ-1","invitation_url":"`+link+`","roles":["billing_reader","support_agent"],
"duration_days":365,"auto_extend":false,"expires_at":"2027-02-19T10:00:00Z"}`)
	})
	f.mux.HandleFunc("GET /v1/invitation", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Invitation-Token") != secret {
			writeProblem(w, 404, "relationships.invitation_not_found", "no such invitation", nil)
			return
		}
		writeJSONAnswer(w, 200, `{"relationship_id":"REL-1","request_id":"RQ-1","kind":"initial","status":"pending","provider_id":"PG-P","provider_legal_name":"さくらクラウドテック株式会社",
"provider_address":{"line1":"西新宿2-8-1","city":"新宿区","region":"東京都","postal_code":"163-8001","country":"JP"},"reseller_location_id":"PL-R",
"roles":["billing_reader"],"duration_days":365,"auto_extend":false,"expires_at":"2027-02-19T10:00:00Z","consent_statement":"I authorise PG-P to read billing."}`)
	})
	f.mux.HandleFunc("POST /v1/invitation/authorise", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"relationship_id":"REL-1","grant_id":"GR-1","roles":["billing_reader"],"starts_at":"2026-11-21T10:00:00Z","expires_at":"2027-11-21T10:00:00Z","auto_extend":false}`)
	})
	f.mux.HandleFunc("GET /v1/provider/relationships", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"relationships":[{"relationship_id":"REL-1","state":"active","provider_id":"PG-P","provider_legal_name":"Prov","reseller_id":"PG-R",
"reseller_location_id":"PL-R","reseller_legal_name":"Res","grant":{"grant_id":"GR-1","state":"active","roles":["billing_reader"],"starts_at":"2026-11-21T10:00:00Z","expires_at":"2027-11-21T10:00:00Z","auto_extend":false}}]}`)
	})

	code, out, errOut := runIn(t, "", nil, f.args("relationships", "request", "--provider", "PG-P", "--reseller-location", "PL-R",
		"--roles", "billing_reader,support_agent", "--duration", "365d")...)
	if code != ExitOK || !strings.Contains(out, "relationship REL-1, request RQ-1: roles billing_reader,support_agent for 365 days") || !strings.Contains(out, link) {
		t.Fatalf("request: %d %q %s", code, out, errOut)
	}
	req := f.only(t, "POST", "/v1/relationship-requests")
	if string(req.body) != `{"auto_extend":false,"duration_days":365,"reseller_location_id":"PL-R","roles":["billing_reader","support_agent"]}` ||
		req.who.PartnerID != "PG-P" || !req.who.Has(auth.RoleProviderAdmin) {
		t.Errorf("request %s as %+v", req.body, req.who)
	}

	// The link from stdin, from the environment and as a flag: never printed back.
	for name, c := range map[string]struct {
		stdin string
		env   map[string]string
		args  []string
	}{
		"stdin": {link + "\n", nil, []string{"--invitation", "-"}},
		"env":   {"", map[string]string{invitationEnv: link}, nil},
		"flag":  {"", nil, []string{"--invitation", secret}},
	} {
		args := append(f.args("relationships", "invitation", "show", "--as-partner", "PG-R"), c.args...)
		code, out, errOut := runIn(t, c.stdin, c.env, args...)
		if code != ExitOK || !strings.Contains(out, "initial RQ-1 (pending) from PG-P さくらクラウドテック株式会社") ||
			!strings.Contains(out, "consent:   I authorise PG-P to read billing.") {
			t.Fatalf("%s: %d %q %s", name, code, out, errOut)
		}
		if strings.Contains(out+errOut, secret) {
			t.Errorf("%s: the invitation token was printed", name)
		}
	}
	code, out, errOut = runIn(t, "", nil, f.args("relationships", "invitation", "authorise", "--invitation", link, "--as-partner", "PG-R")...)
	if code != ExitUsage || !strings.Contains(errOut, "--consent") || strings.Contains(out+errOut, secret) {
		t.Errorf("authorise without consent: %d %s", code, errOut)
	}
	code, out, errOut = runIn(t, "", nil, f.args("relationships", "invitation", "authorise", "--invitation", link, "--as-partner", "PG-R", "--consent")...)
	if code != ExitOK || !strings.Contains(out, "authorised: relationship REL-1, grant GR-1: billing_reader") || strings.Contains(out+errOut, secret) {
		t.Errorf("authorise: %d %q %s", code, out, errOut)
	}
	granted := f.only(t, "POST", "/v1/invitation/authorise")
	if string(granted.body) != `{"consent":true,"token":"`+secret+`"}` || granted.who.PartnerID != "PG-R" {
		t.Errorf("authorise body %s as %+v", granted.body, granted.who)
	}
	// A wrong token: the API's 404, exit 3, and still not echoed.
	code, out, errOut = runIn(t, "", nil, f.args("relationships", "invitation", "show", "--invitation", "wrong-one", "--as-partner", "PG-R")...)
	if code != ExitNotFound || strings.Contains(out+errOut, "wrong-one") {
		t.Errorf("wrong token: %d %q %q", code, out, errOut)
	}
	// The reseller's partner is needed to act as its administrator.
	if code, _, errOut := runIn(t, "", nil, f.args("relationships", "invitation", "show", "--invitation", secret)...); code != ExitUsage || !strings.Contains(errOut, "--as-partner") {
		t.Errorf("no partner: %d %s", code, errOut)
	}

	code, out, _ = runIn(t, "", nil, f.args("relationships", "list", "--provider", "PG-P")...)
	if code != ExitOK || !strings.Contains(out, "REL-1         active  PG-P Prov  PG-R Res  PL-R      active billing_reader  2027-11-21 10:00:00Z  -") {
		t.Errorf("list: %d\n%s", code, out)
	}
	if q := f.only(t, "GET", "/v1/provider/relationships").query; q != "limit=100&partner_id=PG-P" {
		t.Errorf("list query %q", q)
	}
}

func TestTimelineFollowsNextAndShowsGaps(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/partners/{id}/timeline", func(w http.ResponseWriter, r *http.Request) {
		ev := func(seq, typ, src, actor string) string {
			return `{"id":"e` + seq + `","source":"/services/` + src + `","type":"com.partnerhub.` + typ + `","subject":"PG-1","time":"2026-11-21T10:00:0` + seq +
				`Z","sequence":"00000000000` + seq + `","correlationid":"c","causationid":"","authtype":"service_account","authid":"` + actor + `","data":{},"recorded_at":"2026-11-21T10:00:09Z"}`
		}
		sources := `"sources":[{"source":"/services/registration","events":2,"last_sequence":"000000000002","gaps":[]},` +
			`{"source":"/services/verification","events":1,"last_sequence":"000000000003","gaps":["000000000001","000000000002"]}]`
		switch r.URL.Query().Get("after") {
		case "":
			writeJSONAnswer(w, 200, `{"partner_id":"PG-1","events":[`+ev("1", "registration.application.submitted.v1", "registration", "upstream-portal")+`,`+
				ev("2", "registration.partner.activated.v1", "registration", "registration")+`],`+sources+`,"next":"cur-2"}`)
		case "cur-2":
			writeJSONAnswer(w, 200, `{"partner_id":"PG-1","events":[`+ev("3", "verification.case.opened.v1", "verification", "verification")+`],`+sources+`,"next":""}`)
		default:
			writeProblem(w, 422, "timeline.cursor_invalid", "bad cursor", nil)
		}
	})
	code, out, errOut := runIn(t, "", nil, f.args("timeline", "PG-1", "--type", "registration.")...)
	if code != ExitOK {
		t.Fatalf("exit %d %s", code, errOut)
	}
	want := `TIME                  SOURCE        SEQ  TYPE                                   ACTOR
2026-11-21 10:00:01Z  registration  1    registration.application.submitted.v1  upstream-portal (service_account)
2026-11-21 10:00:02Z  registration  2    registration.partner.activated.v1      registration (service_account)
2026-11-21 10:00:03Z  verification  3    verification.case.opened.v1            verification (service_account)

SOURCE        EVENTS  LAST SEQ  GAPS
registration  2       2         none
verification  1       3         1,2
`
	if !strings.HasPrefix(out, want) || !strings.Contains(out, "gaps: events the timeline has not seen") {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	var queries []string
	for _, r := range f.requests() {
		queries = append(queries, r.query)
		if !r.who.Has(auth.RoleOperator) {
			t.Errorf("as %+v", r.who)
		}
	}
	if strings.Join(queries, " ") != "limit=500&type=registration. after=cur-2&limit=500&type=registration." {
		t.Errorf("queries %q", queries)
	}
	code, out, _ = runIn(t, "", nil, f.args("timeline", "PG-1", "-o", "json", "--limit", "2")...)
	var all timelinePage
	if code != ExitOK || json.Unmarshal([]byte(out), &all) != nil || len(all.Events) != 2 || all.Next != "cur-2" {
		t.Errorf("json with --limit 2: %d %s", code, out)
	}
}

func TestTimelineMarksDeadLetters(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/partners/{id}/timeline", func(w http.ResponseWriter, r *http.Request) {
		ev := `{"id":"e1","source":"/services/agreements","type":"com.partnerhub.agreements.acceptance.recorded.v1","subject":"PG-1",` +
			`"time":"2026-11-21T10:00:01Z","sequence":"000000000001","correlationid":"c","causationid":"","authtype":"user","authid":"u-1","data":{},"recorded_at":"2026-11-21T10:00:09Z"}`
		dead := `{"id":"e1","source":"/services/agreements","type":"com.partnerhub.agreements.acceptance.recorded.v1","subject":"PG-1",` +
			`"time":"2026-11-21T10:00:02Z","sequence":"000000000001","correlationid":"c","causationid":"","authtype":"user","authid":"u-1","data":{},"recorded_at":"2026-11-21T10:00:09Z",` +
			`"dead_letter":{"code":"registration.not_yet_approved","reason":"not approved","service":"registration","handler":"h","delivered":1}}`
		writeJSONAnswer(w, 200, `{"partner_id":"PG-1","events":[`+ev+`,`+dead+`],`+
			`"sources":[{"source":"/services/agreements","events":1,"last_sequence":"000000000001","gaps":[]}],"next":""}`)
	})
	code, out, errOut := runIn(t, "", nil, f.args("timeline", "PG-1")...)
	if code != ExitOK {
		t.Fatalf("exit %d %s", code, errOut)
	}
	want := `TIME                  SOURCE      SEQ  TYPE                                                                                                 ACTOR
2026-11-21 10:00:01Z  agreements  1    agreements.acceptance.recorded.v1                                                                    u-1 (user)
2026-11-21 10:00:02Z  agreements  1    !! dead-lettered by registration: registration.not_yet_approved (agreements.acceptance.recorded.v1)  u-1 (user)

SOURCE      EVENTS  LAST SEQ  GAPS
agreements  1       1         none
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// TestTasksListNamesEarlierAccounts: a company that registered again after
// its account was closed (or its registration rejected) shows the earlier
// account beside its name, so that a verifier reading the list sees it.
func TestTasksListNamesEarlierAccounts(t *testing.T) {
	f := newFakeAPI(t)
	list := strings.Replace(taskList, `"contact_domain":"sakura-tech.co.jp"`,
		`"contact_domain":"sakura-tech.co.jp","earlier_accounts":[{"partner_id":"PG-OLD1","status":"closed","matched_on":["registration_number"],"released_at":"2026-10-01T00:00:00Z"}]`, 1)
	f.mux.HandleFunc("GET /v1/verification/tasks", func(w http.ResponseWriter, r *http.Request) { writeJSONAnswer(w, 200, list) })
	code, out, errOut := runIn(t, "", nil, f.args("tasks", "list")...)
	if code != ExitOK || !strings.Contains(out, "株式会社さくらテック (earlier account PG-OLD1 closed)") {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
}
