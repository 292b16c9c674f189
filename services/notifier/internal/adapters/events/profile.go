package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
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
// partner go to the new, confirmed address. In the same transaction it
// mails the contact what changed, and, when the change moved the contact
// address, tells the previous address that it did (an account changed
// behind its contact's back is noticed where the contact still reads).
func (h *Handlers) OnProfileChangeApplied(ctx context.Context, ev ce.Event) error {
	var p regv1.ProfileChangeApplied
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	err := h.App.ChangeContact(ctx, app.Contact{PartnerID: p.PartnerID, Email: p.Contact.Email, FirstName: p.Contact.FirstName,
		LastName: p.Contact.LastName, Language: p.Language, Market: p.Market, CompanyName: companyName(p.LegalName),
		Sequence: ev.Sequence})
	if ae, ok := apperr.As(err); ok && ae.Code == app.CodePartnerUnknown {
		return bus.AwaitingPartner(ae, p.PartnerID)
	} else if err != nil {
		return err
	}
	if err := h.handle(mail{mails.ProfileChangeApplied, HandlerContactChanged, from(profileChangeApplied)})(ctx, ev); err != nil {
		return err
	}
	if c, ok := regv1.ContactEmailChange(p.Changes); ok && c.From != "" {
		return h.handle(mail{mails.ProfileChangeApplied, HandlerContactChanged, from(previousContact(c.From))})(ctx, ev)
	}
	return nil
}

// profileChangeApplied: the (new) contact is told what changed.
func profileChangeApplied(_ context.Context, _ *Handlers, p regv1.ProfileChangeApplied, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market = p.PartnerID, p.Market
	return false, setData(req, mails.Data{ProfileChange: appliedChange(p)})
}

// previousContact: the address the change replaced is told that it was
// replaced and when — not the new address, nor the rest of the change. Its
// mail has an id of its own beside the contact's.
func previousContact(address string) func(context.Context, *Handlers, regv1.ProfileChangeApplied, *domain.MailRequest) (bool, error) {
	return func(_ context.Context, _ *Handlers, p regv1.ProfileChangeApplied, req *domain.MailRequest) (bool, error) {
		req.ID += ".previous-contact"
		req.PartnerID, req.Market, req.Recipient = p.PartnerID, p.Market, address
		req.Language = domain.Language(p.Language)
		// Greeted by the name it had (the contact person may have changed
		// with the address).
		first, last := p.Contact.FirstName, p.Contact.LastName
		for _, c := range p.Changes {
			switch c.Field {
			case "contact.first_name":
				first = c.From
			case "contact.last_name":
				last = c.From
			}
		}
		return false, setData(req, mails.Data{Partner: mails.Party{ContactFirstName: first, ContactLastName: last},
			ProfileChange: &mails.ProfileChange{Number: p.ChangeNumber, AppliedAt: p.AppliedAt, ToPrevious: true}})
	}
}

func appliedChange(p regv1.ProfileChangeApplied) *mails.ProfileChange {
	c := &mails.ProfileChange{Number: p.ChangeNumber, AppliedAt: p.AppliedAt, Changes: p.Changes}
	for _, k := range p.Checks {
		if k.State == "passed" {
			c.Passed = append(c.Passed, k.Check)
		}
	}
	return c
}

// profileChangeRejected: the partner is told which check of its profile
// change failed and why.
func profileChangeRejected(_ context.Context, _ *Handlers, p regv1.ProfileChangeRejected, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market = p.PartnerID, p.Market
	return false, setData(req, mails.Data{ProfileChange: &mails.ProfileChange{Number: p.ChangeNumber, Check: p.Check, Reason: p.Reason}})
}

// OnDisputeUpheld keeps the address a verifier removed from the partner.
func (h *Handlers) OnDisputeUpheld(ctx context.Context, ev ce.Event) error {
	var p emailv1.DisputeDecided
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	return h.App.RecordAddressRemoved(ctx, p.PartnerID, p.Address)
}
