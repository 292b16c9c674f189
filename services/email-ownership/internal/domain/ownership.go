package domain

import (
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
	"time"
)

// State is the state of one challenge.
type State string

// Challenge states.
const (
	StatePending    State = "pending"
	StateConfirmed  State = "confirmed"
	StateExpired    State = "expired"
	StateLocked     State = "locked"
	StateDisputed   State = "disputed"
	StateSuperseded State = "superseded"
	// StateCancelled: the partner left good standing while the challenge
	// was open (registration suspended, made inactive or closed it).
	StateCancelled State = "cancelled"
	// StateWithdrawn: the profile change whose new address the challenge
	// proves will never be applied (replaced by a newer change, or rejected).
	StateWithdrawn State = "withdrawn"
)

// Challenge is one mailed challenge of an enrollment. Only hashes of its
// secrets are kept. Ownership hands out copies; it alone changes them.
type Challenge struct {
	ID           string
	Address      string // normalized
	TokenHash    []byte // HashToken(token)
	CodeMAC      []byte // Hasher.CodeMAC(ID, code)
	State        State
	WrongCodes   int
	OpenedAt     time.Time
	ExpiresAt    time.Time
	ConfirmedAt  time.Time // zero unless confirmed
	Method       ConfirmMethod
	DisputedAt   time.Time
	LockedAt     time.Time
	ExpiredAt    time.Time
	SupersededAt time.Time
	CancelledAt  time.Time
	RemovedAt    time.Time // an upheld dispute removed the address
	RemovedBy    string    // the review that upheld it
	WithdrawnAt  time.Time
	// ProfileChange is registration's number of the profile change whose
	// new contact address this challenge proves (its resends and
	// reinstatements keep it); 0 for every other challenge.
	ProfileChange int
	// NamedBy is the applied profile change that had made the address the
	// partner's contact when the challenge was opened (Recipient.NamedBy;
	// 0: none).
	NamedBy int
	// MailFailure is why the notifier gave up the challenge's mail; nil
	// while it has not (delivered, or still trying, as far as this service
	// heard).
	MailFailure *MailFailure
}

// MailFailure is the notifier's report that a challenge's mail will not be
// delivered (notifier.mail.failed.v1): the receiving server refused it, or
// every attempt failed until the retries ran out.
type MailFailure struct {
	Reason string // permanent_error or attempts_exhausted
	Detail string // the last SMTP error as the notifier reports it (address masked)
	At     time.Time
}

// MailUndeliverable records that the notifier gave up the mail of challenge
// id, so that the enrollment's status says why no mail came and the partner
// corrects the address or asks for another mail (a resend opens a new
// challenge, whose mail starts afresh). False when the challenge is not
// this enrollment's, or its failure is recorded already (a replay).
func (o *Ownership) MailUndeliverable(id string, f MailFailure) bool {
	for i := range o.challenges {
		c := &o.challenges[i]
		if c.ID != id {
			continue
		}
		if c.MailFailure != nil {
			return false
		}
		c.MailFailure = &f
		return true
	}
	return false
}

// usable reports whether the challenge may still be confirmed at now.
// A disputed challenge stays confirmable: confirming withdraws the dispute.
func (c *Challenge) usable(now time.Time) error {
	switch c.State {
	case StatePending, StateDisputed:
		if !now.Before(c.ExpiresAt) {
			return ErrExpired
		}
		return nil
	case StateConfirmed:
		return ErrAlreadyUsed
	case StateExpired:
		return ErrExpired
	case StateSuperseded:
		return ErrSuperseded
	case StateLocked:
		return ErrLocked
	case StateCancelled:
		return ErrCancelled
	case StateWithdrawn:
		return ErrWithdrawn
	case StateRemoved:
		return ErrAddressRemoved
	}
	return ErrNoChallenge
}

// EnrollmentRef names the enrollment a proof belongs to.
type EnrollmentRef struct {
	EnrollmentID string
	PartnerID    string
	Program      string
	// RegisteredBy is the principal that submitted the partner's
	// registration (an upstream system acts only for the partners it
	// registered); empty on proofs stored before it was recorded.
	RegisteredBy string
}

// Recipient is who the mail goes to and how it is written.
type Recipient struct {
	Address     string
	ContactName string
	Language    Language
	Market      string
	// NamedBy is registration's number of the applied profile change that
	// made Address the partner's contact, when the enrollment followed it
	// (FollowContact); 0 for the registration's contact and a pending
	// change's new address (Challenge.ProfileChange says that one). The
	// mails to the recipient — resends and a reinstatement too — say that
	// the company named the address.
	NamedBy int
}

// Issued is a freshly generated challenge as the app hands it to the
// aggregate: an id, the hashes, and the secret already sealed for the
// notifier. The aggregate never sees the clear secret.
type Issued struct {
	ChallengeID  string
	TokenHash    []byte
	CodeMAC      []byte
	SealedSecret []byte
}

func (i Issued) valid() bool {
	return i.ChallengeID != "" && len(i.TokenHash) == 32 && len(i.CodeMAC) == 32 && len(i.SealedSecret) > 0
}

// Ownership is the aggregate: the e-mail ownership proof of one enrollment,
// i.e. every challenge ever opened for it (at most one is live). Every change
// that must be atomic (confirming, counting wrong codes, superseding on a
// resend) happens on this one aggregate, so one row lock per enrollment in
// the adapter serializes them.
type Ownership struct {
	ref         EnrollmentRef
	recipient   Recipient // of the latest challenge
	disputeOpen string    // id of the disputed challenge while a dispute is open
	causations  []string  // ids of events that opened challenges (replay guard)
	hold        *Hold     // set while the partner is not in good standing
	// changesClosed: registration's profile changes up to this number will
	// never be applied (replaced or rejected); none of them opens a
	// challenge any more, whichever of its events arrives first.
	changesClosed int
	challenges    []Challenge
	version       int
	events        []Event
}

// NewOwnership starts an empty proof for an enrollment.
func NewOwnership(ref EnrollmentRef) (*Ownership, error) {
	if strings.TrimSpace(ref.EnrollmentID) == "" || strings.TrimSpace(ref.PartnerID) == "" || strings.TrimSpace(ref.Program) == "" {
		return nil, ErrInvalidEnrollment
	}
	return &Ownership{ref: ref}, nil
}

// Ref returns the enrollment this proof belongs to.
func (o *Ownership) Ref() EnrollmentRef { return o.ref }

// Recipient returns the recipient of the latest challenge.
func (o *Ownership) Recipient() Recipient { return o.recipient }

// DisputeOpen returns the id of the disputed challenge while a dispute is open.
func (o *Ownership) DisputeOpen() (string, bool) { return o.disputeOpen, o.disputeOpen != "" }

// Version is the optimistic version loaded from storage (the adapter's business).
func (o *Ownership) Version() int { return o.version }

// Challenges returns copies of all challenges, oldest first.
func (o *Ownership) Challenges() []Challenge { return slices.Clone(o.challenges) }

// Current returns the latest challenge, the one the status shows.
func (o *Ownership) Current() (Challenge, bool) {
	if len(o.challenges) == 0 {
		return Challenge{}, false
	}
	return o.challenges[len(o.challenges)-1], true
}

// StandingConfirmation is the latest challenge that confirmed its address
// when the current one did not (a profile change's new address still to be
// confirmed, or one whose change was rejected): the enrollment's
// confirmation stays that one's.
func (o *Ownership) StandingConfirmation() (Challenge, bool) {
	cur, ok := o.Current()
	if !ok || cur.State == StateConfirmed {
		return Challenge{}, false
	}
	for i := len(o.challenges) - 2; i >= 0; i-- {
		if o.challenges[i].State == StateConfirmed {
			return o.challenges[i], true
		}
	}
	return Challenge{}, false
}

// NextDeadline is when the pending challenge expires, for the durable timer
// index; false when nothing is pending.
func (o *Ownership) NextDeadline() (time.Time, bool) {
	if c, ok := o.Current(); ok && c.State == StatePending {
		return c.ExpiresAt, true
	}
	return time.Time{}, false
}

// PullEvents returns and clears the recorded events.
func (o *Ownership) PullEvents() []Event {
	ev := o.events
	o.events = nil
	return ev
}

func (o *Ownership) header(challengeID string, now time.Time) EventHeader {
	return EventHeader{EnrollmentID: o.ref.EnrollmentID, PartnerID: o.ref.PartnerID, Program: o.ref.Program, ChallengeID: challengeID, OccurredAt: now}
}

// Open opens the challenge for (enrollment, address) unless one was already
// opened for that address or by that causing event: a replayed or duplicated
// registration event opens nothing (opened=false, no events). A new address
// supersedes the earlier live challenges.
func (o *Ownership) Open(rcpt Recipient, causationID string, is Issued, p Policy, now time.Time) (opened bool, err error) {
	return o.OpenFor(ReasonRegistration, rcpt, causationID, is, p, now)
}

// OpenFor is Open with the reason the challenge is opened for: the
// registration, or a profile change's new contact address.
func (o *Ownership) OpenFor(reason OpenReason, rcpt Recipient, causationID string, is Issued, p Policy, now time.Time) (opened bool, err error) {
	return o.open(reason, 0, rcpt, causationID, is, p, now)
}

// OpenForProfileChange opens the challenge of profile change number
// change's new contact address (reason profile_change). A challenge still
// open for the same address, from the change this one replaces, is kept
// and now proves this change: nothing is mailed again. It reports whether
// the aggregate changed (a challenge opened, or the open one taken over).
func (o *Ownership) OpenForProfileChange(change int, rcpt Recipient, causationID string, is Issued, p Policy, now time.Time) (changed bool, err error) {
	if change < 1 {
		return false, ErrInvalidEnrollment
	}
	if change <= o.changesClosed {
		return false, nil
	}
	if addr, err := NormalizeAddress(rcpt.Address); err == nil && (causationID == "" || !slices.Contains(o.causations, causationID)) {
		if c, ok := o.currentRef(); ok && c.Address == addr && (c.State == StatePending || c.State == StateDisputed) && c.ProfileChange < change {
			c.ProfileChange = change
			if causationID != "" {
				o.causations = append(o.causations, causationID)
			}
			return true, nil
		}
	}
	return o.open(ReasonProfileChange, change, rcpt, causationID, is, p, now)
}

func (o *Ownership) open(reason OpenReason, change int, rcpt Recipient, causationID string, is Issued, p Policy, now time.Time) (opened bool, err error) {
	addr, err := NormalizeAddress(rcpt.Address)
	if err != nil {
		return false, err
	}
	rcpt.Address = addr
	if !is.valid() {
		return false, ErrInvalidIssue
	}
	if causationID != "" && slices.Contains(o.causations, causationID) {
		return false, nil
	}
	for _, c := range o.challenges {
		// A profile change back to an address proven before proves it
		// again: only a challenge still open for it makes a new one moot.
		live := c.State == StatePending || c.State == StateDisputed
		if c.Address == addr && (reason != ReasonProfileChange || live) {
			return false, nil
		}
	}
	if causationID != "" {
		o.causations = append(o.causations, causationID)
	}
	o.issue(rcpt, is, reason, change, causationID, p, now)
	return true, nil
}

// WithdrawProfileChange records that the profile changes numbered upTo or
// lower will never be applied (cause: WithdrawnSuperseded or
// WithdrawnRejected) and withdraws the enrollment's challenge of one of
// them that was not confirmed (pending, disputed, locked, expired, or
// cancelled by a hold, which then re-opens nothing): neither its link, its
// code nor a resend may confirm its address any more, and a request of
// such a change heard later opens nothing. It reports whether anything
// changed.
func (o *Ownership) WithdrawProfileChange(upTo int, cause string, now time.Time) bool {
	changed := upTo > o.changesClosed
	o.changesClosed = max(o.changesClosed, upTo)
	c, ok := o.currentRef()
	if !ok || c.ProfileChange == 0 || c.ProfileChange > upTo {
		return changed
	}
	switch c.State {
	case StatePending, StateDisputed, StateLocked, StateExpired, StateCancelled:
	default:
		return changed
	}
	if o.hold != nil && o.hold.Cancelled == c.ID {
		o.hold.Cancelled = ""
	}
	c.State, c.WithdrawnAt = StateWithdrawn, now
	o.events = append(o.events, ChallengeWithdrawn{EventHeader: o.header(c.ID, now), ProfileChange: c.ProfileChange, Cause: cause})
	return true
}

// Resend supersedes every earlier challenge of the enrollment that is not
// confirmed and issues a new one to the latest recipient. While the
// recipient's report of the mail awaits a verifier it answers
// ErrDisputeOpen: the person who said "this wasn't me" is not mailed again
// before the decision (the reported link still confirms a mistaken report;
// a wrong address is cured by a contact change).
func (o *Ownership) Resend(is Issued, p Policy, now time.Time) error {
	if !is.valid() {
		return ErrInvalidIssue
	}
	cur, ok := o.Current()
	if !ok {
		return ErrNoChallenge
	}
	if cur.State == StateConfirmed {
		return ErrAlreadyConfirmed
	}
	if cur.State == StateRemoved {
		return ErrAddressRemoved
	}
	if cur.State == StateWithdrawn {
		return ErrWithdrawn
	}
	if o.hold != nil {
		return ErrPartnerHeld
	}
	if o.disputeOpen != "" {
		return ErrDisputeOpen
	}
	o.issue(o.recipient, is, ReasonResend, cur.ProfileChange, "", p, now)
	return nil
}

func (o *Ownership) issue(rcpt Recipient, is Issued, reason OpenReason, change int, causationID string, p Policy, now time.Time) {
	superseded := o.supersedeOpen(now)
	c := Challenge{
		ID:        is.ChallengeID,
		Address:   rcpt.Address,
		TokenHash: slices.Clone(is.TokenHash),
		CodeMAC:   slices.Clone(is.CodeMAC),
		State:     StatePending,
		OpenedAt:  now,
		ExpiresAt: now.Add(p.TTL),
		// a resend or reinstatement proves the same change
		ProfileChange: change,
		NamedBy:       rcpt.NamedBy,
	}
	o.challenges = append(o.challenges, c)
	o.recipient = rcpt
	o.events = append(o.events,
		ChallengeOpened{EventHeader: o.header(c.ID, now), Reason: reason, ExpiresAt: c.ExpiresAt, Supersedes: superseded, CausationID: causationID},
		VerificationMailRequested{
			EventHeader: o.header(c.ID, now), Recipient: rcpt.Address, ContactName: rcpt.ContactName,
			Language: rcpt.Language, Market: rcpt.Market, TemplateID: TemplateVerifyEmail,
			ExpiresAt: c.ExpiresAt, SealedSecret: slices.Clone(is.SealedSecret), Reason: reason, ProfileChange: change,
			ContactChange: rcpt.NamedBy,
		})
}

// supersedeOpen ends every challenge still open (not confirmed, cancelled,
// withdrawn or removed) as superseded by a newer one, returning their ids.
func (o *Ownership) supersedeOpen(now time.Time) []string {
	var superseded []string
	for i := range o.challenges {
		c := &o.challenges[i]
		switch c.State {
		case StateConfirmed, StateSuperseded, StateCancelled, StateWithdrawn, StateRemoved:
			continue
		}
		c.State, c.SupersededAt = StateSuperseded, now
		superseded = append(superseded, c.ID)
	}
	return superseded
}

// byTokenHash finds the challenge whose token hash equals h. Every candidate
// is compared in constant time and the loop does not stop early.
func (o *Ownership) byTokenHash(h []byte) *Challenge {
	var found *Challenge
	for i := range o.challenges {
		if subtle.ConstantTimeCompare(o.challenges[i].TokenHash, h) == 1 {
			found = &o.challenges[i]
		}
	}
	return found
}

// Hold is the partner's standing while it is not good: registration
// suspended it, made it inactive or closed it.
type Hold struct {
	Status    string    // suspended, inactive, closed
	Since     time.Time // registration's change time
	Cancelled string    // the challenge the hold cancelled, re-opened on release
}

// Held reports whether the partner is not in good standing here.
func (o *Ownership) Held() (Hold, bool) {
	if o.hold == nil {
		return Hold{}, false
	}
	return *o.hold, true
}

// HoldFor stops the enrollment's open challenge while the partner is not in
// good standing (status: suspended, inactive, closed): a pending, disputed
// or locked challenge is cancelled (ChallengeCancelled) and nothing can be
// confirmed or resent until the partner is active again. A change older
// than the one applied is ignored. It reports whether anything changed.
func (o *Ownership) HoldFor(status string, since, now time.Time) bool {
	if h := o.hold; h != nil && !since.After(h.Since) {
		return false
	}
	if o.hold != nil && o.hold.Status == status {
		o.hold.Since = since
		return true
	}
	h := &Hold{Status: status, Since: since}
	if o.hold != nil {
		h.Cancelled = o.hold.Cancelled
	}
	o.hold = h
	if c, ok := o.currentRef(); ok {
		switch c.State {
		case StatePending, StateDisputed, StateLocked:
			c.State, c.CancelledAt = StateCancelled, now
			h.Cancelled = c.ID
			o.events = append(o.events, ChallengeCancelled{EventHeader: o.header(c.ID, now), Standing: status})
		}
	}
	return true
}

// Release ends the hold when the partner is active again (since: the
// change time; older changes are ignored): the challenge the hold cancelled
// is restored as a fresh challenge and mail to the same recipient (is, the
// reason reinstated) — nothing more. It reports whether a challenge was
// re-opened; a closed partner is never released.
func (o *Ownership) Release(is Issued, p Policy, since, now time.Time) (reopened bool, err error) {
	h := o.hold
	if h == nil || !since.After(h.Since) || h.Status == StandingClosed {
		return false, nil
	}
	o.hold = nil
	if h.Cancelled == "" {
		return false, nil
	}
	c, ok := o.Current()
	if !ok || c.ID != h.Cancelled || c.State != StateCancelled {
		return false, nil
	}
	if !is.valid() {
		return false, ErrInvalidIssue
	}
	o.issue(o.recipient, is, ReasonReinstated, c.ProfileChange, "", p, now)
	return true, nil
}

// StandingClosed is registration's final standing: nothing is re-opened.
const StandingClosed = "closed"

func (o *Ownership) currentRef() (*Challenge, bool) {
	if len(o.challenges) == 0 {
		return nil, false
	}
	return &o.challenges[len(o.challenges)-1], true
}

// LinkTarget is what the page behind a mail link shows before the person
// presses the button: the challenge of tokenHash and whether it may still be
// confirmed at now. It changes nothing (link scanners and prefetchers open
// links too): an expired challenge is reported, not marked. While the
// partner is held (not in good standing) the link answers ErrPartnerHeld,
// as its confirmation would.
func (o *Ownership) LinkTarget(tokenHash []byte, now time.Time) (Challenge, error) {
	c := o.byTokenHash(tokenHash)
	if c == nil {
		return Challenge{}, ErrNoChallenge
	}
	if o.hold != nil {
		return *c, ErrPartnerHeld
	}
	if o.confirmedBy(c) {
		return *c, nil // its page says so (State confirmed)
	}
	return *c, o.usable(c, now)
}

// usable is c.usable, except that a challenge superseded by one to another
// address answers ErrContactChanged: the partner's contact changed, so the
// newer mail went to someone else and this link's recipient has none to use.
func (o *Ownership) usable(c *Challenge, now time.Time) error {
	err := c.usable(now)
	if errors.Is(err, ErrSuperseded) {
		if cur, ok := o.currentRef(); ok && !strings.EqualFold(cur.Address, c.Address) {
			return ErrContactChanged
		}
	}
	return err
}

// confirmedBy reports whether c confirmed the enrollment's address and
// nothing since asked for another confirmation (c is still the current
// challenge). Confirming it again — a double click, a browser sending the
// form again, a client retrying a request whose answer it lost — answers
// what the first confirmation answered and changes nothing.
func (o *Ownership) confirmedBy(c *Challenge) bool {
	return c.State == StateConfirmed && c == &o.challenges[len(o.challenges)-1]
}

// ConfirmByToken confirms the challenge whose link token hashes to tokenHash.
// A pending challenge found past its deadline is marked expired (the caller
// must still save the aggregate). The current challenge, confirmed already,
// confirms again without a change (confirmedBy); an earlier one answers
// ErrAlreadyUsed.
func (o *Ownership) ConfirmByToken(tokenHash []byte, now time.Time) error {
	c := o.byTokenHash(tokenHash)
	if c == nil {
		return ErrNoChallenge
	}
	if o.hold != nil {
		return ErrPartnerHeld
	}
	if o.confirmedBy(c) {
		return nil
	}
	if err := o.checkUsable(c, now); err != nil {
		return err
	}
	o.confirm(c, MethodLink, now)
	return nil
}

// ConfirmByCode checks code against the current challenge. A wrong code is
// counted (the caller must save the aggregate even though an error is
// returned); the MaxWrongCodes-th wrong code locks the challenge. The
// current challenge, confirmed already, takes its own code again without a
// change (confirmedBy) and answers ErrAlreadyUsed to any other, uncounted.
func (o *Ownership) ConfirmByCode(code string, h Hasher, p Policy, now time.Time) error {
	code, err := ParseCode(code)
	if err != nil {
		return err
	}
	if len(o.challenges) == 0 {
		return ErrNoChallenge
	}
	if o.hold != nil {
		return ErrPartnerHeld
	}
	c := &o.challenges[len(o.challenges)-1]
	if o.confirmedBy(c) {
		if !hmac32Equal(c.CodeMAC, h.CodeMAC(c.ID, code)) {
			return ErrAlreadyUsed
		}
		return nil
	}
	if err := o.checkUsable(c, now); err != nil {
		return err
	}
	if !hmac32Equal(c.CodeMAC, h.CodeMAC(c.ID, code)) {
		c.WrongCodes++
		if c.WrongCodes >= p.MaxWrongCodes {
			c.State = StateLocked
			c.LockedAt = now
			o.events = append(o.events, ChallengeLocked{EventHeader: o.header(c.ID, now), WrongCodes: c.WrongCodes})
			return ErrLocked
		}
		return ErrWrongCode
	}
	o.confirm(c, MethodCode, now)
	return nil
}

func hmac32Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// WrongCodesLeft is how many wrong codes the current challenge still tolerates.
func (o *Ownership) WrongCodesLeft(p Policy) int {
	c, ok := o.Current()
	if !ok {
		return 0
	}
	return max(p.MaxWrongCodes-c.WrongCodes, 0)
}

func (o *Ownership) checkUsable(c *Challenge, now time.Time) error {
	err := o.usable(c, now)
	if err == ErrExpired && c.State == StatePending {
		o.expire(c, now)
	}
	return err
}

func (o *Ownership) confirm(c *Challenge, m ConfirmMethod, now time.Time) {
	c.State = StateConfirmed
	c.ConfirmedAt = now
	c.Method = m
	o.events = append(o.events, OwnershipConfirmed{EventHeader: o.header(c.ID, now), Address: c.Address, Method: m})
	if o.disputeOpen != "" {
		o.events = append(o.events, DisputeWithdrawn{EventHeader: o.header(c.ID, now), DisputedChallengeID: o.disputeOpen})
		o.disputeOpen = ""
	}
}

// Dispute records "this wasn't me" for the challenge of tokenHash. It marks
// the challenge disputed for a person's review (ApplyDisputeDecision) and
// never rejects; disputing twice, or a removed challenge, is a no-op. A
// confirmed or superseded challenge cannot be disputed.
func (o *Ownership) Dispute(tokenHash []byte, now time.Time) error {
	c := o.byTokenHash(tokenHash)
	if c == nil {
		return ErrNoChallenge
	}
	switch c.State {
	case StateDisputed:
		return nil
	case StateConfirmed:
		return ErrAlreadyUsed
	case StateSuperseded:
		return o.usable(c, now)
	case StateWithdrawn:
		return ErrWithdrawn
	case StateRemoved:
		return nil // already upheld: nothing left to report
	}
	c.State = StateDisputed
	c.DisputedAt = now
	o.disputeOpen = c.ID
	o.events = append(o.events, ChallengeDisputed{EventHeader: o.header(c.ID, now), Address: c.Address, ProfileChange: c.ProfileChange,
		ContactChange: c.NamedBy})
	return nil
}

// ExpireDue expires the pending challenge if its deadline has passed; it
// reports whether anything changed. Driven by the durable timer poller.
func (o *Ownership) ExpireDue(now time.Time) bool {
	if len(o.challenges) == 0 {
		return false
	}
	c := &o.challenges[len(o.challenges)-1]
	if c.State != StatePending || now.Before(c.ExpiresAt) {
		return false
	}
	o.expire(c, now)
	return true
}

func (o *Ownership) expire(c *Challenge, now time.Time) {
	c.State = StateExpired
	c.ExpiredAt = c.ExpiresAt
	o.events = append(o.events, ChallengeExpired{EventHeader: o.header(c.ID, now), ExpiredAt: c.ExpiresAt})
}

// OwnershipSnapshot is the persisted form of an Ownership, for the
// repository adapter only.
type OwnershipSnapshot struct {
	Ref         EnrollmentRef
	Recipient   Recipient
	DisputeOpen string
	Causations  []string
	Hold        *Hold
	Challenges  []Challenge
	Version     int
	// ChangesClosed: profile changes up to this number never apply.
	ChangesClosed int
}

// Snapshot returns the persisted form.
func (o *Ownership) Snapshot() OwnershipSnapshot {
	chs := make([]Challenge, len(o.challenges))
	for i, c := range o.challenges {
		c.TokenHash = slices.Clone(c.TokenHash)
		c.CodeMAC = slices.Clone(c.CodeMAC)
		if f := c.MailFailure; f != nil {
			c.MailFailure = &MailFailure{Reason: f.Reason, Detail: f.Detail, At: f.At}
		}
		chs[i] = c
	}
	var h *Hold
	if o.hold != nil {
		hc := *o.hold
		h = &hc
	}
	return OwnershipSnapshot{Ref: o.ref, Recipient: o.recipient, DisputeOpen: o.disputeOpen,
		Causations: slices.Clone(o.causations), Hold: h, Challenges: chs, Version: o.version, ChangesClosed: o.changesClosed}
}

// RestoreOwnership rebuilds an Ownership from storage; it records no events.
func RestoreOwnership(s OwnershipSnapshot) *Ownership {
	o := &Ownership{ref: s.Ref, recipient: s.Recipient, disputeOpen: s.DisputeOpen,
		causations: slices.Clone(s.Causations), version: s.Version, changesClosed: s.ChangesClosed}
	if s.Hold != nil {
		h := *s.Hold
		o.hold = &h
	}
	for _, c := range s.Challenges {
		c.TokenHash = slices.Clone(c.TokenHash)
		c.CodeMAC = slices.Clone(c.CodeMAC)
		if f := c.MailFailure; f != nil {
			c.MailFailure = &MailFailure{Reason: f.Reason, Detail: f.Detail, At: f.At}
		}
		o.challenges = append(o.challenges, c)
	}
	return o
}
