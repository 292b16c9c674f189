package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Outcome is what a verifier decided.
type Outcome string

// Decision outcomes.
const (
	OutcomeApprove          Outcome = "approve"
	OutcomeReject           Outcome = "reject"
	OutcomeRequestDocuments Outcome = "request_documents"
)

// DecisionStatus is the effect a recorded decision had.
type DecisionStatus string

// Decision statuses.
const (
	DecisionFinal               DecisionStatus = "final"
	DecisionPendingConfirmation DecisionStatus = "pending_confirmation"
	DecisionConfirmed           DecisionStatus = "confirmed" // the proposal was confirmed (on the proposal)
	DecisionConfirmation        DecisionStatus = "confirmation"
	DecisionOverruled           DecisionStatus = "overruled" // a second verifier decided otherwise (on the proposal)
)

// DecisionInput is a verifier's decision as it arrives by API or event.
type DecisionInput struct {
	ID                string // chosen by the verifier; makes replays no-ops
	TaskID            string
	Verifier          string
	VerifierPartnerID string
	Outcome           Outcome
	Reason            ReasonCode
	Mode              RejectionMode
	ApplicantMessage  string
	InternalNote      string
	// Documents narrows the requested documents to a subset of the reason's cures.
	Documents []DocumentType
}

// Decision is a recorded decision.
type Decision struct {
	ID               string         `json:"id"`
	TaskID           string         `json:"task_id"`
	Check            CheckKind      `json:"check"`
	Verifier         string         `json:"verifier"`
	Outcome          Outcome        `json:"outcome"`
	Reason           ReasonCode     `json:"reason,omitempty"`
	Mode             RejectionMode  `json:"mode,omitempty"`
	ApplicantMessage string         `json:"applicant_message,omitempty"`
	InternalNote     string         `json:"internal_note,omitempty"`
	Documents        []DocumentType `json:"documents,omitempty"`
	Status           DecisionStatus `json:"status"`
	Confirms         string         `json:"confirms,omitempty"`
	At               time.Time      `json:"at"`
}

func (d *Decision) sameAs(in DecisionInput) bool {
	return d.TaskID == in.TaskID && d.Verifier == in.Verifier && d.Outcome == in.Outcome &&
		d.Reason == in.Reason && d.Mode == in.Mode
}

func (c *Case) decision(id string) *Decision {
	for _, d := range c.Decisions {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// validateDecision checks the decision against the catalog for check k and
// returns the documents to request.
// Bounds of a decision's free text (as intake.verification.decision_submitted.v1
// bounds them on the bus).
const (
	MaxApplicantMessage = 2000
	MaxInternalNote     = 4000
)

// checkDecisionID is the one rule for a decision id — a task's decision,
// a revocation, a review's decision: the idempotency key a verifier's tool
// chooses, carried in events and the audit log as written. Required, at
// most MaxDecisionIDLength characters (the bus intake's schema says the
// same), and free of characters that make two ids look alike or one read
// as another.
func checkDecisionID(id string) (FieldProblem, bool) {
	switch {
	case strings.TrimSpace(id) == "":
		return FieldProblem{"decision_id", CodeRequired, "decision_id is required: it makes the decision idempotent"}, false
	case utf8.RuneCountInString(id) > MaxDecisionIDLength:
		return FieldProblem{"decision_id", "decision.id_too_long", fmt.Sprintf("decision_id is at most %d characters", MaxDecisionIDLength)}, false
	}
	if p, bad := normalize.CheckText(id); bad {
		return FieldProblem{"decision_id", "decision.id_invalid_characters",
			fmt.Sprintf("decision_id must not contain a control, invisible or bidirectional-control character (%s)", p)}, false
	}
	return FieldProblem{}, true
}

func validateDecision(in DecisionInput, k CheckKind) ([]DocumentType, error) {
	var fs []FieldProblem
	add := func(field, code, msg string) { fs = append(fs, FieldProblem{field, code, msg}) }
	// The decision id is checked before the task is looked at (Decide).
	if in.Verifier == "" {
		add("verifier", CodeRequired, "verifier is required")
	}
	var docs []DocumentType
	switch in.Outcome {
	case OutcomeApprove:
		if in.Reason != "" || in.Mode != "" {
			add("reason_code", "decision.reason_not_allowed", "an approval carries no reason or mode")
		}
	case OutcomeReject, OutcomeRequestDocuments:
		reason, ok := LookupReason(in.Reason)
		switch {
		case !ok:
			add("reason_code", "decision.reason_unknown", "reason code is not in the catalog")
		case !reason.AppliesTo(k):
			add("reason_code", "decision.reason_not_applicable", "reason "+string(in.Reason)+" does not apply to the "+string(k)+" check")
		}
		cures := reason.Cures(k)
		if in.Outcome == OutcomeReject && !in.Mode.Valid() {
			add("mode", "decision.mode_invalid", "mode must be RETRY or FINAL")
		}
		curable := in.Outcome == OutcomeRequestDocuments || in.Mode == ModeRetry
		if ok && curable && len(cures) == 0 {
			add("reason_code", "decision.reason_not_curable", "reason "+string(in.Reason)+" cannot be cured by documents; reject FINAL")
		}
		if in.Outcome == OutcomeRequestDocuments && in.Mode != "" {
			add("mode", "decision.mode_not_allowed", "a document request carries no mode")
		}
		docs = cures
		if len(in.Documents) > 0 {
			for _, d := range in.Documents {
				if !slices.Contains(cures, d) {
					add("documents", "decision.document_does_not_cure", "document type "+string(d)+" does not cure "+string(in.Reason))
				}
			}
			docs = slices.Clone(in.Documents)
		}
	default:
		add("outcome", "decision.outcome_invalid", "outcome must be approve, reject or request_documents")
	}
	// The message is mailed to the applicant as written, the note shown to
	// operators: bounded as the bus's intake bounds them, and free of
	// characters that would make either read as something else.
	for _, t := range []struct {
		field, text string
		max         int
	}{{"applicant_message", in.ApplicantMessage, MaxApplicantMessage}, {"internal_note", in.InternalNote, MaxInternalNote}} {
		if n := utf8.RuneCountInString(t.text); n > t.max {
			add(t.field, "decision.too_long", fmt.Sprintf("%s is at most %d characters (got %d)", t.field, t.max, n))
		}
		if p, bad := normalize.CheckFreeText(t.text); bad {
			add(t.field, "decision.invalid_characters", fmt.Sprintf("%s must not contain a control, invisible or bidirectional-control character (%s)", t.field, p))
		}
	}
	if len(fs) > 0 {
		return nil, invalid(ErrInvalidDecision, fs)
	}
	return docs, nil
}

// Decide applies a verifier's decision to its task. A decision id seen
// before returns the recorded decision with replay = true and changes
// nothing. A FINAL rejection only proposes: the task waits for a second,
// different verifier whose FINAL rejection with the same reason confirms it,
// and whose other decision overrules it.
func (c *Case) Decide(in DecisionInput, now time.Time, r Rules) (d Decision, replay bool, err error) {
	if prev := c.decision(in.ID); prev != nil && in.ID != "" {
		if !prev.sameAs(in) {
			return Decision{}, false, violation(ErrDecisionIDReused, "decision "+in.ID+" was recorded with different content", "decision_id", in.ID)
		}
		return *prev, true, nil
	}
	// An id that could never have been recorded is the request's own fault,
	// whatever the task's state.
	if p, ok := checkDecisionID(in.ID); !ok {
		return Decision{}, false, invalid(ErrInvalidDecision, []FieldProblem{p})
	}
	t, err := c.activeTask(in.TaskID, in.Verifier, in.VerifierPartnerID)
	if err != nil {
		return Decision{}, false, err
	}
	docs, err := validateDecision(in, t.Check)
	if err != nil {
		return Decision{}, false, err
	}
	if holder, held := t.ClaimedAt(now); !held || holder != in.Verifier {
		return Decision{}, false, violation(ErrTaskNotClaimed, "task "+t.ID+" is not claimed by "+in.Verifier+" (claim it first, or the lease expired)",
			"task_id", t.ID, "claimed_by", holder)
	}
	if t.Content.ProfileChange > 0 {
		d, err := c.decideProfileTask(t, in, now, r)
		return d, false, err
	}
	ck := c.Check(t.Check)
	if in.Outcome == OutcomeRequestDocuments && ck.AppealsRemaining(r.Policy) == 0 {
		return Decision{}, false, violation(ErrAppealsExhausted, "the applicant has no appeals left on the "+string(ck.Kind)+" check: approve or reject",
			"check", ck.Kind)
	}

	rec := &Decision{ID: in.ID, TaskID: t.ID, Check: t.Check, Verifier: in.Verifier, Outcome: in.Outcome,
		Reason: in.Reason, Mode: in.Mode, ApplicantMessage: in.ApplicantMessage, InternalNote: in.InternalNote,
		Documents: docs, Status: DecisionFinal, At: now}
	if rec.ApplicantMessage == "" && in.Reason != "" {
		rec.ApplicantMessage = Reasons[in.Reason].ApplicantHint
	}
	finalReject := in.Outcome == OutcomeReject && in.Mode == ModeFinal

	if t.Status == TaskPendingConfirmation {
		proposal := c.decision(t.Proposal)
		if in.Verifier == t.ProposedBy {
			return Decision{}, false, violation(ErrFourEyes, "", "task_id", t.ID)
		}
		if finalReject && proposal.Reason != in.Reason {
			return Decision{}, false, violation(ErrConfirmationMismatch, "the proposal rejects for "+string(proposal.Reason)+", the confirmation for "+string(in.Reason),
				"proposed_reason", proposal.Reason, "reason", in.Reason)
		}
		if finalReject {
			proposal.Status, rec.Status, rec.Confirms = DecisionConfirmed, DecisionConfirmation, proposal.ID
		} else {
			proposal.Status = DecisionOverruled
		}
	} else if finalReject {
		rec.Status = DecisionPendingConfirmation
	}

	switch {
	case rec.Status == DecisionPendingConfirmation:
		t.Status, t.ProposedBy, t.Proposal = TaskPendingConfirmation, in.Verifier, rec.ID
	case in.Outcome == OutcomeApprove:
		err = c.transition(ck, StatePassed, "", "", now, &Evidence{Kind: EvidenceVerifierDecision, Detail: in.ID, At: now})
		c.markDocuments(t.ID, DocumentApproved, "")
	case in.Outcome == OutcomeReject && in.Mode == ModeFinal:
		err = c.transition(ck, StateRejected, in.Reason, ModeFinal, now, nil)
		ck.ApplicantMessage = rec.ApplicantMessage
		c.markDocuments(t.ID, DocumentRejected, in.Reason)
	case in.Outcome == OutcomeReject:
		err = c.requireDocuments(ck, in.Reason, rec.ApplicantMessage, docs, ModeRetry, now, r)
		c.markDocuments(t.ID, DocumentRejected, in.Reason)
	case in.Outcome == OutcomeRequestDocuments:
		err = c.requireDocuments(ck, in.Reason, rec.ApplicantMessage, docs, "", now, r)
		c.markDocuments(t.ID, DocumentRejected, in.Reason)
	}
	if err != nil {
		return Decision{}, false, err
	}
	if rec.Status != DecisionPendingConfirmation {
		t.Status, t.DecidedAt = TaskDecided, now
	}
	t.ClaimedBy, t.LeaseUntil = "", time.Time{} // a proposal frees the task for the second verifier
	c.Decisions = append(c.Decisions, rec)
	c.record(DecisionRecorded{EventMeta: c.meta(now), DecisionID: rec.ID, TaskID: t.ID, Check: t.Check, Verifier: rec.Verifier,
		Outcome: rec.Outcome, Reason: rec.Reason, Mode: rec.Mode, ApplicantMessage: rec.ApplicantMessage, Status: rec.Status, Confirms: rec.Confirms})
	c.settle(now, r)
	return *rec, false, nil
}

// markDocuments records the fate of the documents reviewed in task taskID.
func (c *Case) markDocuments(taskID string, s DocumentStatus, reason ReasonCode) {
	for _, d := range c.Documents {
		if d.TaskID == taskID {
			d.Status, d.RejectedFor = s, reason
		}
	}
}
