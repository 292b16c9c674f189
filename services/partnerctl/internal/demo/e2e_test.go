package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
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

var services = []string{"registration", "email-ownership", "verification", "agreements", "relationships", "notifier"}

// TestWholeLifecycleAcrossServices builds every service, runs each as its
// own process against a fresh database and an embedded JetStream, and
// drives a reseller and a distributor from registration to an authorised
// provider relationship through the public APIs, the mail catcher and the
// bus. Every service must then stop gracefully on SIGTERM.
func TestWholeLifecycleAcrossServices(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, s := range services {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, s), "./services/"+s+"/cmd/"+s)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", s, err, out)
		}
	}
	natsURL := testkit.NATS(t)
	db := testkit.Database(t)
	keys := t.TempDir()
	if _, err := auth.EnsureDevKeys(keys); err != nil {
		t.Fatal(err)
	}
	mailDir := t.TempDir()
	ports := map[string]int{}
	for _, s := range services {
		ports[s] = freePort(t)
	}
	url := func(s string) string { return "http://127.0.0.1:" + strconv.Itoa(ports[s]) }

	var logs sync.Map
	var procs []*exec.Cmd
	for _, s := range services {
		cmd := exec.Command(filepath.Join(bin, s))
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(),
			"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(ports[s]), "NATS_URL="+natsURL, "LOG_LEVEL=warn",
			"POSTGRES_ADMIN_URL="+testkit.AdminURL(), "POSTGRES_DB="+db,
			"AUTH_JWKS_FILE="+auth.DevJWKSPath(keys), "PARTNERHUB_DEV_KEYS="+keys,
			"OUTBOX_POLL_INTERVAL=10ms", "TIMER_INTERVAL=200ms", "SHUTDOWN_TIMEOUT=5s",
			"MAIL_CATCHER_DIR="+mailDir, "LINK_BASE_URL="+url("email-ownership"),
			"INVITATION_BASE_URL=https://portal.example/invitations")
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		logs.Store(s, &buf)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", s, err)
		}
		procs = append(procs, cmd)
	}
	dump := func() {
		logs.Range(func(k, v any) bool {
			t.Logf("--- %s log:\n%s", k, tail(v.(*bytes.Buffer).String(), 4000))
			return true
		})
	}
	stopped := false
	stopAll := func() []error {
		var errs []error
		for i, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- p.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %v", services[i], err))
				}
			case <-time.After(20 * time.Second):
				_ = p.Process.Kill()
				errs = append(errs, fmt.Errorf("%s did not stop within 20s", services[i]))
			}
		}
		return errs
	}
	t.Cleanup(func() {
		if !stopped {
			stopAll()
		}
	})
	testkit.Eventually(t, 60*time.Second, func() error {
		for _, s := range services {
			res, err := http.Get(url(s) + "/readyz")
			if err != nil {
				return fmt.Errorf("%s: %v", s, err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				return fmt.Errorf("%s not ready: %d", s, res.StatusCode)
			}
		}
		return nil
	})

	var out bytes.Buffer
	cfg := demo.Config{NATSURL: natsURL, MailDir: mailDir, KeysDir: keys, Out: &out, Timeout: 20 * time.Second,
		Registration: url("registration"), EmailOwnership: url("email-ownership"), Verification: url("verification"),
		Agreements: url("agreements"), Relationships: url("relationships")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := demo.Run(ctx, cfg)
	if err != nil {
		t.Log(out.String())
		dump()
		t.Fatalf("lifecycle failed: %v", err)
	}
	t.Log(out.String())
	if res.RelationshipID == "" || res.Events < 20 {
		t.Fatalf("result %+v", res)
	}
	if strings.Contains(out.String(), "!!") {
		t.Log(out.String())
		t.Fatal("the lifecycle dead-lettered events")
	}
	stopped = true
	if errs := stopAll(); len(errs) > 0 {
		dump()
		t.Fatalf("graceful stop: %v", errs)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
