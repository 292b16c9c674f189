// Package smtptest starts a mailcatcher SMTP server for a test and stops it
// at the test's end.
package smtptest

import (
	"testing"

	"github.com/partnerhub/onboarding/services/notifier/internal/mailcatcher"
)

// Aliases of the mailcatcher names the tests use.
type (
	Server   = mailcatcher.Server
	Options  = mailcatcher.Options
	Received = mailcatcher.Received
	Parsed   = mailcatcher.Parsed
)

// TLS modes.
const (
	ModePlain    = mailcatcher.ModePlain
	ModeStartTLS = mailcatcher.ModeStartTLS
	ModeImplicit = mailcatcher.ModeImplicit
)

// Parse decodes a received MIME message.
func Parse(data []byte) (Parsed, error) { return mailcatcher.Parse(data) }

// Start starts a server on a random local port, stopped at test end.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := mailcatcher.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Restart restarts s on the same address or fails the test.
func Restart(t testing.TB, s *Server) {
	t.Helper()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
}
