package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
)

// HandlerInvitationMailFailed is the inbox name of the invitation mail's
// failure handler.
const HandlerInvitationMailFailed = "on_invitation_mail_failed"

// notifierService is the principal of events from the notifier.
var notifierService = auth.Principal{Kind: auth.KindService, Subject: "notifier"}

// OnInvitationMailFailed keeps on the request that its mail to the
// reseller's contact did not arrive, for the provider to see.
func (h Handlers) OnInvitationMailFailed(ctx context.Context, ev ce.Event) error {
	var p notifierv1.InvitationMailFailed
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	if p.RelationshipID == "" || p.RequestID == "" || p.PartnerID == "" || p.ProviderID == "" {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation, Detail: "invitation mail failure without relationship_id, request_id, partner_id or provider_id"}
	}
	ctx = auth.WithPrincipal(ctx, notifierService)
	_, err := h.App.ApplyInvitationMailFailed(ctx, notifierService, app.InvitationMailFailed{RelationshipID: p.RelationshipID,
		RequestID: p.RequestID, ProviderID: p.ProviderID, ResellerID: p.PartnerID, Template: p.TemplateID, Reason: p.Reason,
		Detail: p.LastError, At: p.FailedAt})
	return err
}
