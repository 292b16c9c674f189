package e2e_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// testEveryListRefusesABadLimitOneWay: every list of every service refuses
// a page size that is not an integer within its bounds with the same
// problem and field error, naming its own bounds and what was given.
func testEveryListRefusesABadLimitOneWay(t *testing.T, s *e2e.Stack) {
	ops := s.Token(observer)
	for _, c := range []struct {
		service, path, token string
		max                  int
	}{
		{"registration", "/v1/partners?", ops, 200},
		{"verification", "/v1/verification/tasks?", s.Token(verifier("list-limits")), 500},
		{"verification", "/v1/verification/reviews?", s.Token(verifier("list-limits")), 500},
		{"notifier", "/v1/mails?", ops, 500},
		{"timeline", "/v1/events?", ops, 500},
		{"timeline", "/v1/webhooks/endpoints?", ops, 200},
	} {
		if !s.Has(c.service) {
			continue
		}
		for _, given := range []string{"abc", "0", fmt.Sprint(c.max + 1)} {
			res := s.Do(t, http.MethodGet, s.URL(c.service)+c.path+"limit="+given, c.token, nil)
			want := fmt.Sprintf("must be an integer from 1 to %d, not %q", c.max, given)
			if res.Status != http.StatusUnprocessableEntity || res.Problem == nil || res.Problem.Code != "request.invalid_query_parameter" {
				t.Errorf("limit=%s: %s", given, res)
				continue
			}
			found := false
			for _, e := range res.Problem.Errors {
				if e.Field == "query.limit" {
					found = e.Code == "limit.out_of_range" && e.Message == want
				}
			}
			if !found {
				t.Errorf("limit=%s: %s %+v, want query.limit limit.out_of_range %q", given, res, res.Problem.Errors, want)
			}
		}
	}
}
