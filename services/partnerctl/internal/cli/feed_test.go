package cli

// The feed commands against a fake timeline (formatting, paging, flags,
// polling); the real timeline answers them in the end-to-end test
// (services/partnerctl/internal/e2e: PartnerctlFeedAndWebhooks).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// feedEvent is one feed entry as the timeline writes it (structured mode).
func feedEvent(n int, typ, partner, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":"ev-%d","source":"/services/registration","type":"com.partnerhub.%s","subject":"%s",`+
		`"time":"2026-11-21T10:00:%02dZ","datacontenttype":"application/json","partitionkey":"%s","sequence":"%012d",`+
		`"authtype":"service_account","authid":"upstream-portal","data":%s}`, n, typ, partner, n, partner, n, data)
}

func TestFeedListPagesToTheLimitAndPrintsTheCursor(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("after") {
		case "":
			writeJSONAnswer(w, 200, `{"events":[`+feedEvent(1, "registration.application.submitted.v1", "PG-1", `{"partner_id":"PG-1","market":"JP"}`)+`,`+
				feedEvent(2, "registration.partner.activated.v1", "PG-1", `{"partner_id":"PG-1","status":"active"}`)+`],"next":"c2","has_more":true}`)
		case "c2":
			writeJSONAnswer(w, 200, `{"events":[`+feedEvent(3, "registration.enrollment.activated.v1", "PG-1", `{"program":"partner_network"}`)+
				`],"next":"c3","has_more":false}`)
		default:
			writeProblem(w, 422, "timeline.invalid_cursor", "bad cursor", nil)
		}
	})
	code, out, errOut := runIn(t, "", nil, f.args("feed", "list", "--type", "registration.", "--type", "verification.case.")...)
	if code != ExitOK {
		t.Fatalf("exit %d %s", code, errOut)
	}
	want := `   2026-11-21T10:00:01Z registration    registration.application.submitted.v1            PG-1             seq 1    market=JP
   2026-11-21T10:00:02Z registration    registration.partner.activated.v1                PG-1             seq 2    status=active
   2026-11-21T10:00:03Z registration    registration.enrollment.activated.v1             PG-1             seq 3    program=partner_network
next: c3
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	var queries []string
	for _, r := range f.requests() {
		queries = append(queries, r.query)
		if !r.who.Has(auth.RoleOperator) {
			t.Errorf("acted as %+v, want an operator", r.who)
		}
	}
	if got := strings.Join(queries, " "); got != "limit=100&type=registration.&type=verification.case. after=c2&limit=98&type=registration.&type=verification.case." {
		t.Errorf("queries %q", got)
	}

	// --limit within the first page: one request, the cursor says more waits.
	code, out, _ = runIn(t, "", nil, f.args("feed", "list", "--limit", "2", "--partner", "PG-1")...)
	if code != ExitOK || !strings.HasSuffix(out, "next: c2 (more events are waiting: run again with --after, or a higher --limit)\n") {
		t.Errorf("--limit 2: exit %d\n%s", code, out)
	}
	if last := f.requests()[len(f.requests())-1]; last.query != "limit=2&partner=PG-1" {
		t.Errorf("query %q", last.query)
	}

	// -o json: the API's shape with every page's events; --after resumes.
	code, out, _ = runIn(t, "", nil, f.args("feed", "list", "-o", "json", "--after", "c2", "--as-upstream", "--as-sub", "crm-1")...)
	var page struct {
		Events  []map[string]any `json:"events"`
		Next    string           `json:"next"`
		HasMore bool             `json:"has_more"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &page) != nil || len(page.Events) != 1 || page.Next != "c3" || page.HasMore ||
		page.Events[0]["id"] != "ev-3" || page.Events[0]["specversion"] != "1.0" {
		t.Errorf("json: exit %d %s", code, out)
	}
	last := f.requests()[len(f.requests())-1]
	if last.query != "after=c2&limit=100" || last.who.Subject != "crm-1" || !last.who.Has(auth.RoleUpstreamSystem) || last.who.Kind != auth.KindService {
		t.Errorf("--as-upstream: query %q as %+v", last.query, last.who)
	}

	// A foreign cursor is the API's 422: exit 4, the problem on stderr.
	code, _, errOut = runIn(t, "", nil, f.args("feed", "list", "--after", "bogus")...)
	if code != ExitRefused || !strings.Contains(errOut, "timeline.invalid_cursor") {
		t.Errorf("bad cursor: exit %d %s", code, errOut)
	}
}

// --follow polls: an empty page waits --interval, a server error is
// reported and retried, new events are printed as they come, and Ctrl-C
// stops with exit 0 and the cursor to resume from.
func TestFeedFollowPollsUntilInterrupted(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		after := r.URL.Query().Get("after")
		switch {
		case n == 2:
			writeProblem(w, 503, "service.unavailable", "the database is away", nil)
		case after == "" || after == "c0" && n < 4:
			writeJSONAnswer(w, 200, `{"events":[],"next":"c0","has_more":false}`)
		case after == "c0":
			writeJSONAnswer(w, 200, `{"events":[`+feedEvent(1, "registration.partner.activated.v1", "PG-9", `{"status":"active"}`)+`],"next":"c1","has_more":true}`)
		case after == "c1":
			writeJSONAnswer(w, 200, `{"events":[`+feedEvent(2, "registration.partner.suspended.v1", "PG-9", `{"reason":"compliance"}`)+`],"next":"c2","has_more":false}`)
		default:
			writeJSONAnswer(w, 200, `{"events":[],"next":"`+after+`","has_more":false}`)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, f.args("feed", "list", "--follow", "--interval", "100ms"), &out, &errOut, func(string) string { return "" })
	}()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "registration.partner.suspended.v1") {
			return testkit.Errorf("out %q", out.String())
		}
		return nil
	})
	interrupt(t, cancel, done, &errOut, "follow")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "registration.partner.activated.v1") || !strings.Contains(lines[1], "reason=compliance") ||
		lines[2] != "next: c2" {
		t.Errorf("out:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "503") || !strings.Contains(errOut.String(), "trying again in 100ms") {
		t.Errorf("the server error was not reported: %q", errOut.String())
	}
	if len(f.requests()) < 5 {
		t.Errorf("%d polls", len(f.requests()))
	}

	// --limit stops it; -o json prints one event per line.
	code, out2, errOut2 := runIn(t, "", nil, f.args("feed", "list", "--follow", "--interval", "100ms", "--after", "c0", "--limit", "2", "-o", "json")...)
	lines = strings.Split(strings.TrimSpace(out2), "\n")
	if code != ExitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], `{"specversion":"1.0","id":"ev-1"`) || !strings.Contains(errOut2, "--after c2") {
		t.Errorf("--limit 2 -o json: exit %d\n%s\n%s", code, out2, errOut2)
	}
	// --timeout before --limit is reached: exit 1, as 'events tail'.
	code, _, errOut2 = runIn(t, "", nil, f.args("feed", "list", "--follow", "--interval", "100ms", "--after", "c2", "--limit", "1", "--timeout", "500ms")...)
	if code != ExitFailure || !strings.Contains(errOut2, "timed out after 500ms with 0 of 1 events") {
		t.Errorf("timeout: exit %d %s", code, errOut2)
	}
}

// A refusal is not retried: a token the timeline refuses ends the follow at once.
func TestFeedFollowStopsOnARefusal(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, 403, "auth.forbidden", "not for you", nil)
	})
	code, _, errOut := runIn(t, "", nil, f.args("feed", "list", "--follow", "--interval", "100ms")...)
	if code != ExitUnauthorized || !strings.Contains(errOut, "auth.forbidden") || len(f.requests()) != 1 {
		t.Errorf("exit %d after %d requests: %s", code, len(f.requests()), errOut)
	}
}

func TestFeedAndWebhookUsage(t *testing.T) {
	tests := []struct {
		args     []string
		wantText string
	}{
		{[]string{"feed", "list", "--limit", "-1"}, "--limit must be positive"},
		{[]string{"feed", "list", "--follow", "--interval", "10ms"}, "--interval must be at least 100ms"},
		{[]string{"feed", "list", "extra"}, "takes no arguments"},
		{[]string{"feed"}, "needs a subcommand"},
		{[]string{"webhooks", "create"}, "--url is required"},
		{[]string{"webhooks", "create", "--url", "https://x.example", "--scope", "mine"}, "must be all or registered"},
		{[]string{"webhooks", "create", "--url", "https://x.example", "--as-upstream", "--consumer", "crm"}, "--consumer and --scope are for operators"},
		{[]string{"webhooks", "show"}, "needs ENDPOINT"},
		{[]string{"webhooks", "redeliver", "we_1"}, "needs ENDPOINT DELIVERY"},
		{[]string{"webhooks", "deliveries", "we_1", "--state", "lost"}, `--state "lost" must be one of pending, succeeded, failed, cancelled`},
		{[]string{"webhooks", "rotate", "we_1", "--previous-expires-in", "200h"}, "must be whole seconds between 0 and 168h"},
		{[]string{"webhooks", "rotate", "we_1", "--previous-expires-in", "1500ms"}, "must be whole seconds"},
		{[]string{"webhooks", "update", "we_1"}, "nothing to change"},
		{[]string{"webhooks", "pause", "we_1"}, `unknown command "pause"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, nil, tc.args...)
			if code != ExitUsage || !strings.Contains(out+errOut, tc.wantText) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", code, ExitUsage, tc.wantText, out, errOut)
			}
		})
	}
}
