// Package domain holds the notifier's rules: a Delivery of one mail, its
// attempts, the retry schedule (exponential backoff with jitter, bounded by
// the mail's expiry), the lease of an attempt in flight (kept alive by a
// heartbeat) and the Delivered / Failed events. Pure Go.
package domain

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Sentinel errors.
var (
	ErrInvalidRequest = errors.New("invalid mail request")
	ErrInvalidPolicy  = errors.New("invalid delivery policy")
	ErrNotDue         = errors.New("delivery is not due")
	ErrFinished       = errors.New("delivery already finished")
	ErrExpired        = errors.New("the challenge expired before delivery")
	ErrNotSending     = errors.New("no attempt in progress")
	ErrExhausted      = errors.New("delivery attempts exhausted")
)

// Language of the mail.
type Language string

// Supported languages.
const (
	LanguageJA Language = "ja"
	LanguageEN Language = "en"
)

// ChooseLanguage picks ja or en: the requested language when supported,
// otherwise by market (Japan → ja), otherwise English.
func ChooseLanguage(lang, market string) Language {
	switch strings.ToLower(strings.TrimSpace(lang)) {
	case "ja":
		return LanguageJA
	case "en":
		return LanguageEN
	}
	if strings.EqualFold(market, "JP") {
		return LanguageJA
	}
	return LanguageEN
}

// Category tells whether the partner may unsubscribe from a mail.
type Category string

// Categories (see package mails).
const (
	CategoryTransactional Category = "transactional"
	CategoryReminder      Category = "reminder"
)

// MailRequest is one mail to send: which template, for which partner, with
// which data, caused by which event. The secret, when there is one, stays
// sealed; only the sending path opens it, in memory.
type MailRequest struct {
	// ID identifies the mail: the challenge id of a verification mail, the
	// triggering event's id otherwise. One mail per id; it is the
	// Message-ID's local part, so a re-send folds into the first.
	ID         string
	TemplateID string
	Category   Category
	PartnerID  string
	// ChallengeID, EnrollmentID and Program are set for the verification
	// mail (its delivery events name them).
	ChallengeID  string
	EnrollmentID string
	Program      string
	// Recipient is a bare address, or empty: the partner's contact,
	// resolved when the mail is sent.
	Recipient   string
	ContactName string
	Language    Language // empty: the contact's
	Market      string
	// ExpiresAt, when set, is when the mail stops making sense (a link or a
	// deadline): it is never sent at or after it.
	ExpiresAt time.Time
	// Data is the template data (JSON), without secrets.
	Data []byte
	// SealedSecret is the optional secret sealed to the notifier (link
	// token and code, an invitation link); SecretRef is the id it must be
	// sealed for (the challenge id, the relationship request id), so that
	// a blob copied into another event is not mailed.
	SealedSecret []byte
	SecretRef    string
	TriggerType  string // CloudEvents type of the triggering event
	// Thread names the state a piece of news is about (a partner's
	// standing, one side of a grant), or is empty: a mail of a thread
	// waits for the state to settle, and a newer one of the same thread
	// and partner takes the place of one still waiting (Supersede).
	// ThreadSeq orders the thread's news as it happened: the trigger's
	// sequence on its partition (one partner's events, whichever durable
	// delivered them first).
	Thread    string
	ThreadSeq uint64
	// Settle: the mail waits for the state it follows from to settle
	// before its first attempt, like a thread's (a confirmation mail of a
	// challenge restored when the partner became active again: a hold
	// placed again meanwhile cancels the challenge and gives it up).
	// Decided when the mail is recorded; not kept.
	Settle      bool
	CausationID string // CloudEvent id of the triggering event
	// CorrelationID and TraceParent come from the trigger, so that the
	// delivery's events continue its conversation and trace.
	CorrelationID string
	TraceParent   string
}

// Validate checks the request's shape.
func (r MailRequest) Validate() error {
	var errs []error
	if r.ID == "" {
		errs = append(errs, errors.New("mail id is required"))
	}
	if r.PartnerID == "" {
		errs = append(errs, errors.New("partner id is required"))
	}
	if r.Recipient != "" {
		if a, err := mail.ParseAddress(r.Recipient); err != nil || a.Address != r.Recipient {
			errs = append(errs, errors.New("recipient must be a bare e-mail address"))
		}
	}
	if r.TemplateID == "" {
		errs = append(errs, errors.New("template id is required"))
	}
	if r.Category != CategoryTransactional && r.Category != CategoryReminder {
		errs = append(errs, fmt.Errorf("category must be %s or %s", CategoryTransactional, CategoryReminder))
	}
	if r.ChallengeID != "" && (r.ExpiresAt.IsZero() || len(r.SealedSecret) == 0) {
		errs = append(errs, errors.New("a verification mail needs its expiry and its sealed secret"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, errors.Join(errs...))
	}
	return nil
}

// Policy is the retry schedule.
type Policy struct {
	InitialBackoff time.Duration // delay after the first failure (default 30s)
	MaxBackoff     time.Duration // cap of one delay (default 30m)
	Jitter         float64       // ± fraction of each delay, in [0,1) (default 0.2)
	// Lease is how long a started attempt blocks others without a
	// heartbeat (default 15s): the sender renews it every third of it while
	// it sends, so a crashed sender's mail is retried one lease later.
	Lease       time.Duration
	MaxAttempts int // give up after this many attempts (default 12)
}

// DefaultPolicy returns the default schedule.
func DefaultPolicy() Policy {
	return Policy{InitialBackoff: 30 * time.Second, MaxBackoff: 30 * time.Minute, Jitter: 0.2, Lease: 15 * time.Second, MaxAttempts: 12}
}

// Validate reports every bad field.
func (p Policy) Validate() error {
	var errs []error
	if p.InitialBackoff <= 0 || p.MaxBackoff < p.InitialBackoff {
		errs = append(errs, fmt.Errorf("%w: need 0 < initial backoff <= max backoff", ErrInvalidPolicy))
	}
	if p.Jitter < 0 || p.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("%w: jitter must be in [0,1)", ErrInvalidPolicy))
	}
	if p.Lease <= 0 {
		errs = append(errs, fmt.Errorf("%w: lease must be positive", ErrInvalidPolicy))
	}
	if p.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("%w: max attempts must be at least 1", ErrInvalidPolicy))
	}
	return errors.Join(errs...)
}

// Backoff is the delay after the n-th failed attempt (n ≥ 1): InitialBackoff
// doubled per attempt, capped at MaxBackoff, then scaled by a factor in
// [1-Jitter, 1+Jitter) taken from r ∈ [0,1) so that retries of many mails
// after an outage do not arrive at the server in lockstep.
func (p Policy) Backoff(n int, r float64) time.Duration {
	base := float64(p.InitialBackoff) * math.Pow(2, float64(max(n-1, 0)))
	base = min(base, float64(p.MaxBackoff))
	return time.Duration(base * (1 - p.Jitter + 2*p.Jitter*r))
}

// Status of a delivery.
type Status string

// Delivery statuses.
const (
	StatusPending   Status = "pending"   // waiting for its next attempt
	StatusSending   Status = "sending"   // an attempt started and has not been recorded
	StatusDelivered Status = "delivered" // the SMTP server accepted the mail
	StatusFailed    Status = "failed"    // given up; see FailReason
	// StatusSuppressed: never sent — a reminder to a partner that stopped
	// reminders, news superseded on its thread, or a mail to an address
	// removed from the partner (FailReason says which).
	StatusSuppressed Status = "suppressed"
)

// FailReason says why a delivery was given up.
type FailReason string

// Fail reasons.
const (
	ReasonPermanent FailReason = "permanent_error"    // the server refused for good (5xx), or the request is unusable
	ReasonExpired   FailReason = "expired"            // the next attempt would be at or after the mail's expiry
	ReasonExhausted FailReason = "attempts_exhausted" // MaxAttempts reached
)

// Why a mail was suppressed (never sent) other than a reminder the partner
// stopped, whose reason is empty.
const (
	// ReasonSuperseded: a newer mail of its thread took its place while it
	// waited; that mail tells what changed since the state this one left.
	ReasonSuperseded FailReason = "superseded"
	// ReasonNoNetChange: the state it tells of went back to where it was
	// before the mails still waiting on its thread: there is no news.
	ReasonNoNetChange FailReason = "no_net_change"
	// ReasonAddressRemoved: its address is one a verifier removed from the
	// partner after an upheld "this wasn't me" dispute (Withhold).
	ReasonAddressRemoved FailReason = "address_removed"
)

// Outcome of one attempt.
type Outcome string

// Attempt outcomes.
const (
	OutcomeDelivered Outcome = "delivered"
	OutcomeTemporary Outcome = "temporary_failure"
	OutcomePermanent Outcome = "permanent_failure"
	// OutcomeUnknown: the attempt's lease ran out unrecorded (a crash between
	// sending and recording). The mail may have gone out; the retry may send
	// it a second time — at most one duplicate per crash.
	OutcomeUnknown Outcome = "unknown"
)

// Attempt records one try.
type Attempt struct {
	Number     int
	StartedAt  time.Time
	FinishedAt time.Time // zero while in flight
	Outcome    Outcome
	Error      string // without the recipient's address or the mail's content
	SMTPCode   int    // the server's reply code of a failure; 0: none (connection, no recipient yet)
}

// Failure is what a failed attempt tells.
type Failure struct {
	Cause     string // redacted: no address, no content
	SMTPCode  int
	Permanent bool
}

// Delivery is the aggregate: one requested mail and its attempts.
type Delivery struct {
	req        MailRequest
	status     Status
	nextAt     time.Time
	attempts   []Attempt
	failReason FailReason
	// endedWhy is why the mail's challenge ended while an attempt was in
	// flight (LinkEnded): the cause its failure names once it expires.
	endedWhy string
	version  int
	events   []Event
}

// NewDelivery accepts a request at now. A request that arrives already
// expired is failed at once and will never be sent.
func NewDelivery(req MailRequest, now time.Time) (*Delivery, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	req.SealedSecret = slices.Clone(req.SealedSecret)
	req.Data = slices.Clone(req.Data)
	d := &Delivery{req: req, status: StatusPending, nextAt: now}
	if d.expired(now) {
		d.fail(now, ReasonExpired, "expired before the first attempt")
	}
	return d, nil
}

func (d *Delivery) expired(at time.Time) bool {
	return !d.req.ExpiresAt.IsZero() && !at.Before(d.req.ExpiresAt)
}

// ID is the mail id.
func (d *Delivery) ID() string { return d.req.ID }

// Complete fills what the request left to the partner's contact: the
// recipient (kept once set: every attempt goes to the same mailbox), the
// name and the language the mail is written with, the market (its time
// zone). Fields the request set are kept.
func (d *Delivery) Complete(recipient, contactName string, lang Language, market string) error {
	if d.req.Recipient == "" {
		if a, err := mail.ParseAddress(recipient); err != nil || a.Address != recipient {
			return fmt.Errorf("%w: the contact address is not a bare e-mail address", ErrInvalidRequest)
		}
		d.req.Recipient = recipient
	}
	if d.req.ContactName == "" {
		d.req.ContactName = contactName
	}
	if d.req.Language == "" {
		d.req.Language = lang
	}
	if d.req.Market == "" {
		d.req.Market = market
	}
	return nil
}

// Suppress ends a reminder that the partner stopped reminders for: it is
// never sent (no attempt, no event).
func (d *Delivery) Suppress(now time.Time) error {
	switch {
	case d.status == StatusDelivered || d.status == StatusFailed || d.status == StatusSuppressed:
		return ErrFinished
	case d.req.Category != CategoryReminder:
		return errors.New("only reminders can be suppressed")
	}
	d.status = StatusSuppressed
	d.nextAt = now
	return nil
}

// Hold makes a waiting mail's first attempt due at until rather than now:
// the state its news is about settles first (MailRequest.Thread). A mail
// already attempted or finished is not held; false then.
func (d *Delivery) Hold(until time.Time) bool {
	if d.status != StatusPending || len(d.attempts) > 0 {
		return false
	}
	d.nextAt = until
	return true
}

// Supersede suppresses a mail of a thread that is still waiting, for
// reason (ReasonSuperseded, ReasonNoNetChange): it is never sent, and no
// event says so (the thread's next mail is the news). A mail with an
// attempt in flight or finished is not touched; false then.
func (d *Delivery) Supersede(now time.Time, reason FailReason) bool {
	if d.status != StatusPending || d.req.Thread == "" {
		return false
	}
	d.status, d.failReason, d.nextAt = StatusSuppressed, reason, now
	return true
}

// Withhold suppresses a waiting mail for reason (ReasonAddressRemoved): it
// is never sent, and no event says so. A mail with an attempt in flight or
// finished is not touched; false then.
func (d *Delivery) Withhold(now time.Time, reason FailReason) bool {
	if d.status != StatusPending {
		return false
	}
	d.status, d.failReason, d.nextAt = StatusSuppressed, reason, now
	return true
}

// Finished reports whether nothing more will happen to the mail.
func (d *Delivery) Finished() bool {
	return d.status == StatusDelivered || d.status == StatusFailed || d.status == StatusSuppressed
}

// Request returns the request (the secret still sealed).
func (d *Delivery) Request() MailRequest {
	r := d.req
	r.SealedSecret = slices.Clone(r.SealedSecret)
	r.Data = slices.Clone(r.Data)
	return r
}

// Status returns the current status.
func (d *Delivery) Status() Status { return d.status }

// NextAttemptAt is when the delivery is next due (meaningless once finished).
func (d *Delivery) NextAttemptAt() time.Time { return d.nextAt }

// Attempts returns copies of the attempts, oldest first.
func (d *Delivery) Attempts() []Attempt { return slices.Clone(d.attempts) }

// FailReason is set once the delivery failed.
func (d *Delivery) FailReason() FailReason { return d.failReason }

// Due reports whether an attempt may start at now (a pending delivery whose
// time has come, or a sending one whose lease ran out).
func (d *Delivery) Due(now time.Time) bool {
	return (d.status == StatusPending || d.status == StatusSending) && !now.Before(d.nextAt)
}

// Begin claims the next attempt at now and returns its number. It refuses a
// delivery that is not due or finished (no change), and fails the delivery
// (ErrExpired, ErrExhausted: the caller must save) when the challenge expired
// or the attempts are spent.
// The caller saves the delivery before sending, so that the lease protects
// the attempt from a concurrent worker.
func (d *Delivery) Begin(now time.Time, p Policy) (int, error) {
	switch {
	case d.Finished():
		return 0, ErrFinished
	case !d.Due(now):
		return 0, ErrNotDue
	}
	if d.status == StatusSending {
		last := &d.attempts[len(d.attempts)-1]
		last.Outcome, last.FinishedAt, last.Error = OutcomeUnknown, now, "lease expired before the attempt was recorded"
	}
	if d.expired(now) {
		d.fail(now, ReasonExpired, cmp.Or(d.endedWhy, "expired before delivery"))
		return 0, ErrExpired
	}
	if len(d.attempts) >= p.MaxAttempts {
		d.fail(now, ReasonExhausted, "attempts exhausted")
		return 0, ErrExhausted
	}
	n := len(d.attempts) + 1
	d.attempts = append(d.attempts, Attempt{Number: n, StartedAt: now})
	d.status = StatusSending
	d.nextAt = now.Add(p.Lease)
	return n, nil
}

// Succeed records that the attempt in flight delivered the mail.
func (d *Delivery) Succeed(now time.Time) error {
	last, err := d.inFlight()
	if err != nil {
		return err
	}
	last.Outcome, last.FinishedAt = OutcomeDelivered, now
	d.status = StatusDelivered
	d.events = append(d.events, MailDelivered{Header: d.header(now), Attempts: len(d.attempts)})
	return nil
}

// Fail records a failed attempt. A permanent failure gives up; a temporary
// one schedules the next attempt after Backoff(n, jitter) unless that would
// be at or after the mail's expiry (then it gives up: an expired link is
// never sent) or the attempts are exhausted.
func (d *Delivery) Fail(now time.Time, f Failure, p Policy, jitter float64) error {
	last, err := d.inFlight()
	if err != nil {
		return err
	}
	last.FinishedAt, last.Error, last.SMTPCode = now, f.Cause, f.SMTPCode
	if f.Permanent {
		last.Outcome = OutcomePermanent
		d.fail(now, ReasonPermanent, f.Cause)
		return nil
	}
	last.Outcome = OutcomeTemporary
	next := now.Add(p.Backoff(len(d.attempts), jitter))
	switch {
	case d.expired(next):
		d.fail(now, ReasonExpired, cmp.Or(d.endedWhy, f.Cause))
	case len(d.attempts) >= p.MaxAttempts:
		d.fail(now, ReasonExhausted, f.Cause)
	default:
		d.status = StatusPending
		d.nextAt = next
	}
	return nil
}

// Extend renews the lease of attempt n while it is being sent (the
// sender's heartbeat). ErrNotSending: the attempt is no longer the one in
// flight (recorded, or taken over after its lease ran out).
func (d *Delivery) Extend(now time.Time, n int, p Policy) error {
	if d.status != StatusSending || len(d.attempts) != n {
		return ErrNotSending
	}
	d.nextAt = now.Add(p.Lease)
	return nil
}

// Release gives back attempt n before anything was sent (a sender that
// stops with the attempt still queued): the attempt is dropped and the
// delivery is due again at now, for another sender or replica.
// ErrNotSending: attempt n is not the one in flight.
func (d *Delivery) Release(now time.Time, n int) error {
	if d.status != StatusSending || len(d.attempts) != n {
		return ErrNotSending
	}
	d.attempts = d.attempts[:n-1]
	d.status = StatusPending
	d.nextAt = now
	return nil
}

// LastAttempt returns the latest attempt, if any.
func (d *Delivery) LastAttempt() (Attempt, bool) {
	if len(d.attempts) == 0 {
		return Attempt{}, false
	}
	return d.attempts[len(d.attempts)-1], true
}

func (d *Delivery) inFlight() (*Attempt, error) {
	if d.status != StatusSending || len(d.attempts) == 0 {
		return nil, ErrNotSending
	}
	return &d.attempts[len(d.attempts)-1], nil
}

// LinkEnded gives up a confirmation mail that is not on its way yet
// because its challenge ended before it was sent (withdrawn, cancelled,
// locked): its link and code would confirm nothing. A waiting mail is
// failed as expired — the link's life is over — with why as its last
// error; one with an attempt in flight expires now, so that the attempt
// records as it ends and no retry follows. A mail delivered or failed
// changes nothing; false then.
func (d *Delivery) LinkEnded(now time.Time, why string) bool {
	switch {
	case d.status == StatusPending:
		d.fail(now, ReasonExpired, why)
		return true
	case d.status == StatusSending && !d.expired(now):
		d.req.ExpiresAt, d.endedWhy = now, why
		return true
	}
	return false
}

func (d *Delivery) fail(now time.Time, reason FailReason, cause string) {
	d.status = StatusFailed
	d.failReason = reason
	d.events = append(d.events, MailDeliveryFailed{Header: d.header(now), Attempts: len(d.attempts), Reason: reason, LastError: cause})
}

func (d *Delivery) header(now time.Time) Header {
	return Header{MailID: d.req.ID, ChallengeID: d.req.ChallengeID, EnrollmentID: d.req.EnrollmentID, PartnerID: d.req.PartnerID,
		Program: d.req.Program, TemplateID: d.req.TemplateID, Data: d.req.Data, OccurredAt: now}
}

// PullEvents returns and clears the recorded events.
func (d *Delivery) PullEvents() []Event {
	ev := d.events
	d.events = nil
	return ev
}

// Event is a notifier domain event; the repository adapter writes pulled
// events to the outbox with the state change.
type Event interface {
	EventName() string
	DeliveryKey() string // the mail id
}

// Header is shared by the notifier's events. No recipient address, no secret.
type Header struct {
	MailID       string
	ChallengeID  string // set for the verification mail only
	EnrollmentID string
	PartnerID    string
	Program      string
	TemplateID   string
	// Data is the mail's template data (no secret): the relationship
	// request an invitation mail is about, for its failure's event.
	Data       []byte
	OccurredAt time.Time
}

// DeliveryKey implements Event.
func (h Header) DeliveryKey() string { return h.MailID }

// MailDelivered: the SMTP server accepted the mail.
type MailDelivered struct {
	Header
	Attempts int
}

// MailDeliveryFailed: the notifier gave up on the mail.
type MailDeliveryFailed struct {
	Header
	Attempts  int
	Reason    FailReason
	LastError string
}

// EventName implementations.
func (MailDelivered) EventName() string      { return "mail.delivered" }
func (MailDeliveryFailed) EventName() string { return "mail.failed" }

// DeliverySnapshot is the persisted form, for the repository adapter.
type DeliverySnapshot struct {
	Request       MailRequest
	Status        Status
	NextAttemptAt time.Time
	Attempts      []Attempt
	FailReason    FailReason
	EndedWhy      string // LinkEnded while an attempt was in flight
	Version       int
}

// Snapshot returns the persisted form.
func (d *Delivery) Snapshot() DeliverySnapshot {
	return DeliverySnapshot{Request: d.Request(), Status: d.status, NextAttemptAt: d.nextAt,
		Attempts: slices.Clone(d.attempts), FailReason: d.failReason, EndedWhy: d.endedWhy, Version: d.version}
}

// RestoreDelivery rebuilds a Delivery from storage; it records no events.
func RestoreDelivery(s DeliverySnapshot) *Delivery {
	s.Request.SealedSecret = slices.Clone(s.Request.SealedSecret)
	s.Request.Data = slices.Clone(s.Request.Data)
	return &Delivery{req: s.Request, status: s.Status, nextAt: s.NextAttemptAt,
		attempts: slices.Clone(s.Attempts), failReason: s.FailReason, endedWhy: s.EndedWhy, version: s.Version}
}

// Version is the optimistic version loaded from storage (the adapter's business).
func (d *Delivery) Version() int { return d.version }
