package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/ids"

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
		{"relationships", "/v1/provider/relationships?", ops, 500},
		{"relationships", "/v1/reseller/relationships?", ops, 500},
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

// testEveryListPagesOneWay: every list of every service answers a page with
// its next cursor (empty on the last page) and takes it back as after; an
// after it did not give is a 422 with the service's invalid_cursor code at
// query.after, never a page from somewhere in the list.
func testEveryListPagesOneWay(t *testing.T, s *e2e.Stack) {
	ops := s.Token(observer)
	nobody, err := ids.Format(ids.Partner, "0000000000")
	if err != nil {
		t.Fatal(err)
	}
	vrf := s.Token(verifier("list-pages"))
	for _, c := range []struct {
		service, path, token string
		ok                   bool // the path answers 200 (a partner the service knows is not needed)
	}{
		{"registration", "/v1/partners?", ops, true},
		{"verification", "/v1/verification/tasks?", vrf, true},
		{"verification", "/v1/verification/reviews?", vrf, true},
		{"notifier", "/v1/mails?partner_id=" + nobody + "&", ops, true},
		{"timeline", "/v1/events?", ops, true},
		{"timeline", "/v1/webhooks/endpoints?", ops, true},
		{"timeline", "/v1/partners/" + nobody + "/timeline?", ops, false},
		{"relationships", "/v1/provider/relationships?partner_id=" + nobody + "&", ops, false},
		{"relationships", "/v1/reseller/relationships?partner_id=" + nobody + "&", ops, false},
	} {
		if !s.Has(c.service) {
			continue
		}
		if c.ok {
			res := s.Do(t, http.MethodGet, s.URL(c.service)+c.path+"limit=1", c.token, nil)
			var page map[string]any
			if res.Status != http.StatusOK || json.Unmarshal(res.Body, &page) != nil {
				t.Errorf("%s %s: %s", c.service, c.path, res)
			} else if _, ok := page["next"].(string); !ok {
				t.Errorf("%s %s: no next in %s", c.service, c.path, res.Body)
			}
		}
		for _, after := range []string{"zzz", "eyJpIjoieCJ9", "we_"} {
			res := s.Do(t, http.MethodGet, s.URL(c.service)+c.path+"after="+after, c.token, nil)
			if res.Status != http.StatusUnprocessableEntity || res.Problem == nil || !strings.HasSuffix(res.Problem.Code, ".invalid_cursor") {
				t.Errorf("%s %s after=%s: %s, want 422 …invalid_cursor", c.service, c.path, after, res)
				continue
			}
			if len(res.Problem.Errors) != 1 || res.Problem.Errors[0].Field != "query.after" || res.Problem.Errors[0].Code != res.Problem.Code {
				t.Errorf("%s %s after=%s: field errors %+v, want query.after", c.service, c.path, after, res.Problem.Errors)
			}
		}
	}
}
