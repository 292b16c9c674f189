package bus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/bus"
)

func TestWatermillLoggerDropsShutdownCancellation(t *testing.T) {
	var buf bytes.Buffer
	log := bus.WatermillLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.Info("every message", nil)
	log.Error("Error querying for message", fmt.Errorf("could not begin tx for querying: %w", context.Canceled), nil)
	if buf.Len() != 0 {
		t.Fatalf("logged %s", buf.String())
	}
	log.Error("could not publish", errors.New("nats: timeout"), nil)
	if !strings.Contains(buf.String(), `"level":"ERROR"`) || !strings.Contains(buf.String(), "nats: timeout") {
		t.Fatalf("a real error was not logged: %q", buf.String())
	}
}
