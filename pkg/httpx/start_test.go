package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

type answer struct {
	code       int
	body       map[string]any
	retryAfter string
	took       time.Duration
	err        error
}

func get(url string) answer {
	start := time.Now()
	res, err := http.Get(url)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	a := answer{code: res.StatusCode, retryAfter: res.Header.Get("Retry-After")}
	raw, _ := io.ReadAll(res.Body)
	if json.Unmarshal(raw, &a.body) != nil {
		a.body = map[string]any{"text": string(raw)}
	}
	a.took = time.Since(start)
	return a
}

// TestAServerStartedBeforeItsAPI: a service serves its port while it
// connects to its dependencies — alive on /healthz, not ready on /readyz
// with what it waits for — and holds an API request until the API is set
// (then the API answers it), or answers 503 service.unavailable with
// Retry-After once StartHold is over or the server stops.
func TestAServerStartedBeforeItsAPI(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	waiting := map[string]Check{"start-up": func(context.Context) error {
		return errors.New("starting: waiting for postgres (attempt 3): connection refused")
	}}
	s, err := NewServer("127.0.0.1:0", nil, log, waiting)
	if err != nil {
		t.Fatal(err)
	}
	s.hold = 300 * time.Millisecond
	s.Serve()
	base := "http://" + s.Addr()

	if a := get(base + "/healthz"); a.code != http.StatusOK {
		t.Errorf("healthz while starting: %+v", a)
	}
	if a := get(base + "/readyz"); a.code != http.StatusServiceUnavailable || a.body["ready"] != false ||
		a.body["checks"].(map[string]any)["start-up"] != "starting: waiting for postgres (attempt 3): connection refused" {
		t.Errorf("readyz while starting: %+v", a)
	}
	if a := get(base + "/v1/partners"); a.code != http.StatusServiceUnavailable || a.body["code"] != CodeUnavailable ||
		a.retryAfter != "1" || a.took < 250*time.Millisecond {
		t.Errorf("an API request past the hold: %+v", a)
	}

	s.Close()

	// Another, with the default hold, wired while a request waits.
	if s, err = NewServer("127.0.0.1:0", nil, log, waiting); err != nil {
		t.Fatal(err)
	}
	s.Serve()
	base = "http://" + s.Addr()
	held := make(chan answer, 1)
	go func() { held <- get(base + "/v1/partners") }()
	time.Sleep(200 * time.Millisecond)
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/partners", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"served_by": "api"})
	})
	s.SetAPI(api, map[string]Check{"postgres": func(context.Context) error { return nil }})
	if a := <-held; a.code != http.StatusOK || a.body["served_by"] != "api" {
		t.Errorf("a request held while the API was set: %+v", a)
	}
	if a := get(base + "/readyz"); a.code != http.StatusOK || a.body["checks"].(map[string]any)["postgres"] != "ok" {
		t.Errorf("readyz once wired: %+v", a)
	}
	s.Close()
	if a := get(base + "/healthz"); a.err == nil {
		t.Errorf("the port still answers after Close: %+v", a)
	}
}

// TestAStoppingServerAnswersWhatItHeld: a request held for an API that is
// never set (the service stopped while it started) gets its 503 at once
// when the server shuts down, not after the hold.
func TestAStoppingServerAnswersWhatItHeld(t *testing.T) {
	s, err := NewServer("127.0.0.1:0", nil, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, 5*time.Second) }()
	held := make(chan answer, 1)
	go func() { held <- get("http://" + s.Addr() + "/v1/partners") }()
	time.Sleep(200 * time.Millisecond)
	stop()
	select {
	case a := <-held:
		if a.code != http.StatusServiceUnavailable || a.body["code"] != CodeUnavailable || a.took > 2*time.Second {
			t.Errorf("held request at shutdown: %+v", a)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the held request was not answered at shutdown")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
