package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/partnerhub/onboarding/pkg/httpx"
)

// TestADegradedCheckKeepsTheInstanceReady: /readyz reports a degraded
// check (NATS away: writes wait in the outbox) and stays 200, so a
// dependency every instance shares does not take the whole API out of the
// load balancer; a failed check (Postgres) makes it 503.
func TestADegradedCheckKeepsTheInstanceReady(t *testing.T) {
	var natsDown, pgDown atomic.Bool
	checks := map[string]httpx.Check{
		"nats": func(context.Context) error {
			if natsDown.Load() {
				return httpx.Degraded(errors.New("not connected"))
			}
			return nil
		},
		"postgres": func(context.Context) error {
			if pgDown.Load() {
				return errors.New("refused")
			}
			return nil
		},
	}
	srv, _ := serve(t, http.NewServeMux(), checks)
	ready := func() (int, map[string]any) {
		res, err := http.Get("http://" + srv.Addr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	natsDown.Store(true)
	if code, body := ready(); code != 200 || body["ready"] != true || body["checks"].(map[string]any)["nats"] != "degraded: not connected" {
		t.Errorf("NATS away: %d %v", code, body)
	}
	pgDown.Store(true)
	if code, body := ready(); code != 503 || body["ready"] != false || body["checks"].(map[string]any)["postgres"] != "refused" {
		t.Errorf("Postgres away too: %d %v", code, body)
	}
}
