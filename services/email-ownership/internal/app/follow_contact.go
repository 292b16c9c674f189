package app

import (
	"context"
	"fmt"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// FollowContactCommand comes from registration's "profile change applied"
// event of a contact e-mail change.
type FollowContactCommand struct {
	Addressee         // the new contact
	ChangeNumber int  // the applied change (it names the new contact in the mails)
	Proven       bool // the change's email_ownership check passed (domain.Ownership.FollowContact)
}

// FollowContact moves the partner's enrollments that have not confirmed an
// address yet to its new contact address (domain.Ownership.FollowContact;
// after an unproven correction, the membership that confirmed another
// address too):
// each gets a fresh challenge and mail to the new address in place of the
// one to the previous contact, which no longer confirms. Before, they kept
// the previous address: its link still confirmed, a resend mailed the
// previous contact, and an enrollment whose address an upheld dispute had
// removed could not be cured by the change its requirements view asks for.
// All in the consumer's transaction. Internal trigger: no principal.
func (a *App) FollowContact(ctx context.Context, cmd FollowContactCommand) error {
	rcpt, err := cmd.recipient()
	if err != nil {
		return err
	}
	ids, err := a.d.Repo.EnrollmentsByPartner(ctx, cmd.PartnerID)
	if err != nil {
		return fmt.Errorf("enrollments of %s: %w", cmd.PartnerID, err)
	}
	if len(ids) == 0 {
		// A pending partner's contact corrected right after its
		// registration: the correction may come before the registration,
		// on another durable. Had it been applied to nothing, the
		// registration's challenges would then go to the previous address.
		return apperr.NotFound(CodePartnerUnknown, "no enrollment of partner "+cmd.PartnerID+" to move to its new contact")
	}
	if cmd.Sequence > 0 {
		named := rcpt
		named.NamedBy = cmd.ChangeNumber
		if err := a.d.Repo.RecordContact(ctx, cmd.PartnerID, cmd.Sequence, named); err != nil {
			return err
		}
	}
	for _, id := range ids {
		is, err := a.issue()
		if err != nil {
			return err
		}
		err = a.d.Repo.Update(ctx, id, func(o *domain.Ownership) error {
			_, err := o.FollowContact(cmd.ChangeNumber, cmd.Proven, rcpt, cmd.CausationID, is, a.d.Policy, a.d.Clock.Now())
			return err
		})
		if err != nil {
			return fmt.Errorf("move enrollment %s to the new contact of %s: %w", id, cmd.PartnerID, err)
		}
	}
	return nil
}
