package bench

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// The peer comparison (issue 12): Ory Kratos, a self-service identity
// server, measured in the same run on the same private Postgres and the
// same SMTP sink as our stack, per verified e-mail address. Kratos is not
// built by the benchmark: BENCH_KRATOS names a binary built outside the
// repository (README, "Performance and scaling").

// KratosConfig configures the optional peer run.
type KratosConfig struct {
	Binary string // the kratos binary; "" = no peer run
	N, C   int    // verified addresses per poll setting, concurrent workers
	WarmUp int    // registrations before each measured run, not measured
	// PullWaits are the courier's poll settings to run
	// (courier.worker.pull_wait); 0 leaves Kratos' default (1s).
	PullWaits []time.Duration
	// BcryptCost is hashers.bcrypt.cost. Our stack hashes no password, so the
	// default run uses Kratos' cheapest (4, allowed in --dev mode): the
	// comparison is of the registration + verification work, not of
	// password hashing.
	BcryptCost int
}

// KratosDatabase and KratosRole are the peer's own database and login on
// the private cluster; its backends show as "backend kratos".
const (
	KratosDatabase = "kratos"
	KratosRole     = "kratos"
)

// PeerReport is the peer's figures beside ours.
type PeerReport struct {
	Version    string // `kratos version`
	BcryptCost int
	MaxConns   int           // the DSN's max_conns = max_idle_conns (no connection churn)
	Migrate    time.Duration // `kratos migrate sql -e --yes` on an empty database
	Runs       []KratosRun
	// Ours is our stack's figures per verified address, from the load point
	// at the peer's concurrency (else the first).
	Ours OursPerAddress
}

// KratosRun is one poll setting of the peer under load.
type KratosRun struct {
	PullWait time.Duration // 0 = Kratos' default
	N, C     int
	Wall     time.Duration // first registration request → last verification answered
	CPU      CPUUsage      // over the window + drain
	// Idle is Kratos and its backends at rest before the load.
	Idle CPUUsage
	// Per address, stamped as the outside sees them.
	SubmitToMail []time.Duration // registration POST sent → verification mail accepted by the sink
	MailToDone   []time.Duration // mail accepted → verification flow answered passed_challenge
}

// OursPerAddress is our stack's cost and first-mail latency per verified
// address at one load point (an onboarding verifies one address per enrollment).
type OursPerAddress struct {
	C          int
	Addresses  int
	CPU        time.Duration // whole stack CPU over the point's window / addresses
	FirstMail  []time.Duration
	IdleCoresP float64 // idle stack, % of one core
	// EmailPart is the stack doing only the peer's work (no review, no
	// agreement, no activation).
	EmailPart EmailPart
}

// EmailPart is our stack running onboardings only up to their e-mail part
// (Driver.LoadEmailPart): register, the confirmation mails, every link
// followed and confirmed, every service reacting as it does in a whole
// onboarding (the review tasks opened, the timeline indexing). It is the
// work the peer does per address — registration and a verified address —,
// where a whole onboarding's CPU over its two addresses also carries the
// review, the agreement and the activation, which the peer does not do.
type EmailPart struct {
	Onboardings, Addresses, C int
	CPU                       CPUUsage // whole stack, first submit → last confirmed + drain
	// Statements are its pg_stat_statements (BENCH_PG_STATEMENTS=1).
	Statements []Statement
}

// PerAddress is the whole stack's CPU per verified address.
func (e EmailPart) PerAddress() time.Duration {
	return e.CPU.Total() / time.Duration(max(e.Addresses, 1))
}

// Breakdown is the e-mail part's CPU per address by process group, the
// largest first, and Postgres by backend.
func (e EmailPart) Breakdown() string {
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.1f", ms(d/time.Duration(max(e.Addresses, 1))))
	}
	var parts []string
	for _, g := range sortedByValue(e.CPU.Groups) {
		parts = append(parts, g+" "+per(e.CPU.Groups[g]))
	}
	for _, c := range sortedByValue(e.CPU.Categories["postgres"]) {
		if v := e.CPU.Categories["postgres"][c]; v >= time.Duration(e.Addresses)*50*time.Microsecond {
			parts = append(parts, "pg "+strings.TrimPrefix(c, "backend ")+" "+per(v))
		}
	}
	return strings.Join(parts, ", ")
}

// sortedByValue is m's keys, the largest value first.
func sortedByValue(m map[string]time.Duration) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	return keys
}

// emailPartOnboardings is how many onboardings the e-mail part runs: about
// as many addresses as the peer verifies.
func emailPartOnboardings(k KratosConfig) int { return max(1, k.N/2) }

// measureEmailPart verifies about k.N addresses (two per onboarding) at the
// peer's concurrency, the stack's CPU counted as a load point's is.
// With statements, its pg_stat_statements are kept too.
func measureEmailPart(ctx context.Context, d *Driver, k KratosConfig, procs []Proc, drain time.Duration, stats *PGStats, statements bool) (EmailPart, error) {
	e := EmailPart{Onboardings: emailPartOnboardings(k), C: k.C}
	if statements {
		if err := stats.ResetStatements(ctx); err != nil {
			return e, err
		}
	}
	c0 := TakeCPU(procs)
	obs, err := d.LoadEmailPart(ctx, e.Onboardings, e.C)
	if err != nil {
		return e, err
	}
	sleep(ctx, drain)
	e.CPU = TakeCPU(procs).Sub(c0)
	if statements {
		if e.Statements, err = stats.Statements(ctx); err != nil {
			return e, err
		}
	}
	for _, o := range obs {
		e.Addresses += len(o.Enrollments)
	}
	return e, nil
}

// KratosCPU is the peer's own account: the kratos process and the Postgres
// backends of its login.
func (k KratosRun) KratosCPU() time.Duration {
	return k.CPU.Groups["kratos"] + k.CPU.Categories["postgres"]["backend "+KratosRole]
}

// PGBackground is the cluster's background work (WAL writer, checkpointer,
// autovacuum, exited backends) over the window: shared, mostly Kratos' doing
// while it runs alone under load, but not attributed to it.
func (k KratosRun) PGBackground() time.Duration {
	var t time.Duration
	for c, v := range k.CPU.Categories["postgres"] {
		if !strings.HasPrefix(c, "backend ") {
			t += v
		}
	}
	return t
}

// PerAddress is KratosCPU per verified address.
func (k KratosRun) PerAddress() time.Duration { return k.KratosCPU() / time.Duration(max(k.N, 1)) }

// IdleCores is Kratos and its backends at rest, in cores.
func (k KratosRun) IdleCores() float64 {
	if k.Idle.Wall <= 0 {
		return 0
	}
	return (k.Idle.Groups["kratos"] + k.Idle.Categories["postgres"]["backend "+KratosRole]).Seconds() / k.Idle.Wall.Seconds()
}

// oursPerAddress picks the load point at concurrency c (else the first).
func oursPerAddress(points []PointResult, c int, idle CPUUsage) OursPerAddress {
	if len(points) == 0 {
		return OursPerAddress{}
	}
	p := points[0]
	for _, q := range points {
		if q.C == c {
			p = q
			break
		}
	}
	o := OursPerAddress{C: p.C, IdleCoresP: 100 * idle.Cores("")}
	for _, ob := range p.Onboardings {
		o.Addresses += len(ob.Enrollments)
	}
	o.CPU = p.CPU.Total() / time.Duration(max(o.Addresses, 1))
	o.FirstMail = FromSubmit[2].Latencies(p.Onboardings)
	return o
}

// kratosMaxConns is the peer's pool (max_conns and max_idle_conns alike, so
// that no backend exits mid-window and every backend's CPU is attributed).
const kratosMaxConns = 8

// runKratos runs the peer once per poll setting beside the (now idle) stack.
func runKratos(ctx context.Context, cfg Config, stack *Stack, board *Board, drain time.Duration, logf func(string, ...any)) (*PeerReport, error) {
	k := cfg.Kratos
	if k.N < 1 || k.C < 1 {
		return nil, fmt.Errorf("kratos peer: %d addresses by %d workers: want at least one of each", k.N, k.C)
	}
	bin, err := filepath.Abs(k.Binary)
	if err != nil {
		return nil, err
	}
	rep := &PeerReport{BcryptCost: k.BcryptCost, MaxConns: kratosMaxConns}
	if out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput(); err == nil {
		rep.Version = kratosVersion(string(out))
	} else {
		return nil, fmt.Errorf("kratos peer: %s version: %v\n%s", bin, err, out)
	}
	dir := filepath.Join(stack.Dir, "kratos")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := stack.Postgres.Exec(ctx, "postgres", "CREATE ROLE "+KratosRole+" LOGIN",
		"CREATE DATABASE "+KratosDatabase+" OWNER "+KratosRole); err != nil {
		return nil, fmt.Errorf("kratos peer: %w", err)
	}
	dsn := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&max_conns=%d&max_idle_conns=%d",
		KratosRole, stack.Postgres.Port, KratosDatabase, kratosMaxConns, kratosMaxConns)
	start := time.Now()
	mig := exec.CommandContext(ctx, bin, "migrate", "sql", "-e", "--yes")
	mig.Dir, mig.Env = dir, environ("DSN="+dsn, "SQA_OPT_OUT=true", "LOG_LEVEL=warning")
	if out, err := mig.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kratos peer: migrate sql: %v\n%s", err, tail(string(out), 3000))
	}
	rep.Migrate = time.Since(start)
	logf("kratos %s: migrated database %q in %s", rep.Version, KratosDatabase, rep.Migrate.Round(time.Millisecond))

	schema := filepath.Join(dir, "identity.schema.json")
	if err := os.WriteFile(schema, []byte(kratosIdentitySchema), 0o644); err != nil {
		return nil, err
	}
	for i, wait := range k.PullWaits {
		run, err := runKratosOnce(ctx, k, i, wait, bin, dir, dsn, schema, stack, board, drain, logf)
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, run)
	}
	return rep, nil
}

func runKratosOnce(ctx context.Context, k KratosConfig, i int, wait time.Duration, bin, dir, dsn, schema string, stack *Stack, board *Board,
	drain time.Duration, logf func(string, ...any)) (KratosRun, error) {
	run := KratosRun{PullWait: wait, N: k.N, C: k.C}
	pub, err := freePort()
	if err != nil {
		return run, err
	}
	adm, err := freePort()
	if err != nil {
		return run, err
	}
	conf, err := kratosConfig(dsn, schema, pub, adm, stack.Mail, wait, k.BcryptCost)
	if err != nil {
		return run, err
	}
	confPath := filepath.Join(dir, fmt.Sprintf("kratos-%d.json", i))
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		return run, err
	}
	// --dev: plain-http URLs and bcrypt cost below 12; --watch-courier: the
	// courier in the serving process (single-instance setup, one process to
	// account for); --sqa-opt-out: no telemetry.
	p, err := startProcess("kratos", bin, []string{"serve", "-c", confPath, "--dev", "--watch-courier", "--sqa-opt-out"},
		environ("SQA_OPT_OUT=true"), dir, nil)
	if err != nil {
		return run, err
	}
	defer p.stop(syscall.SIGTERM, 10*time.Second)
	base := fmt.Sprintf("http://127.0.0.1:%d", pub)
	if err := waitHTTP(ctx, p, base+"/health/ready", 60*time.Second); err != nil {
		return run, err
	}
	procs := []Proc{{Group: "kratos", PID: p.cmd.Process.Pid}, {Group: "postgres", PID: stack.Postgres.PID(), Tree: true}}
	kd := &kratosDriver{base: base, board: board, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256, IdleConnTimeout: time.Minute}},
		prefix: fmt.Sprintf("kratos%d-%s", i, runID())}
	if k.WarmUp > 0 {
		if _, err := kd.load(ctx, k.WarmUp, min(k.C, k.WarmUp)); err != nil {
			return run, fmt.Errorf("kratos peer warm-up: %w\n%s", err, tail(p.log.String(), 3000))
		}
	}
	sleep(ctx, 3*time.Second)
	c0 := TakeCPU(procs)
	sleep(ctx, 5*time.Second)
	run.Idle = TakeCPU(procs).Sub(c0)

	c0 = TakeCPU(procs)
	start := time.Now()
	res, err := kd.load(ctx, k.N, k.C)
	if err != nil {
		return run, fmt.Errorf("kratos peer: %w\n%s", err, tail(p.log.String(), 3000))
	}
	run.Wall = time.Since(start)
	sleep(ctx, drain)
	run.CPU = TakeCPU(procs).Sub(c0)
	if !p.running() {
		return run, fmt.Errorf("kratos exited during the run: %v\n%s", p.err, tail(p.log.String(), 3000))
	}
	for _, r := range res {
		run.SubmitToMail = append(run.SubmitToMail, r.mail.Sub(r.submit))
		run.MailToDone = append(run.MailToDone, r.done.Sub(r.mail))
	}
	logf("kratos pull_wait=%s: %d verified addresses at C=%d in %s, CPU %.1f ms/address (kratos %.1f + its backends %.1f), submit→mail p50 %.0f ms",
		pullWaitName(wait), k.N, k.C, run.Wall.Round(time.Millisecond), ms(run.PerAddress()),
		ms(run.CPU.Groups["kratos"]/time.Duration(k.N)), ms(run.CPU.Categories["postgres"]["backend "+KratosRole]/time.Duration(k.N)),
		ms(Percentile(run.SubmitToMail, 50)))
	return run, nil
}

func pullWaitName(d time.Duration) string {
	if d == 0 {
		return "default (1s)"
	}
	return d.String()
}

// kratosVersion picks the version out of `kratos version`.
func kratosVersion(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Version:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return strings.TrimSpace(truncate(out, 60))
}

// kratosIdentitySchema: one trait, the e-mail address, the password
// identifier and verified by e-mail.
const kratosIdentitySchema = `{
  "$id": "https://bench.local/identity.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Bench",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "title": "E-Mail",
          "ory.sh/kratos": {
            "credentials": { "password": { "identifier": true } },
            "verification": { "via": "email" }
          }
        }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}`

// kratosConfig is the peer's configuration: verification by code mail on,
// courier to the bench's sink over plain SMTP, the poll setting under test,
// no HaveIBeenPwned look-up (no network), everything else at its default.
func kratosConfig(dsn, schema string, pub, adm int, sink *MailSink, pullWait time.Duration, bcryptCost int) ([]byte, error) {
	ui := "http://127.0.0.1:4455"
	courier := map[string]any{
		"smtp": map[string]any{
			"connection_uri": fmt.Sprintf("smtp://%s/?disable_starttls=true", netJoin(sink.Host, sink.Port)),
			"from_address":   "no-reply@kratos.bench.local",
		},
	}
	if pullWait > 0 {
		courier["worker"] = map[string]any{"pull_wait": pullWait.String()}
	}
	secret := func() string {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:]) // 32 characters
	}
	c := map[string]any{
		"dsn": dsn,
		"serve": map[string]any{
			"public": map[string]any{"host": "127.0.0.1", "port": pub, "base_url": fmt.Sprintf("http://127.0.0.1:%d/", pub)},
			"admin":  map[string]any{"host": "127.0.0.1", "port": adm, "base_url": fmt.Sprintf("http://127.0.0.1:%d/", adm)},
		},
		"selfservice": map[string]any{
			"default_browser_return_url": ui + "/",
			"methods": map[string]any{
				"password": map[string]any{"enabled": true, "config": map[string]any{"haveibeenpwned_enabled": false}},
				"code":     map[string]any{"enabled": true},
				"link":     map[string]any{"enabled": true},
			},
			"flows": map[string]any{
				"verification": map[string]any{"enabled": true, "use": "code", "ui_url": ui + "/verification"},
				"registration": map[string]any{"ui_url": ui + "/registration"},
				"login":        map[string]any{"ui_url": ui + "/login"},
				"error":        map[string]any{"ui_url": ui + "/error"},
			},
		},
		"identity": map[string]any{"default_schema_id": "bench",
			"schemas": []any{map[string]any{"id": "bench", "url": "file://" + schema}}},
		"courier": courier,
		"secrets": map[string]any{"cookie": []string{secret()}, "cipher": []string{secret()}},
		"hashers": map[string]any{"algorithm": "bcrypt", "bcrypt": map[string]any{"cost": bcryptCost}},
		"log":     map[string]any{"level": "warning", "format": "json"},
	}
	return json.MarshalIndent(c, "", "  ")
}

func netJoin(host string, port int) string { return host + ":" + strconv.Itoa(port) }

// kratosDriver registers and verifies addresses through Kratos' public API
// (api flows: no browser, no CSRF cookie).
type kratosDriver struct {
	base   string
	board  *Board
	http   *http.Client
	prefix string
	mu     sync.Mutex
	seq    int
}

type kratosResult struct{ submit, mail, done time.Time }

// load verifies n new addresses with c workers (closed loop); the first
// failure cancels the rest.
func (d *kratosDriver) load(ctx context.Context, n, c int) ([]kratosResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int, n)
	for i := range n {
		jobs <- i
	}
	close(jobs)
	out := make([]kratosResult, n)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if ctx.Err() != nil {
					return
				}
				r, err := d.verify(ctx)
				if err != nil {
					cancel(err)
					return
				}
				out[i] = r
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

var kratosCodeRe = regexp.MustCompile(`\b(\d{6})\b`)

// verify registers one identity with a password and verifies its address
// with the code the verification mail carries.
func (d *kratosDriver) verify(ctx context.Context) (kratosResult, error) {
	var r kratosResult
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	d.mu.Lock()
	d.seq++
	n := d.seq
	d.mu.Unlock()
	addr := fmt.Sprintf("%s-%d@kratos.bench.example", d.prefix, n)
	var pw [12]byte
	_, _ = rand.Read(pw[:])
	password := "Bench-" + hex.EncodeToString(pw[:])

	var flow struct {
		ID string `json:"id"`
	}
	r.submit = time.Now()
	if err := d.call(ctx, "GET", "/self-service/registration/api", nil, &flow); err != nil {
		return r, fmt.Errorf("%s: registration flow: %w", addr, err)
	}
	var reg struct {
		ContinueWith []struct {
			Action string `json:"action"`
			Flow   struct {
				ID                string `json:"id"`
				VerifiableAddress string `json:"verifiable_address"`
			} `json:"flow"`
		} `json:"continue_with"`
	}
	if err := d.call(ctx, "POST", "/self-service/registration?flow="+url.QueryEscape(flow.ID),
		map[string]any{"method": "password", "password": password, "traits": map[string]any{"email": addr}}, &reg); err != nil {
		return r, fmt.Errorf("%s: register: %w", addr, err)
	}
	var vflow string
	for _, c := range reg.ContinueWith {
		if c.Action == "show_verification_ui" {
			vflow = c.Flow.ID
		}
	}
	if vflow == "" {
		return r, fmt.Errorf("%s: registration answered without a verification flow (continue_with)", addr)
	}
	mails, err := d.board.WaitMails(ctx, addr, 1)
	if err != nil {
		return r, fmt.Errorf("%s: no verification mail: %w", addr, err)
	}
	r.mail = mails[0].At
	m := kratosCodeRe.FindStringSubmatch(mails[0].Text)
	if m == nil {
		return r, fmt.Errorf("%s: no code in the verification mail %q: %s", addr, mails[0].Subject, truncate(mails[0].Text, 300))
	}
	var done struct {
		State string `json:"state"`
	}
	if err := d.call(ctx, "POST", "/self-service/verification?flow="+url.QueryEscape(vflow),
		map[string]any{"method": "code", "code": m[1]}, &done); err != nil {
		return r, fmt.Errorf("%s: verify: %w", addr, err)
	}
	if done.State != "passed_challenge" {
		return r, fmt.Errorf("%s: verification flow in state %q, want passed_challenge", addr, done.State)
	}
	r.done = time.Now()
	return r, nil
}

func (d *kratosDriver) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", method, path, res.StatusCode, truncate(string(raw), 400))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}

// printPeer writes the "peer: Ory Kratos" table: ours and the peer's
// figures per verified e-mail address, and ours over the peer's as ratios.
func (r *Report) printPeer(w io.Writer) {
	pr := r.Peer
	if pr == nil || len(pr.Runs) == 0 {
		return
	}
	o := pr.Ours
	fmt.Fprintf(w, "\npeer: Ory Kratos %s, same run, same private Postgres (own database %q, pool %d) and same SMTP sink; per verified e-mail address\n",
		pr.Version, KratosDatabase, pr.MaxConns)
	fmt.Fprintf(w, "  kratos serve --dev --watch-courier, api flows (registration: password + e-mail trait; verification: code mail), bcrypt cost %d, migrations %s;\n",
		pr.BcryptCost, pr.Migrate.Round(time.Millisecond))
	fmt.Fprintf(w, "  ours: the load point C=%d, %d addresses (one per enrollment), whole stack CPU / addresses, submit → first mail.\n", o.C, o.Addresses)
	if e := o.EmailPart; e.Addresses > 0 {
		fmt.Fprintf(w, "  ours, the e-mail part alone: %d onboardings at C=%d run only to both addresses confirmed (the peer's work: no review, agreement\n", e.Onboardings, e.C)
		fmt.Fprintf(w, "  or activation; every service reacts as in a whole onboarding), whole stack CPU / addresses.\n")
	}
	fmt.Fprintf(w, "  Kratos CPU = the kratos process + its Postgres backends; Postgres background in its window is shown, not counted.\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	head := []string{"", "", fmt.Sprintf("ours C=%d", o.C)}
	for _, k := range pr.Runs {
		head = append(head, fmt.Sprintf("kratos C=%d pull_wait %s", k.C, pullWaitName(k.PullWait)))
	}
	row(head...)
	line := func(name, unit, ours string, f func(k KratosRun) string) {
		cells := []string{name, unit, ours}
		for _, k := range pr.Runs {
			cells = append(cells, f(k))
		}
		row(cells...)
	}
	line("verified addresses", "", fmt.Sprint(o.Addresses), func(k KratosRun) string { return fmt.Sprint(k.N) })
	line("CPU (whole stack / kratos+backends)", "ms/addr", fmt.Sprintf("%.1f", ms(o.CPU)), func(k KratosRun) string { return fmt.Sprintf("%.1f", ms(k.PerAddress())) })
	line("  kratos process", "ms/addr", "", func(k KratosRun) string {
		return fmt.Sprintf("%.1f", ms(k.CPU.Groups["kratos"]/time.Duration(k.N)))
	})
	line("  its Postgres backends", "ms/addr", "", func(k KratosRun) string {
		return fmt.Sprintf("%.1f", ms(k.CPU.Categories["postgres"]["backend "+KratosRole]/time.Duration(k.N)))
	})
	line("  (Postgres background in window, not counted)", "ms/addr", "", func(k KratosRun) string {
		return fmt.Sprintf("%.1f", ms(k.PGBackground()/time.Duration(k.N)))
	})
	line("ours / kratos CPU (target ≤ 0.50)", "", "", func(k KratosRun) string {
		return fmt.Sprintf("%.2f", float64(o.CPU)/float64(max(k.PerAddress(), 1)))
	})
	if e := o.EmailPart; e.Addresses > 0 {
		line(fmt.Sprintf("ours, the e-mail part alone (%d addr)", e.Addresses), "ms/addr", fmt.Sprintf("%.1f", ms(e.PerAddress())), func(KratosRun) string { return "" })
		line("  e-mail part / kratos CPU", "", "", func(k KratosRun) string {
			return fmt.Sprintf("%.2f", float64(e.PerAddress())/float64(max(k.PerAddress(), 1)))
		})
	}
	line("addresses/s", "", "", func(k KratosRun) string { return fmt.Sprintf("%.1f", float64(k.N)/k.Wall.Seconds()) })
	lat := func(name string, p float64) {
		line("submit → mail at sink "+name, "ms", fmt.Sprintf("%.0f", ms(Percentile(o.FirstMail, p))), func(k KratosRun) string {
			return fmt.Sprintf("%.0f", ms(Percentile(k.SubmitToMail, p)))
		})
		line("  ours / kratos (target < 1)", "", "", func(k KratosRun) string {
			return fmt.Sprintf("%.2f", float64(Percentile(o.FirstMail, p))/float64(max(Percentile(k.SubmitToMail, p), 1)))
		})
	}
	lat("p50", 50)
	lat("p99", 99)
	line("mail → verified (code accepted)  p50", "ms", "", func(k KratosRun) string { return fmt.Sprintf("%.0f", ms(Percentile(k.MailToDone, 50))) })
	line("idle (kratos+backends / our stack)", "% core", fmt.Sprintf("%.1f", o.IdleCoresP), func(k KratosRun) string { return fmt.Sprintf("%.1f", 100*k.IdleCores()) })
	tw.Flush()
}
