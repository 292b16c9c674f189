package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// Inbox handler names (one inbox row per handler and event).
const (
	HandlerApplicationSubmitted    = "on_application_submitted"
	HandlerEnrollmentStatusChanged = "on_enrollment_status_changed"
	HandlerStandingChanged         = "on_standing_changed"
)

// registrationService is the principal of events from the registration
// service: one of ours, trusted to feed the partner projection.
var registrationService = auth.Principal{Kind: auth.KindService, Subject: "registration"}

// Handlers feed the partner projection from registration events. Each runs
// once per event (inbox), in one transaction with the projection change.
type Handlers struct {
	App *app.App
}

// Subscriptions are the events relationships consumes. On a zero Handlers
// they are the declaration the deployment reads.
//
// The projection is read when a partner asks for, grants or answers a
// relationship, never on an onboarding's path, so one worker (per-partner
// order kept, the handlers are cheap) lingers (bus.ReadModelLinger) to take
// the registration events of several onboardings in one transaction.
func (h Handlers) Subscriptions() []bus.Subscription {
	subs := []bus.Subscription{
		{Type: registrationv1.TypeApplicationSubmitted, Inbox: HandlerApplicationSubmitted, Handle: h.OnApplicationSubmitted},
		{Type: registrationv1.TypeEnrollmentStatusChanged, Inbox: HandlerEnrollmentStatusChanged, Handle: h.OnEnrollmentStatusChanged},
		{Type: registrationv1.TypePartnerStandingChanged, Inbox: HandlerStandingChanged, Handle: h.OnStandingChanged},
		{Type: registrationv1.TypeLocationAdded, Inbox: HandlerLocationAdded, Handle: h.OnLocationAdded},
		{Type: registrationv1.TypeProfileChangeApplied, Inbox: HandlerProfileChangeApplied, Handle: h.OnProfileChangeApplied},
		// Only failures are published: nothing on an onboarding's path.
		{Type: notifierv1.TypeInvitationMailFailed, Inbox: HandlerInvitationMailFailed, Handle: h.OnInvitationMailFailed},
	}
	for i := range subs {
		subs[i].Workers, subs[i].Linger = 1, bus.ReadModelLinger
	}
	return subs
}

// OnStandingChanged applies registration's standing change: a partner not in
// good standing can neither ask, be asked nor authorise; its grants are
// suspended (reinstated when active again), its relationships end when it
// is closed.
func (h Handlers) OnStandingChanged(ctx context.Context, ev ce.Event) error {
	var p registrationv1.PartnerStandingChanged
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	if p.PartnerID == "" || p.To == "" {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation, Detail: "standing change without partner_id or to"}
	}
	at := p.ChangedAt
	if at.IsZero() {
		at = ev.Time
	}
	ctx = auth.WithPrincipal(ctx, registrationService)
	return h.App.ApplyStandingChanged(ctx, registrationService, app.StandingChanged{PartnerID: p.PartnerID, Status: p.To,
		Reasons: p.Reasons, ChangedBy: p.ChangedBy, ChangedAt: at})
}

// OnApplicationSubmitted projects a newly registered partner: legal name and
// address (normalized, as shown on the consent view), its location ID,
// market, and the status of each enrollment (indirect_provider and
// indirect_reseller are the ones that count here).
func (h Handlers) OnApplicationSubmitted(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ApplicationSubmitted
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, registrationService)
	a := p.Address.Normalized
	var locations []string
	if p.LocationID != "" {
		locations = []string{p.LocationID}
	}
	_, err := h.App.ApplyPartnerRegistered(ctx, registrationService, app.PartnerRegistered{
		PartnerID: p.PartnerID, LocationIDs: locations, Market: p.Market, LegalName: p.LegalName.Normalized,
		// Registration addresses carry no country: the market is the country.
		Address: domain.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
			PostalCode: a.PostalCode, Country: p.Market},
		OccurredAt: p.SubmittedAt,
	})
	if err != nil {
		return err
	}
	for _, e := range p.Enrollments {
		if _, err := h.App.ApplyEnrollmentStatusChanged(ctx, registrationService, app.EnrollmentStatusChanged{
			PartnerID: p.PartnerID, Program: e.Program, Status: e.Status, OccurredAt: p.SubmittedAt,
		}); err != nil {
			return err
		}
	}
	// This service's first event about a reseller is an invitation, a later
	// action: it links to the onboarding trace remembered here.
	return outbox.RecordOrigin(ctx, p.PartnerID)
}

// OnEnrollmentStatusChanged records an enrollment's new status; an
// enrollment becomes active when its program agreement is accepted.
func (h Handlers) OnEnrollmentStatusChanged(ctx context.Context, ev ce.Event) error {
	var p registrationv1.EnrollmentStatusChanged
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	// Programs and statuses this service does not track are skipped (new
	// ones are compatible additions); an event without them is malformed.
	if p.PartnerID == "" || p.Program == "" || p.To == "" {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation, Detail: "enrollment status change without partner_id, program or to"}
	}
	ctx = auth.WithPrincipal(ctx, registrationService)
	_, err := h.App.ApplyEnrollmentStatusChanged(ctx, registrationService, app.EnrollmentStatusChanged{
		PartnerID: p.PartnerID, Program: p.Program, Status: p.To, Reason: p.Reason, OccurredAt: p.At,
	})
	return err
}
