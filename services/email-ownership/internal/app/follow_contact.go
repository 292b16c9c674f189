package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// FollowContactCommand is registration's applied change of a partner's
// contact e-mail address.
type FollowContactCommand struct {
	PartnerID   string
	Email       string
	ContactName string
	Language    string
	Market      string
	CausationID string // the profile_change.applied event
}

// FollowContact moves the partner's enrollments that have not confirmed an
// address yet to its new contact address (domain.Ownership.FollowContact):
// each gets a fresh challenge and mail to the new address in place of the
// one to the previous contact, which no longer confirms. Before, they kept
// the previous address: its link still confirmed, a resend mailed the
// previous contact, and an enrollment whose address an upheld dispute had
// removed could not be cured by the change its requirements view asks for.
// All in the consumer's transaction. Internal trigger: no principal.
func (a *App) FollowContact(ctx context.Context, cmd FollowContactCommand) error {
	addr, err := domain.NormalizeAddress(cmd.Email)
	if err != nil {
		return translate(err)
	}
	lang, err := domain.ParseLanguage(cmd.Language, cmd.Market)
	if err != nil {
		return translate(err)
	}
	if strings.TrimSpace(cmd.PartnerID) == "" {
		return apperr.Invalid(CodeInvalidCommand, "partner id is required")
	}
	rcpt := domain.Recipient{Address: addr, ContactName: cmd.ContactName, Language: lang, Market: strings.ToUpper(cmd.Market)}
	ids, err := a.d.Repo.EnrollmentsByPartner(ctx, cmd.PartnerID)
	if err != nil {
		return fmt.Errorf("enrollments of %s: %w", cmd.PartnerID, err)
	}
	for _, id := range ids {
		is, err := a.issue()
		if err != nil {
			return err
		}
		err = a.d.Repo.Update(ctx, id, func(o *domain.Ownership) error {
			_, err := o.FollowContact(rcpt, cmd.CausationID, is, a.d.Policy, a.d.Clock.Now())
			return err
		})
		if err != nil {
			return fmt.Errorf("move enrollment %s to the new contact of %s: %w", id, cmd.PartnerID, err)
		}
	}
	return nil
}
