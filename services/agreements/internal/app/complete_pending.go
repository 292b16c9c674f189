package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// CompletePending records the pending acceptances of a partner whose
// verification this service has now heard: each is recorded as made at
// the time of its request (with its acceptor's evidence), or refused with
// the code a direct acceptance would get now (AcceptanceRefused) — e.g.
// the partner was rejected. Nothing happens while the verification is
// still pending here. Event handlers call it after applying the partner's
// registration, a verification decision or a standing change, holding the
// partner's row lock.
type CompletePending struct{ d Deps }

// Handle completes the open pending acceptances of partnerID.
func (uc CompletePending) Handle(ctx context.Context, partnerID string) error {
	open, err := uc.d.Pending.ListOpen(ctx, partnerID)
	if err != nil || len(open) == 0 {
		return err
	}
	partner, err := uc.d.Partners.Get(ctx, partnerID)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !partner.Registered() || partner.Verification().Outcome == domain.VerificationPending {
		return nil
	}
	for _, pa := range open {
		st := pa.State()
		acceptanceID, program, refusal, err := uc.complete(ctx, partner, st)
		if err != nil {
			return err
		}
		now := uc.d.Clock.Now()
		err = uc.d.Pending.Update(ctx, st.ID, func(p *domain.PendingAcceptance) error {
			if refusal != "" {
				p.Refused(program, refusal, now)
			} else {
				p.Recorded(acceptanceID, now)
			}
			return nil
		})
		if err != nil {
			return translate(wrapf(err, "resolve pending acceptance %s", st.ID), "store pending acceptance")
		}
	}
	return nil
}

// complete records one pending acceptance; a refusal is its code (and no
// error), other errors fail the whole completion (the event is retried).
func (uc CompletePending) complete(ctx context.Context, partner *domain.Partner, st domain.PendingAcceptanceState) (id string, program domain.Program, refusal string, err error) {
	version, err := uc.d.Versions.Get(ctx, st.VersionID)
	var de *domain.Error
	if errors.As(err, &de) {
		return "", "", de.Code, nil
	}
	if err != nil {
		return "", "", "", err
	}
	program = version.Program()
	if st.Market != partner.Market() {
		return "", program, domain.ErrMarketMismatch.Code, nil
	}
	res, err := record(ctx, uc.d, acceptance{Partner: partner, Version: version, Market: st.Market, Acceptor: st.Acceptor,
		AcceptedAt: st.RequestedAt, ClientAcceptedAt: st.ClientAcceptedAt, ClientIP: st.ClientIP, UserAgent: st.UserAgent,
		RequestID: st.RequestID})
	if errors.As(err, &de) {
		return "", program, de.Code, nil
	}
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		return "", program, ve.Problems[0].Err.Code, nil
	}
	if err != nil {
		return "", program, "", err
	}
	return res.Acceptance.ID, program, "", nil
}
