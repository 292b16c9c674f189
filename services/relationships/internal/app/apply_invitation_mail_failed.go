package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// InvitationMailFailed is the notifier's word that the mail of a request to
// the reseller's contact did not arrive.
type InvitationMailFailed struct {
	RelationshipID, RequestID string
	ProviderID, ResellerID    string
	Template, Reason, Detail  string
	At                        time.Time
}

// ApplyInvitationMailFailed keeps the failure on the request while it
// awaits an answer (domain.Relationship.RecordMailFailure), where the
// provider's listing shows it. A relationship that is not the one the event
// names (its parties differ) is refused; one answered or ended since is
// left alone.
func (a *App) ApplyInvitationMailFailed(ctx context.Context, p auth.Principal, f InvitationMailFailed) (bool, error) {
	if err := requireBus(p); err != nil {
		return false, err
	}
	var changed bool
	err := a.rels.Update(ctx, f.RelationshipID, func(r *domain.Relationship) error {
		if r.ProviderID != f.ProviderID || r.ResellerID != f.ResellerID {
			return errMailOfAnotherRelationship
		}
		changed = r.RecordMailFailure(f.RequestID, domain.MailFailure{Template: f.Template, Reason: f.Reason, Detail: f.Detail, At: f.At})
		if !changed {
			return errNothingToRecord
		}
		return nil
	})
	if errors.Is(err, errNothingToRecord) {
		return false, nil
	}
	return changed, mapErr(err)
}

var (
	// errNothingToRecord leaves the relationship unwritten.
	errNothingToRecord = errors.New("nothing to record")
	// errMailOfAnotherRelationship: the event's parties are not the
	// relationship's (dead-lettered).
	errMailOfAnotherRelationship = apperr.Invalid(CodeInvalidEvent, "the mail failure names parties other than its relationship's")
)
