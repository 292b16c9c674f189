package testkit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/platform"
)

// Service is a service running inside a test.
type Service[S any] struct {
	Svc  S
	stop func()
}

// Stop cancels the service's context and waits for Run to return, failing
// the test if it returned an error (a graceful stop returns nil). It is
// idempotent and also runs at the end of the test.
func (s *Service[S]) Stop() { s.stop() }

// StartService builds a service with build (given the context its Run
// will use), runs it, and waits until its event router consumes; a service
// that stops at start or whose router does not run within 15 s fails the
// test. base reads the service's platform base.
func StartService[S platform.Runner](t testing.TB, name string, build func(context.Context) (S, error), base func(S) *platform.Base) *Service[S] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := build(ctx)
	if err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	s := &Service[S]{Svc: svc, stop: func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s stopped with: %v", name, err)
			}
		})
	}}
	router := base(svc).Router
	select {
	case <-router.Running():
	case err := <-done:
		cancel()
		t.Fatalf("%s stopped at start: %v", name, err)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("%s: router not running after 15s", name)
	}
	t.Cleanup(s.Stop)
	return s
}
