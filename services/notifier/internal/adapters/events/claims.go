package events

import (
	"context"

	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
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
