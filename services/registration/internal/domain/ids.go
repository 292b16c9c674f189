package domain

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ID formats. Every identifier the service issues is a kind prefix, ten random
// Crockford base32 symbols (50 bits) and one check symbol, grouped for humans:
// "PG-7K3M-9QXD-2TW". The prefixes differ visibly so that a global partner ID
// is never mistaken for a location ID, and the check symbol catches typos
// (any single substitution and most adjacent transpositions) before a lookup.
const (
	idRandomSymbols = 10
	crockford       = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// IDKind names what an identifier identifies; its value is the ID prefix.
type IDKind string

// The kinds of identifiers the registration service issues.
const (
	KindPartner          IDKind = "PG" // global partner ID: the company
	KindLocation         IDKind = "PL" // location partner ID: what transactions use
	KindEnrollment       IDKind = "EN" // one program enrollment
	KindDuplicateAttempt IDKind = "DA" // a refused duplicate registration
	KindDuplicateClaim   IDKind = "DC" // a claim filed on a duplicate attempt
)

// ErrInvalidID is returned when a string is not a well-formed identifier.
var ErrInvalidID = errors.New("invalid identifier")

// ErrWrongIDKind is returned when a well-formed identifier has another kind
// than expected, e.g. a global partner ID given where a location ID is needed.
var ErrWrongIDKind = errors.New("identifier of the wrong kind")

// PartnerID is the global partner ID of a company ("PG-…").
type PartnerID string

// LocationID is the partner ID of one business location ("PL-…").
type LocationID string

// EnrollmentID identifies one program enrollment ("EN-…").
type EnrollmentID string

// DuplicateAttemptID identifies a refused duplicate registration ("DA-…"); the
// applicant quotes it to file a duplicate claim.
type DuplicateAttemptID string

// ClaimID identifies a duplicate claim ("DC-…").
type ClaimID string

func (id PartnerID) String() string          { return string(id) }
func (id LocationID) String() string         { return string(id) }
func (id EnrollmentID) String() string       { return string(id) }
func (id DuplicateAttemptID) String() string { return string(id) }
func (id ClaimID) String() string            { return string(id) }

// NewID builds an identifier of kind from ten random symbols read from r.
func NewID(kind IDKind, r io.Reader) (string, error) {
	var buf [idRandomSymbols]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	body := make([]byte, idRandomSymbols)
	for i, b := range buf {
		body[i] = crockford[b&31]
	}
	return format(kind, string(body)), nil
}

func format(kind IDKind, body string) string {
	full := body + string(checkSymbol(body))
	return string(kind) + "-" + full[0:4] + "-" + full[4:8] + "-" + full[8:]
}

// checkSymbol is Luhn mod 32 over the Crockford alphabet.
func checkSymbol(body string) byte {
	const n = 32
	factor, sum := 2, 0
	for i := len(body) - 1; i >= 0; i-- {
		addend := factor * strings.IndexByte(crockford, body[i])
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
		sum += addend/n + addend%n
	}
	return crockford[(n-sum%n)%n]
}

// ParseID checks s as an identifier of kind and returns its canonical form.
// It accepts lower case, missing or extra hyphens and spaces, and Crockford's
// look-alikes (O→0, I and L→1).
func ParseID(kind IDKind, s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	prefix, rest, ok := strings.Cut(s, "-")
	if !ok || len(prefix) != 2 {
		return "", fmt.Errorf("%w: %q", ErrInvalidID, s)
	}
	var body strings.Builder
	for _, c := range rest {
		switch c {
		case '-', ' ':
			continue
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if c > 127 || !strings.ContainsRune(crockford, c) {
			return "", fmt.Errorf("%w: %q", ErrInvalidID, s)
		}
		body.WriteRune(c)
	}
	b := body.String()
	if len(b) != idRandomSymbols+1 || checkSymbol(b[:idRandomSymbols]) != b[idRandomSymbols] {
		return "", fmt.Errorf("%w: %q", ErrInvalidID, s)
	}
	switch IDKind(prefix) {
	case KindPartner, KindLocation, KindEnrollment, KindDuplicateAttempt, KindDuplicateClaim:
	default:
		return "", fmt.Errorf("%w: unknown prefix in %q", ErrInvalidID, s)
	}
	if IDKind(prefix) != kind {
		return "", fmt.Errorf("%w: %q is a %s identifier, not %s", ErrWrongIDKind, s, prefix, kind)
	}
	return format(kind, b[:idRandomSymbols]), nil
}

// ParsePartnerID parses a global partner ID.
func ParsePartnerID(s string) (PartnerID, error) {
	id, err := ParseID(KindPartner, s)
	return PartnerID(id), err
}

// ParseLocationID parses a location partner ID.
func ParseLocationID(s string) (LocationID, error) {
	id, err := ParseID(KindLocation, s)
	return LocationID(id), err
}

// ParseEnrollmentID parses an enrollment ID.
func ParseEnrollmentID(s string) (EnrollmentID, error) {
	id, err := ParseID(KindEnrollment, s)
	return EnrollmentID(id), err
}

// ParseDuplicateAttemptID parses a duplicate attempt ID.
func ParseDuplicateAttemptID(s string) (DuplicateAttemptID, error) {
	id, err := ParseID(KindDuplicateAttempt, s)
	return DuplicateAttemptID(id), err
}

// RandomIDs issues identifiers from crypto/rand (or Rand when set). It is the
// production implementation of the app's ID generator port; uniqueness is
// still the database's job.
type RandomIDs struct {
	Rand io.Reader // nil means crypto/rand
}

func (g RandomIDs) next(kind IDKind) string {
	r := g.Rand
	if r == nil {
		r = rand.Reader
	}
	id, err := NewID(kind, r)
	if err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ crashes instead).
		panic(err)
	}
	return id
}

// NewPartnerID issues a global partner ID.
func (g RandomIDs) NewPartnerID() PartnerID { return PartnerID(g.next(KindPartner)) }

// NewLocationID issues a location partner ID.
func (g RandomIDs) NewLocationID() LocationID { return LocationID(g.next(KindLocation)) }

// NewEnrollmentID issues an enrollment ID.
func (g RandomIDs) NewEnrollmentID() EnrollmentID { return EnrollmentID(g.next(KindEnrollment)) }

// NewDuplicateAttemptID issues a duplicate attempt ID.
func (g RandomIDs) NewDuplicateAttemptID() DuplicateAttemptID {
	return DuplicateAttemptID(g.next(KindDuplicateAttempt))
}

// NewClaimID issues a duplicate claim ID.
func (g RandomIDs) NewClaimID() ClaimID { return ClaimID(g.next(KindDuplicateClaim)) }

// FormatID builds the identifier of kind whose random part is body (ten
// Crockford symbols); fakes use it to issue deterministic, valid IDs.
func FormatID(kind IDKind, body string) (string, error) {
	body = strings.ToUpper(body)
	if len(body) != idRandomSymbols {
		return "", fmt.Errorf("%w: body must have %d symbols", ErrInvalidID, idRandomSymbols)
	}
	for _, c := range body {
		if !strings.ContainsRune(crockford, c) {
			return "", fmt.Errorf("%w: %q is not a Crockford symbol", ErrInvalidID, c)
		}
	}
	return format(kind, body), nil
}
