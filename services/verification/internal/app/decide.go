package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// DecideCommand is a verifier's decision, from the API or a decision event:
// approve; reject with a catalog reason, applicant message, internal note
// and RETRY or FINAL; or request documents (optionally narrowed).
type DecideCommand struct {
	DecisionID       string
	TaskID           string
	Outcome          domain.Outcome
	Reason           domain.ReasonCode
	Mode             domain.RejectionMode
	ApplicantMessage string
	InternalNote     string
	Documents        []domain.DocumentType
}

// DecideResult is the recorded decision and its effect. Replayed is true
// when the decision id was seen before and nothing changed.
type DecideResult struct {
	// PartnerID is the partner of the task's case, set whenever the task
	// was found, a refused decision's too.
	PartnerID  string
	CaseID     string
	Decision   domain.Decision
	Replayed   bool
	CheckState domain.CheckState
	CaseStatus domain.CaseStatus
}

// Decide records a decision of the calling verifier on a task it holds. A
// FINAL rejection needs confirmation by a second, different verifier.
func (a *App) Decide(ctx context.Context, p auth.Principal, cmd DecideCommand) (DecideResult, error) {
	if err := requireVerifier(p); err != nil {
		return DecideResult{}, err
	}
	var res DecideResult
	err := a.Cases.UpdateByTask(ctx, cmd.TaskID, func(c *domain.Case) error {
		res.PartnerID = c.PartnerID
		d, replay, err := c.Decide(domain.DecisionInput{
			ID: cmd.DecisionID, TaskID: cmd.TaskID, Verifier: p.Subject, VerifierPartnerID: p.PartnerID,
			Outcome: cmd.Outcome, Reason: cmd.Reason, Mode: cmd.Mode,
			ApplicantMessage: cmd.ApplicantMessage, InternalNote: cmd.InternalNote, Documents: cmd.Documents,
		}, a.Clock.Now(), a.rules(c.Market))
		if err != nil {
			return err
		}
		res = DecideResult{PartnerID: c.PartnerID, CaseID: c.ID, Decision: d, Replayed: replay, CheckState: c.Check(d.Check).State, CaseStatus: c.Status}
		return nil
	})
	return res, translate(err)
}
