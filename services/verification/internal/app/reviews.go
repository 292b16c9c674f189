package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// ReviewRepository stores reviews (duplicate claims, e-mail disputes) with
// their events in the outbox, like CaseRepository.
type ReviewRepository interface {
	// AddReview stores a new review; false when the claim or challenge
	// already has one (nothing stored).
	AddReview(ctx context.Context, r *domain.Review) (bool, error)
	GetReview(ctx context.Context, id string) (*domain.Review, error)
	// ReviewIDByRef finds the review that decides a claim or challenge.
	ReviewIDByRef(ctx context.Context, kind domain.ReviewKind, ref string) (string, error)
	// OpenDisputeReviewOn finds the partner's open dispute review of an
	// address (domain.ErrReviewNotFound: none).
	OpenDisputeReviewOn(ctx context.Context, partnerID, address string) (string, error)
	UpdateReview(ctx context.Context, id string, fn func(ctx context.Context, r *domain.Review) error) error
	ListReviews(ctx context.Context, f ReviewFilter, now time.Time) ([]domain.Review, error)
}

// ReviewFilter selects reviews.
type ReviewFilter struct {
	Kind             domain.ReviewKind
	Status           domain.ReviewStatus // empty: open
	Market           string
	Unclaimed        bool
	ExcludePartnerID string // set by ListReviews for verifiers that belong to a partner
	PartnerID        string // only the reviews of this partner (empty: any)
	Limit            int
	After            *page.Position // the page after this review (due time, id; nil: the first page)
}

// The review errors join the translation table here, beside the reviews,
// rather than in errors.go.
func init() {
	kinds[domain.ErrReviewNotFound.Code] = apperr.KindNotFound
	kinds[domain.ErrReviewClaimed.Code] = apperr.KindConflict
	kinds[domain.ErrReviewNotClaimed.Code] = apperr.KindConflict
	kinds[domain.ErrReviewClosed.Code] = apperr.KindConflict
	kinds[domain.ErrInvalidReviewDecision.Code] = apperr.KindInvalid
}

var errNoReviews = errors.New("app: no review repository")

// reviews is the review repository, or errNoReviews.
func (a *App) reviews() (ReviewRepository, error) {
	if a.Reviews == nil {
		return nil, errNoReviews
	}
	return a.Reviews, nil
}

// newReviewID is a time-ordered review id from the case id generator
// ("vr-<uuid>" beside cases' "vc-<uuid>").
func (a *App) newReviewID() string { return "vr-" + strings.TrimPrefix(a.IDs.NewID(), "vc-") }

// partnerCase is the case of partnerID, or nil when it has none (yet).
func (a *App) partnerCase(ctx context.Context, partnerID string) (*domain.Case, error) {
	c, err := a.Cases.GetByPartner(ctx, partnerID)
	if errors.Is(err, domain.ErrCaseNotFound) {
		return nil, nil
	}
	return c, err
}

// existingFacts is what this service knows of partnerID (its case), or nil.
func (a *App) existingFacts(ctx context.Context, partnerID string) (*domain.ExistingPartnerFacts, error) {
	c, err := a.partnerCase(ctx, partnerID)
	if c == nil || err != nil {
		return nil, err
	}
	return caseFacts(c), nil
}

func caseFacts(c *domain.Case) *domain.ExistingPartnerFacts {
	return &domain.ExistingPartnerFacts{CaseID: c.ID, Submitted: c.Submitted, Contact: c.Contact,
		WebsiteDomain: c.WebsiteDomain, CaseStatus: c.Status, Enrollments: slices.Clone(c.Enrollments)}
}

// withExisting fills in the reviewed partner's facts: an open review's as
// they stand when it is read (a confirmation handled after the report, on
// another subscription, shows), a decided one's as they stood when it was
// decided — or, when the claim or dispute reached this service before the
// partner's registration did, as they stand now.
func (a *App) withExisting(ctx context.Context, r *domain.Review) error {
	var slot **domain.ExistingPartnerFacts
	switch {
	case r.Claim != nil:
		slot = &r.Claim.Existing
	case r.Dispute != nil:
		slot = &r.Dispute.Existing
	default:
		return nil
	}
	if *slot != nil && r.Status != domain.ReviewOpen {
		return nil
	}
	ex, err := a.existingFacts(ctx, r.PartnerID)
	if err != nil {
		return fmt.Errorf("facts of %s: %w", r.PartnerID, err)
	}
	*slot = ex
	return nil
}

// OpenClaimReview opens the review of a duplicate claim filed with
// registration (its event); once per claim. A claim about a partner whose
// account was closed, or whose registration was rejected, before it
// arrived (registration refuses one filed after; this one crossed it) is
// refused at once (domain.Review.RefuseReleased). Internal trigger.
func (a *App) OpenClaimReview(ctx context.Context, existingPartnerID, market string, c domain.ClaimContent) error {
	ec, err := a.partnerCase(ctx, existingPartnerID)
	if err != nil {
		return err
	}
	if ec != nil {
		c.Existing = caseFacts(ec)
	}
	now := a.Clock.Now()
	r, err := domain.NewClaimReview(a.newReviewID(), existingPartnerID, market, c, now, a.rules(market))
	if err != nil {
		return translate(err)
	}
	if ec != nil {
		r.RefuseReleased(ec.Released(), now)
	}
	return a.addReview(ctx, r)
}

// refuseReleasedClaims refuses the open duplicate claims about a partner
// that let go of the company's registration (domain.Review.RefuseReleased).
func (a *App) refuseReleasedClaims(ctx context.Context, partnerID string, reason domain.ReasonCode) error {
	repo := a.Reviews
	if repo == nil {
		return nil // no reviews kept (unit tests of cases): none to refuse
	}
	const page = 100 // each one refused leaves the open ones: the next page is the first again
	for {
		open, err := repo.ListReviews(ctx, ReviewFilter{Kind: domain.ReviewDuplicateClaim, PartnerID: partnerID, Limit: page}, a.Clock.Now())
		if err != nil {
			return err
		}
		for _, r := range open {
			if err := repo.UpdateReview(ctx, r.ID, func(_ context.Context, r *domain.Review) error {
				r.RefuseReleased(reason, a.Clock.Now())
				return nil
			}); err != nil {
				return err
			}
		}
		if len(open) < page {
			return nil
		}
	}
}

// addReview stores a review just opened (nothing when the same claim or
// challenge has one already).
func (a *App) addReview(ctx context.Context, r *domain.Review) error {
	repo, err := a.reviews()
	if err != nil {
		return err
	}
	_, err = repo.AddReview(ctx, r)
	return err
}

// OpenDisputeReview opens the review of a "this wasn't me" dispute
// (email-ownership's event); once per challenge. A report of an address
// whose review is open (the person reported the mail of the partner's other
// enrollment too) joins that review: the decision is about the address,
// so verifiers are asked once. Internal trigger.
func (a *App) OpenDisputeReview(ctx context.Context, partnerID string, d domain.DisputeContent) error {
	repo, err := a.reviews()
	if err != nil {
		return err
	}
	id, err := repo.OpenDisputeReviewOn(ctx, partnerID, d.Address)
	switch {
	case err == nil:
		gathered := false
		err = repo.UpdateReview(ctx, id, func(_ context.Context, r *domain.Review) error {
			gathered = r.Gather(d, a.Clock.Now())
			return nil
		})
		if err != nil || gathered {
			return err
		}
	case !errors.Is(err, domain.ErrReviewNotFound):
		return err
	}
	c, err := a.partnerCase(ctx, partnerID)
	if err != nil {
		return err
	}
	market := ""
	if c != nil {
		d.Existing, market = caseFacts(c), c.Market
	}
	r, err := domain.NewDisputeReview(a.newReviewID(), partnerID, market, d, a.Clock.Now(), a.rules(market))
	if err != nil {
		return translate(err)
	}
	return a.addReview(ctx, r)
}

// CancelDisputeReview takes a report off its open review: a confirmation of
// the enrollment withdrew it, or another review's decision on the same
// address ended it. The review is cancelled when it has no report left to
// decide. A decided review, or none, is left alone. Internal trigger.
func (a *App) CancelDisputeReview(ctx context.Context, challengeID string) error {
	repo, err := a.reviews()
	if err != nil {
		return err
	}
	id, err := repo.ReviewIDByRef(ctx, domain.ReviewEmailDispute, challengeID)
	if errors.Is(err, domain.ErrReviewNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return repo.UpdateReview(ctx, id, func(_ context.Context, r *domain.Review) error {
		r.Drop(challengeID, a.Clock.Now())
		return nil
	})
}

// ListReviews lists reviews for verifiers and operators, a page at a time
// (next as ListTasks'); a verifier that belongs to a partner never sees
// that partner's reviews.
func (a *App) ListReviews(ctx context.Context, p auth.Principal, f ReviewFilter) ([]domain.Review, string, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	limit := f.Limit
	f.Limit++ // one more: is there a next page?
	f.ExcludePartnerID = p.PartnerID
	repo, err := a.reviews()
	if err != nil {
		return nil, "", err
	}
	out, err := repo.ListReviews(ctx, f, a.Clock.Now())
	if err != nil {
		return nil, "", err
	}
	out, next := queuePage(out, limit, func(r domain.Review) page.Position { return page.Position{At: r.DueAt, ID: r.ID} })
	for i := range out {
		if err := a.withExisting(ctx, &out[i]); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// GetReview reads one review (verifiers and operators).
func (a *App) GetReview(ctx context.Context, p auth.Principal, id string) (*domain.Review, error) {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return nil, err
	}
	repo, err := a.reviews()
	if err != nil {
		return nil, err
	}
	r, err := repo.GetReview(ctx, id)
	if err == nil && p.PartnerID != "" && p.PartnerID == r.PartnerID {
		err = domain.ErrReviewNotFound
	}
	if err == nil {
		err = a.withExisting(ctx, r)
	}
	return r, translate(err)
}

// ClaimReview gives the calling verifier a lease on a review (or renews its own).
func (a *App) ClaimReview(ctx context.Context, p auth.Principal, id string) (*domain.Review, error) {
	if err := requireVerifier(p); err != nil {
		return nil, err
	}
	repo, err := a.reviews()
	if err != nil {
		return nil, err
	}
	var out *domain.Review
	err = repo.UpdateReview(ctx, id, func(_ context.Context, r *domain.Review) error {
		out = r
		return r.ClaimFor(p.Subject, p.PartnerID, a.Clock.Now(), a.cfg.Policy.LeaseDuration)
	})
	if err == nil {
		err = a.withExisting(ctx, out)
	}
	return out, translate(err)
}

// DecideReviewCommand is a verifier's decision on a review.
type DecideReviewCommand struct {
	ReviewID     string
	DecisionID   string
	Outcome      domain.ReviewOutcome
	Reason       domain.ReasonCode
	Message      string
	InternalNote string
}

// DecideReview records the decision of the verifier holding the review;
// replayed is true when the decision id was seen before.
func (a *App) DecideReview(ctx context.Context, p auth.Principal, cmd DecideReviewCommand) (r *domain.Review, replayed bool, err error) {
	if err := requireVerifier(p); err != nil {
		return nil, false, err
	}
	repo, err := a.reviews()
	if err != nil {
		return nil, false, err
	}
	err = repo.UpdateReview(ctx, cmd.ReviewID, func(ctx context.Context, rv *domain.Review) error {
		r = rv
		if rv.Status == domain.ReviewOpen {
			// The facts the decision was made on stay with it.
			if err := a.withExisting(ctx, rv); err != nil {
				return err
			}
		}
		replayed, err = rv.Decide(domain.ReviewDecisionInput{ID: cmd.DecisionID, Verifier: p.Subject, Outcome: cmd.Outcome,
			Reason: cmd.Reason, Message: cmd.Message, InternalNote: cmd.InternalNote}, a.Clock.Now())
		return err
	})
	return r, replayed, translate(err)
}

// ApplyPartnerRejected records registration's rejection of a partner on its
// case and refuses the open duplicate claims about it (since round 46: an
// upheld one asked the rejected applicant to add the claimant, its contact
// details in the mail). Callers: the registration consumer.
func (a *App) ApplyPartnerRejected(ctx context.Context, partnerID string) error {
	c, err := a.partnerCase(ctx, partnerID)
	if err != nil {
		return translate(err)
	}
	if c != nil {
		if err := a.Cases.Update(ctx, c.ID, func(c *domain.Case) error {
			c.MarkPartnerRejected(a.Clock.Now())
			return nil
		}); err != nil {
			return translate(err)
		}
	}
	return a.refuseReleasedClaims(ctx, partnerID, domain.ReasonExistingPartnerRejected)
}
