// Package natsembed runs an in-process NATS server with JetStream: the
// default of `make run` when NATS_URL is not set, and of the test suite.
package natsembed

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Start runs a JetStream-enabled server on host:port (port -1: random)
// storing in dir.
func Start(host string, port int, dir string) (*server.Server, error) {
	opts := &server.Options{
		Host:      host,
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
		// Allow up to 64 KiB data plus headers comfortably.
		MaxPayload: 1 << 20,
	}
	return StartWithOptions(opts)
}

// StartWithOptions runs a server with opts (e.g. with users and permissions).
func StartWithOptions(opts *server.Options) (*server.Server, error) {
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats did not become ready")
	}
	return s, nil
}
