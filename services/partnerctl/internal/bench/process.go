package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/partnerhub/onboarding/pkg/testkit"
)

// process is a child of the benchmark: a service, nats-server or the
// postmaster. Each has the kernel signal it when the benchmark dies (a
// timeout panic skips every cleanup), so nothing is left behind.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
	err  error // valid once done is closed
}

func startProcess(name, path string, args, env []string, dir string, attr *syscall.SysProcAttr) (*process, error) {
	p := &process{name: name, log: &logBuffer{max: 256 << 10}, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if attr == nil {
		attr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	p.cmd.SysProcAttr = attr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// running reports whether the process has not exited.
func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends sig and waits up to timeout, then SIGQUIT and SIGKILL. It
// reports whether the process ended on sig alone.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) bool {
	if !p.running() {
		return true
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
		return false
	case <-time.After(3 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return false
}

// logBuffer keeps the last max bytes written to it.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

// keep raises how much of the log is kept.
func (b *logBuffer) keep(n int) {
	b.mu.Lock()
	b.max = n
	b.mu.Unlock()
}

// continues makes b the continuation of earlier (a process restarted):
// earlier's log first, kept as much as earlier kept.
func (b *logBuffer) continues(earlier *logBuffer) {
	before := earlier.String()
	earlier.mu.Lock()
	n := earlier.max
	earlier.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max = n
	b.buf = append([]byte(before), b.buf...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// freePort finds a port a process of the stack can listen on later
// (testkit.FreePort: below the kernel's ephemeral range).
func freePort() (int, error) { return testkit.FreePort() }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// environ is the benchmark's environment without the variables that would
// configure a service behind the benchmark's back (a developer's shell may
// export NATS_URL, OUTBOX_POLL_INTERVAL, …): only PATH, HOME, locale and
// temp-dir settings pass, the Go runtime's variables and TIMER_SLACK (for
// runs that compare settings), then the stack's own.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "GOMAXPROCS", "GODEBUG", "GOGC", "GOMEMLIMIT", "TIMER_SLACK":
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// waitHTTP waits up to timeout until p, a process of the stack, answers a
// GET of u with 200 (a service's /readyz, the peer's health).
func waitHTTP(ctx context.Context, p *process, u string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if !p.running() {
			return fmt.Errorf("%s exited before it was ready: %v\n%s", p.name, p.err, tail(p.log.String(), 4000))
		}
		res, err := client.Get(u)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s: %v\n%s", p.name, timeout, err, tail(p.log.String(), 4000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
