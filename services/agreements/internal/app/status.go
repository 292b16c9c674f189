package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// StatusQuery asks "is the agreement signed for this partner id / market".
type StatusQuery struct {
	PartnerID string // global partner id or location id
	Market    string
	Program   string // default indirect_reseller
}

// StatusResult is a positive answer: the agreement is signed and effective.
// Every negative answer is an error with a precise code:
// agreements.unknown_partner, agreements.market_mismatch,
// agreements.no_reseller_enrollment (agreements.no_enrollment for other
// programs), agreements.not_signed, agreements.verification_revoked,
// agreements.verification_not_approved, agreements.partner_not_in_good_standing,
// agreements.reacceptance_overdue.
type StatusResult struct {
	PartnerID    string
	LocationID   string
	Program      domain.Program
	Market       domain.Market
	AcceptanceID string
	VersionID    string
	AcceptedAt   time.Time
	EffectiveAt  time.Time
	AcceptedBy   domain.Acceptor
	// ReacceptanceDueBy is set while a re-acceptance is required but not yet overdue.
	ReacceptanceDueBy *time.Time
}

// Status answers whether a partner's agreement is signed and effective.
type Status struct{ d Deps }

// Handle answers q for p.
func (uc Status) Handle(ctx context.Context, p auth.Principal, q StatusQuery) (StatusResult, error) {
	if err := requireAuthenticated(p); err != nil {
		return StatusResult{}, err
	}
	var ps []domain.Problem
	market, err := domain.ParseMarket(q.Market)
	if err != nil {
		ps = append(ps, domain.Problem{Field: "query.market", Err: domain.ErrInvalidMarket})
	}
	program := domain.ProgramIndirectReseller
	if q.Program != "" {
		if program, err = domain.ParseProgram(q.Program); err != nil {
			ps = append(ps, domain.Problem{Field: "query.program", Err: domain.ErrInvalidProgram})
		}
	}
	if len(ps) > 0 {
		return StatusResult{}, translate(&domain.ValidationError{Problems: ps}, "")
	}
	partner, err := lookupPartner(ctx, uc.d.Partners, q.PartnerID)
	if err != nil {
		return StatusResult{}, err
	}
	if !p.ActsForRecord(partner.ID(), partner.RegisteredBy()) { // an upstream system: its own partners
		return StatusResult{}, errUnknownPartner()
	}
	if market != partner.Market() {
		return StatusResult{}, coded(domain.ErrMarketMismatch).With("market", string(market))
	}
	if !partner.Enrolled(program) {
		if program == domain.ProgramIndirectReseller {
			return StatusResult{}, coded(domain.ErrNoResellerEnrollment)
		}
		return StatusResult{}, coded(domain.ErrNotEnrolled).With("program", string(program))
	}
	key := domain.AcceptanceKey{LocationID: partner.LocationID(), Program: program, Market: market}
	cur, err := currentAcceptance(ctx, uc.d.Acceptances, key)
	if err != nil {
		return StatusResult{}, err
	}
	if cur == nil {
		return StatusResult{}, coded(domain.ErrAcceptanceNotFound).With("program", string(program))
	}
	if program.GatedByVerification() && !partner.Approved() {
		v := partner.Verification()
		if v.Outcome == domain.VerificationRevoked {
			return StatusResult{}, coded(domain.ErrVerificationRevoked).With("decision_id", v.DecisionID)
		}
		return StatusResult{}, coded(domain.ErrVerificationNotApproved).With("verification", string(v.Outcome))
	}
	if st := partner.Standing(); program.GatedByVerification() && !st.Good() {
		return StatusResult{}, coded(domain.ErrNotInGoodStanding).With("standing", st.Status).With("reasons", st.Reasons)
	}
	open, err := uc.d.Requirements.ListOpen(ctx, key)
	if err != nil {
		return StatusResult{}, translate(wrapf(err, "list open requirements"), "list requirements")
	}
	now := uc.d.Clock.Now()
	var due *time.Time
	for _, r := range open {
		rs := r.State()
		if r.IsOverdue(now) {
			return StatusResult{}, coded(domain.ErrReacceptanceOverdue).
				With("version_id", rs.VersionID).With("due_by", rs.DueBy)
		}
		if due == nil || rs.DueBy.Before(*due) {
			due = &rs.DueBy
		}
	}
	s := cur.State()
	return StatusResult{
		PartnerID: partner.ID(), LocationID: partner.LocationID(), Program: program, Market: market,
		AcceptanceID: s.ID, VersionID: s.VersionID, AcceptedAt: s.AcceptedAt, EffectiveAt: s.EffectiveAt,
		AcceptedBy: s.Acceptor, ReacceptanceDueBy: due,
	}, nil
}
