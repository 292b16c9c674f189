package domain

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// CaseRevoked is the status of a case whose approval was withdrawn.
const CaseRevoked CaseStatus = "revoked"

// Limits of a revocation's fields (MaxDecisionIDLength: of every decision
// id, checkDecisionID).
const (
	MaxDecisionIDLength       = 128
	MaxRevocationReasonLength = 2000
)

// RevokeInput is a reviewer's withdrawal of an approved case.
type RevokeInput struct {
	DecisionID string // chosen by the reviewer; makes replays no-ops
	Revoker    string
	// RevokerPartnerID is the partner the revoker belongs to, if any.
	RevokerPartnerID string
	Reason           string
}

// Revocation records the withdrawal of the case's approval.
type Revocation struct {
	DecisionID string `json:"decision_id"`
	// RevokedApprovalID is the decision that completed the approval.
	RevokedApprovalID string    `json:"revoked_approval_id,omitempty"`
	RevokedBy         string    `json:"revoked_by"`
	Reason            string    `json:"reason,omitempty"` // staff only (Case.Redacted)
	At                time.Time `json:"at"`
}

func (in RevokeInput) validate() []FieldProblem {
	var fs []FieldProblem
	add := func(field, code, msg string) { fs = append(fs, FieldProblem{field, code, msg}) }
	if p, ok := checkDecisionID(in.DecisionID); !ok {
		fs = append(fs, p)
	}
	switch {
	case strings.TrimSpace(in.Reason) == "":
		add("reason", CodeRequired, "a revocation needs a reason")
	case utf8.RuneCountInString(in.Reason) > MaxRevocationReasonLength:
		add("reason", "too_long", "reason is longer than 2000 characters")
	}
	if p, bad := normalize.CheckFreeText(in.Reason); bad {
		add("reason", "invalid_characters", "reason must not contain a control, invisible or bidirectional-control character ("+p.String()+")")
	}
	if in.Revoker == "" {
		add("revoker", CodeRequired, "revoker is required")
	}
	return fs
}

// Revoke withdraws the approval of an approved case: the case becomes
// revoked and VerificationRevoked is recorded. The same decision id again
// (with the same content) returns the recorded revocation with replay =
// true and changes nothing. Four eyes: a verifier who approved the case
// cannot revoke it.
func (c *Case) Revoke(in RevokeInput, now time.Time) (rev Revocation, replay bool, err error) {
	if fs := in.validate(); len(fs) > 0 {
		return Revocation{}, false, invalid(ErrInvalidRevocation, fs)
	}
	if r := c.Revocation; r != nil && r.DecisionID == in.DecisionID {
		if r.RevokedBy != in.Revoker || r.Reason != in.Reason {
			return Revocation{}, false, violation(ErrDecisionIDReused, "revocation "+in.DecisionID+" was recorded with different content", "decision_id", in.DecisionID)
		}
		return *r, true, nil
	}
	if c.decision(in.DecisionID) != nil {
		return Revocation{}, false, violation(ErrDecisionIDReused, "decision id "+in.DecisionID+" names a review decision of this case", "decision_id", in.DecisionID)
	}
	if in.RevokerPartnerID != "" && in.RevokerPartnerID == c.PartnerID {
		return Revocation{}, false, violation(ErrOwnPartner, in.Revoker+" belongs to partner "+c.PartnerID, "case_id", c.ID)
	}
	if err := c.refuseClosedPartner("revoked"); err != nil {
		return Revocation{}, false, err
	}
	switch c.Status {
	case CaseApproved:
	case CaseRevoked:
		return Revocation{}, false, violation(ErrCaseAlreadyRevoked, "case "+c.ID+" was revoked by decision "+c.Revocation.DecisionID,
			"case_id", c.ID, "revoked_by_decision", c.Revocation.DecisionID)
	default:
		return Revocation{}, false, violation(ErrCaseNotApproved, "case "+c.ID+" is "+string(c.Status)+"; only an approved case can be revoked",
			"case_id", c.ID, "status", c.Status)
	}
	for _, d := range c.Decisions {
		if d.Outcome == OutcomeApprove && d.Verifier == in.Revoker {
			return Revocation{}, false, violation(ErrFourEyes, "verifier "+in.Revoker+" approved this case (decision "+d.ID+"); a different reviewer must revoke it",
				"case_id", c.ID, "approved_by", d.Verifier)
		}
	}
	rev = Revocation{DecisionID: in.DecisionID, RevokedApprovalID: c.lastDecisionID(), RevokedBy: in.Revoker, Reason: in.Reason, At: now}
	c.Revocation = &rev
	c.Status, c.SubStatus, c.UpdatedAt = CaseRevoked, "approval_revoked", now
	c.record(VerificationRevoked{EventMeta: c.meta(now), DecisionID: rev.DecisionID, RevokedApprovalID: rev.RevokedApprovalID,
		LocationID: c.LocationID, Market: c.Market, Reason: rev.Reason})
	return rev, false, nil
}
