package cli

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func publishEvent(t *testing.T, js jetstream.JetStream, subject string, ev ce.Event, extra map[string]string) {
	t.Helper()
	m := nats.NewMsg(subject)
	for k, v := range ev.Headers() {
		m.Header.Set(k, v)
	}
	for k, v := range extra {
		m.Header[k] = []string{v}
	}
	m.Data = ev.Data
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
}

func event(typ, source, subject string, seq uint64, sec int, data string) ce.Event {
	return ce.Event{ID: ce.NewID(), Source: "/services/" + source, Type: ce.TypePrefix + typ, Subject: subject, Sequence: seq,
		Time: t0.Add(time.Duration(sec) * time.Second), DataContentType: ce.JSON, Data: []byte(data)}
}

// tailStack is an embedded JetStream with the catalog and a few events of
// two partners, a relationship that names PG-A as provider, a dead letter
// and one message that is not a CloudEvent.
func tailStack(t *testing.T) (string, jetstream.JetStream) {
	t.Helper()
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.PrepareStreams(ctx, js, bus.Config{NATSURL: url}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []ce.Event{
		event("registration.application.submitted.v1", "registration", "PG-A", 1, 1, `{"partner_id":"PG-A","location_id":"PL-A","market":"JP"}`),
		event("registration.enrollment.status_changed.v1", "registration", "PG-A", 2, 2,
			`{"partner_id":"PG-A","program":"indirect_reseller","from":"pending_verification","to":"qualified","reason":"verification_approved"}`),
		event("registration.application.submitted.v1", "registration", "PG-B", 1, 3, `{"partner_id":"PG-B","location_id":"PL-B","market":"JP"}`),
		event("verification.task.created.v1", "verification", "PG-A", 1, 4, `{"partner_id":"PG-A","task_id":"T-1","check":"company","content":{"x":1}}`),
		event("relationships.request.created.v1", "relationships", "PG-R", 1, 5,
			`{"relationship_id":"REL-1","provider_id":"PG-A","reseller_id":"PG-R","roles":["billing_reader","support_agent"],"duration_days":365}`),
	} {
		publishEvent(t, js, testkit.Subject(e.Type, e.Subject), e, nil)
	}
	dl := event("agreements.acceptance.recorded.v1", "agreements", "PG-A", 1, 6, `{"partner_id":"PG-A","program":"indirect_reseller"}`)
	publishEvent(t, js, bus.DeadLetterSubject("registration"), dl, map[string]string{bus.DLQCode: "registration.program_takes_no_location",
		bus.DLQService: "registration", bus.DLQSubject: "agreements.acceptance.recorded.v1", bus.DLQReason: "no location"})
	garbage := nats.NewMsg(bus.PartitionSubject("registration.test.garbage.v1", 0))
	garbage.Data = []byte("not json")
	if _, err := js.PublishMsg(context.Background(), garbage); err != nil {
		t.Fatal(err)
	}
	// One more event behind the garbage: a tail that reaches it has read the garbage.
	last := event("registration.partner.activated.v1", "registration", "PG-Z", 1, 8, `{"partner_id":"PG-Z"}`)
	publishEvent(t, js, testkit.Subject(last.Type, last.Subject), last, nil)
	return url, js
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	slices.Sort(lines)
	return lines
}

const (
	lineSubmittedA = "   2026-11-21T10:00:01Z registration    registration.application.submitted.v1            PG-A             seq 1    market=JP location_id=PL-A"
	lineStatusA    = "   2026-11-21T10:00:02Z registration    registration.enrollment.status_changed.v1        PG-A             seq 2    from=pending_verification to=qualified program=indirect_reseller reason=verification_approved"
	lineTaskA      = "   2026-11-21T10:00:04Z verification    verification.task.created.v1                     PG-A             seq 1    check=company task_id=T-1"
	lineRelA       = "   2026-11-21T10:00:05Z relationships   relationships.request.created.v1                 PG-R             seq 1    relationship_id=REL-1 provider_id=PG-A roles=billing_reader,support_agent duration_days=365"
	lineDeadA      = "!! 2026-11-21T10:00:06Z agreements      agreements.acceptance.recorded.v1                PG-A             seq 1    dlq-code=registration.program_takes_no_location dlq-service=registration program=indirect_reseller"
)

func TestEventsTailFiltersByPartnerAcrossStreams(t *testing.T) {
	url, js := tailStack(t)
	code, out, errOut := run(t, nil, "events", "tail", "--url", url, "--all", "--partner", "PG-A", "--limit", "5", "--timeout", "20s")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := []string{lineSubmittedA, lineStatusA, lineTaskA, lineRelA, lineDeadA}
	slices.Sort(want)
	if got := sortedLines(out); !slices.Equal(got, want) {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Within a stream the order is the stream's.
	if strings.Index(out, lineSubmittedA) > strings.Index(out, lineStatusA) {
		t.Error("REGISTRATION events out of order")
	}
	// Nothing durable is left behind.
	for _, name := range []string{"REGISTRATION", "VERIFICATION", "DEADLETTER"} {
		s, err := js.Stream(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		for c := range s.ListConsumers(context.Background()).Info() {
			if c.Config.Durable != "" {
				t.Errorf("stream %s has durable consumer %s after tail", name, c.Config.Durable)
			}
		}
	}
}

func TestEventsTailByTypePrefix(t *testing.T) {
	url, _ := tailStack(t)
	for _, tc := range []struct {
		prefix string
		max    string
		want   []string
	}{
		{"registration.enrollment", "1", []string{lineStatusA}},
		{"com.partnerhub.verification.", "1", []string{lineTaskA}},
		{"registration.application.submitted.v1", "2", []string{lineSubmittedA,
			"   2026-11-21T10:00:03Z registration    registration.application.submitted.v1            PG-B             seq 1    market=JP location_id=PL-B"}},
		{"agreements.acceptance", "1", []string{lineDeadA}}, // only dead letters hold it
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			code, out, errOut := run(t, nil, "events", "tail", "--url", url, "--all", "--type", tc.prefix, "--limit", tc.max, "--timeout", "20s")
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if got := sortedLines(out); code != ExitOK || !slices.Equal(got, want) {
				t.Fatalf("exit %d, stderr %s\ngot:\n%s\nwant:\n%s", code, errOut, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestEventsTailJSONAndStreams(t *testing.T) {
	url, _ := tailStack(t)
	code, out, errOut := run(t, nil, "events", "tail", "--url", url, "--all", "--stream", "deadletter", "--limit", "1", "-o", "json", "--timeout", "20s")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("not one JSON object per line: %v: %q", err, out)
	}
	if ev["specversion"] != "1.0" || ev["type"] != "com.partnerhub.agreements.acceptance.recorded.v1" || ev["subject"] != "PG-A" ||
		ev["sequence"] != "000000000001" || ev["dlqcode"] != "registration.program_takes_no_location" || ev["dlqsubject"] != "agreements.acceptance.recorded.v1" || ev["dlqseq"] != "1" ||
		ev["data"].(map[string]any)["program"] != "indirect_reseller" {
		t.Errorf("event JSON %s", out)
	}
	// deadletters list -o json: the same document, with the sequence replay takes.
	code, out, errOut = run(t, nil, "deadletters", "list", "--url", url, "-o", "json")
	var listed map[string]any
	if code != ExitOK || json.Unmarshal([]byte(out), &listed) != nil || listed["dlqseq"] != "1" || listed["id"] != ev["id"] {
		t.Errorf("deadletters list -o json: exit %d %q %s", code, out, errOut)
	}
	// The message that is not a CloudEvent is reported, not fatal.
	code, _, errOut = run(t, nil, "events", "tail", "--url", url, "--all", "--stream", "REGISTRATION", "--limit", "4", "--timeout", "20s")
	if code != ExitOK || !strings.Contains(errOut, "REGISTRATION seq 4 is not a CloudEvent") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestEventsTailSince(t *testing.T) {
	url, _ := tailStack(t)
	// Stored events are replayed from a start time (the stream's publish time).
	code, out, errOut := run(t, nil, "events", "tail", "--url", url, "--since", "1h", "--partner", "PG-B", "--limit", "1", "--timeout", "20s")
	want := "   2026-11-21T10:00:03Z registration    registration.application.submitted.v1            PG-B             seq 1    market=JP location_id=PL-B\n"
	if code != ExitOK || out != want {
		t.Fatalf("--since 1h: exit %d %q %s", code, out, errOut)
	}
	// A start after every stored event shows none of them.
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, out, _ = run(t, nil, "events", "tail", "--url", url, "--since", future, "--limit", "1", "--timeout", "300ms")
	if code != ExitFailure || out != "" {
		t.Fatalf("--since the future: exit %d %q", code, out)
	}
}

func TestEventsTailTimeoutAndValidation(t *testing.T) {
	url, _ := tailStack(t)
	start := time.Now()
	code, out, errOut := run(t, nil, "events", "tail", "--url", url, "--all", "--partner", "PG-B", "--type", "verification", "--limit", "1", "--timeout", "300ms")
	if code != ExitFailure || out != "" || !strings.Contains(errOut, "timed out after 300ms with 0 of 1 events") || time.Since(start) > 10*time.Second {
		t.Errorf("timeout: exit %d, %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		text string
	}{
		{[]string{"--all", "--since", "10m"}, "exclude each other"},
		{[]string{"--since", "yesterday"}, "neither a duration"},
		{[]string{"--since", "-5m"}, "must be positive"},
		{[]string{"--stream", "AUDIT"}, `--stream "AUDIT" must be one of`},
		{[]string{"--limit", "-1"}, "--limit must be positive"},
		{[]string{"extra"}, "takes no arguments"},
	} {
		code, _, errOut := run(t, nil, append([]string{"events", "tail", "--url", url}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, tc.text) {
			t.Errorf("%v: exit %d, %q", tc.args, code, errOut)
		}
	}
}

func TestEventsTailLiveAndInterrupt(t *testing.T) {
	url, js := tailStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"events", "tail", "--url", url, "--partner", "PG-C"}, &out, &errOut, func(string) string { return "" })
	}()
	// Wait until the tail's consumers exist, then publish: only new events show.
	testkit.Eventually(t, 10*time.Second, func() error {
		s, err := js.Stream(context.Background(), "REGISTRATION")
		if err != nil {
			return err
		}
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		if info.State.Consumers == 0 {
			return testkit.Errorf("no consumer yet")
		}
		return nil
	})
	publishEvent(t, js, testkit.Subject(ce.TypePrefix+"registration.partner.activated.v1", "PG-C"),
		event("registration.partner.activated.v1", "registration", "PG-C", 3, 7, `{"partner_id":"PG-C","market":"JP","location_ids":["PL-C"]}`), nil)
	want := "   2026-11-21T10:00:07Z registration    registration.partner.activated.v1                PG-C             seq 3    market=JP\n"
	testkit.Eventually(t, 10*time.Second, func() error {
		if out.String() != want {
			return testkit.Errorf("out %q", out.String())
		}
		return nil
	})
	interrupt(t, cancel, done, &errOut, "tail")
}

// History (--all, --since) comes in time order across streams, not grouped
// by stream: here the streams hold their events in an order the times
// contradict (VERIFICATION's event is the earliest, REGISTRATION's the latest).
func TestEventsTailHistoryIsInTimeOrderAcrossStreams(t *testing.T) {
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.PrepareStreams(ctx, js, bus.Config{NATSURL: url}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []ce.Event{
		event("registration.application.submitted.v1", "registration", "PG-T", 1, 40, `{"partner_id":"PG-T"}`),
		event("registration.partner.activated.v1", "registration", "PG-T", 2, 50, `{"partner_id":"PG-T"}`),
		event("verification.case.opened.v1", "verification", "PG-T", 1, 10, `{"partner_id":"PG-T"}`),
		event("agreements.acceptance.recorded.v1", "agreements", "PG-T", 1, 30, `{"partner_id":"PG-T"}`),
		event("email.challenge.opened.v1", "email-ownership", "PG-T", 1, 20, `{"partner_id":"PG-T"}`),
	} {
		publishEvent(t, js, testkit.Subject(e.Type, e.Subject), e, nil)
	}
	for _, since := range [][]string{{"--all"}, {"--since", "1h"}} {
		args := append([]string{"events", "tail", "--url", url, "--partner", "PG-T", "--limit", "5", "--timeout", "20s"}, since...)
		code, out, errOut := run(t, nil, args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s", since, code, errOut)
		}
		var times []string
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			times = append(times, strings.Fields(l)[0])
		}
		if want := []string{"2026-11-21T10:00:10Z", "2026-11-21T10:00:20Z", "2026-11-21T10:00:30Z", "2026-11-21T10:00:40Z", "2026-11-21T10:00:50Z"}; !slices.Equal(times, want) {
			t.Fatalf("%v: times %v, want %v:\n%s", since, times, want, out)
		}
	}
	// The live tail goes on after the history, without repeating it.
	var out testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- RunWithInput(ctx, []string{"events", "tail", "--url", url, "--partner", "PG-T", "--all", "--limit", "6", "--timeout", "20s"},
			strings.NewReader(""), &out, io.Discard, func(string) string { return "" })
	}()
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := strings.Count(out.String(), "\n"); n < 5 {
			return testkit.Errorf("%d history lines", n)
		}
		return nil
	})
	live := event("relationships.request.created.v1", "relationships", "PG-T", 1, 5, `{"partner_id":"PG-T"}`)
	publishEvent(t, js, testkit.Subject(live.Type, live.Subject), live, nil)
	if code := <-done; code != ExitOK {
		t.Fatalf("live: exit %d: %s", code, out.String())
	}
	if lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n"); len(lines) != 6 || !strings.Contains(lines[5], "relationships.request.created.v1") {
		t.Fatalf("history then live: %q", lines)
	}
}

// interrupt cancels a running command's context (Ctrl-C) and wants it to
// stop within 10s with exit 0.
func interrupt(t *testing.T, cancel context.CancelFunc, done <-chan int, errOut *testkit.SyncBuffer, what string) {
	t.Helper()
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("interrupted %s exit %d: %s", what, code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop on interrupt", what)
	}
}
