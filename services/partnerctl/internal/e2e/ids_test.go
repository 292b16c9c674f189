package e2e_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// assertEveryServiceReadsAPartnerIDOneWay: every route that takes a global
// partner ID reads it as registration issues and reads it (pkg/ids): in any
// case and grouping it names the same partner, and an ID with a wrong check
// symbol or of another kind is a 422 whose field error says so with the same
// code everywhere — not a 404, an empty list, or another service's wording.
func assertEveryServiceReadsAPartnerIDOneWay(t *testing.T, s *e2e.Stack, partnerID string) {
	ops := s.Token(observer)
	body := strings.ReplaceAll(partnerID[len("PG-"):], "-", "")
	loose := "pg-" + strings.ToLower(body)
	wrongCheck := partnerID[:len(partnerID)-1] + map[bool]string{true: "0", false: "1"}[!strings.HasSuffix(partnerID, "0")]
	location := string(ids.Location) + partnerID[len("PG"):]
	for _, c := range []struct {
		service, path string // path with {id}
		location      int    // the answer to a location partner ID
		field         string
	}{
		{"registration", "/v1/partners/{id}", 422, "path.id"},
		{"verification", "/v1/verification/partners/{id}/case", 422, "path.partner_id"},
		{"agreements", "/v1/partners/{id}/agreements", 404, "path.id"}, // takes a location partner ID too: this one is no location
		{"notifier", "/v1/mails?partner_id={id}", 422, "query.partner_id"},
		{"timeline", "/v1/partners/{id}/timeline?limit=5", 422, "path.id"},
		{"timeline", "/v1/events?limit=5&partner={id}", 422, "query.partner"},
		{"relationships", "/v1/reseller/relationships?partner_id={id}", 422, "query.partner_id"},
	} {
		if !s.Has(c.service) {
			continue
		}
		get := func(id string) *e2e.Response {
			return s.Do(t, http.MethodGet, s.URL(c.service)+strings.ReplaceAll(c.path, "{id}", id), ops, nil)
		}
		// The same answer for both spellings (asked again while the feed's
		// horizon, the oldest transaction still open, moves past the demo).
		e2e.Eventually(t, 10*time.Second, c.service+" to answer "+loose+" as "+partnerID, func() error {
			canonical, r := get(partnerID), get(loose)
			if canonical.Status != http.StatusOK || !bytes.Contains(canonical.Body, []byte(partnerID)) {
				return fmt.Errorf("the canonical ID: %s", canonical)
			}
			if r.Status != http.StatusOK || !bytes.Equal(r.Body, canonical.Body) {
				return fmt.Errorf("%s answered otherwise than %s: %s", loose, partnerID, r)
			}
			return nil
		})
		for _, bad := range []struct {
			id, code string
			status   int
		}{
			{wrongCheck, ids.CodeInvalid, 422},
			{"PG-" + body[:5], ids.CodeInvalid, 422},
			{location, ids.CodeWrongKind, c.location},
		} {
			r := get(bad.id)
			if r.Status != bad.status {
				t.Errorf("%s: %s: %s, want %d", c.service, bad.id, r, bad.status)
				continue
			}
			if bad.status != http.StatusUnprocessableEntity {
				continue
			}
			if r.Problem == nil || len(r.Problem.Errors) == 0 || r.Problem.Errors[0].Field != c.field || r.Problem.Errors[0].Code != bad.code {
				t.Errorf("%s: %s: %s %+v, want field %s code %s", c.service, bad.id, r, r.Problem, c.field, bad.code)
			}
		}
	}
}
