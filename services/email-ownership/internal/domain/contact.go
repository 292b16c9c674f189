package domain

import (
	"slices"
	"time"
)

// FollowContact moves an enrollment that has not confirmed an address yet to
// the partner's new contact address, once registration applied profile
// change number change of it (causationID: that event; the recipient is
// named by it, so that its mails — resends too — say the company named the
// address): its open challenge — pending,
// disputed, locked, expired, or one an upheld dispute removed — is
// superseded by a fresh challenge and mail to rcpt (reason profile_change,
// tied to no pending change), so that the new contact, not the previous
// one, confirms it and a resend mails the new address. An enrollment that
// confirmed an address keeps its proof, and one whose latest challenge is
// already to the new address (the one that proved it for the change) or was
// withdrawn is left alone. A report of the previous address stays with its
// review (a confirmation of the new challenge withdraws it, as any). While
// the partner is held nothing is opened: the release restores the
// cancelled challenge to the new contact. It reports whether anything
// changed; a replay changes nothing.
//
// proven says whether the change proved the new address first (its
// email_ownership check passed). A change applied without that proof is a
// pending partner's correction, which registration applies at once while it
// knows of no confirmed address; a confirmation it had not heard of yet (the
// contact followed the link as the correction was made) makes its premise
// stale. The membership enrollment that confirmed another address then asks
// the new contact too — a challenge and mail to the new address, the earlier
// confirmation standing meanwhile, as when a change proves its address
// first —, so that the contact registration now holds is proven, and the
// case's e-mail check, which waits for the new contact's confirmation, can
// pass. Other enrollments keep their confirmations, as they do after a
// proven change.
func (o *Ownership) FollowContact(change int, proven bool, rcpt Recipient, causationID string, is Issued, p Policy, now time.Time) (bool, error) {
	addr, err := NormalizeAddress(rcpt.Address)
	if err != nil {
		return false, err
	}
	rcpt.Address, rcpt.NamedBy = addr, change
	if causationID != "" && slices.Contains(o.causations, causationID) {
		return false, nil
	}
	cur, ok := o.currentRef()
	if !ok || cur.Address == addr || cur.State == StateWithdrawn {
		return false, nil
	}
	if slices.ContainsFunc(o.challenges, func(c Challenge) bool { return c.State == StateConfirmed }) &&
		(proven || o.ref.Program != ProgramMembership) {
		return false, nil
	}
	if !is.valid() {
		return false, ErrInvalidIssue
	}
	if causationID != "" {
		o.causations = append(o.causations, causationID)
	}
	if o.hold != nil {
		o.recipient = rcpt
		return true, nil
	}
	o.issue(rcpt, is, ReasonProfileChange, 0, causationID, p, now)
	return true, nil
}
