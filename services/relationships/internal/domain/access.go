package domain

import (
	"fmt"
	"slices"
	"time"
)

// AccessRole is one role of the delegated-access catalog a provider may ask for.
type AccessRole string

// The role catalog, least to most privileged.
const (
	RoleBillingReader      AccessRole = "billing_reader"
	RoleSupportAgent       AccessRole = "support_agent"
	RoleCustomerManagement AccessRole = "customer_management"
	RoleHelpdeskAdmin      AccessRole = "helpdesk_admin"
	RoleFullAdministrator  AccessRole = "full_administrator"
)

// Catalog lists every role that can be delegated.
var Catalog = []AccessRole{RoleBillingReader, RoleSupportAgent, RoleCustomerManagement, RoleHelpdeskAdmin, RoleFullAdministrator}

// DefaultRoles is what a request asks for when it names no roles: what a
// distributor needs to manage the reseller's customers and support them, and
// nothing administrative. full_administrator is never a default.
func DefaultRoles() RoleSet {
	return RoleSet{RoleCustomerManagement, RoleSupportAgent}
}

// RoleSet is a sorted set of catalog roles without duplicates.
type RoleSet []AccessRole

// NewRoleSet validates roles against the catalog and returns them as a set.
func NewRoleSet(roles ...AccessRole) (RoleSet, error) {
	if len(roles) == 0 {
		return nil, ErrNoRoles
	}
	out := make(RoleSet, 0, len(roles))
	for _, r := range roles {
		if !slices.Contains(Catalog, r) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownRole, r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Has reports whether s holds r.
func (s RoleSet) Has(r AccessRole) bool { return slices.Contains(s, r) }

// SubsetOf reports whether every role of s is in o.
func (s RoleSet) SubsetOf(o RoleSet) bool {
	for _, r := range s {
		if !o.Has(r) {
			return false
		}
	}
	return true
}

// Minus returns the roles of s that are not in o.
func (s RoleSet) Minus(o RoleSet) RoleSet {
	var out RoleSet
	for _, r := range s {
		if !o.Has(r) {
			out = append(out, r)
		}
	}
	return out
}

// Strings returns the roles as plain strings (for events and views).
func (s RoleSet) Strings() []string {
	out := make([]string, len(s))
	for i, r := range s {
		out[i] = string(r)
	}
	return out
}

// Duration bounds of a grant, in days: one day to two years.
const (
	MinDurationDays     = 1
	MaxDurationDays     = 730
	DefaultDurationDays = 365
)

// AccessTerms is what a request asks the reseller to consent to: which roles,
// for how long, and whether the grant renews itself at expiry.
type AccessTerms struct {
	Roles        RoleSet
	DurationDays int
	AutoExtend   bool
}

// NewAccessTerms validates the terms. Auto-extension is refused together with
// full_administrator: unlimited admin rights must be re-consented to.
func NewAccessTerms(roles RoleSet, durationDays int, autoExtend bool) (AccessTerms, error) {
	if len(roles) == 0 {
		return AccessTerms{}, ErrNoRoles
	}
	rs, err := NewRoleSet(roles...)
	if err != nil {
		return AccessTerms{}, err
	}
	if durationDays < MinDurationDays || durationDays > MaxDurationDays {
		return AccessTerms{}, fmt.Errorf("%w: %d days (allowed %d to %d)", ErrDurationOutOfRange, durationDays, MinDurationDays, MaxDurationDays)
	}
	if autoExtend && rs.Has(RoleFullAdministrator) {
		return AccessTerms{}, ErrAutoExtendFullAdmin
	}
	return AccessTerms{Roles: rs, DurationDays: durationDays, AutoExtend: autoExtend}, nil
}

// Duration returns the grant length. Days are fixed 24-hour periods on UTC
// instants, so deadlines do not move with daylight-saving changes.
func (t AccessTerms) Duration() time.Duration {
	return time.Duration(t.DurationDays) * 24 * time.Hour
}
