package events

import (
	"context"
	"errors"

	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// duplicateClaimUpheld asks the existing partner's contact (the directory's
// address of the event's partner) to add the claimant's contact.
func duplicateClaimUpheld(_ context.Context, _ *Handlers, p verificationv1.DuplicateClaimDecided, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market = p.ExistingPartnerID, p.Market
	c := p.Claimant
	return false, setData(req, mails.Data{Claim: &mails.Claim{ClaimID: p.ClaimID, ClaimantFirst: c.FirstName, ClaimantLast: c.LastName,
		ClaimantEmail: c.Email, ClaimantCompany: c.CompanyName}})
}

// disputeUpheld tells the person who reported a confirmation mail that its
// address was removed from the partner: at the address the reported mail
// went to (none known, no mail: the partner's contact is not the one to
// tell), the one mail a removed address still gets.
func disputeUpheld(ctx context.Context, h *Handlers, p verificationv1.EmailDisputeDecided, req *domain.MailRequest) (bool, error) {
	req.PartnerID = p.PartnerID
	reported, ok, err := reportedMail(ctx, h, p)
	if err != nil {
		return false, err
	}
	if !ok {
		return true, nil
	}
	req.Recipient, req.Language, req.Market = reported.Recipient, reported.Language, reported.Market
	return false, setData(req, mails.Data{Dispute: &mails.Dispute{Program: p.Program, Message: p.Message}})
}

// disputeDismissed tells the address a "this wasn't me" report named that
// a verifier kept it as the partner's contact: one mail per review (the
// partner's other reports of the address are decided with it), to the
// recipient of the reported mail (the partner's contact may have changed
// since), else to the partner's contact.
func disputeDismissed(ctx context.Context, h *Handlers, p verificationv1.EmailDisputeDecided, req *domain.MailRequest) (bool, error) {
	req.PartnerID = p.PartnerID
	reported, ok, err := reportedMail(ctx, h, p)
	if err != nil {
		return false, err
	}
	d := &mails.Dispute{Program: p.Program, Reason: p.Reason, Message: p.Message}
	if ok {
		req.Recipient, req.ContactName, req.Language, req.Market = reported.Recipient, reported.ContactName, reported.Language, reported.Market
		if reported.ExpiresAt.After(p.DecidedAt) { // not a link that ended already
			d.LinkExpiresAt = reported.ExpiresAt
		}
	}
	return false, setData(req, mails.Data{Dispute: d})
}

// reportedMail is the confirmation mail a decided report named: the
// notifier's delivery of its challenge, whose recipient is the person who
// reported it (false: none of the partner's is on record).
func reportedMail(ctx context.Context, h *Handlers, p verificationv1.EmailDisputeDecided) (domain.MailRequest, bool, error) {
	m, err := h.App.ConfirmationMail(ctx, p.ChallengeID)
	switch {
	case errors.Is(err, app.ErrNotFound):
		return m, false, nil
	case err != nil:
		return m, false, err
	}
	return m, m.PartnerID == p.PartnerID, nil
}
