package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/partnerhub/onboarding/pkg/ids"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Codes of claim reads and review facts.
const (
	CodeDuplicateClaimNotFound = "registration.duplicate_claim_not_found"
	CodeClaimReviewMismatch    = "registration.claim_review_mismatch"
)

// DuplicateClaimView is a claim as its claimant reads it: where its review
// stands and, once decided, the outcome (a refusal with its reason code and
// text; an upheld claim with the path it opened). The existing partner is
// not named: the claimant learns who it is from that partner's contact.
type DuplicateClaimView struct {
	ClaimID            domain.ClaimID            `json:"claim_id"`
	DuplicateAttemptID domain.DuplicateAttemptID `json:"duplicate_attempt_id"`
	Status             domain.ClaimStatus        `json:"status"`
	Statement          string                    `json:"statement"`
	FiledAt            time.Time                 `json:"filed_at"`
	ReviewID           string                    `json:"review_id,omitempty"`
	ReviewStartedAt    time.Time                 `json:"review_started_at,omitzero"`
	DecidedAt          time.Time                 `json:"decided_at,omitzero"`
	Reason             string                    `json:"reason,omitempty"`
	ReasonText         string                    `json:"reason_text,omitempty"`
	Message            string                    `json:"message,omitempty"`
	// NextStep says what happens after an upheld claim (the defined path).
	NextStep string `json:"next_step,omitempty"`
}

// NextStepUpheld is the path an upheld claim opens.
const NextStepUpheld = "existing_partner_contact_asked_to_add_claimant"

func claimView(at *domain.DuplicateAttempt) DuplicateClaimView {
	c := at.Claim
	v := DuplicateClaimView{ClaimID: c.ID, DuplicateAttemptID: at.ID, Status: c.Status(), Statement: c.Statement, FiledAt: c.FiledAt}
	if r := c.Review; r != nil {
		v.ReviewID, v.ReviewStartedAt, v.DecidedAt = r.ReviewID, r.StartedAt, r.DecidedAt
		v.Reason, v.ReasonText, v.Message = r.Reason, r.ReasonText, r.Message
	}
	if v.Status == domain.ClaimUpheld {
		v.NextStep = NextStepUpheld
	}
	return v
}

// GetDuplicateClaim reads a claim. Callers: the upstream system that filed
// it, or an operator; anyone else is told it does not exist.
func (a *App) GetDuplicateClaim(ctx context.Context, p auth.Principal, claimID string) (DuplicateClaimView, error) {
	if err := p.Require(auth.RoleUpstreamSystem, auth.RoleOperator); err != nil {
		return DuplicateClaimView{}, err
	}
	id, err := parseID[domain.ClaimID]("claim_id", ids.DuplicateClaim, claimID)
	if err != nil {
		return DuplicateClaimView{}, err
	}
	at, err := a.repo.DuplicateAttemptByClaim(ctx, id)
	if errors.Is(err, domain.ErrDuplicateAttemptNotFound) || (err == nil && at.Claim.FiledBy != p.Subject && !p.Has(auth.RoleOperator)) {
		return DuplicateClaimView{}, apperr.NotFound(CodeDuplicateClaimNotFound, "no such duplicate claim")
	}
	if err != nil {
		return DuplicateClaimView{}, fmt.Errorf("load claim %s: %w", id, err)
	}
	return claimView(at), nil
}

// ApplyClaimReview records what verification's review of a claim reported
// (under review, upheld, refused). Internal trigger (its events); a fact
// about an unknown attempt or claim is permanent (dead-lettered).
func (a *App) ApplyClaimReview(ctx context.Context, attemptID string, o domain.ClaimOutcome) error {
	id, err := parseID[domain.DuplicateAttemptID]("duplicate_attempt_id", ids.DuplicateAttempt, attemptID)
	if err != nil {
		return err
	}
	err = a.repo.UpdateDuplicateAttempt(ctx, id, func(at *domain.DuplicateAttempt) error {
		_, err := at.ApplyClaimReview(o)
		return err
	})
	if errors.Is(err, domain.ErrClaimMismatch) {
		return apperr.Invalid(CodeClaimReviewMismatch, fmt.Sprintf("attempt %s has no claim %s", id, o.ClaimID))
	}
	return translate(err, fmt.Sprintf("apply review of claim %s", o.ClaimID))
}
