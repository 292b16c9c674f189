package domain

import "time"

// CaseWithdrawn is the status of a case whose review was under way when the
// partner's account was closed (WithdrawForClosure): nothing more is
// reviewed, due or decided.
const CaseWithdrawn CaseStatus = "withdrawn"

// ReasonPartnerClosed is why a case is withdrawn: the partner's account was
// closed (registration's closure, by the partner or an operator), which is
// final.
const ReasonPartnerClosed = "partner_closed"

// WithdrawForClosure records that the partner's account was closed: the
// review under way ends — a pending case (a review re-opened after a
// revocation or a reactivation) is withdrawn, every review task still open
// (a profile change's too) is cancelled, so no verifier takes it, no
// reminder or deadline of documents runs and no decision is recorded —
// and the case can no longer be reviewed again or revoked. It reports
// whether anything changed; a CaseWithdrawal event names what was withdrawn
// when there was any work to withdraw. A replay changes nothing.
func (c *Case) WithdrawForClosure(now time.Time, r Rules) bool {
	if !c.PartnerClosedAt.IsZero() {
		return false
	}
	c.PartnerClosedAt = now
	from := c.Status
	cancelled := c.cancelActiveTasks()
	if from == CasePending {
		c.Status, c.SubStatus, c.ClosedAt = CaseWithdrawn, ReasonPartnerClosed, now
	}
	if from == CasePending || len(cancelled) > 0 {
		c.record(CaseWithdrawal{EventMeta: c.meta(now), From: from, To: c.Status, Reason: ReasonPartnerClosed, TasksCancelled: cancelled})
	}
	c.settle(now, r)
	return true
}

// refuseClosedPartner is the answer to a review or revocation of a closed
// partner's case.
func (c *Case) refuseClosedPartner(action string) error {
	if c.PartnerClosedAt.IsZero() {
		return nil
	}
	return violation(ErrPartnerClosed, "the account of partner "+c.PartnerID+" was closed; its case is not "+action,
		"case_id", c.ID, "partner_closed_at", c.PartnerClosedAt)
}

// ReasonExistingPartnerClosed is the reason a duplicate claim is refused by
// this service, not by a verifier: the account the claim is about was
// closed, which lets go of the company's registration (registration releases
// its identity keys), so there is nothing to claim. It is not in the
// verifiers' catalog (ReviewReasons).
const ReasonExistingPartnerClosed ReasonCode = "existing_partner_closed"

// ClosureDecider is who decides a claim refused for a closed account.
const ClosureDecider = "verification"

// RefuseForClosure decides an open duplicate claim about a partner whose
// account was closed: refused with ReasonExistingPartnerClosed, so that no
// verifier reviews it and an upheld claim never asks the closed account to
// add the claimant; the claimant reads that the company may register again.
// A review of another kind, or a decided or cancelled one, is left as it
// is; it reports whether anything changed.
func (r *Review) RefuseForClosure(now time.Time) bool {
	if r.Status != ReviewOpen || r.Kind != ReviewDuplicateClaim {
		return false
	}
	r.Decision = &ReviewDecision{ID: r.ID + ":" + string(ReasonExistingPartnerClosed), Outcome: ReviewRefused,
		Reason: ReasonExistingPartnerClosed, DecidedBy: ClosureDecider, DecidedAt: now,
		ReasonText: "The account this registration was refused for has since been closed, which frees the company's registration: register the company again; no claim is needed."}
	r.Status, r.UpdatedAt, r.ClaimedBy, r.LeaseUntil = ReviewDecided, now, "", time.Time{}
	r.events = append(r.events, DuplicateClaimDecided{Review: *r.snapshot()})
	return true
}
