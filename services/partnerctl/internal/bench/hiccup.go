package bench

import (
	"context"
	"time"
)

// Hiccups is what a hiccup meter saw over a load point: how late a
// goroutine of the driver that asked to sleep a few milliseconds woke up.
// A late wake-up of a few milliseconds is the queue for the two cores; one
// of hundreds is a stall of the machine (the guest not run, a host
// hiccup) that delays every onboarding in flight at once, and a p99 that
// moves with it is the machine's, not the code's.
type Hiccups struct {
	Wakeups int
	Max     time.Duration // the latest wake-up's lateness
	Stalls  int           // wake-ups late by StallThreshold or more
}

// StallThreshold is the lateness counted as a stall.
const StallThreshold = 100 * time.Millisecond

// hiccupInterval is how long the meter sleeps between wake-ups.
const hiccupInterval = 5 * time.Millisecond

// wake records one wake-up after asking to sleep interval and sleeping
// slept.
func (h *Hiccups) wake(interval, slept time.Duration) {
	h.Wakeups++
	late := max(slept-interval, 0)
	h.Max = max(h.Max, late)
	if late >= StallThreshold {
		h.Stalls++
	}
}

// MeasureHiccups sleeps hiccupInterval at a time until ctx ends, then
// sends what it saw.
func MeasureHiccups(ctx context.Context) <-chan Hiccups {
	out := make(chan Hiccups, 1)
	go func() {
		var h Hiccups
		t := time.NewTimer(hiccupInterval)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				out <- h
				return
			case <-t.C:
			}
			now := time.Now()
			h.wake(hiccupInterval, now.Sub(last))
			last = now
			t.Reset(hiccupInterval)
		}
	}()
	return out
}
