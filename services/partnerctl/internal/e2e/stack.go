// Package e2e runs the whole backend for end-to-end tests: every service
// binary as its own process on a fresh Postgres database and an embedded
// JetStream server, with helpers to call the APIs as any role, read the
// mail catcher, follow every event on the bus and stop the stack the way an
// operator would (SIGTERM, graceful).
//
// One stack costs a few seconds to start and the binaries more to build, so
// the binaries are built once per test binary (call Main from TestMain) and
// tests share one Stack through subtests.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/demo"
)

// Service is one process of the stack. Env is added to the common
// environment every service gets.
type Service struct {
	Name string
	Env  []string
}

// Services is every service the stack runs, in start order. A service whose
// command is not in the workspace yet (cmd/<name>/main.go and a go.work entry)
// is skipped, so that a new service joins the end-to-end tests by being
// listed here once.
var Services = []Service{
	// Any reactivation is reviewed again (the end-to-end inactivity path
	// takes that branch; the default 6mo cannot pass in a test).
	{Name: "registration", Env: []string{"REACTIVATION_REVIEW_AFTER=1ns"}},
	{Name: "email-ownership"},
	{Name: "verification"},
	{Name: "agreements"},
	{Name: "relationships"},
	{Name: "notifier", Env: []string{"MAIL_SETTLE=0s"}}, // each standing change mailed at once: the tests read each
	// The tests' webhook receivers are on loopback; retries come quickly.
	{Name: "timeline", Env: []string{"WEBHOOK_ALLOW_INSECURE=true", "WEBHOOK_RETRY_SCHEDULE=100ms,200ms"}},
}

// Stack is a running backend.
type Stack struct {
	Root     string // repository root
	NATSURL  string
	Database string
	// MailDir holds every mail the notifier sent, one .eml file each, as
	// the real SMTP server of the run (SMTP) received it.
	MailDir string
	SMTP    *smtpServer
	KeysDir string // dev signing key and JWKS
	// PortalURL is the partner portal mails link to.
	PortalURL string
	// HTTPClient makes every call of the harness (and of demo runs configured
	// by DemoConfig); replace its Transport to validate or record traffic.
	HTTPClient *http.Client
	// Events holds every event published on any stream since the stack started.
	Events *Collector

	t        testing.TB
	broker   *testkit.NATSServer
	signer   *auth.Signer
	services []Service
	urls     map[string]string
	procs    []*process
	stopOnce sync.Once
	stopErrs []error
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  *testkit.SyncBuffer
	done chan struct{}
	err  error // valid once done is closed
}

var build struct {
	once     sync.Once
	dir      string
	services []Service
	err      error
	took     time.Duration
}

// Main runs the tests of a package that uses Start and removes the binaries
// built for them afterwards: `func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }`.
func Main(m *testing.M) int {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	return code
}

// binaries builds every available service once per test binary, in one `go
// build` (the linker runs in parallel and the build cache is shared).
func binaries(root string) (string, []Service, error) {
	build.once.Do(func() {
		start := time.Now()
		work, err := os.ReadFile(filepath.Join(root, "go.work"))
		if err != nil {
			build.err = err
			return
		}
		var pkgs []string
		for _, s := range Services {
			_, err := os.Stat(filepath.Join(root, "services", s.Name, "cmd", s.Name, "main.go"))
			if err != nil || !strings.Contains(string(work), "./services/"+s.Name+"\n") {
				continue
			}
			build.services = append(build.services, s)
			pkgs = append(pkgs, "./services/"+s.Name+"/cmd/"+s.Name)
		}
		build.dir, build.err = os.MkdirTemp("", "partnerhub-e2e-bin-")
		if build.err != nil {
			return
		}
		cmd := exec.Command("go", append([]string{"build", "-o", build.dir + string(filepath.Separator)}, pkgs...)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
		}
		build.took = time.Since(start)
	})
	return build.dir, build.services, build.err
}

// Option adjusts a stack before it starts.
type Option func(env map[string][]string)

// Env adds environment variables (NAME=value) for service name, e.g. the
// address of a fake the test runs.
func Env(name string, vars ...string) Option {
	return func(env map[string][]string) { env[name] = append(env[name], vars...) }
}

// Start builds (once) and starts every service against a fresh database and
// JetStream server, waits until each is ready and starts collecting events.
// The stack is killed at cleanup unless Stop ran; if the test failed, the
// tail of every service's log is printed.
func Start(t testing.TB, opts ...Option) *Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, services, err := binaries(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d service binaries in %s", len(services), build.took.Round(time.Millisecond))
	broker := testkit.RestartableNATS(t)
	s := &Stack{Root: root, NATSURL: broker.URL(), broker: broker, Database: testkit.Database(t), MailDir: t.TempDir(), KeysDir: t.TempDir(),
		PortalURL: "https://portal.example", HTTPClient: &http.Client{Timeout: 30 * time.Second}, t: t, services: services,
		urls: map[string]string{}}
	if s.signer, err = auth.EnsureDevKeys(s.KeysDir); err != nil {
		t.Fatal(err)
	}
	if s.SMTP, err = startSMTP(s.MailDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.SMTP.close)
	for _, svc := range services {
		s.urls[svc.Name] = "http://" + freeAddr(t)
	}
	// Per service: the notifier sends to the run's SMTP server and links
	// to the portal and to its own unsubscribe page; an invitation still
	// open 5 s after it was sent gets its reminder (the paths that do not
	// wait for one answer within milliseconds).
	extra := map[string][]string{
		"notifier": {"SMTP_HOST=" + s.SMTP.Host, "SMTP_PORT=" + strconv.Itoa(s.SMTP.Port), "SMTP_TLS=none",
			"PORTAL_BASE_URL=" + s.PortalURL, "PUBLIC_BASE_URL=" + s.urls["notifier"]},
		"relationships": {"INVITATION_TTL=2160h", "INVITATION_REMINDER_LEAD=2159h59m55s"},
	}
	// The test's own options (e.g. the address of a fake it runs) come
	// last, so that they override.
	opted := map[string][]string{}
	for _, o := range opts {
		o(opted)
	}
	started := time.Now()
	for _, svc := range services {
		p := &process{name: svc.Name, log: &testkit.SyncBuffer{}, done: make(chan struct{})}
		p.cmd = exec.Command(filepath.Join(bin, svc.Name))
		p.cmd.Dir = t.TempDir()
		p.cmd.Env = append(os.Environ(),
			"HTTP_ADDR="+strings.TrimPrefix(s.urls[svc.Name], "http://"), "NATS_URL="+s.NATSURL, "LOG_LEVEL=info",
			"POSTGRES_ADMIN_URL="+testkit.AdminURL(), "POSTGRES_DB="+s.Database,
			"AUTH_JWKS_FILE="+auth.DevJWKSPath(s.KeysDir), "PARTNERHUB_DEV_KEYS="+s.KeysDir,
			"OUTBOX_POLL_INTERVAL=10ms", "TIMER_INTERVAL=200ms", "SHUTDOWN_TIMEOUT=5s",
			"LINK_BASE_URL="+s.urls["email-ownership"],
			"INVITATION_BASE_URL="+s.PortalURL+"/invitations")
		p.cmd.Env = append(p.cmd.Env, extra[svc.Name]...)
		p.cmd.Env = append(p.cmd.Env, svc.Env...)
		p.cmd.Env = append(p.cmd.Env, opted[svc.Name]...)
		p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
		dieWithParent(p.cmd)
		if err := p.cmd.Start(); err != nil {
			s.kill()
			t.Fatalf("start %s: %v", svc.Name, err)
		}
		go func() { p.err = p.cmd.Wait(); close(p.done) }()
		s.procs = append(s.procs, p)
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			s.DumpLogs()
		}
	})
	s.waitReady(60 * time.Second)
	t.Logf("%d services ready in %s", len(services), time.Since(started).Round(time.Millisecond))
	if s.Events, err = collect(s.NATSURL); err != nil {
		t.Fatalf("collect events: %v", err)
	}
	t.Cleanup(s.Events.close)
	return s
}

func (s *Stack) waitReady(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for _, p := range s.procs {
		for {
			select {
			case <-p.done:
				s.t.Fatalf("%s exited before it was ready: %v", p.name, p.err) // the cleanup prints the logs
			default:
			}
			res, err := s.HTTPClient.Get(s.urls[p.name] + "/readyz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
				err = fmt.Errorf("status %d", res.StatusCode)
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("%s not ready within %s: %v", p.name, timeout, err)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
}

// RestartNATS shuts the JetStream server down and starts it again on the
// same port and store, as an operator restarts it: the services reconnect,
// and the durables it held in memory are gone.
func (s *Stack) RestartNATS() { s.broker.Restart() }

// Has reports whether the stack runs service name.
func (s *Stack) Has(name string) bool { _, ok := s.urls[name]; return ok }

// ServiceNames lists the services the stack runs, in start order.
func (s *Stack) ServiceNames() []string {
	out := make([]string, len(s.services))
	for i, svc := range s.services {
		out[i] = svc.Name
	}
	return out
}

// URL is the base URL of service name; it fails the test for a service the
// stack does not run.
func (s *Stack) URL(name string) string {
	u, ok := s.urls[name]
	if !ok {
		panic("e2e: the stack runs no " + name + " service") // a test bug, and subtests must not FailNow their parent
	}
	return u
}

// Token mints a 15-minute bearer token for p, signed with the stack's key.
// Without AMR set, p signed in with MFA (pwd, mfa), as partner tenants must;
// set AMR to e.g. []string{"pwd"} for a caller without it.
func (s *Stack) Token(p auth.Principal) string {
	if p.AMR == nil {
		p.AMR = []string{"pwd", auth.AMRMultiFactor}
	}
	tok, err := s.signer.Mint(p, auth.DevIssuer, auth.DevAudience, 15*time.Minute)
	if err != nil {
		panic(err) // the key was loaded at start
	}
	return tok
}

// DemoConfig points `partnerctl demo` at the stack, with the stack's HTTP client.
func (s *Stack) DemoConfig(out io.Writer) demo.Config {
	return demo.Config{NATSURL: s.NATSURL, MailDir: s.MailDir, KeysDir: s.KeysDir, Out: out, Timeout: 20 * time.Second,
		Registration: s.URL("registration"), EmailOwnership: s.URL("email-ownership"), Verification: s.URL("verification"),
		Agreements: s.URL("agreements"), Relationships: s.URL("relationships"), HTTPClient: s.HTTPClient}
}

// Stop sends SIGTERM to every service at once and fails the test unless each
// exits with status 0 within 20 s (in-flight work finished, outbox flushed,
// NATS drained). It is safe to call more than once.
func (s *Stack) Stop(t testing.TB) {
	t.Helper()
	s.stopOnce.Do(func() {
		for _, p := range s.procs {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		timeout := time.After(20 * time.Second)
		for _, p := range s.procs {
			select {
			case <-p.done:
				if p.err != nil {
					s.stopErrs = append(s.stopErrs, fmt.Errorf("%s: %v", p.name, p.err))
				}
			case <-timeout:
				s.stopErrs = append(s.stopErrs, fmt.Errorf("%s did not stop within 20s of SIGTERM", p.name))
			}
		}
	})
	if len(s.stopErrs) > 0 {
		t.Fatalf("graceful stop: %v", errors.Join(s.stopErrs...)) // the cleanup prints the logs
	}
}

// kill ends every process that still runs.
func (s *Stack) kill() {
	for _, p := range s.procs {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// DumpLogs prints the tail of every service's output to the test log.
func (s *Stack) DumpLogs() {
	for _, p := range s.procs {
		s.t.Logf("--- %s log (tail):\n%s", p.name, tail(p.log.String(), 6000))
	}
}

// Log is the output of service name so far.
func (s *Stack) Log(name string) string {
	for _, p := range s.procs {
		if p.name == name {
			return p.log.String()
		}
	}
	return ""
}

// Response is an HTTP answer with its body read; Problem is set for
// application/problem+json answers.
type Response struct {
	Method, URL string
	Status      int
	Header      http.Header
	Body        []byte
	Problem     *Problem
}

// Problem is an RFC 9457 problem document as every service writes it;
// Members holds every top-level member, extensions included.
type Problem struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Status  int    `json:"status"`
	Detail  string `json:"detail"`
	Code    string `json:"code"`
	Errors  []struct{ Field, Code, Message string }
	Members map[string]any `json:"-"`
}

// String summarises the response for failure messages.
func (r *Response) String() string {
	if r.Problem != nil {
		return fmt.Sprintf("%s %s: %d %s (%s)", r.Method, r.URL, r.Status, r.Problem.Code, r.Problem.Detail)
	}
	return fmt.Sprintf("%s %s: %d %s", r.Method, r.URL, r.Status, tail(string(r.Body), 600))
}

// JSON decodes the body into out, failing the test if it cannot.
func (r *Response) JSON(t testing.TB, out any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, out); err != nil {
		t.Fatalf("%s %s: decode %T: %v\n%s", r.Method, r.URL, out, err, r.Body)
	}
}

// Do sends a request with an optional bearer token and JSON body (a form
// for url.Values); headers
// are name, value pairs. Transport errors fail the test.
func (s *Stack) Do(t testing.TB, method, url, token string, body any, headers ...string) *Response {
	t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case neturl.Values: // a page's form
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := s.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	out := &Response{Method: method, URL: url, Status: res.StatusCode, Header: res.Header, Body: data}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		p := &Problem{}
		if err := json.Unmarshal(data, p); err != nil {
			t.Fatalf("%s %s: problem document: %v\n%s", method, url, err, data)
		}
		if err := json.Unmarshal(data, &p.Members); err != nil {
			t.Fatal(err)
		}
		out.Problem = p
	}
	return out
}

// Call is Do that fails the test unless the status is want, then decodes the
// body into out (when out is not nil).
func (s *Stack) Call(t testing.TB, method, url, token string, body any, want int, out any, headers ...string) *Response {
	t.Helper()
	r := s.Do(t, method, url, token, body, headers...)
	if r.Status != want {
		t.Fatalf("%s, want %d", r, want)
	}
	if out != nil {
		r.JSON(t, out)
	}
	return r
}

// WantProblem fails the test unless r is a problem document with status and code.
func WantProblem(t testing.TB, r *Response, status int, code string) *Problem {
	t.Helper()
	if r.Status != status || r.Problem == nil || r.Problem.Code != code {
		t.Fatalf("%s, want %d %s", r, status, code)
	}
	return r.Problem
}

// Eventually polls cond (every 25 ms) until it returns nil, failing the test
// with its last error after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// freeAddr is an address a service of the stack can listen on later.
func freeAddr(t testing.TB) string { return testkit.FreeAddr(t) }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
