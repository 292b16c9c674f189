package domain

import (
	"errors"
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
	var disputed *Challenge
	for i := range o.challenges {
		if o.challenges[i].ID == d.ChallengeID {
			disputed = &o.challenges[i]
		}
	}
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
	for i := range o.challenges {
		c := &o.challenges[i]
		if c.Address != disputed.Address {
			continue
		}
		switch c.State {
		case StatePending, StateDisputed, StateLocked, StateExpired:
			c.State, c.RemovedAt = StateRemoved, now
		}
	}
	if disputed.State != StateRemoved { // superseded by a resend: it is removed all the same
		disputed.State, disputed.RemovedAt = StateRemoved, now
	}
	o.events = append(o.events, DisputeUpheld{EventHeader: o.header(disputed.ID, now), ReviewID: d.ReviewID, Address: disputed.Address})
	return true
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
