package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// CloudEvent extensions that declare an event's acting principal, and their
// authtype values. (The CloudEvents authcontext extension: authclaims, a
// JSON object of claims of the principal, never a credential.)
const (
	ExtAuthType            = "authtype"
	ExtAuthID              = "authid"
	ExtAuthClaims          = "authclaims"
	AuthTypeServiceAccount = "service_account"
	AuthTypeUser           = "user"
)

// Codes of the errors PrincipalForEvent returns.
const (
	CodePrincipalMissing = "auth.principal_missing" // KindUnauthenticated: no authtype/authid
	CodePrincipalUnknown = "auth.principal_unknown" // KindForbidden: not in the directory
	// KindForbidden: the account is bound to a bus user other than the one
	// that published the event (or to none, and a bound user published it).
	CodePrincipalNotPublisher = "auth.principal_not_publisher"
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
	// BusUser binds the account to the bus user (NATS user) of one outside
	// system: events naming the account are taken only when that user
	// published them, on its own intake subjects (intake.<…>.<bus user>),
	// so that another system sharing a role cannot act as this one. An
	// account without it is declared on the shared subjects, by the role's
	// shared bus user (upstream, verifier). A bound account has one role,
	// upstream_system or verifier.
	BusUser string `json:"bus_user,omitempty"`
}

// BusRoles are the roles a bound account may have, with the shared bus
// user of each (whose intake subjects a bound user's extend).
var BusRoles = map[Role]string{RoleUpstreamSystem: "upstream", RoleVerifier: "verifier"}

// busUserName is what a bound bus user may be called: a NATS user name
// that is also a subject token.
var busUserName = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

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
		if a.BusUser != "" {
			switch _, bus := BusRoles[firstRole(a.Roles)]; {
			case !busUserName.MatchString(a.BusUser):
				errs = append(errs, fmt.Errorf("directory: account %q has bus_user %q (want lower-case letters, digits and '-', 2 to 63, a letter first)", id, a.BusUser))
			case slices.Contains(ReservedBusUsers, a.BusUser):
				errs = append(errs, fmt.Errorf("directory: account %q has bus_user %q, a user of the backend itself", id, a.BusUser))
			case len(a.Roles) != 1 || !bus:
				errs = append(errs, fmt.Errorf("directory: account %q is bound to bus user %q: it must have one role, upstream_system or verifier", id, a.BusUser))
			}
		}
		a.Roles = slices.Clone(a.Roles)
		d.accounts[id] = a
	}
	for user, ids := range d.byBusUser() {
		roles := map[Role]bool{}
		for _, id := range ids {
			roles[firstRole(d.accounts[id].Roles)] = true
		}
		if len(roles) > 1 {
			errs = append(errs, fmt.Errorf("directory: bus user %q is bound to accounts of different roles (%s)", user, strings.Join(ids, ", ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

// ReservedBusUsers are the bus users of the backend itself: no account is
// bound to one. The services' own are checked by the deployment (bus
// permissions), which knows them.
var ReservedBusUsers = []string{"admin", "upstream", "verifier"}

func firstRole(roles []Role) Role {
	if len(roles) == 0 {
		return ""
	}
	return roles[0]
}

func (d *Directory) byBusUser() map[string][]string {
	out := map[string][]string{}
	for id, a := range d.accounts {
		if a.BusUser != "" {
			out[a.BusUser] = append(out[a.BusUser], id)
		}
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}

// BusUsers are the bound bus users of the directory with the shared bus
// user whose role each has (upstream or verifier): the deployment gives
// each a NATS user that publishes on its own intake subjects.
func (d *Directory) BusUsers() map[string]string {
	out := map[string]string{}
	for user, ids := range d.byBusUser() {
		out[user] = BusRoles[firstRole(d.accounts[ids[0]].Roles)]
	}
	return out
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

// DevDirectory is the development directory: the upstream portal and the
// verifier bot (declared by their roles' shared bus users), a CRM and a
// KYB service with bus users of their own, and an operator account.
func DevDirectory() *Directory {
	d, err := NewDirectory(map[string]Account{
		"upstream-portal": {Name: "Upstream registration portal", Roles: []Role{RoleUpstreamSystem}},
		"verifier-bot":    {Name: "Verification service", Roles: []Role{RoleVerifier}},
		"crm-west":        {Name: "CRM (west), its own bus user", Roles: []Role{RoleUpstreamSystem}, BusUser: "crm-west"},
		"kyb-checks":      {Name: "KYB checks, its own bus user", Roles: []Role{RoleVerifier}, BusUser: "kyb-checks"},
		"ops":             {Name: "Operations", Roles: []Role{RoleOperator}},
	})
	if err != nil {
		panic(err) // a literal above is wrong: a programming error
	}
	return d
}

// PrincipalForEvent returns the principal a CloudEvent declares with its
// authtype/authid extensions; publisher is the bus user that published it
// when its subject names one (ce.Event.Publisher), else empty. Without
// the extensions it fails with auth.principal_missing (unauthenticated);
// an id the directory does not know under that authtype fails with
// auth.principal_unknown, and an account bound to another bus user (or to
// none, when a bound user published) with auth.principal_not_publisher
// (forbidden). All are permanent errors: such an event goes to the dead
// letters.
func (d *Directory) PrincipalForEvent(authtype, authid, publisher string) (Principal, error) {
	if authtype == "" || authid == "" {
		return Principal{}, apperr.New(apperr.KindUnauthenticated, CodePrincipalMissing,
			"the event does not declare its principal (extensions authtype and authid)")
	}
	a, ok := d.accounts[authid]
	if !ok || a.Type != authtype {
		return Principal{}, apperr.Forbidden(CodePrincipalUnknown, "the event's principal is not known").
			With(ExtAuthType, authtype).With(ExtAuthID, authid)
	}
	if a.BusUser != publisher {
		detail := fmt.Sprintf("the account is bound to bus user %q; the event was published by the shared bus user", a.BusUser)
		switch {
		case a.BusUser == "":
			detail = fmt.Sprintf("the account is declared by its role's shared bus user; the event was published by bus user %q", publisher)
		case publisher != "":
			detail = fmt.Sprintf("the account is bound to bus user %q; the event was published by bus user %q", a.BusUser, publisher)
		}
		return Principal{}, apperr.Forbidden(CodePrincipalNotPublisher, detail).With(ExtAuthID, authid)
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

// eventClaims is the authclaims extension of an event: the roles its actor
// acted in.
type eventClaims struct {
	Roles []Role `json:"roles"`
}

// EventClaims returns the authclaims extension value with which an event
// caused by p declares the roles its actor acted in, e.g.
// {"roles":["operator"]}; "" for a principal without roles (our services
// reacting to each other's events).
func EventClaims(p Principal) string {
	if len(p.Roles) == 0 {
		return ""
	}
	b, _ := json.Marshal(eventClaims{Roles: p.Roles}) // strings only
	return string(b)
}

// ClaimsOfPartnerSide reports whether an event's authclaims value declares
// an actor of the partner's side: roles, none of them staff's (operator,
// verifier). Claims that are absent (events published before round 48, our
// services' reactions) or unreadable do not.
func ClaimsOfPartnerSide(claims string) bool {
	var c eventClaims
	if claims == "" || json.Unmarshal([]byte(claims), &c) != nil || len(c.Roles) == 0 {
		return false
	}
	return !(Principal{Roles: c.Roles}).IsStaff()
}
