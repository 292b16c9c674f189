package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/ce"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// HandlerContactChanged keeps the contact projection current after a
// registration profile change.
const HandlerContactChanged = "record_contact_on_profile_change_applied"

// OnProfileChangeApplied replaces the partner's contact (and company name)
// with the verified profile's: after a change of contact, mails about the
// partner go to the new, confirmed address.
func (h *Handlers) OnProfileChangeApplied(ctx context.Context, ev ce.Event) error {
	var p regv1.ProfileChangeApplied
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	return h.App.RecordContact(ctx, app.Contact{PartnerID: p.PartnerID, Email: p.Contact.Email, FirstName: p.Contact.FirstName,
		LastName: p.Contact.LastName, Language: p.Language, Market: p.Market, CompanyName: companyName(p.LegalName)})
}

// profileChangeRejected: the partner is told which check of its profile
// change failed and why.
func profileChangeRejected(_ context.Context, _ *Handlers, p regv1.ProfileChangeRejected, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market = p.PartnerID, p.Market
	return false, setData(req, mails.Data{ProfileChange: &mails.ProfileChange{Number: p.ChangeNumber, Check: p.Check, Reason: p.Reason}})
}
