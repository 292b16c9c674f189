package httpx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

type countingHandler struct{ n *int }

func (h countingHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h countingHandler) Handle(context.Context, slog.Record) error { *h.n++; return nil }
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h countingHandler) WithGroup(string) slog.Handler             { return h }

// Every line the server writes about a failed request — the 500 from a use
// case, a panic, net/http's own complaints — is the service's JSON log line
// with service and request_id; nothing goes through the process-wide
// default logger, which prints plain text without them.
func TestErrorsBehindA500AreLoggedAsTheServiceInJSON(t *testing.T) {
	var viaDefault int
	prev := slog.Default()
	slog.SetDefault(slog.New(countingHandler{&viaDefault}))
	defer slog.SetDefault(prev)

	api := http.NewServeMux()
	api.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, r, errors.New("database exploded"))
	})
	api.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	srv, logs := serve(t, api, nil)

	for _, path := range []string{"/fail", "/panic"} {
		req, _ := http.NewRequest("GET", "http://"+srv.Addr()+path, nil)
		req.Header.Set("X-Request-Id", "req-"+path[1:])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 500 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if n := strings.Count(logs.String(), "request failed"); n < 2 {
			return fmt.Errorf("%d request failed lines", n)
		}
		return nil
	})
	failures := 0
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		if line["service"] != "registration" {
			t.Errorf("no service: %s", sc.Text())
		}
		if line["level"] == "ERROR" {
			failures++
			if id, _ := line["request_id"].(string); !strings.HasPrefix(id, "req-") {
				t.Errorf("an error line without the request id: %s", sc.Text())
			}
		}
	}
	if failures < 3 { // request failed (500), handler panicked, request failed (the panic's 500)
		t.Errorf("%d error lines, want the 500s logged:\n%s", failures, logs.String())
	}
	if viaDefault != 0 {
		t.Errorf("%d lines went through slog's default logger (plain text, no service)", viaDefault)
	}
}
