package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// handoff holds the deliveries claimed by recording transactions of this
// process (or a redelivery), until the dispatcher takes them: the common
// case costs no claim of its own.
type handoff struct {
	mu    sync.Mutex
	items []handed
	// sweepAt is when a sweep of the table is next due: the earliest retry
	// this process scheduled, or the period's end.
	sweepAt time.Time
}

type handed struct {
	id string
	at time.Time
}

func (h *handoff) add(at time.Time, ids ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		h.items = append(h.items, handed{id: id, at: at})
	}
}

// take returns up to n ids whose lease is still safely theirs (handed off
// less than maxAge ago); older ones are dropped: the sweep claims them
// once their lease ends.
func (h *handoff) take(now time.Time, n int, maxAge time.Duration) (ids []string, more bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for ; i < len(h.items) && len(ids) < n; i++ {
		if now.Sub(h.items[i].at) < maxAge {
			ids = append(ids, h.items[i].id)
		}
	}
	h.items = h.items[i:]
	return ids, len(h.items) > 0
}

func (h *handoff) sweepDue(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !now.Before(h.sweepAt)
}

// noteDue makes the next sweep no later than at (zero: unchanged); reset
// starts from now+every.
func (h *handoff) noteDue(at time.Time, reset bool, every time.Duration, now time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if reset {
		h.sweepAt = now.Add(every)
	}
	if !at.IsZero() && at.Before(h.sweepAt) {
		h.sweepAt = at
	}
	return h.sweepAt
}

// HandOff gives the dispatcher deliveries claimed by a transaction that has
// committed, and wakes it.
func (w *Webhooks) HandOff(ids ...string) {
	if len(ids) == 0 {
		return
	}
	w.queue.add(w.Now(), ids...)
	if w.Wake != nil {
		w.Wake()
	}
}

// DeliveryReport says what one dispatcher run did.
type DeliveryReport struct {
	Succeeded, Retrying, Failed int
	Attempts                    []domain.Attempt
	Disabled                    []domain.DisabledEndpoint
}

// DeliverWebhooks is the dispatcher's run (the webhooks job): it sends the
// deliveries handed off to it and, when a sweep is due, those due in the
// table (retries, and leases of a replica that died), records every
// attempt, schedules retries by the policy, and disables an endpoint that
// failed persistently. It returns when it should run next.
func (w *Webhooks) DeliverWebhooks(ctx context.Context, now time.Time) (DeliveryReport, time.Time, error) {
	p := w.Policy
	ids, more := w.queue.take(now, p.Batch, p.Lease/2)
	if want := p.Batch - len(ids); want > 0 && w.queue.sweepDue(now) {
		claimed, next, err := w.Store.ClaimDue(ctx, now, now.Add(p.Lease), want)
		if err != nil {
			return DeliveryReport{}, time.Time{}, fmt.Errorf("claim due deliveries: %w", err)
		}
		ids = append(ids, claimed...)
		w.queue.noteDue(next, true, p.Every, now)
		more = more || len(claimed) == want
	}
	if len(ids) == 0 {
		return DeliveryReport{}, w.queue.noteDue(time.Time{}, false, p.Every, now), nil
	}
	out, err := w.Store.Outgoing(ctx, ids)
	if err != nil {
		return DeliveryReport{}, time.Time{}, fmt.Errorf("load deliveries: %w", err)
	}
	attempts := w.send(ctx, out)
	report, results, health, disable := w.decide(out, attempts)
	disabled, err := w.Store.RecordAttempts(ctx, results, health, disable)
	if err != nil {
		// The claims lapse; the sweep sends these again after their lease.
		return DeliveryReport{}, time.Time{}, fmt.Errorf("record delivery attempts: %w", err)
	}
	report.Disabled = disabled
	var earliest time.Time
	for _, r := range results {
		if r.State == domain.DeliveryPending && (earliest.IsZero() || r.Next.Before(earliest)) {
			earliest = r.Next
		}
	}
	next := w.queue.noteDue(earliest, false, p.Every, now)
	if more {
		next = now
	}
	return report, next, nil
}

// send makes one attempt per delivery, at most Concurrency at once.
func (w *Webhooks) send(ctx context.Context, out []Outgoing) []domain.Attempt {
	attempts := make([]domain.Attempt, len(out))
	keys := map[string][][]byte{} // per endpoint: opened once per run
	for _, o := range out {
		if _, ok := keys[o.Delivery.EndpointID]; ok {
			continue
		}
		var ks [][]byte
		for _, s := range o.Secrets {
			if k, err := w.Keys.Open(o.Delivery.EndpointID, s.ID, s.Sealed); err == nil {
				ks = append(ks, k)
			}
		}
		keys[o.Delivery.EndpointID] = ks
	}
	sem := make(chan struct{}, max(1, w.Policy.Concurrency))
	var wg sync.WaitGroup
	for i, o := range out {
		ks := keys[o.Delivery.EndpointID]
		body, err := o.Event.StructuredJSON()
		if err != nil || len(ks) == 0 {
			why := "no usable signing secret (WEBHOOK_SECRET_KEY changed?)"
			if err != nil {
				why = "the event cannot be encoded: " + err.Error()
			}
			attempts[i] = domain.Attempt{At: w.Now().UTC(), Error: why}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a := w.Sender.Send(ctx, o.URL, o.Event.ID, w.Now(), body, ks)
			a.Manual = o.Manual
			attempts[i] = a
		}()
	}
	wg.Wait()
	return attempts
}

// decide turns attempts into the deliveries' next states, the endpoints'
// health and the endpoints to disable.
func (w *Webhooks) decide(out []Outgoing, attempts []domain.Attempt) (DeliveryReport, []AttemptResult, []EndpointHealth, []domain.DisabledEndpoint) {
	var report DeliveryReport
	results := make([]AttemptResult, len(out))
	type standing struct {
		last         time.Time
		ok           bool
		failingSince time.Time // first failure after the batch's last success
	}
	health := map[string]*standing{}
	var order []string
	var disable []domain.DisabledEndpoint
	for i, o := range out {
		a := attempts[i]
		report.Attempts = append(report.Attempts, a)
		r := AttemptResult{DeliveryID: o.Delivery.ID, Attempts: o.Delivery.Attempts, Attempt: a}
		first := o.FirstAttempt
		if first.IsZero() {
			first = a.At
		}
		switch delay, retry := w.Policy.Retry.Next(o.Delivery.Attempts + 1); {
		case a.Succeeded():
			r.State = domain.DeliverySucceeded
			report.Succeeded++
		case retry && !o.Manual:
			r.State, r.Next = domain.DeliveryPending, a.At.Add(delay)
			report.Retrying++
		default:
			r.State = domain.DeliveryFailed
			report.Failed++
		}
		results[i] = r
		if o.Manual {
			continue // a redelivery by hand says nothing about the endpoint's health
		}
		h, ok := health[o.Delivery.EndpointID]
		if !ok {
			h = &standing{}
			health[o.Delivery.EndpointID] = h
			order = append(order, o.Delivery.EndpointID)
		}
		if a.At.After(h.last) || h.last.IsZero() {
			h.last, h.ok = a.At, a.Succeeded()
		}
		switch {
		case a.Succeeded():
			h.failingSince = time.Time{}
		case h.failingSince.IsZero():
			h.failingSince = a.At
		}
		if r.State == domain.DeliveryFailed {
			disable = append(disable, domain.DisabledEndpoint{EndpointID: o.Delivery.EndpointID, Consumer: o.Consumer,
				URL: domain.DisplayURL(o.URL), Reason: domain.DisabledPersistentFailure, FailingSince: first,
				LastDeliveryID: o.Delivery.ID, LastStatus: a.Status, LastError: a.Error, DisabledAt: a.At})
		}
	}
	hs := make([]EndpointHealth, 0, len(order))
	for _, id := range order {
		h := health[id]
		eh := EndpointHealth{EndpointID: id}
		if !h.ok {
			eh.FailingSince = h.failingSince
		}
		hs = append(hs, eh)
	}
	return report, results, hs, disable
}
