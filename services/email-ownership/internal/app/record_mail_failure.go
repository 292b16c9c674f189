package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// MailFailureCommand is the notifier's report that it gave a challenge's
// mail up.
type MailFailureCommand struct {
	EnrollmentID string
	ChallengeID  string
	domain.MailFailure
}

// RecordMailFailure keeps, on the challenge, why its confirmation mail will
// not arrive — the receiving server refused the address, or its retries ran
// out — so that the enrollment's status (Status) tells the partner to
// correct the address or ask for another mail instead of waiting for it. A
// mail given up because its challenge had ended (challenge_expired) is not
// a delivery problem and is not recorded; neither is one of an enrollment
// this service does not know (the mail was not its) or a replay. Internal
// trigger (the notifier's events): no principal.
func (a *App) RecordMailFailure(ctx context.Context, cmd MailFailureCommand) error {
	if strings.TrimSpace(cmd.EnrollmentID) == "" || strings.TrimSpace(cmd.ChallengeID) == "" ||
		(cmd.Reason != MailFailedPermanently && cmd.Reason != MailFailedExhausted) {
		return nil
	}
	err := a.d.Repo.Update(ctx, cmd.EnrollmentID, func(o *domain.Ownership) error {
		if !o.MailUndeliverable(cmd.ChallengeID, cmd.MailFailure) {
			return errNothingToRecord
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errNothingToRecord), errors.Is(err, ErrNotFound):
		return nil
	}
	return fmt.Errorf("record the failed mail of challenge %s: %w", cmd.ChallengeID, err)
}

// The notifier's reasons for giving a mail up that are about its delivery
// (notifier.mail.failed.v1 reason).
const (
	MailFailedPermanently = "permanent_error"
	MailFailedExhausted   = "attempts_exhausted"
)

// errNothingToRecord leaves an aggregate unsaved.
var errNothingToRecord = errors.New("nothing to record")
