package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/pkg/jsonx"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/demo"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// finalChecks are assertions a path leaves for when the bus is quiet (that
// something did not happen, or happened once).
var finalChecks struct {
	mu   sync.Mutex
	list []func(t *testing.T)
}

func atEnd(check func(t *testing.T)) {
	finalChecks.mu.Lock()
	defer finalChecks.mu.Unlock()
	finalChecks.list = append(finalChecks.list, check)
}

// TestWholeLifecycleAcrossServices runs every service binary as its own
// process on a fresh database and an embedded JetStream and drives, in
// parallel on that one stack, every end-to-end path through the public APIs,
// the mail catcher and the bus. Afterwards nothing may be dead-lettered but
// what a path dead-letters on purpose, every producer's per-partition
// sequence must be gap-free, and every service must stop gracefully on SIGTERM.
//
// To add a path: write testX(t, s) in its own file, list it below, give it
// its own company (a register entry no other path uses, see steps_test.go),
// store any dead letter it causes on purpose in expectedDeadLetters, and
// leave "happened exactly once" checks to atEnd.
func TestWholeLifecycleAcrossServices(t *testing.T) {
	z := startZone(t)
	s := e2e.Start(t, e2e.Env("verification", "VERIFICATION_DNS_SERVER="+z.addr))
	t.Logf("services: %s", strings.Join(s.ServiceNames(), ", "))
	validateResponses(t, s, 150) // about 220 in a full run
	t.Run("paths", func(t *testing.T) {
		t.Run("Demo", func(t *testing.T) { t.Parallel(); testDemo(t, s) })
		t.Run("OfficialSDK", func(t *testing.T) { t.Parallel(); testOfficialSDK(t, s) })
		t.Run("RejectRetryThenApprove", func(t *testing.T) { t.Parallel(); testRejectRetryThenApprove(t, s) })
		t.Run("DuplicateRegistration", func(t *testing.T) { t.Parallel(); testDuplicateRegistration(t, s) })
		t.Run("ResellerEndsRelationship", func(t *testing.T) { t.Parallel(); testResellerEndsRelationship(t, s) })
		t.Run("DecisionEventsOverTheBus", func(t *testing.T) { t.Parallel(); testDecisionEventsOverTheBus(t, s) })
		t.Run("RevokeSuspendReinstate", func(t *testing.T) { t.Parallel(); testRevokeSuspendReinstate(t, s) })
		t.Run("ClosureByEitherSide", func(t *testing.T) { t.Parallel(); testClosureByEitherSide(t, s) })
		t.Run("StaffWordsStayWithStaff", func(t *testing.T) { t.Parallel(); testStaffWordsStayWithStaff(t, s) })
		t.Run("ResellerEmailGate", func(t *testing.T) { t.Parallel(); testResellerEmailGate(t, s) })
		t.Run("ConfirmWhileCorrecting", func(t *testing.T) { t.Parallel(); testConfirmWhileCorrecting(t, s) })
		t.Run("CorrectRightAfterRegistering", func(t *testing.T) { t.Parallel(); testCorrectRightAfterRegistering(t, s) })
		t.Run("AcceptRightAfterQualifiedThenInactivity", func(t *testing.T) { t.Parallel(); testAcceptRightAfterQualifiedThenInactivity(t, s) })
		t.Run("RefusedAcceptanceIsMailed", func(t *testing.T) { t.Parallel(); testRefusedAcceptanceIsMailed(t, s) })
		t.Run("EmploymentOnEvidence", func(t *testing.T) { t.Parallel(); testEmploymentOnEvidence(t, s, z) })
		t.Run("PartnerCommunications", func(t *testing.T) { t.Parallel(); testPartnerCommunications(t, s) })
		t.Run("WebhooksAndFeed", func(t *testing.T) { t.Parallel(); testWebhooksAndFeed(t, s) })
		t.Run("PartnerctlFeedAndWebhooks", func(t *testing.T) { t.Parallel(); testPartnerctlFeedAndWebhooks(t, s) })
		t.Run("ClaimsAndDisputes", func(t *testing.T) { t.Parallel(); testClaimsAndDisputes(t, s) })
		t.Run("EveryListRefusesABadLimitOneWay", func(t *testing.T) { t.Parallel(); testEveryListRefusesABadLimitOneWay(t, s) })
		t.Run("EveryListPagesOneWay", func(t *testing.T) { t.Parallel(); testEveryListPagesOneWay(t, s) })
		t.Run("EveryServiceNamesAMissingFieldOneWay", func(t *testing.T) { t.Parallel(); testEveryServiceNamesAMissingFieldOneWay(t, s) })
	})
	if t.Failed() {
		return
	}
	s.Events.Settle(500*time.Millisecond, 5*time.Second)
	for _, check := range finalChecks.list {
		check(t)
	}
	expected := map[string]string{}
	expectedDeadLetters.Range(func(id, code any) bool { expected[id.(string)] = code.(string); return true })
	s.AssertDeadLetters(t, expected)
	assertGapFreeSequences(t, s)
	assertLogLinesAreIJSON(t, s)
	s.Stop(t)
}

// assertLogLinesAreIJSON: every JSON log line of every service names each
// member once. A call site that adds an attribute the logger carries
// already ("service") writes it twice, and a log pipeline keeps the first
// or the last, whichever its parser does (RFC 7493).
func assertLogLinesAreIJSON(t *testing.T, s *e2e.Stack) {
	lines := 0
	for _, name := range s.ServiceNames() {
		reported := 0
		for _, line := range strings.Split(s.Log(name), "\n") {
			if !strings.HasPrefix(line, "{") {
				continue
			}
			lines++
			if path, dup := jsonx.DuplicateMember([]byte(line)); dup && reported < 3 {
				t.Errorf("%s logged %q twice: %s", name, path, line)
				reported++
			}
		}
	}
	if lines == 0 {
		t.Error("no JSON log line read")
	}
}

// validateResponses routes every API call of the run (the harness's and the
// demo's) through a transport that checks each response against the
// OpenAPI document the answering service serves at /openapi.json; any
// undocumented status, header or body shape fails the test at the end, as
// does a run with fewer than atLeast responses validated (the transport is
// then not in the path).
func validateResponses(t *testing.T, s *e2e.Stack, atLeast int) {
	var urls []string
	for _, name := range s.ServiceNames() {
		urls = append(urls, s.URL(name))
	}
	docs, err := contract.FetchDocs(s.HTTPClient, urls...)
	if err != nil {
		t.Fatalf("fetch OpenAPI documents: %v", err)
	}
	tr := contract.NewValidatingTransport(s.HTTPClient.Transport, docs)
	s.HTTPClient = &http.Client{Transport: tr, Timeout: s.HTTPClient.Timeout}
	t.Cleanup(func() {
		tr.Verify(t)
		t.Logf("%d responses validated against %d OpenAPI documents", tr.Checked(), len(docs))
		if tr.Checked() < atLeast {
			t.Errorf("only %d responses validated: the transport is not in the path", tr.Checked())
		}
	})
}

// assertGapFreeSequences: every producer numbers its events per partition
// key 1, 2, 3, … and JetStream holds them in that order.
func assertGapFreeSequences(t *testing.T, s *e2e.Stack) {
	last := map[string]uint64{}
	n := 0
	for _, e := range s.Events.All() {
		if e.Stream == bus.DeadLetterStream || e.Stream == "INTAKE" {
			continue
		}
		key := e.Source + " " + e.PartitionKey
		if e.Sequence != last[key]+1 {
			t.Errorf("%s: sequence %d after %d", e, e.Sequence, last[key])
		}
		last[key] = e.Sequence
		n++
	}
	if n == 0 {
		t.Fatal("no events collected")
	}
	t.Logf("%d events from %d partitions, each numbered without gaps", n, len(last))
}

// testDemo is `partnerctl demo`: a reseller and a distributor from
// registration to an authorised provider relationship.
func testDemo(t *testing.T, s *e2e.Stack) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := demo.Run(ctx, s.DemoConfig(&out))
	t.Log(out.String())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	if res.RelationshipID == "" || res.ResellerID == "" || res.ProviderID == "" || res.Events < 20 {
		t.Fatalf("demo result %+v", res)
	}
	if s.Has("timeline") {
		assertTimeline(t, s, res.ResellerID)
	}
	assertEveryServiceReadsAPartnerIDOneWay(t, s, res.ResellerID)
	// Dead letters (which the demo marks !!) are checked for the whole stack
	// at the end: other paths run beside the demo and dead-letter on purpose.
}

// assertTimeline: the operator's timeline of an onboarded reseller holds
// events of every producer, in time order, with no sequence gap, ending with
// the relationship that authorised its provider.
func assertTimeline(t *testing.T, s *e2e.Stack, partnerID string) {
	op := s.Token(auth.Principal{Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}})
	var tl struct {
		Events []struct {
			Source   string    `json:"source"`
			Type     string    `json:"type"`
			Time     time.Time `json:"time"`
			Sequence string    `json:"sequence"`
		} `json:"events"`
		Sources []struct {
			Source string   `json:"source"`
			Gaps   []string `json:"gaps"`
		} `json:"sources"`
	}
	want := []string{"/services/registration", "/services/email-ownership", "/services/notifier",
		"/services/verification", "/services/agreements", "/services/relationships"}
	e2e.Eventually(t, 10*time.Second, "the reseller's timeline to hold every producer", func() error {
		s.Call(t, "GET", s.URL("timeline")+"/v1/partners/"+partnerID+"/timeline?limit=500", op, nil, http.StatusOK, &tl)
		have := map[string]bool{}
		for _, src := range tl.Sources {
			have[src.Source] = true
			if len(src.Gaps) > 0 {
				return fmt.Errorf("%s has gaps %v", src.Source, src.Gaps)
			}
		}
		for _, w := range want {
			if !have[w] {
				return fmt.Errorf("no events from %s yet (have %v)", w, have)
			}
		}
		if last := tl.Events[len(tl.Events)-1]; !strings.Contains(last.Type, "relationships.") {
			return fmt.Errorf("last event %s, want the relationship's", last.Type)
		}
		return nil
	})
	for i := 1; i < len(tl.Events); i++ {
		if tl.Events[i].Time.Before(tl.Events[i-1].Time) {
			t.Errorf("timeline out of order at %d: %s after %s", i, tl.Events[i].Time, tl.Events[i-1].Time)
		}
	}
	if len(tl.Events) < 20 {
		t.Errorf("timeline has %d events", len(tl.Events))
	}
}
