// Package events is the notifier's bus edge: the handler of "verification
// mail requested" and the mapping of delivery events to pkg/events/notifier/v1.
package events

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// HandlerAccept is the inbox name of the mail-request handler.
const HandlerAccept = "accept_verification_mail_requested"

// Handlers are the notifier's inbound CloudEvent handlers.
type Handlers struct {
	App *app.App
}

// Subscriptions are the events the notifier consumes, each handled once
// (inbox) in the transaction that records the delivery. On a nil *Handlers
// they are the declaration the deployment reads.
func (h *Handlers) Subscriptions() []bus.Subscription {
	return []bus.Subscription{
		// The handler sends the mail: one request per transaction, so that a
		// failing batch is never retried with mails already sent in it.
		{Type: emailv1.TypeVerificationMailRequested, Inbox: HandlerAccept, Handle: h.OnVerificationMailRequested, Batch: 1},
	}
}

// OnVerificationMailRequested sends the mail and records the delivery.
// Replays hit the inbox; a duplicate with another event id finds the
// delivery (the challenge id): one mail either way.
func (h *Handlers) OnVerificationMailRequested(ctx context.Context, ev ce.Event) error {
	var p emailv1.VerificationMailRequested
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	req := domain.MailRequest{ChallengeID: p.ChallengeID, EnrollmentID: p.EnrollmentID, PartnerID: p.PartnerID,
		Program: p.Program, Recipient: p.Recipient, ContactName: p.ContactName, Language: domain.Language(p.Language),
		Market: p.Market, TemplateID: p.TemplateID, ExpiresAt: p.ExpiresAt, SealedSecret: p.SealedSecret, CausationID: ev.ID}
	cause := ce.CauseOf(ev)
	req.CorrelationID, req.TraceParent = cause.CorrelationID, cause.TraceParent
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "email-ownership"})
	_, err := h.App.Accept(ctx, req)
	return err
}

// Drafts maps delivery events to outbox drafts; subject = global partner id.
func Drafts(events []domain.Event) ([]outbox.Draft, error) {
	out := make([]outbox.Draft, 0, len(events))
	for _, e := range events {
		switch e := e.(type) {
		case domain.MailDelivered:
			out = append(out, outbox.Draft{Type: notifierv1.TypeMailDelivered, Subject: e.PartnerID, Data: notifierv1.MailDelivered{
				PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program, ChallengeID: e.ChallengeID,
				TemplateID: e.TemplateID, Attempts: e.Attempts, DeliveredAt: e.OccurredAt}})
		case domain.MailDeliveryFailed:
			out = append(out, outbox.Draft{Type: notifierv1.TypeMailFailed, Subject: e.PartnerID, Data: notifierv1.MailFailed{
				PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program, ChallengeID: e.ChallengeID,
				TemplateID: e.TemplateID, Attempts: e.Attempts, Reason: string(e.Reason), LastError: truncate(e.LastError, 500),
				FailedAt: e.OccurredAt}})
		default:
			return nil, fmt.Errorf("events: no mapping for %T", e)
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") // a cut rune is dropped, not mangled
}
