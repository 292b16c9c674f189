package app

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// handoff holds the deliveries claimed by recording transactions of this
// process (with the event and endpoint they send: no read to send them), or
// by a redelivery (loaded when sent), until the dispatcher takes them.
type handoff struct {
	mu    sync.Mutex
	items []handed
	// sweepAt is when a sweep of the table is next due: the earliest retry
	// this process scheduled, or the period's end.
	sweepAt time.Time
}

type handed struct {
	id  string
	at  time.Time
	out *Outgoing // nil: load it from the store
}

func (h *handoff) add(items ...handed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.items = append(h.items, items...)
}

// ready says whether a run should take the queue now: it is full, or its
// oldest item waited window (so that the deliveries of events recorded a
// few milliseconds apart go out, and are recorded, together); else when.
func (h *handoff) ready(now time.Time, window time.Duration, batch int) (bool, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.items) == 0 {
		return false, time.Time{}
	}
	due := h.items[0].at.Add(window)
	return len(h.items) >= batch || !now.Before(due), due
}

// take returns up to n items whose claim is still safely theirs (handed
// off less than maxAge ago); older ones are dropped: the sweep claims them
// once their lease ends.
func (h *handoff) take(now time.Time, n int, maxAge time.Duration) (items []handed, more bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for ; i < len(h.items) && len(items) < n; i++ {
		if now.Sub(h.items[i].at) < maxAge {
			items = append(items, h.items[i])
		}
	}
	h.items = h.items[i:]
	return items, len(h.items) > 0
}

// leases calls fn with each item's delivery and when its lease began.
func (h *handoff) leases(fn func(id string, at time.Time)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range h.items {
		fn(it.id, it.at)
	}
}

// renewed notes that the leases of ids began again at at.
func (h *handoff) renewed(ids map[string]bool, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.items {
		if ids[h.items[i].id] && h.items[i].at.Before(at) {
			h.items[i].at = at
		}
	}
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

// endpointCache keeps what sending to an endpoint takes (URL, consumer,
// sealed secrets) for a few seconds: most deliveries go out without a
// read. A change made through this replica's API forgets the entry at once;
// one made through another replica shows within the TTL (a rotation keeps
// the previous secret signing for its overlap).
type endpointCache struct {
	mu      sync.Mutex
	entries map[string]cachedEndpoint
}

type cachedEndpoint struct {
	EndpointForSend
	loaded time.Time
}

// endpointTTL is how long a cached endpoint is used.
const endpointTTL = 5 * time.Second

func (c *endpointCache) get(id string, now time.Time) (EndpointForSend, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.Sub(e.loaded) > endpointTTL {
		return EndpointForSend{}, false
	}
	return e.EndpointForSend, true
}

func (c *endpointCache) put(e EndpointForSend, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedEndpoint{}
	}
	c.entries[e.ID] = cachedEndpoint{EndpointForSend: e, loaded: now}
}

func (c *endpointCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}

// HandOffRecorded gives the dispatcher the deliveries that recording e
// created, once the recording transaction has committed, and wakes it.
func (w *Webhooks) HandOffRecorded(e domain.Event, ds []NewDelivery) {
	now := w.Now()
	items := make([]handed, 0, len(ds))
	for _, d := range ds {
		h := handed{id: d.ID, at: now}
		if d.EndpointID != "" {
			h.out = &Outgoing{Delivery: domain.Delivery{ID: d.ID, EndpointID: d.EndpointID, EventSource: e.Source, EventID: e.ID,
				EventType: e.Type, State: domain.DeliveryPending}, Event: e}
		}
		items = append(items, h)
	}
	w.queue.add(items...)
	if w.Wake != nil {
		w.Wake()
	}
}

// HandOff gives the dispatcher deliveries claimed by a transaction that has
// committed (a redelivery), and wakes it.
func (w *Webhooks) HandOff(ids ...string) {
	now := w.Now()
	for _, id := range ids {
		w.queue.add(handed{id: id, at: now.Add(-w.Policy.Window)}) // asked for by hand: at once
	}
	if w.Wake != nil {
		w.Wake()
	}
}

// DeliveryReport says what one dispatcher run did: the attempts it
// recorded, and the requests still in flight when it returned.
type DeliveryReport struct {
	Succeeded, Retrying, Failed int
	Attempts                    []domain.Attempt
	Disabled                    []domain.DisabledEndpoint
	InFlight                    int
	// LeaseError is why the leases of what this process holds could not
	// be renewed (they run on; tried again within a second).
	LeaseError error
}

// inFlight is what this process has sent and not yet recorded. A run
// starts requests and returns; each request, when it ends, wakes the
// dispatcher, which records what ended and starts what waits. A receiver
// slow to answer holds its own requests only: not the next run, nor other
// endpoints' deliveries.
type inFlight struct {
	mu         sync.Mutex
	requests   int
	byEndpoint map[string]int
	// sent are the deliveries sent whose attempt is not yet recorded: a
	// redelivery of one waits for that record. since is when each one's
	// lease began (its claim, or its last renewal).
	sent  map[string]bool
	since map[string]time.Time
	// waiting are deliveries ready to send (loaded, with their endpoint)
	// that found no free request, or their endpoint at its share.
	waiting []sendable
	// held are redeliveries of a delivery in sent, not yet loaded.
	held []handed
	// ended are attempts that ended, to be recorded; endedAt is when the
	// oldest ended.
	ended   []endedAttempt
	endedAt time.Time
	// stopping: the service is shutting down; no request starts, and
	// idle is closed when the last one in flight ends.
	stopping bool
	idle     chan struct{}
}

type sendable struct {
	out Outgoing
	at  time.Time // when it was handed off or claimed: its lease began
}

type endedAttempt struct {
	out     Outgoing
	attempt domain.Attempt
}

// takeEnded returns the attempts to record now: all of them when no
// request is in flight, else once the oldest waited window (so that
// attempts ending a few milliseconds apart are recorded together); else
// when they will be due.
func (f *inFlight) takeEnded(now time.Time, window time.Duration) ([]endedAttempt, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ended) == 0 {
		return nil, time.Time{}
	}
	if due := f.endedAt.Add(window); f.requests > 0 && now.Before(due) {
		return nil, due
	}
	ended := f.ended
	f.ended = nil
	return ended, time.Time{}
}

// recorded forgets the deliveries of recorded (or given up) attempts and
// returns the redeliveries that waited for them.
func (f *inFlight) recorded(ended []endedAttempt) []handed {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range ended {
		delete(f.sent, e.out.Delivery.ID)
		delete(f.since, e.out.Delivery.ID)
	}
	var free []handed
	held := f.held[:0]
	for _, h := range f.held {
		if f.sent[h.id] {
			held = append(held, h)
		} else {
			free = append(free, h)
		}
	}
	f.held = held
	return free
}

// hold keeps the redeliveries of deliveries in flight and returns the
// others.
func (f *inFlight) hold(items []handed) []handed {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rest []handed
	for _, it := range items {
		if it.out == nil && f.sent[it.id] {
			f.held = append(f.held, it)
		} else {
			rest = append(rest, it)
		}
	}
	return rest
}

// start picks, oldest first, the deliveries that may be sent now: a free
// request, their endpoint below its share (so that one endpoint slow to
// answer leaves requests to the others), and not already in flight. The
// others wait; those waiting since maxAge or more are dropped (their
// lease is ending: the sweep claims them again once it has).
func (f *inFlight) start(now time.Time, fresh []sendable, limit, share int, maxAge time.Duration) (starting []Outgoing, free int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byEndpoint == nil {
		f.byEndpoint, f.sent, f.since = map[string]int{}, map[string]bool{}, map[string]time.Time{}
	}
	if f.stopping {
		return nil, 0 // their leases lapse: sent after them by the sweep
	}
	candidates := append(f.waiting, fresh...)
	f.waiting = nil
	for _, c := range candidates {
		id, ep := c.out.Delivery.ID, c.out.Delivery.EndpointID
		switch {
		case now.Sub(c.at) >= maxAge:
		case f.requests < limit && f.byEndpoint[ep] < share && !f.sent[id]:
			f.requests++
			f.byEndpoint[ep]++
			f.sent[id], f.since[id] = true, c.at
			starting = append(starting, c.out)
		case f.sent[id]:
			// Loaded before the attempt in flight: loaded again once
			// that attempt is recorded.
			f.held = append(f.held, handed{id: id, at: c.at})
		default:
			f.waiting = append(f.waiting, c)
		}
	}
	return starting, limit - f.requests
}

// leases calls fn with each delivery this process holds, and when its
// lease began: those in flight or ended and not yet recorded, and (unless
// inFlightOnly) those waiting for a request or for a record before them.
func (f *inFlight) leases(inFlightOnly bool, fn func(id string, at time.Time)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, at := range f.since {
		fn(id, at)
	}
	if inFlightOnly {
		return
	}
	for _, c := range f.waiting {
		fn(c.out.Delivery.ID, c.at)
	}
	for _, h := range f.held {
		fn(h.id, h.at)
	}
}

// renewed notes that the leases of ids began again at at.
func (f *inFlight) renewed(ids map[string]bool, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, since := range f.since {
		if ids[id] && since.Before(at) {
			f.since[id] = at
		}
	}
	for i := range f.waiting {
		if c := &f.waiting[i]; ids[c.out.Delivery.ID] && c.at.Before(at) {
			c.at = at
		}
	}
	for i := range f.held {
		if h := &f.held[i]; ids[h.id] && h.at.Before(at) {
			h.at = at
		}
	}
}

// end notes an attempt that ended.
func (f *inFlight) end(o Outgoing, a domain.Attempt, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests--
	if f.byEndpoint[o.Delivery.EndpointID]--; f.byEndpoint[o.Delivery.EndpointID] <= 0 {
		delete(f.byEndpoint, o.Delivery.EndpointID)
	}
	if len(f.ended) == 0 {
		f.endedAt = now
	}
	f.ended = append(f.ended, endedAttempt{out: o, attempt: a})
	if f.requests == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// stop starts no more requests and returns a channel closed once none is
// in flight.
func (f *inFlight) stop() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopping = true
	idle := make(chan struct{})
	if f.requests == 0 {
		close(idle)
	} else {
		f.idle = idle
	}
	return idle
}

func (f *inFlight) free(limit int) (free, requests int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return limit - f.requests, f.requests
}

// DeliverWebhooks is the dispatcher's run (the webhooks job). It records
// the attempts that ended (scheduling retries by the policy, disabling an
// endpoint that failed persistently), then starts requests for the
// deliveries handed off to it and, when a sweep is due, those due in the
// table (retries, and leases of a replica that died), and returns without
// waiting for their answers: each answer wakes it again. It returns when
// it should run next.
//
// The requests are not cut short by ctx: each ends within WEBHOOK_TIMEOUT,
// and Drain records them when the service stops.
func (w *Webhooks) DeliverWebhooks(ctx context.Context, now time.Time) (DeliveryReport, time.Time, error) {
	p := w.Policy
	limit := max(1, p.Concurrency)
	var report DeliveryReport
	var next time.Time
	soonest := func(at time.Time) {
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	ended, due := w.inFlight.takeEnded(now, p.Window)
	soonest(due)
	if len(ended) > 0 {
		r, err := w.record(ctx, ended)
		// Redeliveries asked for while these were in flight go now.
		w.queue.add(w.inFlight.recorded(ended)...)
		if err != nil {
			// The claims lapse; the sweep sends these again after their lease.
			return DeliveryReport{}, time.Time{}, err
		}
		report = r.DeliveryReport
		soonest(w.queue.noteDue(r.retryAt, false, p.Every, now))
	}
	// The leases of what this process holds (waiting, in flight, ended
	// and not yet recorded) are renewed every third of a lease, so that
	// they run out soon only when this process is gone.
	soonest(w.renewLeases(ctx, now, false, &report))
	free, _ := w.inFlight.free(limit)
	var fresh []sendable
	more := false
	if free > 0 {
		var items []handed
		ready, readyAt := w.queue.ready(now, p.Window, p.Batch)
		if ready {
			items, more = w.queue.take(now, p.Batch, p.Lease/2)
		} else {
			soonest(readyAt)
		}
		items = w.inFlight.hold(items)
		var load []string
		for _, it := range items {
			if it.out == nil {
				load = append(load, it.id)
			}
		}
		claimedAt := now
		if want := free - len(items); want > 0 && w.queue.sweepDue(now) {
			claimed, at, err := w.Store.ClaimDue(ctx, now, now.Add(p.Lease), want)
			if err != nil {
				return report, time.Time{}, fmt.Errorf("claim due deliveries: %w", err)
			}
			load = append(load, claimed...)
			w.queue.noteDue(at, true, p.Every, now)
			more = more || len(claimed) == want
		}
		soonest(w.queue.noteDue(time.Time{}, false, p.Every, now))
		if len(load) > 0 {
			loaded, err := w.Store.Outgoing(ctx, load)
			if err != nil {
				return report, time.Time{}, fmt.Errorf("load deliveries: %w", err)
			}
			for _, o := range loaded {
				at := claimedAt
				for _, it := range items {
					if it.id == o.Delivery.ID {
						at = it.at
					}
				}
				fresh = append(fresh, sendable{out: o, at: at})
			}
		}
		recorded, err := w.withEndpoints(ctx, now, items)
		if err != nil {
			return report, time.Time{}, err
		}
		fresh = append(fresh, recorded...)
	}
	share := max(1, (limit+1)/2)
	send, free := w.inFlight.start(now, fresh, limit, share, p.Lease/2)
	w.send(ctx, send)
	if more && free > 0 {
		next = now
	}
	_, report.InFlight = w.inFlight.free(limit)
	return report, next, nil
}

// Drain is the dispatcher's shutdown: no request starts any more, those in
// flight end (each within WEBHOOK_TIMEOUT) and every attempt that ended is
// recorded, so that a receiver that answered is not sent the event again
// after a restart. Deliveries not yet sent keep their lease, and are sent
// after it by the sweep (here or on another replica). ctx bounds the
// record.
func (w *Webhooks) Drain(ctx context.Context) (DeliveryReport, error) {
	idle := w.inFlight.stop()
	if third := w.Policy.Lease / 3; third > 0 {
		// The requests in flight keep their leases until they end.
		tick := time.NewTicker(third)
		defer tick.Stop()
		for waiting := true; waiting; {
			select {
			case <-idle:
				waiting = false
			case <-tick.C:
				w.renewLeases(ctx, w.Now(), true, nil)
			}
		}
	}
	<-idle
	ended, _ := w.inFlight.takeEnded(w.Now(), 0)
	if len(ended) == 0 {
		return DeliveryReport{}, nil
	}
	r, err := w.record(ctx, ended)
	w.inFlight.recorded(ended)
	return r.DeliveryReport, err
}

// renewLeases extends the leases of the deliveries this process holds
// (inFlightOnly: of those in flight and ended) once the oldest began a third
// of a lease ago, and returns when they are next due. A failed renewal is
// reported in report (when given) and tried again within a second; the
// leases run on meanwhile.
func (w *Webhooks) renewLeases(ctx context.Context, now time.Time, inFlightOnly bool, report *DeliveryReport) time.Time {
	third := w.Policy.Lease / 3
	if third <= 0 {
		return time.Time{}
	}
	var ids []string
	var oldest time.Time
	collect := func(id string, at time.Time) {
		ids = append(ids, id)
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	if !inFlightOnly {
		w.queue.leases(collect)
	}
	w.inFlight.leases(inFlightOnly, collect)
	if len(ids) == 0 {
		return time.Time{}
	}
	if due := oldest.Add(third); now.Before(due) {
		return due
	}
	if err := w.Store.ExtendLeases(ctx, ids, now.Add(w.Policy.Lease)); err != nil {
		if report != nil {
			report.LeaseError = err
		}
		return now.Add(min(third, time.Second))
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	w.queue.renewed(set, now)
	w.inFlight.renewed(set, now)
	return now.Add(third)
}

// record stores the outcomes of ended attempts.
func (w *Webhooks) record(ctx context.Context, ended []endedAttempt) (deliveryRecord, error) {
	out := make([]Outgoing, len(ended))
	attempts := make([]domain.Attempt, len(ended))
	for i, e := range ended {
		out[i], attempts[i] = e.out, e.attempt
	}
	report, results, health, disable := w.decide(out, attempts)
	disabled, err := w.Store.RecordAttempts(ctx, results, health, disable)
	if err != nil {
		return deliveryRecord{}, fmt.Errorf("record delivery attempts: %w", err)
	}
	report.Disabled = disabled
	for _, d := range disabled {
		w.endpoints.forget(d.EndpointID)
	}
	r := deliveryRecord{DeliveryReport: report}
	for _, res := range results {
		if res.State == domain.DeliveryPending && (r.retryAt.IsZero() || res.Next.Before(r.retryAt)) {
			r.retryAt = res.Next
		}
	}
	return r, nil
}

// deliveryRecord is what recording attempts did, and the earliest retry it
// scheduled.
type deliveryRecord struct {
	DeliveryReport
	retryAt time.Time
}

// withEndpoints completes the handed-off deliveries of recorded events with
// their endpoints (from the cache, else one read); those of an endpoint
// disabled or deleted meanwhile are left out (a disabled endpoint's are
// cancelled with it, or sent if it is enabled again).
func (w *Webhooks) withEndpoints(ctx context.Context, now time.Time, items []handed) ([]sendable, error) {
	var missing []string
	for _, it := range items {
		if it.out == nil {
			continue
		}
		if _, ok := w.endpoints.get(it.out.Delivery.EndpointID, now); !ok && !slices.Contains(missing, it.out.Delivery.EndpointID) {
			missing = append(missing, it.out.Delivery.EndpointID)
		}
	}
	if len(missing) > 0 {
		found, err := w.Store.EndpointsForSend(ctx, missing)
		if err != nil {
			return nil, fmt.Errorf("load endpoints: %w", err)
		}
		for _, e := range found {
			w.endpoints.put(e, now)
		}
	}
	var out []sendable
	for _, it := range items {
		if it.out == nil {
			continue
		}
		e, ok := w.endpoints.get(it.out.Delivery.EndpointID, now)
		if !ok || e.Status != domain.EndpointEnabled {
			continue
		}
		o := *it.out
		o.URL, o.Consumer, o.Scope, o.Secrets = e.URL, e.Consumer, e.Scope, e.Secrets
		out = append(out, sendable{out: o, at: it.at})
	}
	return out, nil
}

// send starts one attempt per delivery (each has its request); each,
// when it ends, is noted for the next run to record, and wakes it.
func (w *Webhooks) send(ctx context.Context, out []Outgoing) {
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
	for _, o := range out {
		ks := keys[o.Delivery.EndpointID]
		ev := o.Event
		if o.Scope != domain.ScopeAll { // an operator's endpoint reads as staff
			partnerSide(&ev)
		}
		body, err := ev.StructuredJSON()
		if err != nil || len(ks) == 0 {
			why := "no usable signing secret (WEBHOOK_SECRET_KEY changed?)"
			if err != nil {
				why = "the event cannot be encoded: " + err.Error()
			}
			w.ended(o, domain.Attempt{At: w.Now().UTC(), Error: why})
			continue
		}
		go func() {
			// Not cancelled by a shutdown: Drain waits for it (bounded by
			// the sender's timeout) and records it.
			a := w.Sender.Send(context.WithoutCancel(ctx), o.URL, o.Event.ID, w.Now(), body, ks)
			a.Manual = o.Manual
			w.ended(o, a)
		}()
	}
}

func (w *Webhooks) ended(o Outgoing, a domain.Attempt) {
	w.inFlight.end(o, a, w.Now())
	if w.Wake != nil {
		w.Wake()
	}
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
		r := AttemptResult{DeliveryID: o.Delivery.ID, Attempts: o.Delivery.Attempts, Redeliveries: o.Redeliveries, Attempt: a}
		first := o.FirstAttempt
		if first.IsZero() {
			first = a.At
		}
		switch delay, retry := w.Policy.Retry.Next(o.Scheduled + 1); {
		case a.Succeeded():
			r.State = domain.DeliverySucceeded
			report.Succeeded++
		case o.Manual && !o.ResumeAt.IsZero():
			r.State, r.Next = domain.DeliveryPending, o.ResumeAt // the schedule goes on where it was
			report.Retrying++
		case retry && !o.Manual:
			// The delay counts from the attempt's end: a receiver that
			// held it until the timeout is not tried again at once.
			r.State, r.Next = domain.DeliveryPending, a.At.Add(time.Duration(a.Duration)*time.Millisecond+delay)
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
