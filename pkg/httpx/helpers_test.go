package httpx_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/logging"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// serve runs a server of api with checks, logging as registration into the
// returned buffer, until the test ends.
func serve(t *testing.T, api http.Handler, checks map[string]httpx.Check) (*httpx.Server, *testkit.SyncBuffer) {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	srv, err := httpx.NewServer("127.0.0.1:0", api, logging.NewTo(logs, "registration", "info"), checks)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, 5*time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv, logs
}
