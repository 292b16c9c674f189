// Package domain holds the agreements service's rules: versioned agreement
// templates, the projections of partners and their verification that gate
// acceptance, append-only acceptance records, and re-acceptance requirements.
// It is pure Go; time and ids come in as arguments.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"time"
)

// Program names an enrollment program that has its own agreement.
type Program string

// Programs known today; more can be added without code changes.
const (
	ProgramPartnerNetwork   Program = "partner_network"
	ProgramIndirectReseller Program = "indirect_reseller"
	ProgramIndirectProvider Program = "indirect_provider"
)

var programPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// ParseProgram validates a program identifier.
func ParseProgram(s string) (Program, error) {
	s = strings.TrimSpace(s)
	if !programPattern.MatchString(s) {
		return "", ErrInvalidProgram
	}
	return Program(s), nil
}

// GatedByVerification reports whether accepting this program's agreement
// needs an approved verification. Only the network agreement is exempt: it is
// affirmed at registration, before any review.
func (p Program) GatedByVerification() bool { return p != ProgramPartnerNetwork }

// Market is the ISO 3166-1 alpha-2 country a partner sells in, fixed at
// registration.
type Market string

var marketPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// ParseMarket validates and upper-cases a market code.
func ParseMarket(s string) (Market, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if !marketPattern.MatchString(s) {
		return "", ErrInvalidMarket
	}
	return Market(s), nil
}

// TextHash is the lower-case hex SHA-256 of an agreement's exact text: the
// evidence of which words a partner accepted.
type TextHash string

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseTextHash validates a SHA-256 in hex (either case) and lower-cases it.
func ParseTextHash(s string) (TextHash, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if !hashPattern.MatchString(s) {
		return "", ErrInvalidTextHash
	}
	return TextHash(s), nil
}

// HashText returns the TextHash of text.
func HashText(text []byte) TextHash {
	sum := sha256.Sum256(text)
	return TextHash(hex.EncodeToString(sum[:]))
}

// VersionPolicy says what publishing a version means for partners who
// accepted an earlier one.
type VersionPolicy string

const (
	// PolicyAutoEffective: existing acceptances carry over to the new version.
	PolicyAutoEffective VersionPolicy = "auto_effective"
	// PolicyRequiresReacceptance: every affected partner must accept again
	// before a deadline.
	PolicyRequiresReacceptance VersionPolicy = "requires_reacceptance"
)

// ParseVersionPolicy validates a policy name.
func ParseVersionPolicy(s string) (VersionPolicy, error) {
	switch p := VersionPolicy(strings.TrimSpace(s)); p {
	case PolicyAutoEffective, PolicyRequiresReacceptance:
		return p, nil
	}
	return "", ErrInvalidPolicy
}

// VerificationOutcome is the partner's verification state as this service
// last heard it.
type VerificationOutcome string

const (
	VerificationPending  VerificationOutcome = "pending" // no decision heard yet
	VerificationApproved VerificationOutcome = "approved"
	VerificationRejected VerificationOutcome = "rejected"
	VerificationRevoked  VerificationOutcome = "revoked"
)

// AcceptanceKey identifies the one current acceptance of an agreement: per
// location, program and market.
type AcceptanceKey struct {
	LocationID string
	Program    Program
	Market     Market
}

// ClockSkewTolerance is how far a client-supplied (or another service's)
// acceptance time may lie ahead of our clock before it counts as "in the
// future". Clocks of honest clients drift by seconds, not minutes.
const ClockSkewTolerance = 30 * time.Second

// serverTime normalises a timestamp to what Postgres stores (UTC, µs), so
// that values read back compare equal.
func serverTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func ptrTime(t time.Time) *time.Time { return &t }
