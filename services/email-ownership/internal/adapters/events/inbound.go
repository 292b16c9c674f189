package events

import (
	"context"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// HandlerOpenChallenges is the inbox name of the registration handler.
const HandlerOpenChallenges = "open_challenges_on_application_submitted"

// Handlers are the inbound CloudEvent handlers of the service.
type Handlers struct {
	App *app.App
}

// Subscriptions are the events the service consumes, each handled once
// (inbox) in the transaction of its effects. On a nil *Handlers they are
// the declaration the deployment reads.
func (h *Handlers) Subscriptions() []bus.Subscription {
	return []bus.Subscription{
		{Type: registrationv1.TypeApplicationSubmitted, Inbox: HandlerOpenChallenges, Handle: h.OnApplicationSubmitted},
		{Type: registrationv1.TypePartnerStandingChanged, Inbox: HandlerStandingChanged, Handle: h.OnStandingChanged},
		{Type: verificationv1.TypeEmailDisputeUpheld, Inbox: "on_email_dispute_upheld", Handle: h.OnDisputeDecided},
		{Type: verificationv1.TypeEmailDisputeDismissed, Inbox: "on_email_dispute_dismissed", Handle: h.OnDisputeDecided},
		{Type: registrationv1.TypeEnrollmentAdded, Inbox: HandlerEnrollmentAdded, Handle: h.OnEnrollmentAdded},
		{Type: registrationv1.TypeProfileChangeRequested, Inbox: HandlerProfileChange, Handle: h.OnProfileChangeRequested},
		{Type: registrationv1.TypeProfileChangeRejected, Inbox: HandlerProfileChangeRejected, Handle: h.OnProfileChangeRejected},
		{Type: registrationv1.TypeProfileChangeApplied, Inbox: HandlerProfileChangeApplied, Handle: h.OnProfileChangeApplied},
		{Type: notifierv1.TypeMailFailed, Inbox: "on_mail_failed", Handle: h.OnMailFailed},
	}
}

// OnMailFailed keeps why the notifier gave a confirmation mail up on its
// challenge (the notifier's other mails are not this service's).
func (h *Handlers) OnMailFailed(ctx context.Context, ev ce.Event) error {
	var p notifierv1.MailFailed
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	if p.TemplateID != domain.TemplateVerifyEmail {
		return nil
	}
	at := p.FailedAt
	if at.IsZero() {
		at = ev.Time
	}
	return h.App.RecordMailFailure(ctx, app.MailFailureCommand{EnrollmentID: p.EnrollmentID, ChallengeID: p.ChallengeID,
		MailFailure: domain.MailFailure{Reason: p.Reason, Detail: p.LastError, At: at.UTC()}})
}

// HandlerStandingChanged is the inbox name of the standing handler.
const HandlerStandingChanged = "on_standing_changed"

// OnStandingChanged cancels a partner's open challenges when it leaves good
// standing, and restores them when it is active again.
func (h *Handlers) OnStandingChanged(ctx context.Context, ev ce.Event) error {
	var p registrationv1.PartnerStandingChanged
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	at := p.ChangedAt
	if at.IsZero() {
		at = ev.Time
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	return awaitPartner(h.App.ApplyStandingChanged(ctx, app.StandingChangedCommand{PartnerID: p.PartnerID, Status: p.To, ChangedAt: at}), p.PartnerID)
}

// awaitPartner turns app.CodePartnerUnknown — an event about a partner
// whose registration this service has not heard of yet, on another
// durable — into a wait for it (bus.AwaitingPartner); other errors pass.
func awaitPartner(err error, partnerID string) error {
	if ae, ok := apperr.As(err); ok && ae.Code == app.CodePartnerUnknown {
		return bus.AwaitingPartner(ae, partnerID)
	}
	return err
}

// OnApplicationSubmitted opens one challenge per enrollment of a submitted
// registration. The inbox row and every enrollment's challenge commit in one
// transaction; a replay (same CloudEvent) does nothing, and a duplicate with
// a new id opens nothing because the aggregate remembers the address.
func (h *Handlers) OnApplicationSubmitted(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ApplicationSubmitted
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	cmd := app.OpenChallengesCommand{Addressee: addressee(p.PartnerID, p.Contact, p.Language, p.Market, ev), RegisteredBy: p.SubmittedBy}
	for _, e := range p.Enrollments {
		cmd.Enrollments = append(cmd.Enrollments, app.Enrollment{EnrollmentID: e.EnrollmentID, Program: e.Program})
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	_, err := h.App.OpenChallenges(ctx, cmd)
	return err
}

// contactName writes the name the way the mail's reader expects it:
// family name first in Japanese, given name first otherwise.
// addressee is the partner's contact as registration's event ev names it.
func addressee(partnerID string, c registrationv1.Contact, language, market string, ev ce.Event) app.Addressee {
	return app.Addressee{PartnerID: partnerID, Email: c.Email, ContactName: contactName(c, language, market),
		Language: language, Market: market, CausationID: ev.ID, Sequence: ev.Sequence}
}

func contactName(c registrationv1.Contact, language, market string) string {
	ja := strings.EqualFold(language, "ja") || (language == "" && strings.EqualFold(market, "JP"))
	if ja {
		return strings.TrimSpace(c.LastName + " " + c.FirstName)
	}
	return strings.TrimSpace(c.FirstName + " " + c.LastName)
}
