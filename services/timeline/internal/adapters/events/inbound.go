// Package events feeds the timeline from the bus: one catch-all durable per
// producer stream hands every well-formed CloudEvent, of any type, to the
// app. Malformed messages never reach it: the router dead-letters them with
// their decode code.
package events

import (
	"context"
	"log/slog"

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
}

// OnEvent records ev; a redelivery or replay is acknowledged without change.
func (in Inbound) OnEvent(ctx context.Context, ev ce.Event) error {
	res, err := in.App.RecordEvent(ctx, app.RecordEvent{
		Event: domain.Event{
			ID: ev.ID, Source: ev.Source, Type: ev.Type, Subject: ev.Subject, Time: ev.Time,
			PartitionKey: ev.PartitionKey, Sequence: ev.Sequence,
			CorrelationID: ev.CorrelationID, CausationID: ev.CausationID, AuthType: ev.AuthType, AuthID: ev.AuthID,
			Data: ev.Data,
		},
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
