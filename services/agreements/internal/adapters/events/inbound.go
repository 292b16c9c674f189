package events

import (
	"context"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/agreements/internal/app"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// PartnerLocker takes a partner's row lock in the transaction carried by ctx.
type PartnerLocker interface {
	Lock(ctx context.Context, partnerID string) error
}

// Inbound handles the events the agreements service consumes.
type Inbound struct {
	App      app.Application
	Partners PartnerLocker
}

// Handler names, recorded in the inbox.
const (
	HandlerApplicationSubmitted = "on_application_submitted"
	HandlerVerificationApproved = "on_verification_approved"
	HandlerVerificationRejected = "on_verification_rejected"
	HandlerVerificationRevoked  = "on_verification_revoked"
	HandlerStandingChanged      = "on_standing_changed"
)

// Subscriptions are the events agreements consumes, each handled once
// (inbox) in the transaction of its effects. On a zero Inbound they are the
// declaration the deployment reads.
func (h Inbound) Subscriptions() []bus.Subscription {
	return []bus.Subscription{
		// The partner's projection and its network-terms acceptance are
		// needed only once its verification is decided, much later: they
		// ride in the next urgent transaction of their worker.
		{Type: registrationv1.TypeApplicationSubmitted, Inbox: HandlerApplicationSubmitted, Handle: h.OnApplicationSubmitted,
			Linger: bus.ProjectionLinger},
		{Type: verificationv1.TypeVerificationApproved, Inbox: HandlerVerificationApproved, Handle: h.OnVerificationApproved},
		{Type: verificationv1.TypeVerificationRejected, Inbox: HandlerVerificationRejected, Handle: h.OnVerificationRejected},
		{Type: verificationv1.TypeVerificationRevoked, Inbox: HandlerVerificationRevoked, Handle: h.OnVerificationRevoked},
		{Type: registrationv1.TypePartnerStandingChanged, Inbox: HandlerStandingChanged, Handle: h.OnStandingChanged},
		{Type: registrationv1.TypeEnrollmentAdded, Inbox: HandlerEnrollmentAdded, Handle: h.OnEnrollmentAdded},
	}
}

// OnStandingChanged suspends the partner's gated acceptances when it
// leaves good standing and reinstates them when it is active again.
func (h Inbound) OnStandingChanged(ctx context.Context, ev ce.Event) error {
	var p registrationv1.PartnerStandingChanged
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	id := strings.TrimSpace(p.PartnerID)
	if err := h.Partners.Lock(ctx, id); err != nil {
		return err
	}
	at := p.ChangedAt
	if at.IsZero() {
		at = ev.Time
	}
	if _, err := h.App.ApplyStandingChanged.Handle(ctx, app.ApplyStandingChangedCommand{PartnerID: id, Status: p.To,
		Reasons: p.Reasons, ChangedAt: at, EventID: ev.ID}); err != nil {
		return err
	}
	return h.App.CompletePending.Handle(ctx, id)
}

// OnApplicationSubmitted projects the registered partner and records the
// partner-network agreement its applicant affirmed.
func (h Inbound) OnApplicationSubmitted(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ApplicationSubmitted
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	cmd := app.ApplyPartnerRegisteredCommand{Registration: registration(p)}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	if _, err := h.App.ApplyPartnerRegistered.Handle(ctx, cmd); err != nil {
		return err
	}
	// An acceptance may have come first (the partner unknown here yet).
	return h.App.CompletePending.Handle(ctx, p.PartnerID)
}

// registration maps the registration event to the projection's input. The
// applicant's affirmation of the network terms becomes the acceptance's
// evidence: who submitted, the contact's name and e-mail, when affirmed.
func registration(p registrationv1.ApplicationSubmitted) domain.Registration {
	r := domain.Registration{
		PartnerID: p.PartnerID, LocationID: p.LocationID, Market: p.Market,
		Enrollments: map[string]string{}, RegisteredAt: p.SubmittedAt, RegisteredBy: p.SubmittedBy,
	}
	for _, e := range p.Enrollments {
		r.Programs = append(r.Programs, e.Program)
		if e.EnrollmentID != "" {
			r.Enrollments[e.Program] = e.EnrollmentID
		}
	}
	if p.Affirmations.AcceptNetworkTerms {
		at := p.Affirmations.AffirmedAt
		if at.IsZero() {
			at = p.SubmittedAt
		}
		user := p.SubmittedBy
		if strings.TrimSpace(user) == "" {
			user = p.Contact.Email
		}
		r.Affirmation = &domain.NetworkAffirmation{
			UserID: user, Name: strings.TrimSpace(p.Contact.LastName + " " + p.Contact.FirstName),
			Email: p.Contact.Email, At: at,
		}
	}
	return r
}

// OnVerificationApproved unlocks gated acceptances for the partner.
func (h Inbound) OnVerificationApproved(ctx context.Context, ev ce.Event) error {
	var p verificationv1.VerificationApproved
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	return h.decide(ctx, ev, p.PartnerID, p.DecisionID, domain.VerificationApproved, p.ApprovedAt)
}

// OnVerificationRejected locks gated acceptances (and suspends any current one).
func (h Inbound) OnVerificationRejected(ctx context.Context, ev ce.Event) error {
	var p verificationv1.VerificationRejected
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	// A rejection may come without a decision id; the event id is unique
	// and stable across redeliveries.
	id := p.DecisionID
	if id == "" {
		id = "event:" + ev.ID
	}
	return h.decide(ctx, ev, p.PartnerID, id, domain.VerificationRejected, p.RejectedAt)
}

// OnVerificationRevoked suspends the partner's gated acceptances; the
// records stay (append-only), the status query answers verification_revoked.
func (h Inbound) OnVerificationRevoked(ctx context.Context, ev ce.Event) error {
	var p verificationv1.VerificationRevoked
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	return h.decide(ctx, ev, p.PartnerID, p.DecisionID, domain.VerificationRevoked, p.RevokedAt)
}

func (h Inbound) decide(ctx context.Context, ev ce.Event, partnerID, decisionID string,
	outcome domain.VerificationOutcome, at time.Time) error {
	if at.IsZero() {
		at = ev.Time
	}
	cmd := app.ApplyVerificationDecisionCommand{PartnerID: partnerID, DecisionID: decisionID, Outcome: string(outcome), DecidedAt: at}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "verification"})
	// Exclusive partner lock before the use case lists the acceptances it
	// may have to suspend (see postgres.Partners.Lock).
	if err := h.Partners.Lock(ctx, strings.TrimSpace(partnerID)); err != nil {
		return err
	}
	if _, err := h.App.ApplyVerificationDecision.Handle(ctx, cmd); err != nil {
		return err
	}
	// Acceptances made before the decision reached us: recorded now, or
	// refused.
	return h.App.CompletePending.Handle(ctx, strings.TrimSpace(partnerID))
}
