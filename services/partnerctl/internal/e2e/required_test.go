package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// testEveryServiceNamesAMissingFieldOneWay: a request without a member it
// needs (or with a blank one) is a 422 whose field error names the member
// with the same code in every service, field.required — not the service's
// own word for it. (Verification looks up the task or case a decision or
// revocation names before it reads the body: its component tests check the
// same code on a real case, revocation_test.go.)
func testEveryServiceNamesAMissingFieldOneWay(t *testing.T, s *e2e.Stack) {
	nobody, err := ids.Format(ids.Partner, "0000000000")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		service, method, path, token, body string
		fields                             []string // each must be among the answer's field errors, as field.required
	}{
		{"registration", "POST", "/v1/registrations", s.Token(upstream), `{}`, []string{"market", "company.legal_name", "contact.email"}},
		{"agreements", "POST", "/v1/partners/" + nobody + "/agreements/acceptances", s.Token(partnerAdmin(nobody, "admin-required")), `{}`,
			[]string{"version_id", "market"}},
		{"relationships", "POST", "/v1/relationship-requests", s.Token(providerAdmin(nobody)), `{"roles":["customer_management"]}`,
			[]string{"reseller_location_id"}},
		{"relationships", "POST", "/v1/invitation/authorise", s.Token(partnerAdmin(nobody, "admin-required")), `{"consent":true}`, []string{"token"}},
		{"relationships", "GET", "/v1/invitation", s.Token(partnerAdmin(nobody, "admin-required")), ``, []string{"header.Invitation-Token"}},
		{"notifier", "GET", "/v1/mails", s.Token(observer), ``, []string{"query.partner_id"}},
		{"agreements", "POST", "/v1/agreements/versions", s.Token(operator), `{"name":" ","languages":[]}`,
			[]string{"id", "program", "name", "languages", "effective_from", "text_url", "text_sha256", "policy"}},
		{"timeline", "POST", "/v1/webhooks/endpoints", s.Token(operator), `{"event_types":["registration."]}`, []string{"url"}},
	} {
		if !s.Has(c.service) {
			continue
		}
		var body any
		if c.body != "" {
			body = json.RawMessage(c.body)
		}
		res := s.Do(t, c.method, s.URL(c.service)+c.path, c.token, body)
		if res.Status != http.StatusUnprocessableEntity || res.Problem == nil {
			t.Errorf("%s %s %s: %s, want 422", c.service, c.method, c.path, res)
			continue
		}
		// field.required is a field's code; the answer's is the service's.
		if res.Problem.Code == apperr.CodeFieldRequired || !strings.Contains(res.Problem.Code, ".") {
			t.Errorf("%s: answer code %q, want the service's own", res, res.Problem.Code)
		}
		got := map[string]string{}
		for _, e := range res.Problem.Errors {
			got[e.Field] = e.Code
		}
		for _, f := range c.fields {
			if got[f] != apperr.CodeFieldRequired {
				t.Errorf("%s: field %s has code %q, want %s (all: %v)", res, f, got[f], apperr.CodeFieldRequired, got)
			}
		}
	}
}
