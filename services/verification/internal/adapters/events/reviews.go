package events

import (
	"fmt"

	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// ReviewPathPrefix is where a verifier claims and decides a review over HTTP.
const ReviewPathPrefix = "/v1/verification/reviews/"

// reviewPayload maps the events of claim and dispute reviews.
func reviewPayload(e domain.Event) (string, any, error) {
	switch e := e.(type) {
	case domain.ReviewOpened:
		r := e.Review
		out := verificationv1.ReviewOpened{ReviewID: r.ID, Kind: string(r.Kind), PartnerID: r.PartnerID, Market: r.Market,
			DueAt: r.DueAt.UTC(), ClaimPath: ReviewPathPrefix + r.ID + "/claim", DecidePath: ReviewPathPrefix + r.ID + "/decisions",
			OpenedAt: r.CreatedAt.UTC()}
		if r.Claim != nil {
			out.ClaimID = r.Claim.ClaimID
		}
		if r.Dispute != nil {
			out.ChallengeID = r.Dispute.ChallengeID
		}
		return verificationv1.TypeReviewOpened, out, nil
	case domain.DuplicateClaimReviewStarted:
		return verificationv1.TypeDuplicateClaimReviewStarted, verificationv1.DuplicateClaimReviewStarted{ReviewID: e.ReviewID,
			ClaimID: e.ClaimID, DuplicateAttemptID: e.DuplicateAttemptID, ExistingPartnerID: e.PartnerID,
			Verifier: e.Verifier, StartedAt: e.At.UTC()}, nil
	case domain.DuplicateClaimDecided:
		r, c, d := e.Review, e.Review.Claim, e.Review.Decision
		name := c.Claimant.LegalNameNormalized
		if name == "" {
			name = c.Claimant.LegalName
		}
		out := verificationv1.DuplicateClaimDecided{ReviewID: r.ID, DecisionID: d.ID, ClaimID: c.ClaimID,
			DuplicateAttemptID: c.DuplicateAttemptID, ExistingPartnerID: r.PartnerID, Market: r.Market, Outcome: string(d.Outcome),
			Reason: string(d.Reason), ReasonText: d.ReasonText, Message: d.Message,
			Claimant: verificationv1.Claimant{FirstName: c.Claimant.Contact.FirstName, LastName: c.Claimant.Contact.LastName,
				Email: c.Claimant.Contact.Email, CompanyName: name},
			DecidedBy: d.DecidedBy, DecidedAt: d.DecidedAt.UTC()}
		if d.Outcome == domain.ReviewUpheld {
			return verificationv1.TypeDuplicateClaimUpheld, out, nil
		}
		// v2 since round 47: a refusal does not name the claimant.
		return verificationv2.TypeDuplicateClaimRefused, verificationv2.DuplicateClaimRefused{ReviewID: out.ReviewID,
			DecisionID: out.DecisionID, ClaimID: out.ClaimID, DuplicateAttemptID: out.DuplicateAttemptID,
			ExistingPartnerID: out.ExistingPartnerID, Market: out.Market, Outcome: out.Outcome, Reason: out.Reason,
			ReasonText: out.ReasonText, Message: out.Message, DecidedBy: out.DecidedBy, DecidedAt: out.DecidedAt}, nil
	case domain.EmailDisputeDecided:
		r, x, d := e.Review, e.Review.Dispute, e.Review.Decision
		out := verificationv1.EmailDisputeDecided{ReviewID: r.ID, DecisionID: d.ID, PartnerID: r.PartnerID,
			EnrollmentID: x.EnrollmentID, Program: x.Program, ChallengeID: x.ChallengeID, Outcome: string(d.Outcome),
			Reason: string(d.Reason), ReasonText: d.ReasonText, Message: d.Message, DecidedBy: d.DecidedBy, DecidedAt: d.DecidedAt.UTC()}
		typ := verificationv1.TypeEmailDisputeDismissed
		if d.Outcome == domain.ReviewUpheld {
			typ = verificationv1.TypeEmailDisputeUpheld
		}
		return typ, out, nil
	}
	return "", nil, fmt.Errorf("events: no published type for review event %T", e)
}
