package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Quick tests of the pure helpers; the benchmark itself runs only with -bench.

func TestPercentileNearestRank(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	v := ms(50, 10, 40, 20, 30) // unsorted on purpose
	for _, c := range []struct {
		p    float64
		want int
	}{{50, 30}, {95, 50}, {99, 50}, {100, 50}, {20, 10}, {21, 20}, {1, 10}} {
		if got := Percentile(v, c.p); got != time.Duration(c.want)*time.Millisecond {
			t.Errorf("p%.0f = %s, want %dms", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty input: want 0")
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	if got := Percentile(hundred, 99); got != 99*time.Millisecond {
		t.Errorf("p99 of 1..100 = %s", got)
	}
	if v[0] != 50*time.Millisecond {
		t.Error("Percentile sorted its input in place")
	}
}

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses, as a postmaster child can have.
	line := "4242 (postgres: a (b) c) S 4000 4242 4242 0 -1 4194560 1200 0 0 0 731 219 55 12 20 0 1 0 3300 222000000 4000 18446744073709551615"
	s, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != 4242 || s.PPID != 4000 || s.Comm != "postgres: a (b) c" {
		t.Errorf("pid/ppid/comm = %d/%d/%q", s.PID, s.PPID, s.Comm)
	}
	if s.UTime != 731 || s.STime != 219 || s.CUTime != 55 || s.CSTime != 12 {
		t.Errorf("times = %d %d %d %d", s.UTime, s.STime, s.CUTime, s.CSTime)
	}
	if s.Self() != 9500*time.Millisecond || s.Children() != 670*time.Millisecond {
		t.Errorf("self %s children %s", s.Self(), s.Children())
	}
	if _, err := parseProcStat([]byte("12 (x) S 1 2")); err == nil {
		t.Error("short line: want an error")
	}
	self, err := readProcStat(os.Getpid())
	if err != nil || self.PID != os.Getpid() {
		t.Errorf("own /proc stat: %+v, %v", self, err)
	}
}

func TestStatusKB(t *testing.T) {
	status := "Name:\tnotifier\nVmPeak:\t 1300000 kB\nVmHWM:\t   45512 kB\nVmRSS:\t   40000 kB\nThreads:\t9\n"
	if v, ok := statusKB([]byte(status), "VmHWM"); !ok || v != 45512*1024 {
		t.Errorf("VmHWM = %d, %v", v, ok)
	}
	if _, ok := statusKB([]byte(status), "VmSwap"); ok {
		t.Error("VmSwap: want not found")
	}
	if v, err := peakRSS(os.Getpid()); err != nil || v <= 0 {
		t.Errorf("own VmHWM = %d, %v", v, err)
	}
}

// A process's system calls come from /proc/<pid>/io, and a window's are
// the difference of two snapshots, per group.
func TestSystemCallsPerGroup(t *testing.T) {
	io := "rchar: 5321\nwchar: 880\nsyscr: 41\nsyscw: 17\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n"
	if c, ok := parseIO([]byte(io)); !ok || c != (ioCount{Reads: 41, Writes: 17}) {
		t.Errorf("parseIO = %+v, %v", c, ok)
	}
	if _, ok := parseIO([]byte("rchar: 1\n")); ok {
		t.Error("parseIO without syscr/syscw: want not ok")
	}
	if c, ok := readIO(os.Getpid()); !ok || c.Reads <= 0 {
		t.Errorf("own system calls %+v, %v", c, ok)
	}
	a := CPUSnapshot{Groups: map[string]time.Duration{}, IO: map[string]ioCount{"registration": {10, 5}, "notifier": {7, 7}}}
	b := CPUSnapshot{Groups: map[string]time.Duration{}, IO: map[string]ioCount{"registration": {40, 25}, "notifier": {9, 8}, "timeline": {3, 3}}}
	u := b.Sub(a)
	if got := u.Syscalls("registration", "notifier", "timeline"); got != (ioCount{Reads: 32, Writes: 21}) {
		t.Errorf("system calls in the window %+v, want 32 + 21 (timeline, new in the window, not counted)", got)
	}
}

func TestPGCategory(t *testing.T) {
	for title, want := range map[string]string{
		"postgres: registration_app onboarding 127.0.0.1(51234) idle":              "backend registration_app",
		"postgres: email_ownership_app onboarding 127.0.0.1(51234) UPDATE waiting": "backend email_ownership_app",
		"postgres: postgres postgres [local] idle":                                 "backend postgres",
		"postgres: checkpointer":                                                   "checkpointer",
		"postgres: walwriter":                                                      "walwriter",
		"postgres: autovacuum worker onboarding":                                   "autovacuum worker",
		"postgres: logical replication launcher":                                   "logical replication launcher",
		"/usr/lib/postgresql/15/bin/postgres -D /tmp/x":                            "other",
	} {
		if got := pgCategory(title); got != want {
			t.Errorf("pgCategory(%q) = %q, want %q", title, got, want)
		}
	}
}

func TestCPUSubSplitsATreeByCategory(t *testing.T) {
	t0 := time.Now()
	t1 := t0.Add(10 * time.Second)
	a := CPUSnapshot{At: t0, Groups: map[string]time.Duration{"postgres": 1000 * time.Millisecond, "registration": 300 * time.Millisecond},
		Tree: map[string]map[int]childCPU{"postgres": {
			10: {CPU: 200 * time.Millisecond, Category: "backend registration_app"},
			11: {CPU: 100 * time.Millisecond, Category: "walwriter"},
			12: {CPU: 50 * time.Millisecond, Category: "backend verification_app"}, // exits in the window
		}}}
	// Child 12 exited with 80ms (reaped into the root's cutime); child 13 is new.
	b := CPUSnapshot{At: t1, Groups: map[string]time.Duration{"postgres": 1900 * time.Millisecond, "registration": 800 * time.Millisecond},
		Tree: map[string]map[int]childCPU{"postgres": {
			10: {CPU: 600 * time.Millisecond, Category: "backend registration_app"},
			11: {CPU: 150 * time.Millisecond, Category: "walwriter"},
			13: {CPU: 70 * time.Millisecond, Category: "backend verification_app"},
		}}}
	u := b.Sub(a)
	if u.Wall != 10*time.Second || u.Groups["postgres"] != 900*time.Millisecond || u.Total() != 1400*time.Millisecond {
		t.Fatalf("usage %+v", u)
	}
	c := u.Categories["postgres"]
	if c["backend registration_app"] != 400*time.Millisecond || c["walwriter"] != 50*time.Millisecond ||
		c["backend verification_app"] != 70*time.Millisecond || c["postmaster+exited"] != 380*time.Millisecond {
		t.Errorf("categories %v", c)
	}
	if got := u.Cores("registration"); got != 0.05 {
		t.Errorf("registration cores %v", got)
	}
}

func TestConfirmLink(t *testing.T) {
	base := "http://127.0.0.1:4711"
	text := "リンクを開いてください。\n\nhttp://127.0.0.1:4711/confirm?token=AbC_12-x\n\n確認コード: 123456\n\n" +
		"http://127.0.0.1:4711/dispute?token=AbC_12-x\n<a href=\"http://evil.example/confirm?token=zz\">x</a>"
	if got := confirmLink(text, base+"/"); got != base+"/confirm?token=AbC_12-x" {
		t.Errorf("confirmLink = %q", got)
	}
	if got := confirmLink("http://127.0.0.1:4711/v2/ownership?token=Q1.", base); got != base+"/v2/ownership?token=Q1" {
		t.Errorf("fallback link = %q", got)
	}
	if got := confirmLink("no link here", base); got != "" {
		t.Errorf("no link: %q", got)
	}
}

func TestPostForm(t *testing.T) {
	page := `<html><body><p>確認しますか？</p>
<form method="post" action="/dispute"><input type="hidden" name="token" value="t1"><button>no</button></form>
<FORM METHOD='POST' ACTION='/confirm'>
  <input type="hidden" name="token" value="a&amp;b">
  <input type="checkbox" name="remember" value="1">
  <input type="checkbox" name="agree" value="yes" checked>
  <button type="submit" name="action" value="confirm">確認</button>
  <button type="submit" name="action" value="cancel">取消</button>
</FORM></body></html>`
	f, ok := postForm(page)
	if !ok {
		t.Fatal("no form found")
	}
	if f.Action != "/confirm" || f.Values.Get("token") != "a&b" || f.Values.Get("agree") != "yes" || f.Values.Has("remember") ||
		strings.Join(f.Values["action"], ",") != "confirm" {
		t.Errorf("form %+v", f)
	}
	if _, ok := postForm(`<p>メールアドレスを確認しました。</p><form method="get" action="/x"></form>`); ok {
		t.Error("a GET form or a plain page: want none")
	}
}

func TestCorporateCheckDigit(t *testing.T) {
	// Numbers of verification's embedded register (valid by construction).
	for _, n := range []string{"9012001345678", "2030001456789", "7000012050002"} {
		d, ok := corporateCheckDigit(n[1:])
		if !ok || byte('0'+d) != n[0] {
			t.Errorf("%s: check digit %d, %v", n, d, ok)
		}
	}
	d := &Driver{RunID: "abcd"}
	seen := map[string]bool{}
	for range 50 {
		_, c := d.nextCompany()
		if seen[c.number] || seen[c.domain] || seen[c.name] || len(c.number) != 13 {
			t.Fatalf("company %+v not unique or malformed", c)
		}
		seen[c.number], seen[c.domain], seen[c.name] = true, true, true
		if !strings.HasSuffix(c.email(), "@"+c.domain) {
			t.Fatalf("contact %s not on the website's domain %s", c.email(), c.domain)
		}
	}
}

func TestTokensFollowTheClaimsContract(t *testing.T) {
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	tk, err := NewTokens(jwks)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tk.Mint(Principal{Subject: "bench-verifier-1", Roles: []string{"verifier"}, Service: true}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var header map[string]string
	var claims map[string]any
	if err := json.Unmarshal(dec(parts[0]), &header); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(dec(parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	data, err := os.ReadFile(jwks)
	if err != nil || json.Unmarshal(data, &set) != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", data, err)
	}
	k := set.Keys[0]
	if header["alg"] != "ES256" || header["kid"] != k["kid"] || k["kty"] != "EC" || k["crv"] != "P-256" {
		t.Errorf("header %v, key %v", header, k)
	}
	if claims["iss"] != tokenIssuer || claims["sub"] != "bench-verifier-1" || claims["kind"] != "service" ||
		claims["aud"].([]any)[0] != tokenAudience || claims["roles"].([]any)[0] != "verifier" {
		t.Errorf("claims %v", claims)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, dec(k["x"])...), dec(k["y"])...))
	if err != nil {
		t.Fatalf("JWKS key: %v", err)
	}
	sig := dec(parts[2])
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("signature does not verify against the JWKS key")
	}
}

func TestBoardAppliesFirstArrivalAndWakesWaiters(t *testing.T) {
	b := NewBoard()
	at := time.Now()
	ev := func(v map[string]any) []byte { data, _ := json.Marshal(v); return data }
	done := make(chan error, 1)
	go func() {
		done <- b.WaitPartner(t.Context(), "PG-1", func(s *Seen) bool { return !s.Status["indirect_reseller:active"].IsZero() })
	}()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.apply(subjectTaskCreated, ev(map[string]any{"partner_id": "PG-1", "task_id": "T-9", "check": "company"}), at))
	must(b.apply(subjectTaskCreated, ev(map[string]any{"partner_id": "PG-1", "task_id": "T-10", "check": "company"}), at.Add(time.Second)))
	must(b.apply(subjectOwnership, ev(map[string]any{"partner_id": "PG-1", "enrollment_id": "E-1"}), at))
	must(b.apply(subjectOwnership, ev(map[string]any{"partner_id": "PG-1", "enrollment_id": "E-1"}), at.Add(time.Second))) // a relay's second publish
	must(b.apply(subjectEnrollmentStatus, ev(map[string]any{"partner_id": "PG-1", "program": "indirect_reseller", "to": "active"}), at))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := b.Partner("PG-1")
	if s.TaskID != "T-9" || !s.TaskAt.Equal(at) || len(s.Confirmed) != 1 || !s.Confirmed["E-1"].Equal(at) {
		t.Errorf("seen %+v", s)
	}
	if events, dupes := b.Counts(); events != 3 || dupes != 2 {
		t.Errorf("events %d dupes %d", events, dupes)
	}
	if err := b.apply(subjectCaseApproved, []byte(`{"case_id":"c"}`), at); err == nil {
		t.Error("an event without partner_id: want an error")
	}
}

func TestMachineCPUAndPressure(t *testing.T) {
	m, err := parseMachineCPU([]byte("cpu  1000 5 300 9000 40 7 8 2 100 0\ncpu0 1 2 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Busy != 13200*time.Millisecond || m.Steal != 20*time.Millisecond {
		t.Errorf("busy %s steal %s", m.Busy, m.Steal)
	}
	if _, err := parseMachineCPU([]byte("intr 1 2 3")); err == nil {
		t.Error("no cpu line: want an error")
	}
	psi := "some avg10=23.19 avg60=37.02 avg300=51.03 total=601848549\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	if got := parsePressureSome([]byte(psi)); got != 601848549*time.Microsecond {
		t.Errorf("pressure %s", got)
	}
}

func TestMailLoopFromArrivals(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Two delivery batches a second apart: 0, 40, 80, 120 ms and 1000, 1040 ms.
	p := PointResult{Onboardings: []Onboarding{
		{Mail1At: at(0), Mail2At: at(40)}, {Mail1At: at(80), Mail2At: at(120)}, {Mail1At: at(1000), Mail2At: at(1040)},
	}, SMTPConnections: 2}
	m := p.Mail()
	if m.GapP50 != 40*time.Millisecond || m.Connections != 2 || m.MailsPerConnection != 3 {
		t.Errorf("%+v", m)
	}
	if want := 160.0 / 1040; m.Busy < want-1e-9 || m.Busy > want+1e-9 {
		t.Errorf("busy %v, want %v", m.Busy, want)
	}
}

func TestMailLoopFromTheNotifiersSenders(t *testing.T) {
	text := `# HELP partnerhub_mail_send_seconds x
# TYPE partnerhub_mail_send_seconds histogram
partnerhub_mail_send_seconds_bucket{template="a",le="0.005"} 1
partnerhub_mail_send_seconds_sum{template="a"} 1.5
partnerhub_mail_send_seconds_count{template="a"} 60
partnerhub_mail_send_seconds_sum{template="b"} 0.5
partnerhub_mail_send_seconds_count{template="b"} 40
partnerhub_mail_senders 4
partnerhub_mail_senders_busy 1
`
	s := parseSenderStats(strings.NewReader(text))
	if s != (SenderStats{SendSeconds: 2, Sends: 100, Senders: 4}) {
		t.Fatalf("%+v", s)
	}
	t0 := time.Now()
	p := PointResult{Onboardings: []Onboarding{{Mail1At: t0, Mail2At: t0.Add(time.Millisecond)}},
		Senders: s.Sub(SenderStats{SendSeconds: 1, Sends: 50}), CPU: CPUUsage{Wall: 10 * time.Second}}
	m := p.Mail()
	if m.GapP50 != 20*time.Millisecond || m.Senders != 4 || m.Busy < 0.025-1e-9 || m.Busy > 0.025+1e-9 {
		t.Errorf("%+v", m)
	}
}

func TestTimelinesShowTheSlowestWithTheirEventsInArrivalOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	b := NewBoard()
	b.trace = map[string][]traced{
		"p-slow": {
			{Topic: "registration.enrollment.status_changed.v1", Time: at(880), At: at(900)},
			{Topic: "agreements.acceptance.recorded.v1", Time: at(500), At: at(540)},
		},
		"p-fast": {{Topic: "registration.partner.registered.v1", Time: at(10), At: at(12)}},
	}
	os := []Onboarding{
		{Index: 1, PartnerID: "p-fast", Submit: t0, ActiveAt: at(300), Accepted: at(200)},
		{Index: 2, PartnerID: "p-slow", Submit: t0, ActiveAt: at(900), Accepted: at(520)},
	}
	got := b.Timelines(os, 1)
	if strings.Contains(got, "p-fast") || !strings.Contains(got, "#2 partner p-slow: submit → active 900 ms") {
		t.Fatalf("want only the slowest onboarding, got:\n%s", got)
	}
	acc := strings.Index(got, "agreements.acceptance.recorded.v1")
	ans := strings.Index(got, "driver: acceptance answered")
	act := strings.Index(got, "registration.enrollment.status_changed.v1")
	if acc < 0 || ans < 0 || act < 0 || !(ans < acc && acc < act) {
		t.Fatalf("want the driver's steps and the events in arrival order, got:\n%s", got)
	}
	if !strings.Contains(got, "(t    500, relay   40)  agreements.acceptance.recorded.v1") {
		t.Errorf("want the event's ce-time and relay lag, got:\n%s", got)
	}
}

// freePort never hands out a port twice: two processes started one after
// the other would both get a port neither has bound yet.
func TestFreePortHandsOutEachPortOnce(t *testing.T) {
	seen := map[int]bool{}
	for range 500 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}

func TestHiccupsCountStalls(t *testing.T) {
	var h Hiccups
	const interval = 5 * time.Millisecond
	for _, slept := range []time.Duration{6 * time.Millisecond, 4 * time.Millisecond, 130 * time.Millisecond,
		105 * time.Millisecond, 50 * time.Millisecond} {
		h.wake(interval, slept)
	}
	if h.Wakeups != 5 || h.Max != 125*time.Millisecond || h.Stalls != 2 {
		t.Fatalf("hiccups %+v, want 5 wake-ups, max 125ms, 2 stalls (late by 125 and 100 ms)", h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	if got := <-MeasureHiccups(ctx); got.Wakeups == 0 {
		t.Fatalf("the meter woke up %d times in 60 ms", got.Wakeups)
	}
}

// The restart report names what was done: a service's instance is
// deployed again or crashes; the broker and the database are servers
// restarted or crashed, and SIGKILL of postgres is sent as SIGQUIT.
func TestRestartKindAndSignal(t *testing.T) {
	for _, c := range []struct {
		name      string
		crash     bool
		kind, sig string
	}{
		{"registration", false, "a rolling deploy of its one instance", "SIGTERM"},
		{"registration", true, "a crash of its one instance, restarted", "SIGKILL"},
		{"nats-server", false, "a restart of the server, as an upgrade does", "SIGTERM"},
		{"nats-server", true, "a crash of the server, started again", "SIGKILL"},
		{"postgres", false, "a restart of the server, as an upgrade does", "SIGTERM"},
		{"postgres", true, "a crash of the server, started again", "SIGQUIT"},
	} {
		sig := syscall.SIGTERM
		if c.crash {
			sig = syscall.SIGKILL
		}
		if got := restartKind(c.name, c.crash); got != c.kind {
			t.Errorf("restartKind(%s, %v) = %q, want %q", c.name, c.crash, got, c.kind)
		}
		if got := signalName(c.name, sig); got != c.sig {
			t.Errorf("signalName(%s, %v) = %q, want %q", c.name, sig, got, c.sig)
		}
	}
}

// TestWaitMailsCountsAMailSentAgainOnce: a mail the notifier sent again
// after a crash (the same Message-ID) is not a second mail; the next
// distinct one is.
func TestWaitMailsCountsAMailSentAgainOnce(t *testing.T) {
	b := NewBoard()
	to := []string{"taro@bench.co.jp"}
	b.AddMail(Mail{To: to, MessageID: "<a@x>", Link: "https://x/confirm?t=a"})
	b.AddMail(Mail{To: to, MessageID: "<a@x>", Link: "https://x/confirm?t=a"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if got, err := b.WaitMails(ctx, "Taro@bench.co.jp", 2); err == nil {
		t.Fatalf("a mail and its copy counted as two: %+v", got)
	}
	b.AddMail(Mail{To: to, MessageID: "<b@x>", Link: "https://x/confirm?t=b"})
	got, err := b.WaitMails(context.Background(), "taro@bench.co.jp", 2)
	if err != nil || len(got) != 2 || got[0].Link != "https://x/confirm?t=a" || got[1].Link != "https://x/confirm?t=b" {
		t.Fatalf("got %+v, %v: want the two distinct mails in arrival order", got, err)
	}
}
