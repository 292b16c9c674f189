package e2e_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/bus"
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
	s := e2e.Start(t)
	t.Logf("services: %s", strings.Join(s.ServiceNames(), ", "))
	t.Run("paths", func(t *testing.T) {
		t.Run("Demo", func(t *testing.T) { t.Parallel(); testDemo(t, s) })
		t.Run("OfficialSDK", func(t *testing.T) { t.Parallel(); testOfficialSDK(t, s) })
		t.Run("RejectRetryThenApprove", func(t *testing.T) { t.Parallel(); testRejectRetryThenApprove(t, s) })
		t.Run("DuplicateRegistration", func(t *testing.T) { t.Parallel(); testDuplicateRegistration(t, s) })
		t.Run("ResellerEndsRelationship", func(t *testing.T) { t.Parallel(); testResellerEndsRelationship(t, s) })
		t.Run("DecisionEventsOverTheBus", func(t *testing.T) { t.Parallel(); testDecisionEventsOverTheBus(t, s) })
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
	s.Stop(t)
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
	// Dead letters (which the demo marks !!) are checked for the whole stack
	// at the end: other paths run beside the demo and dead-letter on purpose.
}
