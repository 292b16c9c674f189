package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
)

func TestReviewsListClaimDecide(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/verification/reviews", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"reviews":[{"id":"vr-1","kind":"duplicate_claim","status":"open","partner_id":"PG-7K3M9Q","market":"JP",
"created_at":"2026-11-21T10:06:00Z","due_at":"2026-11-23T10:00:00Z","updated_at":"2026-11-21T10:06:00Z",
"claim":{"claim_id":"DC-1","duplicate_attempt_id":"DA-1","matched_on":[],"statement":"s","filed_by":"u","filed_at":"2026-11-21T10:06:00Z",
"claimant":{"legal_name":"株式会社さくらテック","legal_name_normalized":"株式会社さくらテック","submitted":{},"contact":{}}}}]}`)
	})
	f.mux.HandleFunc("POST /v1/verification/reviews/{id}/claim", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"id":"vr-1","kind":"duplicate_claim","status":"open","partner_id":"PG-7K3M9Q","claimed_by":"vera","lease_until":"2026-11-21T11:00:00Z"}`)
	})
	f.mux.HandleFunc("POST /v1/verification/reviews/{id}/decisions", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 201, `{"review":{"id":"vr-1","kind":"duplicate_claim","decision":{"outcome":"refused"}},"replayed":false}`)
	})

	code, out, errOut := runIn(t, "", nil, f.args("reviews", "list", "--kind", "duplicate_claim", "--unclaimed")...)
	if code != ExitOK || !strings.Contains(out, "vr-1") || !strings.Contains(out, "DC-1 株式会社さくらテック") {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	if q := f.only(t, "GET", "/v1/verification/reviews").query; q != "kind=duplicate_claim&limit=100&unclaimed=true" {
		t.Errorf("query %q", q)
	}
	code, out, _ = runIn(t, "", nil, f.args("reviews", "claim", "vr-1", "--as-sub", "vera")...)
	if code != ExitOK || out != "claimed review vr-1 as vera until 2026-11-21 11:00:00Z\n" {
		t.Errorf("claim: %d %q", code, out)
	}
	if who := f.only(t, "POST", "/v1/verification/reviews/vr-1/claim").who; who.Subject != "vera" || !who.Has(auth.RoleVerifier) {
		t.Errorf("claimed as %+v", who)
	}
	code, out, errOut = runIn(t, "", nil, f.args("reviews", "decide", "vr-1", "--outcome", "refused", "--reason", "insufficient_evidence",
		"--message", "m", "--as-sub", "vera")...)
	if code != ExitOK || !strings.Contains(out, "recorded: duplicate_claim vr-1 refused") {
		t.Fatalf("decide: %d %q %s", code, out, errOut)
	}
	var body map[string]any
	if err := json.Unmarshal(f.only(t, "POST", "/v1/verification/reviews/vr-1/decisions").body, &body); err != nil ||
		body["outcome"] != "refused" || body["reason_code"] != "insufficient_evidence" || body["message"] != "m" ||
		!strings.HasPrefix(body["decision_id"].(string), "partnerctl-") {
		t.Errorf("decision body %v", body)
	}
}

func TestReviewsDecideFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"reviews", "decide", "vr-1", "--outcome", "maybe"}, "must be one of upheld, refused, dismissed"},
		{[]string{"reviews", "decide", "vr-1", "--outcome", "refused"}, "refused and dismissed need one"},
		{[]string{"reviews", "decide", "vr-1", "--outcome", "upheld", "--reason", "x"}, "upheld takes no --reason"},
		{[]string{"reviews", "list", "--kind", "claims"}, "must be one of duplicate_claim, email_dispute"},
	} {
		code, out, errOut := runIn(t, "", nil, tc.args...)
		if code != ExitUsage || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: exit %d %s%s", tc.args, code, out, errOut)
		}
	}
}
