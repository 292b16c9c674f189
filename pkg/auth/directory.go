package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// CloudEvent extensions that declare an event's acting principal, and their
// authtype values.
const (
	ExtAuthType            = "authtype"
	ExtAuthID              = "authid"
	AuthTypeServiceAccount = "service_account"
	AuthTypeUser           = "user"
)

// Codes of the errors PrincipalForEvent returns.
const (
	CodePrincipalMissing = "auth.principal_missing" // KindUnauthenticated: no authtype/authid
	CodePrincipalUnknown = "auth.principal_unknown" // KindForbidden: not in the directory
)

// DirectoryEnv names the environment variable that may hold the directory
// as inline JSON (see LoadDirectory).
const DirectoryEnv = "PARTNERHUB_PRINCIPALS"

// Account is one entry of a Directory: an identity that may act on the bus.
type Account struct {
	// Type is the authtype it is declared with: service_account (default) or user.
	Type      string `json:"type,omitempty"`
	Name      string `json:"name,omitempty"`
	PartnerID string `json:"partner_id,omitempty"`
	Roles     []Role `json:"roles"`
}

// Directory maps the authid of bus events to their roles and partner. A
// CloudEvent only names its actor; what that actor may do comes from here,
// configured by the operator, never from the event itself.
type Directory struct {
	accounts map[string]Account
}

// NewDirectory validates accounts (keyed by authid) and returns the directory.
func NewDirectory(accounts map[string]Account) (*Directory, error) {
	d := &Directory{accounts: make(map[string]Account, len(accounts))}
	var errs []error
	ids := make([]string, 0, len(accounts))
	for id := range accounts {
		ids = append(ids, id)
	}
	sort.Strings(ids) // stable error order
	for _, id := range ids {
		a := accounts[id]
		if id == "" {
			errs = append(errs, errors.New("directory: an account has an empty id"))
		}
		if a.Type == "" {
			a.Type = AuthTypeServiceAccount
		}
		if a.Type != AuthTypeServiceAccount && a.Type != AuthTypeUser {
			errs = append(errs, fmt.Errorf("directory: account %q has type %q (want service_account or user)", id, a.Type))
		}
		if len(a.Roles) == 0 {
			errs = append(errs, fmt.Errorf("directory: account %q has no roles", id))
		}
		for _, r := range a.Roles {
			if !slices.Contains(KnownRoles, r) {
				errs = append(errs, fmt.Errorf("directory: account %q has unknown role %q", id, r))
			}
		}
		a.Roles = slices.Clone(a.Roles)
		d.accounts[id] = a
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

// ParseDirectory reads a directory from JSON: an object keyed by authid, e.g.
// {"upstream-portal": {"roles": ["upstream_system"]}}.
func ParseDirectory(data []byte) (*Directory, error) {
	var accounts map[string]Account
	if err := json.Unmarshal(data, &accounts); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return NewDirectory(accounts)
}

// LoadDirectory reads the directory from inline JSON (typically the value
// of $PARTNERHUB_PRINCIPALS) or else from the file at path. With neither it
// fails: a service falls back to DevDirectory only when told to explicitly.
func LoadDirectory(path, inline string) (*Directory, error) {
	switch {
	case inline != "":
		return ParseDirectory([]byte(inline))
	case path != "":
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		return ParseDirectory(data)
	default:
		return nil, errors.New("directory: neither a file nor inline JSON is configured")
	}
}

// DevDirectory is the development directory: the upstream portal, the
// verifier bot and an operator account.
func DevDirectory() *Directory {
	d, err := NewDirectory(map[string]Account{
		"upstream-portal": {Name: "Upstream registration portal", Roles: []Role{RoleUpstreamSystem}},
		"verifier-bot":    {Name: "Verification service", Roles: []Role{RoleVerifier}},
		"ops":             {Name: "Operations", Roles: []Role{RoleOperator}},
	})
	if err != nil {
		panic(err) // a literal above is wrong: a programming error
	}
	return d
}

// PrincipalForEvent returns the principal a CloudEvent declares with its
// authtype/authid extensions. Without them it fails with
// auth.principal_missing (unauthenticated); an id the directory does not
// know under that authtype fails with auth.principal_unknown (forbidden).
// Both are permanent errors: such an event goes to the dead letters.
func (d *Directory) PrincipalForEvent(authtype, authid string) (Principal, error) {
	if authtype == "" || authid == "" {
		return Principal{}, apperr.New(apperr.KindUnauthenticated, CodePrincipalMissing,
			"the event does not declare its principal (extensions authtype and authid)")
	}
	a, ok := d.accounts[authid]
	if !ok || a.Type != authtype {
		return Principal{}, apperr.Forbidden(CodePrincipalUnknown, "the event's principal is not known").
			With(ExtAuthType, authtype).With(ExtAuthID, authid)
	}
	kind := KindService
	if a.Type == AuthTypeUser {
		kind = KindUser
	}
	return Principal{Kind: kind, Subject: authid, Name: a.Name, PartnerID: a.PartnerID, Roles: slices.Clone(a.Roles)}, nil
}

// EventAuth returns the authtype/authid extension values with which an event
// caused by p declares its actor.
func EventAuth(p Principal) (authtype, authid string) {
	if p.Kind == KindService {
		return AuthTypeServiceAccount, p.Subject
	}
	return AuthTypeUser, p.Subject
}
