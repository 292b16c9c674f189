package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// demo finds the stack as every command does: the global service URL flags
// and PARTNERHUB_*_URL, --url / NATS_URL, --keys; it has no flags of its own
// for them any more.
func TestDemoHonoursTheGlobalFlags(t *testing.T) {
	var mu sync.Mutex
	var hits []string
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":"test.down","status":503}`))
	}))
	defer reg.Close()
	keys := t.TempDir()
	url := testkit.NATS(t)
	_, js := testkit.JetStream(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.PrepareStreams(ctx, js, bus.Config{NATSURL: url}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"flags": {nil, []string{"demo", "--registration-url", reg.URL, "--url", url, "--keys", keys, "--step-timeout", "2s"}},
		"environment": {map[string]string{"PARTNERHUB_REGISTRATION_URL": reg.URL, "NATS_URL": url, auth.DevKeysEnv: keys},
			[]string{"demo", "--step-timeout", "2s"}},
	} {
		t.Run(name, func(t *testing.T) {
			mu.Lock()
			hits = nil
			mu.Unlock()
			code, _, errOut := run(t, c.env, c.args...)
			if code != ExitFailure {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(hits) == 0 || hits[0] != "POST /v1/registrations" {
				t.Fatalf("the demo did not call the registration URL it was given: %v (%s)", hits, errOut)
			}
			if _, err := os.Stat(filepath.Join(keys, filepath.Base(auth.DevPrivateKeyPath(keys)))); err != nil {
				t.Fatalf("the demo did not use --keys: %v", err)
			}
		})
	}
	for _, old := range []string{"--registration", "--nats"} {
		if code, _, errOut := run(t, nil, "demo", old, "x"); code != ExitUsage || !strings.Contains(errOut, "unknown flag") {
			t.Errorf("%s: exit %d %s", old, code, errOut)
		}
	}
}
