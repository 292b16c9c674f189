// Package events connects the relationships service to the bus: inbound
// handlers feed the partner projection from registration events, and
// ToDraft maps the Relationship aggregate's domain events to the published
// language (pkg/events/relationships/v1) for the outbox.
package events

import (
	"fmt"

	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// ToDraft maps one domain event to its outbox draft. The subject (and so the
// partition key and per-partner sequence) is the reseller's global ID: the
// partner whose directory the access is over. It fails on an event it does
// not know, so that a new domain event cannot be dropped silently.
func ToDraft(e domain.Event) (outbox.Draft, error) {
	var (
		typ   string
		data  any
		class string
	)
	switch ev := e.(type) {
	case domain.RequestCreated:
		typ, data = relv1.TypeRequestCreated, relv1.RequestCreated{
			Parties: parties(ev.EventHeader), RequestID: ev.RequestID, Kind: string(ev.Kind), Market: ev.Market,
			Roles: ev.Roles, DurationDays: ev.DurationDays, AutoExtend: ev.AutoExtend, ExpiresAt: ev.ExpiresAt.UTC(),
			CreatedBy: ev.CreatedBy, SealedInvitation: ev.SealedInvitation,
		}
		if len(ev.SealedInvitation) > 0 {
			class = DataClassificationRestricted // readers redact sealed_* members (the timeline does)
		}
	case domain.RequestAccepted:
		typ, data = relv1.TypeRequestAccepted, relv1.RequestAccepted{
			Parties: parties(ev.EventHeader), RequestID: ev.RequestID, Kind: string(ev.Kind), Roles: ev.Roles, AcceptedBy: ev.AcceptedBy,
		}
	case domain.RequestDeclined:
		typ, data = relv1.TypeRequestDeclined, relv1.RequestDeclined{
			Parties: parties(ev.EventHeader), RequestID: ev.RequestID, Kind: string(ev.Kind), DeclinedBy: ev.DeclinedBy, Reason: ev.Reason,
		}
	case domain.RequestDeferred:
		typ, data = relv1.TypeRequestDeferred, relv1.RequestDeferred{
			Parties: parties(ev.EventHeader), RequestID: ev.RequestID, DeferredBy: ev.DeferredBy, ExpiresAt: ev.ExpiresAt.UTC(),
		}
	case domain.RequestExpired:
		typ, data = relv1.TypeRequestExpired, relv1.RequestExpired{
			Parties: parties(ev.EventHeader), RequestID: ev.RequestID, Kind: string(ev.Kind),
		}
	case domain.RequestUndelivered:
		typ, data = relv1.TypeRequestUndelivered, relv1.RequestUndelivered{
			Parties: parties(ev.EventHeader), RequestID: ev.RequestID, Kind: string(ev.Kind), TemplateID: ev.Template, Reason: ev.Reason,
		}
	case domain.RequestReminderDue:
		typ, data = relv1.TypeRequestReminderDue, relv1.RequestReminderDue{
			Parties: parties(ev.EventHeader), RequestID: ev.RequestID, ExpiresAt: ev.ExpiresAt.UTC(),
		}
	case domain.RelationshipEnded:
		typ, data = relv1.TypeRelationshipEnded, relv1.RelationshipEnded{
			Parties: parties(ev.EventHeader), EndedBy: string(ev.EndedBy), EndedBySubject: ev.EndedBySubject, Reason: ev.Reason,
			Cause: string(ev.Cause), AccessTerminated: &ev.AccessTerminated, InvitationWithdrawn: ev.InvitationWithdrawn,
		}
	case domain.AccessGranted:
		typ, data = relv1.TypeAccessGranted, relv1.AccessGranted{
			Parties: parties(ev.EventHeader), GrantID: ev.GrantID, Roles: ev.Roles, StartsAt: ev.StartsAt.UTC(),
			ExpiresAt: ev.ExpiresAt.UTC(), AutoExtend: ev.AutoExtend, Supersedes: ev.Supersedes,
		}
	case domain.AccessExpiring:
		typ, data = relv1.TypeAccessExpiring, relv1.AccessExpiring{
			Parties: parties(ev.EventHeader), GrantID: ev.GrantID, ExpiresAt: ev.ExpiresAt.UTC(), AutoExtend: ev.AutoExtend,
		}
	case domain.AccessExtended:
		typ, data = relv1.TypeAccessExtended, relv1.AccessExtended{
			Parties: parties(ev.EventHeader), GrantID: ev.GrantID, PreviousExpiresAt: ev.PreviousExpiresAt.UTC(), ExpiresAt: ev.ExpiresAt.UTC(),
		}
	case domain.AccessExpired:
		typ, data = relv1.TypeAccessExpired, relv1.AccessExpired{
			Parties: parties(ev.EventHeader), GrantID: ev.GrantID, ExpiresAt: ev.ExpiresAt.UTC(),
		}
	case domain.AccessTerminated:
		typ, data = relv1.TypeAccessTerminated, relv1.AccessTerminated{
			Parties: parties(ev.EventHeader), GrantID: ev.GrantID, Reason: ev.Reason,
		}
	case domain.AccessNarrowed:
		typ, data = relv1.TypeAccessNarrowed, relv1.AccessNarrowed{
			Parties: parties(ev.EventHeader), GrantID: ev.GrantID, Roles: ev.Roles, Removed: ev.Removed,
			NarrowedBy: string(ev.NarrowedBy), NarrowedBySubject: ev.Subject,
		}
	case domain.AccessSuspended:
		reasons := ev.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		typ, data = relv1.TypeAccessSuspended, relv1.AccessSuspended{
			Parties: parties(ev.EventHeader), GrantID: ev.GrantID, Side: string(ev.Side), Reasons: reasons,
		}
	case domain.AccessReinstated:
		typ, data = relv1.TypeAccessReinstated, relv1.AccessReinstated{
			Parties: parties(ev.EventHeader), GrantID: ev.GrantID, ExpiresAt: ev.ExpiresAt.UTC(), Side: string(ev.Side),
		}
	default:
		return outbox.Draft{}, fmt.Errorf("events: no published type for domain event %T", e)
	}
	h := e.Header()
	if h.ResellerID == "" {
		return outbox.Draft{}, fmt.Errorf("events: %s of relationship %s has no reseller", e.EventName(), h.RelationshipID)
	}
	return outbox.Draft{Type: typ, Subject: h.ResellerID, Data: data, DataClassification: class}, nil
}

// DataClassificationRestricted marks an event that carries a sealed
// secret (the dataclassification extension).
const DataClassificationRestricted = "restricted"

// ToDrafts maps every event, in order.
func ToDrafts(evs []domain.Event) ([]outbox.Draft, error) {
	out := make([]outbox.Draft, 0, len(evs))
	for _, e := range evs {
		d, err := ToDraft(e)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func parties(h domain.EventHeader) relv1.Parties {
	return relv1.Parties{
		RelationshipID: h.RelationshipID, ProviderID: h.ProviderID, ResellerID: h.ResellerID,
		ResellerLocationID: h.ResellerLocationID, OccurredAt: h.OccurredAt.UTC(),
	}
}
