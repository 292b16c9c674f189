package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
)

// TestDevBusRefusesForgedEvents: the bus of make run has the production
// users: an unauthenticated client cannot even connect, so it cannot forge
// a case approval; the verification service's user publishes its own
// events on the streams the admin provisioned; another user is refused the
// same subject.
func TestDevBusRefusesForgedEvents(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	b, err := startDevBus(ctx, root, dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.shutdown()
	for _, u := range []string{"NATS_PASSWORD_ADMIN", "NATS_PASSWORD_VERIFICATION"} {
		if _, set := os.LookupEnv(u); set {
			t.Errorf("%s left in the launcher's environment: every service would inherit it", u)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "accounts.conf")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("accounts.conf copy: %v %v", fi, err)
	}

	if nc, err := nats.Connect(b.URL, nats.Name("forger")); err == nil {
		nc.Close()
		t.Fatal("an unauthenticated client connected to the development bus")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("unauthenticated: %v, want an authorization violation", err)
	}

	publish := func(user, subject string) error {
		cfg := bus.Config{NATSURL: b.URL, NATSUser: user, NATSPassword: b.Passwords[user]}
		nc, err := bus.Connect(b.URL, user+"-test", cfg.ConnectOptions()...)
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		if user != bus.UpstreamUser { // a service sees the streams the admin provisioned
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := bus.PrepareStreams(sctx, js, cfg)
			cancel()
			if err != nil {
				return err
			}
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err = js.Publish(pctx, subject, []byte(`{}`))
		return err
	}
	if err := publish("verification", "verification.case.approved.v1.3"); err != nil {
		t.Fatalf("verification publishes its own event: %v", err)
	}
	for _, user := range []string{bus.UpstreamUser, "registration", "timeline"} {
		if err := publish(user, "verification.case.approved.v1.3"); err == nil {
			t.Errorf("%s published a case approval", user)
		}
	}
	if err := publish("registration", "registration.partner.activated.v1.3"); err != nil {
		t.Errorf("registration publishes its own event: %v", err)
	}
	if len(b.Passwords) < 10 || b.Passwords["registration"] == b.Passwords["verification"] {
		t.Errorf("passwords %d", len(b.Passwords))
	}
}
