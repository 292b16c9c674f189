package domain

import (
	"crypto/rand"
	"io"

	"github.com/partnerhub/onboarding/pkg/ids"
)

// The identifiers the service issues have the format of pkg/ids (a kind
// prefix, ten random Crockford symbols and a check symbol, grouped for
// humans: "PG-7K3M-9QXD-2TW"), which every other service reads them with;
// here each kind has its own type.

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

// ParsePartnerID parses a global partner ID.
func ParsePartnerID(s string) (PartnerID, error) {
	id, err := ids.Parse(ids.Partner, s)
	return PartnerID(id), err
}

// ParseLocationID parses a location partner ID.
func ParseLocationID(s string) (LocationID, error) {
	id, err := ids.Parse(ids.Location, s)
	return LocationID(id), err
}

// ParseEnrollmentID parses an enrollment ID.
func ParseEnrollmentID(s string) (EnrollmentID, error) {
	id, err := ids.Parse(ids.Enrollment, s)
	return EnrollmentID(id), err
}

// ParseDuplicateAttemptID parses a duplicate attempt ID.
func ParseDuplicateAttemptID(s string) (DuplicateAttemptID, error) {
	id, err := ids.Parse(ids.DuplicateAttempt, s)
	return DuplicateAttemptID(id), err
}

// RandomIDs issues identifiers from crypto/rand (or Rand when set). It is the
// production implementation of the app's ID generator port; uniqueness is
// still the database's job.
type RandomIDs struct {
	Rand io.Reader // nil means crypto/rand
}

func (g RandomIDs) next(kind ids.Kind) string {
	r := g.Rand
	if r == nil {
		r = rand.Reader
	}
	id, err := ids.New(kind, r)
	if err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ crashes instead).
		panic(err)
	}
	return id
}

// NewPartnerID issues a global partner ID.
func (g RandomIDs) NewPartnerID() PartnerID { return PartnerID(g.next(ids.Partner)) }

// NewLocationID issues a location partner ID.
func (g RandomIDs) NewLocationID() LocationID { return LocationID(g.next(ids.Location)) }

// NewEnrollmentID issues an enrollment ID.
func (g RandomIDs) NewEnrollmentID() EnrollmentID { return EnrollmentID(g.next(ids.Enrollment)) }

// NewDuplicateAttemptID issues a duplicate attempt ID.
func (g RandomIDs) NewDuplicateAttemptID() DuplicateAttemptID {
	return DuplicateAttemptID(g.next(ids.DuplicateAttempt))
}

// NewClaimID issues a duplicate claim ID.
func (g RandomIDs) NewClaimID() ClaimID { return ClaimID(g.next(ids.DuplicateClaim)) }
