package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// Services is every service of the backend, in start order. One missing
// from the workspace (no cmd/<name>/main.go or no go.work entry) is skipped.
var Services = []string{"registration", "email-ownership", "verification", "agreements", "relationships", "notifier", "timeline"}

// Database is the database the services share (POSTGRES_DB).
const Database = "onboarding"

// StackOptions configure Start.
type StackOptions struct {
	Root string // repository root (holds go.work)
	// Dir is the parent of the run's temporary directory ("" = os.TempDir()).
	Dir  string
	Logf func(format string, args ...any)
	// OnMail is called for every mail the notifier sends (in the SMTP
	// session, keep it short).
	OnMail func(Mail)
	// PGSettings are extra -c settings of the private cluster, PGEnv its
	// postmaster's extra environment.
	PGSettings, PGEnv []string
	// Register, when set, is the company register verification loads
	// (REGISTRY_FILE, a JSON array of records).
	Register []byte
	// LogDir, when set, receives each process' log at Close (a service's
	// last 64 MiB, anything else's last 256 KiB).
	LogDir string
	// LogLevel is the services' LOG_LEVEL (warn when empty).
	LogLevel string
}

// Stack is a running backend on private infrastructure: its own Postgres
// cluster, its own nats-server process, the seven service binaries and an
// SMTP sink, all configured through the environment as an operator would.
type Stack struct {
	Dir        string // the run's temporary directory, removed by Close
	Postgres   *Postgres
	NATSURL    string
	NATSServer string // nats-server version
	Mail       *MailSink
	Tokens     *Tokens
	URLs       map[string]string // service → base URL
	Names      []string          // services running, in start order

	nats     *process
	services []*process
	replicas []*process // started by StartReplica
	logf     func(string, ...any)
	logDir   string
}

// Start builds the binaries and starts everything; on error whatever was
// started is stopped again.
func Start(ctx context.Context, o StackOptions) (s *Stack, err error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	s = &Stack{URLs: map[string]string{}, logf: o.Logf, logDir: o.LogDir}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	sweepStale(o.Dir, o.Logf)
	if s.Dir, err = os.MkdirTemp(o.Dir, "partnerhub-bench-"); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return nil, err
	}
	binDir := filepath.Join(s.Dir, "bin")
	start := time.Now()
	if s.Names, err = build(ctx, o.Root, binDir); err != nil {
		return nil, err
	}
	o.Logf("built %d services and nats-server in %s", len(s.Names), time.Since(start).Round(time.Millisecond))

	pgDir := filepath.Join(s.Dir, "pg")
	if err := os.Mkdir(pgDir, 0o700); err != nil {
		return nil, err
	}
	if s.Postgres, err = StartPostgres(ctx, pgDir, o.PGSettings, o.PGEnv, o.Logf); err != nil {
		return nil, err
	}
	if err := s.Postgres.Exec(ctx, "postgres", "CREATE DATABASE "+Database); err != nil {
		return nil, err
	}
	if err := s.startNATS(ctx, binDir); err != nil {
		return nil, err
	}

	keys := filepath.Join(s.Dir, "keys")
	if err := os.Mkdir(keys, 0o700); err != nil {
		return nil, err
	}
	if s.Tokens, err = NewTokens(filepath.Join(s.Dir, "jwks.json")); err != nil {
		return nil, err
	}
	for _, name := range s.Names {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.URLs[name] = "http://127.0.0.1:" + strconv.Itoa(port)
	}
	if s.Mail, err = StartMailSink(s.URLs["email-ownership"], o.OnMail); err != nil {
		return nil, err
	}
	extra := map[string][]string{}
	if o.Register != nil {
		path := filepath.Join(s.Dir, "register.json")
		if err := os.WriteFile(path, o.Register, 0o644); err != nil {
			return nil, err
		}
		extra["verification"] = append(extra["verification"], "REGISTRY_FILE="+path)
	}
	started := time.Now()
	for _, name := range s.Names {
		// The documented configuration, with every poll and timer interval
		// left at its default: the figures are for the default config.
		env := environ(
			"HTTP_ADDR="+strings.TrimPrefix(s.URLs[name], "http://"), "NATS_URL="+s.NATSURL, "LOG_LEVEL="+cmp.Or(o.LogLevel, "warn"),
			"POSTGRES_ADMIN_URL="+s.Postgres.URL("postgres"), "POSTGRES_DB="+Database,
			"AUTH_JWKS_FILE="+filepath.Join(s.Dir, "jwks.json"), "PARTNERHUB_DEV_KEYS="+keys,
			"SMTP_HOST="+s.Mail.Host, "SMTP_PORT="+strconv.Itoa(s.Mail.Port), "SMTP_TLS=none",
			"LINK_BASE_URL="+s.URLs["email-ownership"], "INVITATION_BASE_URL=https://portal.example/invitations")
		env = append(env, extra[name]...)
		wd := filepath.Join(s.Dir, "run", name)
		if err := os.MkdirAll(wd, 0o700); err != nil {
			return nil, err
		}
		p, err := startProcess(name, filepath.Join(binDir, name), nil, env, wd, nil)
		if err != nil {
			return nil, err
		}
		if s.logDir != "" {
			p.log.keep(64 << 20) // whole logs, for the diagnostic
		}
		s.services = append(s.services, p)
	}
	if err := s.waitReady(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	o.Logf("%d services ready in %s", len(s.services), time.Since(started).Round(time.Millisecond))
	return s, nil
}

// sweepStale removes the directories of earlier runs whose benchmark
// process is gone (killed before its cleanup ran: a test timeout, SIGKILL);
// their processes died with it, through the parent-death signal.
func sweepStale(parent string, logf func(string, ...any)) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, "partnerhub-bench-*"))
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
			continue // still running
		}
		if err := os.RemoveAll(d); err == nil {
			logf("removed %s, left by an earlier run (pid %d) that did not clean up", d, pid)
		}
	}
}

// build compiles every available service in one `go build`, then nats-server.
func build(ctx context.Context, root, dir string) ([]string, error) {
	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, err
	}
	var names, pkgs []string
	for _, name := range Services {
		_, err := os.Stat(filepath.Join(root, "services", name, "cmd", name, "main.go"))
		if err != nil || !strings.Contains(string(work), "./services/"+name+"\n") {
			continue
		}
		names = append(names, name)
		pkgs = append(pkgs, "./services/"+name+"/cmd/"+name)
	}
	if len(names) == 0 {
		return nil, errors.New("no service to build under " + root)
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return names, buildNATSServer(ctx, root, dir)
}

// fallbackNATSServer is the nats-server built when the workspace no longer
// requires the module (pkg/go.mod pins v2.15.2 today).
const fallbackNATSServer = "v2.15.2"

// buildNATSServer builds nats-server at the version the workspace resolves
// (the module root is its main package), or else at fallbackNATSServer
// through the module proxy.
func buildNATSServer(ctx context.Context, root, dir string) error {
	const mod = "github.com/nats-io/nats-server/v2"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "nats-server"), mod)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	inst := exec.CommandContext(ctx, "go", "install", mod+"@"+fallbackNATSServer)
	inst.Dir = dir
	inst.Env = append(os.Environ(), "GOBIN="+dir, "GOWORK=off")
	if out2, err2 := inst.CombinedOutput(); err2 != nil {
		return fmt.Errorf("build nats-server: in the workspace: %v\n%s\nat %s: %v\n%s", err, out, fallbackNATSServer, err2, out2)
	}
	return nil
}

func (s *Stack) startNATS(ctx context.Context, binDir string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	bin := filepath.Join(binDir, "nats-server")
	if out, err := exec.CommandContext(ctx, bin, "--version").Output(); err == nil {
		s.NATSServer = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nats-server:"))
	}
	store := filepath.Join(s.Dir, "nats")
	// JetStream with a file store and the server's default sync policy, as
	// in development and the MESSAGING.md baselines. Like the services
	// (platform.Main) and the broker of `make run` and compose, it runs on
	// one processor unless the environment sets GOMAXPROCS: a broker
	// sharing two cores with nine processes spent CPU spinning for work.
	var procs []string
	if os.Getenv("GOMAXPROCS") == "" {
		procs = append(procs, "GOMAXPROCS=1")
	}
	s.nats, err = startProcess("nats-server", bin, []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", store},
		environ(procs...), s.Dir, nil)
	if err != nil {
		return err
	}
	s.NATSURL = "nats://127.0.0.1:" + strconv.Itoa(port)
	if err := s.waitNATS(ctx); err != nil {
		return err
	}
	s.logf("nats-server %s on %s (JetStream store %s)", s.NATSServer, s.NATSURL, store)
	return nil
}

// waitNATS waits until the nats-server process accepts connections.
func (s *Stack) waitNATS(ctx context.Context) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(s.NATSURL, nats.Timeout(time.Second))
		if err == nil {
			nc.Close()
			break
		}
		if !s.nats.running() || time.Now().After(deadline) {
			return fmt.Errorf("nats-server not ready: %v\n%s", err, tail(s.nats.log.String(), 3000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func (s *Stack) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, p := range s.services {
		if err := waitHTTP(ctx, p, s.URLs[p.name]+"/readyz", time.Until(deadline)); err != nil {
			return err
		}
	}
	return nil
}

// Procs lists every process whose CPU counts as the stack's: the services,
// nats-server and the postmaster with its children.
func (s *Stack) Procs() []Proc {
	var out []Proc
	for _, p := range s.services {
		out = append(out, Proc{Group: p.name, PID: p.cmd.Process.Pid})
	}
	out = append(out, Proc{Group: "nats-server", PID: s.nats.cmd.Process.Pid})
	out = append(out, Proc{Group: "postgres", PID: s.Postgres.PID(), Tree: true})
	return out
}

// Check returns an error naming every stack process that has exited.
func (s *Stack) Check() error {
	var errs []error
	for _, p := range append([]*process{s.nats, s.Postgres.proc}, s.services...) {
		if !p.running() {
			errs = append(errs, fmt.Errorf("%s exited: %v\n%s", p.name, p.err, tail(p.log.String(), 3000)))
		}
	}
	return errors.Join(errs...)
}

// Logs is the tail of every service's output.
func (s *Stack) Logs(n int) string {
	var b strings.Builder
	for _, p := range s.services {
		fmt.Fprintf(&b, "--- %s (tail)\n%s\n", p.name, tail(p.log.String(), n))
	}
	if s.nats != nil {
		fmt.Fprintf(&b, "--- nats-server (tail)\n%s\n", tail(s.nats.log.String(), n))
	}
	if s.Postgres != nil && s.Postgres.proc != nil {
		fmt.Fprintf(&b, "--- postgres (tail)\n%s\n", tail(s.Postgres.Log(), n))
	}
	return b.String()
}

// writeLogs writes each process' log tail to the log directory.
func (s *Stack) writeLogs() error {
	if err := os.MkdirAll(s.logDir, 0o755); err != nil {
		return err
	}
	procs := append([]*process(nil), s.services...)
	if s.nats != nil {
		procs = append(procs, s.nats)
	}
	var errs []error
	for _, p := range procs {
		errs = append(errs, os.WriteFile(filepath.Join(s.logDir, p.name+".log"), []byte(p.log.String()), 0o644))
	}
	if s.Postgres != nil {
		errs = append(errs, os.WriteFile(filepath.Join(s.logDir, "postgres.log"), []byte(s.Postgres.Log()), 0o644))
	}
	return errors.Join(errs...)
}

// Close stops the services (SIGTERM, as an operator would), nats-server and
// Postgres, and removes the run's directory. It returns the services that
// did not stop gracefully. Safe on a partly started stack.
func (s *Stack) Close() error {
	if s == nil {
		return nil
	}
	var errs []error
	type result struct {
		name     string
		graceful bool
		err      error
	}
	procs := append(slices.Clone(s.services), s.replicas...)
	results := make(chan result, len(procs))
	for _, p := range procs {
		go func() {
			ok := p.stop(syscall.SIGTERM, 20*time.Second)
			results <- result{p.name, ok, p.err}
		}()
	}
	for range procs {
		r := <-results
		if !r.graceful {
			errs = append(errs, fmt.Errorf("%s did not stop within 20s of SIGTERM", r.name))
		} else if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", r.name, r.err))
		}
	}
	if s.Mail != nil {
		s.Mail.Close()
	}
	if s.nats != nil {
		s.nats.stop(syscall.SIGTERM, 10*time.Second)
	}
	s.Postgres.Stop()
	if s.logDir != "" {
		errs = append(errs, s.writeLogs())
	}
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
