package app

import (
	"context"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// ApplyVerificationDecisionCommand is a verification approved, rejected or
// revoked event's content.
type ApplyVerificationDecisionCommand struct {
	PartnerID  string
	DecisionID string
	Outcome    string // approved | rejected | revoked
	DecidedAt  time.Time
}

// ApplyVerificationDecisionResult says whether the decision changed the projection.
type ApplyVerificationDecisionResult struct {
	// Applied is false for a replay or a decision older than the applied one.
	Applied bool
	// Verification is the partner's verification state afterwards.
	Verification domain.VerificationDecision
}

// ApplyVerificationDecision updates the verification projection that gates
// acceptance. Revocation after acceptance: the append-only records stay, the
// status query answers agreements.verification_revoked, and an
// AcceptanceSuspended event per gated acceptance tells registration; a later
// approval reinstates them with AcceptanceReinstated.
type ApplyVerificationDecision struct{ d Deps }

// Handle applies cmd.
func (uc ApplyVerificationDecision) Handle(ctx context.Context, cmd ApplyVerificationDecisionCommand) (ApplyVerificationDecisionResult, error) {
	id := strings.TrimSpace(cmd.PartnerID)
	if id == "" {
		return ApplyVerificationDecisionResult{}, translate(&domain.ValidationError{Problems: []domain.Problem{{Field: "partner_id", Err: domain.ErrInvalidPartnerID}}}, "")
	}
	all, err := uc.d.Acceptances.ListByPartner(ctx, id)
	if err != nil {
		return ApplyVerificationDecisionResult{}, translate(wrapf(err, "list acceptances of %s", id), "list acceptances")
	}
	current := domain.CurrentOf(all)
	d := domain.VerificationDecision{
		DecisionID: strings.TrimSpace(cmd.DecisionID), Outcome: domain.VerificationOutcome(cmd.Outcome), DecidedAt: cmd.DecidedAt,
	}
	var res ApplyVerificationDecisionResult
	err = uc.d.Partners.Upsert(ctx, id, func(p *domain.Partner) error {
		applied, err := p.ApplyVerification(d, current)
		res.Applied, res.Verification = applied, p.Verification()
		return err
	})
	if err != nil {
		return ApplyVerificationDecisionResult{}, translate(wrapf(err, "apply decision %s to %s", d.DecisionID, id), "store partner")
	}
	return res, nil
}
