package bench

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestOursPerAddressPicksThePeersConcurrency(t *testing.T) {
	onb := func(n int) []Onboarding {
		out := make([]Onboarding, n)
		for i := range out {
			out[i] = Onboarding{Enrollments: []string{"a", "b"}, Submit: time.Unix(0, 0), Mail1At: time.Unix(0, 0).Add(time.Duration(i+1) * time.Millisecond)}
		}
		return out
	}
	points := []PointResult{
		{LoadPoint: LoadPoint{N: 10, C: 16}, Onboardings: onb(10), CPU: CPUUsage{Groups: map[string]time.Duration{"a": time.Second}}},
		{LoadPoint: LoadPoint{N: 5, C: 8}, Onboardings: onb(5), CPU: CPUUsage{Groups: map[string]time.Duration{"a": 600 * time.Millisecond, "b": 400 * time.Millisecond}}},
	}
	o := oursPerAddress(points, 8, CPUUsage{})
	if o.C != 8 || o.Addresses != 10 || o.CPU != 100*time.Millisecond {
		t.Fatalf("at C=8: got C=%d, %d addresses, %s per address; want C=8, 10, 100ms", o.C, o.Addresses, o.CPU)
	}
	if len(o.FirstMail) != 5 || Percentile(o.FirstMail, 100) != 5*time.Millisecond {
		t.Fatalf("first-mail latencies %v, want the 5 of the C=8 point", o.FirstMail)
	}
	if o := oursPerAddress(points, 4, CPUUsage{}); o.C != 16 || o.Addresses != 20 || o.CPU != 50*time.Millisecond {
		t.Fatalf("no point at C=4: got C=%d, %d addresses, %s; want the first point (C=16, 20, 50ms)", o.C, o.Addresses, o.CPU)
	}
}

func TestKratosRunAccountsItsProcessAndBackendsOnly(t *testing.T) {
	k := KratosRun{N: 10, CPU: CPUUsage{
		Groups: map[string]time.Duration{"kratos": 200 * time.Millisecond, "postgres": 900 * time.Millisecond},
		Categories: map[string]map[string]time.Duration{"postgres": {
			"backend kratos": 100 * time.Millisecond, "backend registration_app": 500 * time.Millisecond,
			"walwriter": 200 * time.Millisecond, "postmaster+exited": 100 * time.Millisecond,
		}},
	}}
	if got := k.PerAddress(); got != 30*time.Millisecond {
		t.Fatalf("per address %s, want (200+100)/10 = 30ms", got)
	}
	if got := k.PGBackground(); got != 300*time.Millisecond {
		t.Fatalf("Postgres background %s, want walwriter + postmaster+exited = 300ms", got)
	}
}

func TestKratosConfigPollSetting(t *testing.T) {
	sink := &MailSink{Host: "127.0.0.1", Port: 2525}
	decode := func(wait time.Duration) map[string]any {
		data, err := kratosConfig("postgres://x", "/tmp/s.json", 1, 2, sink, wait, 4)
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := decode(0)
	courier := c["courier"].(map[string]any)
	if _, ok := courier["worker"]; ok {
		t.Fatalf("default poll setting must leave courier.worker unset: %v", courier)
	}
	if uri := courier["smtp"].(map[string]any)["connection_uri"].(string); uri != "smtp://127.0.0.1:2525/?disable_starttls=true" {
		t.Fatalf("SMTP URI %q", uri)
	}
	c = decode(50 * time.Millisecond)
	if w := c["courier"].(map[string]any)["worker"].(map[string]any)["pull_wait"]; w != "50ms" {
		t.Fatalf("pull_wait %v, want 50ms", w)
	}
	pw := c["selfservice"].(map[string]any)["methods"].(map[string]any)["password"].(map[string]any)["config"].(map[string]any)
	if pw["haveibeenpwned_enabled"] != false {
		t.Fatal("the HaveIBeenPwned look-up must be off (no network)")
	}
	if !strings.Contains(kratosIdentitySchema, `"verification": { "via": "email" }`) {
		t.Fatal("the identity schema must mark the e-mail trait for verification")
	}
}

func TestKratosVersion(t *testing.T) {
	out := "Version:    v1.3.1\nBuild Commit:   abc\nBuild Timestamp: x\n"
	if v := kratosVersion(out); v != "v1.3.1" {
		t.Fatalf("version %q", v)
	}
}

func TestThePeerTableShowsTheEmailPartBesideKratos(t *testing.T) {
	k := KratosRun{N: 10, C: 8, Wall: time.Second, CPU: CPUUsage{Groups: map[string]time.Duration{"kratos": 200 * time.Millisecond}}}
	e := EmailPart{Onboardings: 2, Addresses: 4, C: 8, CPU: CPUUsage{Groups: map[string]time.Duration{"a": 30 * time.Millisecond, "b": 10 * time.Millisecond}}}
	if got := e.PerAddress(); got != 10*time.Millisecond {
		t.Fatalf("e-mail part per address %s, want 40ms / 4 = 10ms", got)
	}
	r := &Report{Peer: &PeerReport{Runs: []KratosRun{k}, Ours: OursPerAddress{C: 8, Addresses: 10, CPU: 15 * time.Millisecond, EmailPart: e}}}
	var out strings.Builder
	r.printPeer(&out)
	for _, want := range []string{"ours, the e-mail part alone (4 addr)", "10.0", "e-mail part / kratos CPU", "0.50", "0.75"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	r.Peer.Ours.EmailPart = EmailPart{}
	out.Reset()
	r.printPeer(&out)
	if strings.Contains(out.String(), "e-mail part") {
		t.Errorf("an e-mail part that was not measured is shown:\n%s", out.String())
	}
}

func TestTheEmailPartBreakdownListsTheLargestFirst(t *testing.T) {
	e := EmailPart{Addresses: 10, CPU: CPUUsage{
		Groups:     map[string]time.Duration{"notifier": 10 * time.Millisecond, "postgres": 50 * time.Millisecond, "timeline": 20 * time.Millisecond},
		Categories: map[string]map[string]time.Duration{"postgres": {"backend timeline_app": 30 * time.Millisecond, "walwriter": 100 * time.Microsecond}},
	}}
	if got, want := e.Breakdown(), "postgres 5.0, timeline 2.0, notifier 1.0, pg timeline_app 3.0"; got != want {
		t.Fatalf("breakdown %q, want %q", got, want)
	}
}

func TestTheEmailPartsStatementsArePrintedPerAddress(t *testing.T) {
	r := &Report{
		Points: []PointResult{{LoadPoint: LoadPoint{N: 10, C: 8}, Statements: []Statement{{Query: "SELECT 1", Role: "registration_app", Calls: 20}}}},
		Peer: &PeerReport{Ours: OursPerAddress{EmailPart: EmailPart{Addresses: 4,
			Statements: []Statement{{Query: "INSERT INTO challenge_tokens", Role: "email_ownership_app", Calls: 8, TimeMS: 2}}}}},
	}
	var out strings.Builder
	r.printStatements(&out)
	text := out.String()
	_, part, found := strings.Cut(text, "e-mail part alone")
	if !found || !strings.Contains(part, "2.00  0.50  0.0  email_ownership  INSERT INTO challenge_tokens") {
		t.Fatalf("the e-mail part's statements per address (8 calls, 2 ms over 4 addresses) are missing:\n%s", text)
	}
}
