package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
)

func TestPartnersAddProgramAndLocation(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("POST /v1/partners/PG-7K3M9Q/enrollments", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 201, `{"enrollment":{"id":"EN-3","program":"indirect_reseller","country":"JP","status":"pending_email_confirmation",
"status_changed_at":"2026-11-21T10:00:00Z"},"partner":{}}`)
	})
	f.mux.HandleFunc("POST /v1/partners/PG-7K3M9Q/locations", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, 409, "registration.market_immutable", "the market of a partner can never be changed", nil)
	})
	yaml := "program: indirect_reseller\nsupport: {website: https://sakura-tech.co.jp/support, email: support@sakura-tech.co.jp}\n" +
		"affirmations: {authority_to_represent: true, can_provide_support: true}\n"
	code, out, errOut := runIn(t, yaml, nil, f.args("partners", "add-program", "PG-7K3M9Q", "-f", "-")...)
	if code != ExitOK || !strings.Contains(out, "EN-3") || !strings.Contains(out, "pending_email_confirmation") || !strings.Contains(out, "(registered)") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	req := f.only(t, "POST", "/v1/partners/PG-7K3M9Q/enrollments")
	var sent map[string]any
	if err := json.Unmarshal(req.body, &sent); err != nil || sent["program"] != "indirect_reseller" || !req.who.Has(auth.RoleOperator) {
		t.Fatalf("sent %s as %+v (%v)", req.body, req.who, err)
	}
	code, _, errOut = runIn(t, `{"country":"US","address":{"line1":"1 Main St"}}`, nil, f.args("partners", "add-location", "PG-7K3M9Q", "-f", "-")...)
	if code != ExitRefused || !strings.Contains(errOut, "registration.market_immutable") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// TestPartnersStatusShowsEachLocationsEnrollment: a program's second
// enrollment (at an added location) is asked for by its ID and shown with
// its location.
func TestPartnersStatusShowsEachLocationsEnrollment(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/registrations/PG-7K3M9Q", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, strings.Replace(registrationAnswer, `"status_changed_at":"2026-11-21T10:00:00Z"}],`,
			`"status_changed_at":"2026-11-21T10:00:00Z"},{"id":"EN-3","program":"indirect_reseller","country":"JP","status":"pending_email_confirmation","location_id":"PL-9OSAKA","status_changed_at":"2026-11-22T10:00:00Z"}],`, 1))
	})
	f.mux.HandleFunc("GET /v1/partners/PG-7K3M9Q/enrollments/{program}/requirements", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"partner_id":"PG-7K3M9Q","enrollment_id":"`+r.PathValue("program")+`","program":"indirect_reseller","enrollment_status":"qualified",
"partner_status":"active","can_transact":false,"as_of":"2026-11-21T10:07:00Z","requirements":[]}`)
	})
	_, out, _ := runIn(t, "", nil, f.args("partners", "status", "PG-7K3M9Q")...)
	f.only(t, "GET", "/v1/partners/PG-7K3M9Q/enrollments/EN-3/requirements")
	f.only(t, "GET", "/v1/partners/PG-7K3M9Q/enrollments/indirect_reseller/requirements")
	if !strings.Contains(out, "indirect_reseller @PL-9OSAKA") {
		t.Errorf("no line for the Osaka enrollment:\n%s", out)
	}
}
