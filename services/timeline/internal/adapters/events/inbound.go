// Package events feeds the timeline from the bus: one catch-all durable per
// producer stream hands every well-formed CloudEvent, of any type, to the
// app, and one durable per other consumer's dead-letter subject hands it
// their dead letters. Malformed messages never reach it: the router dead-letters them with
// their decode code.
package events

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Filters are the producer streams the timeline reads, one durable each
// (bus.Subscriptions["timeline"] grants them). INTAKE is left out: its
// events are requests about no partner yet, and registration answers each
// with an event that is on the timeline. NOTIFIER is in: a mail that was
// never delivered is often why a partner is stuck.
var Filters = []string{
	"registration.>",
	"email.>",
	"notifier.>",
	"verification.>",
	"agreements.>",
	"relationships.>",
}

// DeadLetterFilters are the other consumers' dead-letter subjects, one
// durable each: a dead letter about a partner is often why it is stuck. The
// timeline's own subject (deadletter.timeline) is never consumed: a dead
// letter the timeline cannot read would be dead-lettered back to it forever.
var DeadLetterFilters = []string{
	bus.DeadLetterSubject("registration"),
	bus.DeadLetterSubject("email-ownership"),
	bus.DeadLetterSubject("notifier"),
	bus.DeadLetterSubject("verification"),
	bus.DeadLetterSubject("agreements"),
	bus.DeadLetterSubject("relationships"),
}

// Inbound handles bus events.
type Inbound struct {
	App *app.App
	Log *slog.Logger
}

// Subscribe registers the catch-all handler on every filter.
func (in Inbound) Subscribe(r *bus.Router) {
	for _, f := range Filters {
		r.SubscribeAll(f, in.OnEvent)
	}
	for _, f := range DeadLetterFilters {
		r.SubscribeAllHeaders(f, in.OnDeadLetter)
	}
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
	if !res.Fresh {
		in.Log.DebugContext(ctx, "dead letter already on the timeline", "type", ev.Type, "id", ev.ID, "service", dl.Service, "handler", dl.Handler)
	}
	return nil
}

func toDomain(ev ce.Event) domain.Event {
	return domain.Event{
		ID: ev.ID, Source: ev.Source, Type: ev.Type, Subject: ev.Subject, Time: ev.Time,
		PartitionKey: ev.PartitionKey, Sequence: ev.Sequence,
		CorrelationID: ev.CorrelationID, CausationID: ev.CausationID, AuthType: ev.AuthType, AuthID: ev.AuthID,
		Data: ev.Data,
	}
}

// OnEvent records ev; a redelivery or replay is acknowledged without change.
func (in Inbound) OnEvent(ctx context.Context, ev ce.Event) error {
	res, err := in.App.RecordEvent(ctx, app.RecordEvent{
		Event:              toDomain(ev),
		DataClassification: ev.DataClassification,
	})
	if err != nil {
		return err // transient: redelivered with backoff, dead-lettered after BUS_MAX_DELIVER
	}
	if !res.Fresh {
		in.Log.DebugContext(ctx, "event already on the timeline", "type", ev.Type, "id", ev.ID, "source", ev.Source)
	} else if len(res.Partners) == 0 {
		in.Log.DebugContext(ctx, "event concerns no partner", "type", ev.Type, "id", ev.ID, "subject", ev.Subject)
	}
	return nil
}
