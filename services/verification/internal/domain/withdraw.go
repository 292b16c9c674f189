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

// The reasons a duplicate claim is refused by this service, not by a
// verifier: the account the claim is about let go of the company's
// registration (registration released its identity keys) — it was closed
// (since round 46), or its registration was rejected — so there is nothing
// to claim and the company may register again. They are not in the
// verifiers' catalog (ReviewReasons).
const (
	ReasonExistingPartnerClosed   ReasonCode = "existing_partner_closed"
	ReasonExistingPartnerRejected ReasonCode = "existing_partner_rejected"
)

// releasedReasons are the claimant's texts of those reasons.
var releasedReasons = map[ReasonCode]string{
	ReasonExistingPartnerClosed:   "The account this registration was refused for has since been closed, which frees the company's registration: register the company again; no claim is needed.",
	ReasonExistingPartnerRejected: "The registration this one was refused for has since been rejected, which frees the company's registration: register the company again; no claim is needed.",
}

// ReleasedDecider is who decides a claim refused for a released account.
const ReleasedDecider = "verification"

// Released is why a claim about the case's partner has nothing to decide:
// the partner's account was closed or its registration rejected (empty:
// neither).
func (c *Case) Released() ReasonCode {
	switch {
	case !c.PartnerClosedAt.IsZero():
		return ReasonExistingPartnerClosed
	case !c.PartnerRejectedAt.IsZero():
		return ReasonExistingPartnerRejected
	}
	return ""
}

// MarkPartnerRejected records registration's rejection of the partner (its
// identity let go); it reports whether anything changed.
func (c *Case) MarkPartnerRejected(now time.Time) bool {
	if !c.PartnerRejectedAt.IsZero() {
		return false
	}
	c.PartnerRejectedAt, c.UpdatedAt = now, now
	return true
}

// RefuseReleased decides an open duplicate claim about a partner that let
// go of the company's registration (reason: ReasonExistingPartnerClosed or
// ReasonExistingPartnerRejected): refused, so that no verifier reviews it
// and an upheld claim never asks that account to add the claimant (and
// never hands the claimant's contact to a rejected applicant); the
// claimant reads that the company may register again. A review of another
// kind, or a decided or cancelled one, is left as it is; it reports
// whether anything changed.
func (r *Review) RefuseReleased(reason ReasonCode, now time.Time) bool {
	text, ok := releasedReasons[reason]
	if !ok || r.Status != ReviewOpen || r.Kind != ReviewDuplicateClaim {
		return false
	}
	r.Decision = &ReviewDecision{ID: r.ID + ":" + string(reason), Outcome: ReviewRefused,
		Reason: reason, ReasonText: text, DecidedBy: ReleasedDecider, DecidedAt: now}
	r.Status, r.UpdatedAt, r.ClaimedBy, r.LeaseUntil = ReviewDecided, now, "", time.Time{}
	r.events = append(r.events, DuplicateClaimDecided{Review: *r.snapshot()})
	return true
}
