package platform_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/platform"
)

type mainConfig struct {
	platform.Config
	Greeting string `env:"TEST_MAIN_GREETING,notEmpty"`
}

type mainService struct{ err error }

func (s mainService) Run(context.Context) error { return s.err }

func TestExecExitCodes(t *testing.T) {
	ok := func(_ context.Context, c mainConfig, _ *slog.Logger) (mainService, error) {
		if c.Greeting != "hello" || c.Platform().HTTPAddr == "" {
			return mainService{}, errors.New("configuration not loaded")
		}
		return mainService{}, nil
	}
	var out, errOut bytes.Buffer
	t.Setenv("AUTH_JWKS_FILE", t.TempDir()+"/jwks.json")
	t.Setenv("TEST_MAIN_GREETING", "")
	if code := platform.Exec(context.Background(), "svc", ok, &out, &errOut); code != platform.ExitConfig || !strings.Contains(errOut.String(), "TEST_MAIN_GREETING") {
		t.Fatalf("missing variable: exit %d, stderr %q", code, errOut.String())
	}
	t.Setenv("TEST_MAIN_GREETING", "hello")
	if code := platform.Exec(context.Background(), "svc", ok, &out, &errOut); code != platform.ExitOK {
		t.Fatalf("clean run: exit %d, log %s", code, out.String())
	}
	failing := func(context.Context, mainConfig, *slog.Logger) (mainService, error) {
		return mainService{err: errors.New("relay stopped")}, nil
	}
	out.Reset()
	if code := platform.Exec(context.Background(), "svc", failing, &out, &errOut); code != platform.ExitFailed ||
		!strings.Contains(out.String(), `"msg":"stopped with error"`) || !strings.Contains(out.String(), `"service":"svc"`) {
		t.Fatalf("failed run: exit %d, log %s", code, out.String())
	}
	unbuildable := func(context.Context, mainConfig, *slog.Logger) (mainService, error) {
		return mainService{}, errors.New("postgres unreachable")
	}
	if code := platform.Exec(context.Background(), "svc", unbuildable, &out, &errOut); code != platform.ExitFailed {
		t.Fatalf("start failure: exit %d", code)
	}
}

// A bad TIMER_SLACK stops the service at its configuration, with the
// others' problems; unset, the configuration holds the default Main applied.
func TestTimerSlackIsConfiguration(t *testing.T) {
	t.Setenv("AUTH_JWKS_FILE", t.TempDir()+"/jwks.json")
	t.Setenv("TEST_MAIN_GREETING", "hello")
	var got time.Duration
	build := func(_ context.Context, c mainConfig, _ *slog.Logger) (mainService, error) {
		got = c.Platform().TimerSlack
		return mainService{}, nil
	}
	var out, errOut bytes.Buffer
	if code := platform.Exec(context.Background(), "svc", build, &out, &errOut); code != platform.ExitOK || got != platform.TimerSlack {
		t.Fatalf("default: exit %d, TimerSlack %v, want %v; stderr %q", code, got, platform.TimerSlack, errOut.String())
	}
	for _, v := range []string{"soon", "2s", "-1ms"} {
		t.Setenv("TIMER_SLACK", v)
		errOut.Reset()
		if code := platform.Exec(context.Background(), "svc", build, &out, &errOut); code != platform.ExitConfig || !strings.Contains(errOut.String(), "TIMER_SLACK") {
			t.Fatalf("TIMER_SLACK=%s: exit %d, stderr %q", v, code, errOut.String())
		}
	}
}
