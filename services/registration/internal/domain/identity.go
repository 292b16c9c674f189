package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// IdentityKeyKind names one way two registrations can be the same legal entity.
type IdentityKeyKind string

// Identity key kinds; their values are reported in "matched_on".
const (
	KeyNameRegistrationNumber IdentityKeyKind = "name+registration_number"
	KeyNameAddress            IdentityKeyKind = "name+address"
	// KeyRegistrationNumber alone: an official number identifies one legal
	// entity whatever name it is registered under.
	KeyRegistrationNumber IdentityKeyKind = "registration_number"
)

// IdentityKey is one identity key of a registration. The repository keeps
// (market, kind, value) unique while the partner holds its identity.
type IdentityKey struct {
	Kind  IdentityKeyKind `json:"kind"`
	Value string          `json:"value"`
}

// EarlierAccount is an account of the same company (any identity key
// equal) that let go of its identity keys before a registration was
// submitted: its registration was rejected, or it was closed. The company
// may register again; its reviewers are told of the earlier account.
type EarlierAccount struct {
	PartnerID  PartnerID         `json:"partner_id"`
	Status     PartnerStatus     `json:"status"` // rejected or closed
	MatchedOn  []IdentityKeyKind `json:"matched_on"`
	ReleasedAt time.Time         `json:"released_at"`
}

// IdentityKeys computes the keys of a normalized registration from the
// normalized legal-name key, the registration number and the address key, so
// that width, spacing, punctuation and legal-form spelling cannot hide a
// duplicate. The market is not part of the values: uniqueness is per market.
func (n NormalizedRegistration) IdentityKeys() []IdentityKey {
	name := n.Company.LegalNameKey
	keys := []IdentityKey{{Kind: KeyNameAddress, Value: name + "|" + n.Company.Address.Key}}
	if rn := n.Company.RegistrationNumber; rn != nil {
		number := string(rn.Scheme) + ":" + rn.Value
		keys = append(keys,
			IdentityKey{Kind: KeyNameRegistrationNumber, Value: name + "|" + number},
			IdentityKey{Kind: KeyRegistrationNumber, Value: number})
	}
	return keys
}

// ErrDuplicateEntity is the sentinel behind *DuplicateError.
var ErrDuplicateEntity = errors.New("duplicate legal entity")

// DuplicateError is returned by the repository when a new partner's identity
// keys clash with an existing partner in the same market. ExistingPartnerID is
// internal: it must never reach the applicant.
type DuplicateError struct {
	MatchedOn         []IdentityKeyKind
	ExistingPartnerID PartnerID
}

func (e *DuplicateError) Error() string {
	kinds := make([]string, len(e.MatchedOn))
	for i, k := range e.MatchedOn {
		kinds[i] = string(k)
	}
	return fmt.Sprintf("duplicate of partner %s on %s", e.ExistingPartnerID, strings.Join(kinds, ", "))
}

// Is makes errors.Is(err, ErrDuplicateEntity) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicateEntity }

// SortedMatchedOn returns the matched kinds in a stable order.
func (e *DuplicateError) SortedMatchedOn() []IdentityKeyKind {
	out := slices.Clone(e.MatchedOn)
	slices.Sort(out)
	return slices.Compact(out)
}

// ErrIDCollision is returned by the repository when a freshly issued ID is
// already taken; the use case issues new IDs and tries again.
var ErrIDCollision = errors.New("issued identifier already exists")
