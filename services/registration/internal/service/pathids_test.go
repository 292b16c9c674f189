package service_test

import (
	"fmt"
	"net/http"
	"testing"
)

// A route's path identifier is read as every service reads its own: a
// malformed one, or one of another kind, is a 422 whose field error names
// it "path.<name>"; any case or grouping of a valid one finds the partner.
func TestPathIdentifiersAreNamedByTheirPathParameter(t *testing.T) {
	e := start(t)
	op := e.token(t, operator)
	created := e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, registration()))
	if created.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", created.Status, created.Body)
	}
	view := created.json(t)
	partner, location := view["partner_id"].(string), view["location_id"].(string)

	bad := []struct {
		path, code, field, fieldCode string
	}{
		{"/v1/partners/PG-0000-0000-00X", "registration.invalid_id", "path.id", "id.invalid"},
		{"/v1/partners/" + location, "registration.id_kind_mismatch", "path.id", "id.wrong_kind"},
		{"/v1/registrations/not-an-id", "registration.invalid_id", "path.id", "id.invalid"},
		{"/v1/partners/" + location + "/profile", "registration.id_kind_mismatch", "path.id", "id.wrong_kind"},
		{"/v1/partners/PG-0000-0000-00X/security-requirements", "registration.invalid_id", "path.id", "id.invalid"},
		{"/v1/duplicate-claims/" + partner, "registration.id_kind_mismatch", "path.claim_id", "id.wrong_kind"},
		{"/v1/duplicate-claims/DC-nope", "registration.invalid_id", "path.claim_id", "id.invalid"},
	}
	for _, c := range bad {
		r := e.do(t, "GET", c.path, op, "", nil)
		body := r.json(t)
		errs, _ := body["errors"].([]any)
		got := ""
		if len(errs) == 1 {
			fe := errs[0].(map[string]any)
			got = fmt.Sprintf("%v %v", fe["field"], fe["code"])
		}
		if r.Status != http.StatusUnprocessableEntity || body["code"] != c.code || got != c.field+" "+c.fieldCode {
			t.Errorf("GET %s: %d %v [%s], want 422 %s [%s %s]", c.path, r.Status, body["code"], got, c.code, c.field, c.fieldCode)
		}
	}

	// Lower case and ungrouped: the same partner, answered in canonical form.
	lower := []byte(partner)
	for i, b := range lower {
		if b >= 'A' && b <= 'Z' {
			lower[i] = b + 'a' - 'A'
		}
	}
	r := e.do(t, "GET", "/v1/partners/"+string(lower), op, "", nil)
	if r.Status != http.StatusOK || r.json(t)["partner_id"] != partner {
		t.Fatalf("GET by %s: %d %s", lower, r.Status, r.Body)
	}
}
