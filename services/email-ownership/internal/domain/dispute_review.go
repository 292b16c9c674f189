package domain

import (
	"errors"
	"slices"
	"time"
)

// StateRemoved: a verifier upheld the "this wasn't me" dispute of the
// challenge; its address is removed from the enrollment and can be neither
// confirmed nor resent.
const StateRemoved State = "removed"

// ErrAddressRemoved: the challenge's address was removed after an upheld dispute.
var ErrAddressRemoved = errors.New("the address was removed from the enrollment after an upheld dispute")

// DisputeDecision is a verifier's outcome of a dispute, as verification
// published it.
type DisputeDecision struct {
	ChallengeID string
	ReviewID    string
	Upheld      bool
	Reason      string // dismissed: the reason code
	// DecidedAt is when the verifier decided (zero: unknown). A dismissal
	// carried to the partner's other enrollments closes only the disputes
	// made by then (DismissDisputeOf).
	DecidedAt time.Time
}

// ApplyDisputeDecision closes the open dispute of the challenge. Upheld:
// the address is removed from the enrollment — the disputed challenge and
// any later open one to the same address (a resend) end as StateRemoved —
// and DisputeUpheld is recorded. Dismissed: the disputed challenge, if
// still disputed, is pending again (confirmable until it expires, as
// before the dispute) and DisputeDismissed is recorded. A decision on a
// dispute that is no longer open (a confirmation withdrew it, or the
// decision was applied already) changes nothing and reports false.
func (o *Ownership) ApplyDisputeDecision(d DisputeDecision, now time.Time) bool {
	if o.disputeOpen == "" || o.disputeOpen != d.ChallengeID {
		return false
	}
	disputed := o.challenge(d.ChallengeID)
	if disputed == nil {
		return false
	}
	o.disputeOpen = ""
	if !d.Upheld {
		if disputed.State == StateDisputed {
			disputed.State = StatePending
		}
		o.events = append(o.events, DisputeDismissed{EventHeader: o.header(disputed.ID, now), ReviewID: d.ReviewID,
			Address: disputed.Address, Reason: d.Reason})
		return true
	}
	o.removeAll(disputed.Address, d.ReviewID, now)
	if disputed.State != StateRemoved { // superseded by a resend: it is removed all the same
		disputed.State, disputed.RemovedAt, disputed.RemovedBy = StateRemoved, now, d.ReviewID
	}
	o.events = append(o.events, DisputeUpheld{EventHeader: o.header(disputed.ID, now), ReviewID: d.ReviewID, Address: disputed.Address})
	return true
}

// removeAll ends every challenge to addr that was not confirmed, nor
// superseded or withdrawn (a challenge a hold cancelled included: the
// release re-opens nothing then) as StateRemoved by reviewID; it returns
// the latest one it removed (nil: none).
func (o *Ownership) removeAll(addr, reviewID string, now time.Time) *Challenge {
	var last *Challenge
	for i := range o.challenges {
		c := &o.challenges[i]
		if c.Address != addr {
			continue
		}
		switch c.State {
		case StatePending, StateDisputed, StateLocked, StateExpired, StateCancelled:
			c.State, c.RemovedAt, c.RemovedBy = StateRemoved, now, reviewID
			last = c
		}
	}
	return last
}

// Removal reports whether an upheld dispute removed addr (normalized) from
// the enrollment, and the review that upheld it.
func (o *Ownership) Removal(addr string) (reviewID string, removed bool) {
	for _, c := range o.challenges {
		if c.Address == addr && c.State == StateRemoved {
			return c.RemovedBy, true
		}
	}
	return "", false
}

// RemoveAddress carries to this enrollment an upheld dispute of another
// enrollment of the same partner: the review found that addr, the partner's
// contact address, is not the registrant's, so no enrollment of the partner
// is confirmed on it or mails it again. Every challenge to addr that was not
// confirmed ends removed (an open dispute of one of them is closed by the
// decision: its own review has nothing left to decide), and DisputeUpheld is
// recorded for the disputed challenge, else the latest removed. A
// confirmation made before is left as it is. It reports whether anything
// changed (nothing the second time).
func (o *Ownership) RemoveAddress(addr string, d DisputeDecision, now time.Time) bool {
	ref := ""
	if o.disputeOpen != "" {
		if c := o.challenge(o.disputeOpen); c != nil && c.Address == addr {
			ref, o.disputeOpen = c.ID, ""
		}
	}
	last := o.removeAll(addr, d.ReviewID, now)
	if last == nil && ref == "" {
		return false
	}
	if ref == "" {
		ref = last.ID
	}
	if c := o.challenge(ref); c.State != StateRemoved {
		c.State, c.RemovedAt, c.RemovedBy = StateRemoved, now, d.ReviewID
	}
	o.events = append(o.events, DisputeUpheld{EventHeader: o.header(ref, now), ReviewID: d.ReviewID, Address: addr})
	return true
}

// DismissDisputeOf carries to this enrollment a dismissed dispute of
// another enrollment of the same partner: the review found that addr
// belongs to the contact, so an open dispute here of a challenge to addr,
// made when the verifier decided or before (a later report is new and
// reviewed on its own), is dismissed with it — the challenge is pending
// again and DisputeDismissed is recorded. It reports whether anything
// changed.
func (o *Ownership) DismissDisputeOf(addr string, d DisputeDecision, now time.Time) bool {
	if o.disputeOpen == "" {
		return false
	}
	c := o.challenge(o.disputeOpen)
	if c == nil || c.Address != addr || (!d.DecidedAt.IsZero() && c.DisputedAt.After(d.DecidedAt)) {
		return false
	}
	o.disputeOpen = ""
	if c.State == StateDisputed {
		c.State = StatePending
	}
	o.events = append(o.events, DisputeDismissed{EventHeader: o.header(c.ID, now), ReviewID: d.ReviewID,
		Address: c.Address, Reason: d.Reason})
	return true
}

// OpenRemoved records, in place of a challenge, that the enrollment's
// address addr was removed from the partner by an upheld dispute (review
// reviewID, of another enrollment): a new enrollment or a profile change
// back to that address opens nothing and mails nothing. The record is a
// challenge ended removed (its link and code were never sent; a resend is
// refused as for any removed address), announced by DisputeUpheld so that
// the enrollment's readers learn why it cannot be confirmed. It reports
// whether anything changed: not when causationID was seen, nor when the
// enrollment already has a challenge to addr.
func (o *Ownership) OpenRemoved(rcpt Recipient, causationID, reviewID string, is Issued, now time.Time) (bool, error) {
	addr, err := NormalizeAddress(rcpt.Address)
	if err != nil {
		return false, err
	}
	if !is.valid() {
		return false, ErrInvalidIssue
	}
	if causationID != "" && slices.Contains(o.causations, causationID) {
		return false, nil
	}
	for _, c := range o.challenges {
		if c.Address == addr && c.State == StateRemoved {
			return false, nil
		}
	}
	if causationID != "" {
		o.causations = append(o.causations, causationID)
	}
	rcpt.Address = addr
	c := Challenge{ID: is.ChallengeID, Address: addr, TokenHash: slices.Clone(is.TokenHash), CodeMAC: slices.Clone(is.CodeMAC),
		State: StateRemoved, OpenedAt: now, ExpiresAt: now, RemovedAt: now, RemovedBy: reviewID}
	o.supersedeOpen(now)
	o.challenges = append(o.challenges, c)
	o.recipient = rcpt
	o.events = append(o.events, DisputeUpheld{EventHeader: o.header(c.ID, now), ReviewID: reviewID, Address: addr})
	return true, nil
}

// challenge is the challenge with id (nil: none).
func (o *Ownership) challenge(id string) *Challenge {
	for i := range o.challenges {
		if o.challenges[i].ID == id {
			return &o.challenges[i]
		}
	}
	return nil
}

// DisputeUpheld: the disputed address was removed from the enrollment.
type DisputeUpheld struct {
	EventHeader
	ReviewID string
	Address  string
}

// DisputeDismissed: the dispute was closed; the challenge continues.
type DisputeDismissed struct {
	EventHeader
	ReviewID string
	Address  string
	Reason   string
}

// EventName implements Event.
func (DisputeUpheld) EventName() string { return "dispute.upheld" }

// EventName implements Event.
func (DisputeDismissed) EventName() string { return "dispute.dismissed" }
