package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/natsembed"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

type reply struct {
	code int
	body map[string]any
	err  error
}

func getJSON(url string) reply {
	c := http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	r := reply{code: res.StatusCode}
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// startUpState is what /readyz says of the start-up ("" once the check is
// gone or the port does not answer).
func startUpState(base string) string {
	r := getJSON(base + "/readyz")
	if checks, ok := r.body["checks"].(map[string]any); ok {
		s, _ := checks["start-up"].(string)
		return s
	}
	return ""
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAStartingServiceAnswersOnItsPort: while a service waits for a
// dependency (here NATS, not started yet) its port is alive (/healthz),
// not ready (/readyz names what it waits for), and an API request is held;
// once NATS is there the service finishes starting on the same port and
// the held request is answered by its API.
func TestAStartingServiceAnswersOnItsPort(t *testing.T) {
	natsPort, err := testkit.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, "nats://127.0.0.1:"+strconv.Itoa(natsPort))
	cfg.HTTPAddr = testkit.FreeAddr(t)
	base := "http://" + cfg.HTTPAddr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	decl := platform.Declaration{Name: "registration", Migrations: migrations, Routes: func() http.Handler {
		api := http.NewServeMux()
		api.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) {
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"pong": "api"})
		})
		return api
	}}
	type started struct {
		b   *platform.Base
		err error
	}
	startDone := make(chan started, 1)
	go func() {
		b, err := platform.Start(ctx, decl, cfg, testkit.Log(t))
		startDone <- started{b, err}
	}()

	waitFor(t, "the start-up to wait for NATS", func() bool { return strings.HasPrefix(startUpState(base), "starting: waiting for nats") })
	if r := getJSON(base + "/healthz"); r.code != http.StatusOK {
		t.Errorf("healthz while waiting for NATS: %+v", r)
	}
	if r := getJSON(base + "/readyz"); r.code != http.StatusServiceUnavailable || r.body["ready"] != false {
		t.Errorf("readyz while waiting for NATS: %+v", r)
	}
	held := make(chan reply, 1)
	go func() { held <- getJSON(base + "/v1/ping") }()
	time.Sleep(100 * time.Millisecond)

	ns, err := natsembed.Start("127.0.0.1", natsPort, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	s := <-startDone
	if s.err != nil {
		t.Fatal(s.err)
	}
	if s.b.Addr() != cfg.HTTPAddr {
		t.Errorf("started on %s, configured %s", s.b.Addr(), cfg.HTTPAddr)
	}
	if err := s.b.Mount(decl); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- s.b.Run(ctx) }()
	if r := <-held; r.code != http.StatusOK || r.body["pong"] != "api" {
		t.Errorf("the request held while the service started: %+v", r)
	}
	waitFor(t, "ready", func() bool { return getJSON(base+"/readyz").code == http.StatusOK })
	cancel()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
}

// TestAServiceStoppedWhileItStarts: stopped while it waits for its
// database, a service gives the wait up, closes its port, and its process
// exits 0 saying it stopped before it was ready (not "start failed").
func TestAServiceStoppedWhileItStarts(t *testing.T) {
	cfg := testConfig(t, testkit.NATS(t))
	cfg.HTTPAddr = testkit.FreeAddr(t)
	cfg.Postgres.AdminURL = "postgres://postgres@" + testkit.FreeAddr(t) + "/postgres" // nothing listens
	base := "http://" + cfg.HTTPAddr
	ctx, cancel := context.WithCancel(context.Background())
	startDone := make(chan error, 1)
	go func() {
		_, err := platform.Start(ctx, platform.Declaration{Name: "registration", Migrations: migrations}, cfg, testkit.Log(t))
		startDone <- err
	}()
	waitFor(t, "the start-up to wait for Postgres", func() bool {
		return strings.HasPrefix(startUpState(base), "starting: waiting for postgres provisioning (attempt ")
	})
	cancel()
	select {
	case err := <-startDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Start stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not give up its wait when stopped")
	}
	if r := getJSON(base + "/healthz"); r.err == nil {
		t.Errorf("the port still answers after the stop: %+v", r)
	}

	// The process around it: Exec with a build that is stopped while it waits.
	var out, errOut bytes.Buffer
	t.Setenv("TEST_MAIN_GREETING", "hello")
	t.Setenv("AUTH_JWKS_FILE", t.TempDir()+"/jwks.json")
	stopped, stop := context.WithCancel(context.Background())
	waiting := func(ctx context.Context, _ mainConfig, _ *slog.Logger) (mainService, error) {
		stop()
		<-ctx.Done()
		return mainService{}, ctx.Err()
	}
	if code := platform.Exec(stopped, "svc", waiting, &out, &errOut); code != platform.ExitOK ||
		!strings.Contains(out.String(), `"msg":"stopped before it was ready"`) || strings.Contains(out.String(), `"level":"ERROR"`) {
		t.Errorf("stopped while starting: exit %d, log %s", code, out.String())
	}
}
