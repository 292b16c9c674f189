package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// MarkEmailOwnershipConfirmedCommand is the e-mail service's
// ownership-confirmed event for one enrollment.
type MarkEmailOwnershipConfirmedCommand struct {
	PartnerID    string
	EnrollmentID string
	Email        string
	ConfirmedAt  time.Time
}

// MarkEmailOwnershipConfirmedResult tells whether anything changed and the
// state of the email_ownership check afterwards.
type MarkEmailOwnershipConfirmedResult struct {
	CaseID     string
	Changed    bool
	CheckState domain.CheckState
	CaseStatus domain.CaseStatus
}

// MarkEmailOwnershipConfirmed records an ownership confirmation. The
// email_ownership check passes on the partner_network enrollment's
// confirmation (or the only enrollment's, for a reseller-only registration);
// a reseller enrollment's re-confirmation is recorded on that enrollment and
// gates only that enrollment, not the company's verification. Unknown
// partners and enrollments are not-found errors (the consumer dead-letters
// them with that reason); replays are no-ops. Fed by an event: no principal.
func (a *App) MarkEmailOwnershipConfirmed(ctx context.Context, cmd MarkEmailOwnershipConfirmedCommand) (MarkEmailOwnershipConfirmedResult, error) {
	var res MarkEmailOwnershipConfirmedResult
	err := a.Cases.UpdateByPartner(ctx, cmd.PartnerID, func(c *domain.Case) error {
		now := a.Clock.Now()
		at := cmd.ConfirmedAt
		if at.IsZero() {
			at = now
		}
		changed, err := c.ConfirmEmailOwnership(cmd.EnrollmentID, cmd.Email, at, now, a.rules(c.Market))
		res = MarkEmailOwnershipConfirmedResult{CaseID: c.ID, Changed: changed,
			CheckState: c.Check(domain.CheckEmailOwnership).State, CaseStatus: c.Status}
		return err
	})
	return res, translate(err)
}
