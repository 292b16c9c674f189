//go:build unix

package policyfile

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestSIGHUPReloads: the running watcher re-reads the file on SIGHUP even
// when its modification time and size did not change.
func TestSIGHUPReloads(t *testing.T) {
	// A handler of our own first, so that a SIGHUP arriving before the
	// watcher's is registered cannot end the test binary.
	guard := make(chan os.Signal, 4)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	applied := make(chan domain.PolicySet, 4)
	w := &Watcher{Path: path, Interval: time.Hour, Apply: func(s domain.PolicySet) { applied <- s },
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	w.Start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	deadline := time.After(5 * time.Second)
	for {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case <-applied:
			return
		case <-time.After(50 * time.Millisecond): // the watcher may not listen yet
		case <-deadline:
			t.Fatal("SIGHUP did not reload the file")
		}
	}
}
