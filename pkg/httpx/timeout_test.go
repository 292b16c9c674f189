package httpx_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestARequestHeldPastItsTimeAnswers503: a request that waits on the
// database past RequestTimeout (a row lock held elsewhere, here a sleep)
// is answered 503 service.busy with Retry-After while its client still
// listens — not held until the write timeout cuts the connection, nor
// logged as a 500. One whose client went away first is logged as such,
// status 499, not as a failure of the service.
func TestARequestHeldPastItsTimeAnswers503(t *testing.T) {
	api := http.NewServeMux()
	api.HandleFunc("GET /held", func(w http.ResponseWriter, r *http.Request) {
		conn, err := pgx.Connect(r.Context(), testkit.AdminURL())
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(r.Context(), `SELECT pg_sleep(3)`); err != nil {
			httpx.WriteError(w, r, fmt.Errorf("lock partner PG-1: %w", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv, logs := serve(t, api, nil)
	srv.SetRequestTimeout(300 * time.Millisecond)

	start := time.Now()
	res, err := http.Get("http://" + srv.Addr() + "/held")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var p httpx.Problem
	_ = json.Unmarshal(body, &p)
	if res.StatusCode != 503 || p.Code != httpx.CodeBusy || res.Header.Get("Retry-After") == "" || time.Since(start) > 2*time.Second {
		t.Fatalf("after %s: %d %s (Retry-After %q)", time.Since(start), res.StatusCode, body, res.Header.Get("Retry-After"))
	}

	srv.SetRequestTimeout(5 * time.Second)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := client.Get("http://" + srv.Addr() + "/held"); err == nil {
		t.Fatal("the client did not give up")
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), `"msg":"client went away before the answer"`) || !strings.Contains(logs.String(), `"status":499`) {
			return fmt.Errorf("logs:\n%s", logs.String())
		}
		return nil
	})
	if strings.Count(logs.String(), `"level":"ERROR"`) != 1 { // the 503's
		t.Errorf("error lines:\n%s", logs.String())
	}
}
