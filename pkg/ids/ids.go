// Package ids is the format of the identifiers the registration service
// issues — global partner IDs ("PG-…"), location partner IDs ("PL-…"),
// enrollments, duplicate attempts and claims — and the one way every
// service reads them from a request: the same spellings accepted, the same
// canonical form looked up, the same field error for one that is not an
// identifier of the kind asked for.
//
// An identifier is a kind prefix, ten random Crockford base32 symbols (50
// bits) and one check symbol, grouped for humans: "PG-7K3M-9QXD-2TW". The
// prefixes differ visibly so that a global partner ID is never mistaken for
// a location ID, and the check symbol catches typos (any single substitution
// and most adjacent transpositions) before a lookup.
package ids

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

const (
	randomSymbols = 10
	crockford     = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// Kind names what an identifier identifies; its value is the prefix.
type Kind string

// The kinds of identifiers.
const (
	Partner          Kind = "PG" // global partner ID: the company
	Location         Kind = "PL" // location partner ID: what transactions use
	Enrollment       Kind = "EN" // one program enrollment
	DuplicateAttempt Kind = "DA" // a refused duplicate registration
	DuplicateClaim   Kind = "DC" // a claim filed on a duplicate attempt
)

// ErrInvalid is returned when a string is not a well-formed identifier.
var ErrInvalid = errors.New("invalid identifier")

// ErrWrongKind is returned when a well-formed identifier has another kind
// than expected, e.g. a global partner ID given where a location ID is needed.
var ErrWrongKind = errors.New("identifier of the wrong kind")

// The field codes of an identifier that does not parse (FieldError).
const (
	CodeInvalid   = "id.invalid"
	CodeWrongKind = "id.wrong_kind"
)

// New builds an identifier of kind from ten random symbols read from r.
func New(kind Kind, r io.Reader) (string, error) {
	var buf [randomSymbols]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	body := make([]byte, randomSymbols)
	for i, b := range buf {
		body[i] = crockford[b&31]
	}
	return format(kind, string(body)), nil
}

// Format builds the identifier of kind whose random part is body (ten
// Crockford symbols); fakes use it to issue deterministic, valid IDs.
func Format(kind Kind, body string) (string, error) {
	body = strings.ToUpper(body)
	if len(body) != randomSymbols {
		return "", fmt.Errorf("%w: body must have %d symbols", ErrInvalid, randomSymbols)
	}
	for _, c := range body {
		if !strings.ContainsRune(crockford, c) {
			return "", fmt.Errorf("%w: %q is not a Crockford symbol", ErrInvalid, c)
		}
	}
	return format(kind, body), nil
}

func format(kind Kind, body string) string {
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

// Parse checks s as an identifier of kind and returns its canonical form.
// It accepts lower case, missing or extra hyphens and spaces in the body,
// and Crockford's look-alikes (O→0, I and L→1).
func Parse(kind Kind, s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	prefix, rest, ok := strings.Cut(s, "-")
	if !ok || len(prefix) != 2 {
		return "", fmt.Errorf("%w: %q", ErrInvalid, s)
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
			return "", fmt.Errorf("%w: %q", ErrInvalid, s)
		}
		body.WriteRune(c)
	}
	b := body.String()
	if len(b) != randomSymbols+1 || checkSymbol(b[:randomSymbols]) != b[randomSymbols] {
		return "", fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	switch Kind(prefix) {
	case Partner, Location, Enrollment, DuplicateAttempt, DuplicateClaim:
	default:
		return "", fmt.Errorf("%w: unknown prefix in %q", ErrInvalid, s)
	}
	if Kind(prefix) != kind {
		return "", fmt.Errorf("%w: %q is a %s identifier, not %s", ErrWrongKind, s, prefix, kind)
	}
	return format(kind, b[:randomSymbols]), nil
}

// Read is how a service reads an identifier a caller sent (a path segment,
// a query parameter): its canonical form when it is an identifier of one of
// kinds, else a 422 problem with code (the service's own) whose field error
// says what was expected.
func Read(s, field, code string, kinds ...Kind) (string, error) {
	var first error
	for _, k := range kinds {
		id, err := Parse(k, s)
		if err == nil {
			return id, nil
		}
		if first == nil || (errors.Is(first, ErrWrongKind) && !errors.Is(err, ErrWrongKind)) {
			first = err
		}
	}
	detail := "the identifier is malformed"
	if errors.Is(first, ErrWrongKind) {
		detail = "the identifier is of another kind"
	}
	return "", apperr.Invalid(code, detail, FieldError(field, first, kinds...))
}

// FieldError is the field of a request problem for err, an error of Parse
// for field: id.wrong_kind for an identifier of another kind than kinds,
// id.invalid otherwise.
func FieldError(field string, err error, kinds ...Kind) apperr.FieldError {
	if errors.Is(err, ErrWrongKind) {
		return apperr.FieldError{Field: field, Code: CodeWrongKind, Message: "must be " + article(kinds) + " identifier"}
	}
	return apperr.FieldError{Field: field, Code: CodeInvalid,
		Message: "must be " + article(kinds) + " identifier (" + string(kinds[0]) + "-XXXX-XXXX-XXX) with a valid check symbol"}
}

// article names kinds for a message: "a PG-…", "a PG-… or PL-…", "an EN-…"
// (as the first letter is read out).
func article(kinds []Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k) + "-…"
	}
	a := "a "
	if strings.ContainsRune("AEFHILMNORSX", rune(kinds[0][0])) {
		a = "an "
	}
	return a + strings.Join(names, " or ")
}
