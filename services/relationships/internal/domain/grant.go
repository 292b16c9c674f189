package domain

import "time"

// GrantState is the state of a delegated access grant.
type GrantState string

// Grant states: active → expiring → expired, or terminated at any point.
const (
	GrantActive     GrantState = "active"
	GrantExpiring   GrantState = "expiring"
	GrantExpired    GrantState = "expired"
	GrantTerminated GrantState = "terminated"
	// GrantSuspended is how reads show a live grant held while a party is not
	// in good standing (Grant.Suspended); its timers keep running.
	GrantSuspended GrantState = "suspended"
)

func (s GrantState) live() bool { return s == GrantActive || s == GrantExpiring }

// Grant is the delegated access a reseller consented to: roles over its
// directory for a bounded time.
type Grant struct {
	ID           string
	Roles        RoleSet
	DurationDays int
	AutoExtend   bool
	StartsAt     time.Time
	ExpiresAt    time.Time
	ExpiringAt   time.Time // ExpiresAt minus the expiring lead, never before StartsAt
	State        GrantState
	EndedAt      time.Time
	// Suspended is set while one party is not in good standing: the grant
	// gives no access until both are active again (or it expires).
	Suspended   bool
	SuspendedAt time.Time
	// SuspendedBy is the party whose standing suspended it (empty for a
	// grant suspended before it was recorded).
	SuspendedBy Side
}

// Live reports whether the grant still gives access (stored state).
func (g Grant) Live() bool { return g.State.live() }

// StateAt is the state as of now, for reads: it does not wait for the timer
// poller, so a listing never shows a grant past its expiry as active.
func (g Grant) StateAt(now time.Time) GrantState {
	if g.Live() && g.Suspended {
		return GrantSuspended
	}
	if !g.Live() || g.AutoExtend {
		return g.State
	}
	switch {
	case !now.Before(g.ExpiresAt):
		return GrantExpired
	case !now.Before(g.ExpiringAt):
		return GrantExpiring
	}
	return g.State
}
