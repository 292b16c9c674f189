// Command local runs the whole backend on one machine for development and
// demos (`make run`): an embedded JetStream server with the production bus
// users (deploy/nats/accounts.conf, passwords generated at each start)
// unless NATS_URL is set, local Postgres (each service provisions its own
// schema and roles), dev signing keys for bearer tokens, and every service
// as its own process connected as its own bus user. Ctrl-C stops everything
// gracefully.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/partnerhub/onboarding/deploy/local/stack"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/platform"
)

// service is one process of the stack.
type service struct {
	name string
	port int
	env  []string
}

// services lists the processes in start order; those not built yet are skipped.
var services = []service{
	{name: "registration", port: 8081},
	{name: "email-ownership", port: 8082},
	{name: "verification", port: 8083},
	{name: "agreements", port: 8084},
	{name: "relationships", port: 8085},
	{name: "notifier", port: 8086},
	// Webhook receivers under development run on this machine (http, loopback).
	{name: "timeline", port: 8087, env: []string{"WEBHOOK_ALLOW_INSECURE=true"}},
}

func main() {
	// The launcher hosts the services and the development broker: the
	// stack's runtime settings and timer slack, as every service process
	// (platform.Main); the services it starts inherit the slack.
	if err := platform.ExecWithTimerSlack(os.Getenv, os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "local: running with the kernel's timer slack:", err)
	}
	platform.TuneRuntime(os.Getenv)
	if len(os.Args) > 1 && os.Args[1] == "accounts" {
		if err := printAccounts(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "local accounts:", err)
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

// printAccounts prints the accounts.conf of a deployment whose principal
// directory is the file args[0] (PARTNERHUB_PRINCIPALS_FILE): the
// committed users, and one per bus_user the directory binds. Each user's
// password is read by the NATS servers from NATS_PASSWORD_<USER>.
func printAccounts(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: go run ./deploy/local accounts PRINCIPALS.json > accounts.conf")
	}
	d, err := auth.LoadDirectory(args[0], "")
	if err != nil {
		return err
	}
	conf, err := stack.AccountsConfigFor(d)
	if err != nil {
		return err
	}
	_, err = io.WriteString(os.Stdout, conf)
	return err
}

func run(ctx context.Context) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	runDir := filepath.Join(root, ".run")
	keysDir := filepath.Join(runDir, "dev-keys")
	if _, err := auth.EnsureDevKeys(keysDir); err != nil {
		return fmt.Errorf("dev keys: %w", err)
	}
	natsURL := os.Getenv("NATS_URL")
	var dev *devBus
	if natsURL == "" {
		// The bus runs as in production: the committed accounts.conf, a
		// user per service (passwords generated now), streams provisioned
		// by the admin; an unauthenticated client is refused. It listens on
		// 4222, the services' and partnerctl's default; when something
		// answers there already (CI and this machine kind start a NATS
		// without our users), on a free port of its own: partnerctl finds it
		// through .run/dev-keys/nats.json.
		port := envInt("LOCAL_NATS_PORT", 4222)
		if os.Getenv("LOCAL_NATS_PORT") == "" && listening(fmt.Sprintf("127.0.0.1:%d", port)) {
			fmt.Printf("a NATS server already answers on %d (without the stack's users): the stack's bus gets a port of its own "+
				"(LOCAL_NATS_PORT chooses one; NATS_URL uses another server as it is)\n", port)
			port = -1
		}
		var err error
		if dev, err = startDevBus(ctx, root, filepath.Join(runDir, "nats"), port); err != nil {
			return fmt.Errorf("embedded JetStream on port %d: %w (set LOCAL_NATS_PORT, or NATS_URL to use another server)", port, err)
		}
		defer dev.shutdown()
		natsURL = dev.URL
		if err := bus.WriteDevBus(keysDir, bus.DevBus{URL: dev.URL, Passwords: dev.Passwords}); err != nil {
			return fmt.Errorf("write %s: %w", bus.DevBusFile, err)
		}
		defer os.Remove(filepath.Join(keysDir, bus.DevBusFile))
	} else {
		fmt.Printf("NATS_URL is set: the services connect to %s as your environment says (NATS_USER/NATS_PASSWORD), "+
			"not as the stack's per-service users\n", natsURL)
	}
	adminURL := envOr("POSTGRES_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")

	binDir := filepath.Join(runDir, "bin")
	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return err
	}
	var todo []service
	for _, s := range services {
		_, err := os.Stat(filepath.Join(root, "services", s.name, "cmd", s.name, "main.go"))
		if err == nil && strings.Contains(string(work), "./services/"+s.name+"\n") {
			todo = append(todo, s)
		}
	}
	for _, s := range todo {
		fmt.Printf("building %s ...\n", s.name)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(binDir, s.name), "./services/"+s.name+"/cmd/"+s.name)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", s.name, err)
		}
	}
	common := []string{
		"POSTGRES_ADMIN_URL=" + adminURL,
		"AUTH_JWKS_FILE=" + filepath.Join(keysDir, "jwks.json"),
		"PARTNERHUB_DEV_KEYS=" + keysDir,
		"LOG_LEVEL=" + envOr("LOG_LEVEL", "info"),
	}
	procs := make([]*exec.Cmd, 0, len(todo))
	outputs := make([]<-chan struct{}, 0, len(todo))
	for _, s := range todo {
		cmd := exec.Command(filepath.Join(binDir, s.name))
		cmd.Dir = root
		cmd.Env = append(append(os.Environ(), common...), "HTTP_ADDR=127.0.0.1:"+strconv.Itoa(s.port))
		if dev != nil {
			cmd.Env = append(cmd.Env, dev.serviceEnv(s.name)...)
		} else {
			cmd.Env = append(cmd.Env, "NATS_URL="+natsURL)
		}
		cmd.Env = append(cmd.Env, s.env...)
		done, err := start(cmd, s.name, os.Stdout)
		if err != nil {
			return fmt.Errorf("start %s: %w", s.name, err)
		}
		procs = append(procs, cmd)
		outputs = append(outputs, done)
	}
	fmt.Println()
	if dev != nil {
		fmt.Printf("JetStream   %s  (a user per service; partnerctl connects as admin through %s)\n", natsURL,
			filepath.Join(".run", "dev-keys", bus.DevBusFile))
	} else {
		fmt.Printf("JetStream   %s\n", natsURL)
	}
	for _, s := range todo {
		fmt.Printf("%-13s http://127.0.0.1:%d  (healthz, readyz)\n", s.name, s.port)
	}
	fmt.Printf("dev tokens  go run ./services/partnerctl/cmd/partnerctl token --role upstream_system\n\n")

	exited := make(chan string, len(procs))
	for i := range procs {
		go func(name string, done <-chan struct{}) {
			<-done
			exited <- name
		}(todo[i].name, outputs[i])
	}
	var failure error
	select {
	case <-ctx.Done():
	case name := <-exited:
		failure = fmt.Errorf("%s exited; stopping the stack", name)
	}
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM) // one that already exited answers an error
	}
	deadline := time.After(30 * time.Second)
	for range len(procs) - boolInt(failure != nil) {
		select {
		case <-exited:
		case <-deadline:
			for _, p := range procs {
				_ = p.Process.Kill()
			}
			return errors.Join(failure, errors.New("services did not stop within 30s"))
		}
	}
	return failure
}

// start starts cmd with its output, each line prefixed with name, copied
// to w. The channel closes once the process has exited and its output was
// read to the end: Wait closes the pipe, so waiting before the last read
// lost the last lines (a service's "stopped").
func start(cmd *exec.Cmd, name string, w io.Writer) (<-chan struct{}, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		prefix(w, name, out)
		_ = cmd.Wait()
	}()
	return done, nil
}

// prefix copies r's lines to w, each prefixed with name; lines are written
// whole, one call each, so that the services' lines do not interleave.
func prefix(w io.Writer, name string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintf(w, "%-15s | %s\n", name, sc.Text())
	}
	_, _ = io.Copy(io.Discard, r) // after an over-long line: the process must not block writing
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func envInt(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return d
}

func repoRoot() (string, error) {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the repository (go.work not found)")
		}
		dir = parent
	}
}

// listening reports whether something accepts TCP connections at addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
