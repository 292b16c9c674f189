// Package events feeds the timeline from the bus: one catch-all durable per
// producer stream hands every well-formed CloudEvent, of any type, to the
// app, and one durable per other consumer's dead-letter subject hands it
// their dead letters. Malformed events never reach it: the router
// dead-letters them with their decode code (and skips malformed dead
// letters, which are dead letters already).
package events

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Inbound handles bus events.
type Inbound struct {
	App *app.App
	Log *slog.Logger
	// HandOff gives the webhook dispatcher the deliveries an event created
	// (claimed by this replica), once their transaction has committed.
	HandOff func(e domain.Event, deliveries []app.NewDelivery)
}

// Subscriptions are what the timeline reads, derived from the stream
// catalog: one catch-all durable per producer stream (INTAKE is left out:
// its events are requests about no partner yet, and registration answers
// each with an event that is on the timeline; NOTIFIER is in: a mail never
// delivered is often why a partner is stuck), and one per other service's
// dead-letter subject (a dead letter about a partner is often why it is
// stuck; the timeline's own is never read: one it could not read would come
// back to it forever). The store is idempotent by event, so there is no
// inbox; timelines are ordered by event time, not arrival, so its durables
// are shared (every replica pulls from them) and one worker (the same
// settings for every durable: one worker for all of them) takes big batches
// across streams: one replica records one stream in order, which the feed keeps
// (with several, two batches of a stream may commit the other way round;
// the feed says so). A dead
// letter that is not a readable CloudEvent was dead-lettered already and is
// skipped, not dead-lettered again.
func (in Inbound) Subscriptions() []bus.Subscription {
	var subs []bus.Subscription
	for _, f := range bus.ProducerFilters() {
		subs = append(subs, bus.Subscription{Type: bus.AnyType, Filter: f, Handle: in.OnEvent, Shared: true, Workers: 1, Batch: 200, Linger: bus.ReadModelLinger})
	}
	for _, f := range bus.DeadLetterFilters("timeline") {
		subs = append(subs, bus.Subscription{Type: bus.AnyType, Filter: f, Headers: in.OnDeadLetter, KeepUndecodable: true, Shared: true, Workers: 1, Batch: 200, Linger: bus.ReadModelLinger})
	}
	return subs
}

// OnDeadLetter records another consumer's dead letter of ev (the dlq-*
// headers say who refused it and why); a redelivery is acknowledged without
// change.
func (in Inbound) OnDeadLetter(ctx context.Context, ev ce.Event, headers map[string]string) error {
	delivered, _ := strconv.Atoi(headers[bus.DLQDelivered])
	at, err := time.Parse(time.RFC3339Nano, headers[bus.DLQTime])
	if err != nil {
		at = time.Time{} // recorded at arrival
	}
	dl := &domain.DeadLetter{Code: headers[bus.DLQCode], Reason: headers[bus.DLQReason],
		Service: headers[bus.DLQService], Handler: headers[bus.DLQHandler], Delivered: delivered}
	e := toDomain(ev)
	e.DeadLetter = dl
	res, err := in.App.RecordDeadLetter(ctx, app.RecordDeadLetter{Event: e, DataClassification: ev.DataClassification, At: at})
	if err != nil {
		return err // a dead letter without dlq-service/dlq-handler is permanent: dead-lettered on deadletter.timeline, never consumed
	}
	switch {
	case !res.Fresh:
		in.Log.DebugContext(ctx, "dead letter already on the timeline", "type", ev.Type, "id", ev.ID, "consumer", dl.Service, "handler", dl.Handler)
	case res.Again:
		in.Log.InfoContext(ctx, "event dead-lettered again by its handler", "type", ev.Type, "id", ev.ID, "consumer", dl.Service,
			"handler", dl.Handler, "code", dl.Code)
	}
	return nil
}

func toDomain(ev ce.Event) domain.Event {
	return domain.Event{
		ID: ev.ID, Source: ev.Source, Type: ev.Type, Subject: ev.Subject, Time: ev.Time,
		PartitionKey: ev.PartitionKey, Sequence: ev.Sequence,
		CorrelationID: ev.CorrelationID, CausationID: ev.CausationID, AuthType: ev.AuthType, AuthID: ev.AuthID,
		DataContentType: ev.DataContentType, DataSchema: ev.DataSchema, TraceParent: ev.TraceParent,
		DataClassification: ev.DataClassification, Extensions: ev.Extensions,
		Data: ev.Data,
	}
}

// OnEvent records ev; a redelivery or replay is acknowledged without change.
// The router hands a worker's batch to OnEvent inside one transaction: the
// events are collected and recorded together just before it commits (one
// insert for the batch, see RecordEvents), and an error then fails the
// batch, which the router handles again event by event.
func (in Inbound) OnEvent(ctx context.Context, ev ce.Event) error {
	rec := in.App.Prepare(app.RecordEvent{Event: toDomain(ev), DataClassification: ev.DataClassification})
	return pg.Defer(ctx, recordBatch{}, rec, in.record)
}

// recordBatch names the timeline's batch of events in a transaction.
type recordBatch struct{}

// record stores a transaction's events and hands their webhook deliveries
// to the dispatcher once it has committed.
func (in Inbound) record(ctx context.Context, recs []app.Recording) error {
	res, err := in.App.RecordEvents(ctx, recs)
	if err != nil {
		return err // transient: redelivered with backoff, dead-lettered after BUS_MAX_DELIVER
	}
	for _, r := range res {
		e := r.Event
		if len(r.Deliveries) > 0 && in.HandOff != nil {
			pg.AfterCommit(ctx, func() { in.HandOff(e, r.Deliveries) })
		}
		if !r.Fresh {
			in.Log.DebugContext(ctx, "event already on the timeline", "type", e.Type, "id", e.ID, "source", e.Source)
		} else if len(r.Partners) == 0 {
			in.Log.DebugContext(ctx, "event concerns no partner", "type", e.Type, "id", e.ID, "subject", e.Subject)
		}
	}
	return nil
}
