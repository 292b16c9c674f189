package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/deploy/local/stack"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/natsembed"
)

// devBus is the bus of `make run`: an embedded JetStream server loaded with
// the committed deploy/nats/accounts.conf — the users and permissions of
// production — every user with a password generated at this start.
type devBus struct {
	URL       string
	Passwords map[string]string
	server    *server.Server
}

// startDevBus runs the bus on 127.0.0.1:port (0: any free port), storing
// in dir, and provisions the stream catalog as the admin (services may
// not).
func startDevBus(ctx context.Context, root, dir string, port int) (*devBus, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	accounts, err := os.ReadFile(filepath.Join(root, "deploy", "nats", "accounts.conf"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), accounts, 0o600); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "server.conf")
	body := fmt.Sprintf("# Written by make run (deploy/local) at each start.\nlisten: %q\nmax_payload: 1MB\njetstream { store_dir: %q }\ninclude ./accounts.conf\n",
		net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), filepath.Join(dir, "js"))
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	b := &devBus{Passwords: map[string]string{}}
	// accounts.conf reads every password from NATS_PASSWORD_<USER>: set
	// them only while the server reads its configuration, so that the
	// services started later do not inherit each other's.
	for name, u := range stack.Users() {
		pw := make([]byte, 18)
		_, _ = rand.Read(pw)
		b.Passwords[name] = hex.EncodeToString(pw)
		if err := os.Setenv(u.PasswordEnv, b.Passwords[name]); err != nil {
			return nil, err
		}
	}
	opts, err := server.ProcessConfigFile(conf)
	for _, u := range stack.Users() {
		_ = os.Unsetenv(u.PasswordEnv)
	}
	if err != nil {
		return nil, fmt.Errorf("the committed accounts.conf does not load: %w", err)
	}
	opts.NoLog, opts.NoSigs = true, true
	if b.server, err = natsembed.StartWithOptions(opts); err != nil {
		return nil, err
	}
	b.URL = b.server.ClientURL()
	if err := b.provision(ctx); err != nil {
		b.server.Shutdown()
		return nil, err
	}
	return b, nil
}

func (b *devBus) provision(ctx context.Context) error {
	cfg := bus.Config{NATSURL: b.URL, NATSUser: bus.AdminUser, NATSPassword: b.Passwords[bus.AdminUser], Replicas: 1}
	nc, err := bus.Connect(b.URL, "make-run-admin", cfg.ConnectOptions()...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return bus.EnsureStreams(ctx, js, 1)
}

// serviceEnv is how service name connects: as its own bus user.
func (b *devBus) serviceEnv(name string) []string {
	return []string{"NATS_URL=" + b.URL, "NATS_USER=" + name, "NATS_PASSWORD=" + b.Passwords[name]}
}

func (b *devBus) shutdown() { b.server.Shutdown() }
