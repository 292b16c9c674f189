package domain

import (
	"slices"
	"time"
)

// ResendThrottle is the resend budget of one key: an enrollment id or the
// keyed hash of an address. It exists for unknown keys too, so that the
// throttle's answer never tells whether an enrollment or address is known.
type ResendThrottle struct {
	Key   string
	Sends []time.Time // accepted resends inside the quota window, oldest first
}

// Decision is the throttle's answer.
type Decision struct {
	Allowed       bool
	RetryAfter    time.Duration // zero when allowed
	NextAllowedAt time.Time     // earliest time the next resend will be accepted
}

// NextAllowed returns the earliest time a resend is accepted, without
// recording anything.
func (t *ResendThrottle) NextAllowed(p Policy, now time.Time) time.Time {
	sends := t.recent(now)
	next := now
	if n := len(sends); n > 0 {
		next = later(next, sends[n-1].Add(p.ResendCooldown))
	}
	if len(sends) >= p.DailyQuota {
		// the send that leaves the window first frees one slot
		next = later(next, sends[len(sends)-p.DailyQuota].Add(QuotaWindow))
	}
	return next
}

// Allow decides on a resend at now and records it when allowed.
func (t *ResendThrottle) Allow(p Policy, now time.Time) Decision {
	t.Sends = t.recent(now)
	next := t.NextAllowed(p, now)
	if next.After(now) {
		return Decision{RetryAfter: next.Sub(now), NextAllowedAt: next}
	}
	t.Sends = append(t.Sends, now)
	return Decision{Allowed: true, NextAllowedAt: t.NextAllowed(p, now)}
}

func (t *ResendThrottle) recent(now time.Time) []time.Time {
	cut := now.Add(-QuotaWindow)
	i := 0
	for i < len(t.Sends) && !t.Sends[i].After(cut) {
		i++
	}
	return slices.Clone(t.Sends[i:])
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
