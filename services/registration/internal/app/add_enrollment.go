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

// AddEnrollmentCmd asks to enroll a registered partner in one more program.
type AddEnrollmentCmd struct {
	PartnerID string
	Input     domain.EnrollmentInput
}

// AddedEnrollment is the answer of AddEnrollment: the new enrollment and
// the partner after the change.
type AddedEnrollment struct {
	Enrollment domain.Enrollment `json:"enrollment"`
	Partner    PartnerView       `json:"partner"`
}

// AddEnrollment enrolls a registered partner (a partner-network member) in
// the indirect reseller or indirect provider program at one of its
// locations, validated as at registration for its market (support profile,
// affirmations, e-mail policy, the programs the market offers). It is not a
// new registration, so the partner is not refused as a duplicate of itself;
// the enrollment publishes registration.enrollment.added.v1 and then goes the
// way of an enrollment of the registration (its own e-mail confirmation,
// agreement). Callers: the upstream system that registered the partner, the
// partner's admin, an operator (others: registration.partner_not_found).
// Errors: registration.invalid_input, registration.already_enrolled,
// registration.location_not_found, registration.program_not_in_market,
// registration.partner_rejected / partner_closed (all but the first Conflict
// or NotFound).
func (a *App) AddEnrollment(ctx context.Context, p auth.Principal, cmd AddEnrollmentCmd) (AddedEnrollment, error) {
	if err := p.Require(auth.RoleUpstreamSystem, auth.RolePartnerAdmin, auth.RoleOperator); err != nil {
		return AddedEnrollment{}, err
	}
	var loc domain.LocationID
	if cmd.Input.LocationID != "" {
		l, err := parseID[domain.LocationID]("location_id", ids.Location, cmd.Input.LocationID)
		if err != nil {
			return AddedEnrollment{}, err
		}
		loc = l
	}
	var out AddedEnrollment
	res, err := a.grow(ctx, p, cmd.PartnerID, "add enrollment", func(partner *domain.Partner, now time.Time) error {
		policy := a.Policies().For(partner.Market())
		req, err := domain.NormalizeEnrollment(cmd.Input, partner.Market(), policy)
		if err != nil {
			return err
		}
		if !policy.Offers(req.Program) {
			return fmt.Errorf("%s in %s: %w", req.Program, partner.Market(), domain.ErrProgramNotInMarket)
		}
		out.Enrollment, err = partner.AddEnrollment(req, loc, a.ids, p.Subject, now)
		return err
	})
	if err != nil {
		return AddedEnrollment{}, err
	}
	out.Partner = res
	return out, nil
}

// grow applies fn to a partner that p may change: its own admin, an
// operator, or the upstream system that registered it (another upstream
// system gets registration.partner_not_found, as for a partner it cannot see).
// When the ID fn drew for what it adds is taken, fn runs again with a fresh
// one, up to maxIDAttempts times.
func (a *App) grow(ctx context.Context, p auth.Principal, partnerID, op string,
	fn func(partner *domain.Partner, now time.Time) error) (PartnerView, error) {
	for range maxIDAttempts {
		view, err := a.growOnce(ctx, p, partnerID, op, fn)
		if !errors.Is(err, domain.ErrIDCollision) {
			return view, err
		}
	}
	return PartnerView{}, fmt.Errorf("%s: %w %d times in a row", op, domain.ErrIDCollision, maxIDAttempts)
}

func (a *App) growOnce(ctx context.Context, p auth.Principal, partnerID, op string,
	fn func(partner *domain.Partner, now time.Time) error) (PartnerView, error) {
	id, err := parseID[domain.PartnerID]("partner_id", ids.Partner, partnerID)
	if err != nil {
		return PartnerView{}, err
	}
	var view PartnerView
	err = a.repo.Update(ctx, id, func(_ context.Context, partner *domain.Partner) error {
		if !actsFor(p, partner) {
			return notFoundPartner()
		}
		now := a.now()
		if err := fn(partner, now); err != nil {
			return err
		}
		partner.SawActivity(now)
		view = partnerView(seenBy(p, partner.Snapshot()))
		return nil
	})
	var dup *domain.DuplicateError
	switch {
	case errors.Is(err, domain.ErrIDCollision):
		return PartnerView{}, err
	case errors.As(err, &dup):
		matched := make([]string, 0, len(dup.MatchedOn))
		for _, k := range dup.SortedMatchedOn() {
			matched = append(matched, string(k))
		}
		return PartnerView{}, apperr.Conflict(CodeDuplicateEntity,
			"another partner is registered in this market with the same legal name at this address").With("matched_on", matched)
	case err != nil:
		return PartnerView{}, translate(err, op+" "+string(id))
	}
	return view, nil
}
