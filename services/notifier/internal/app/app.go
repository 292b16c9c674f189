// Package app holds the notifier's use cases: accept a mail (and make its
// first attempt at once), deliver due retries (open the sealed secret,
// render, send, record, with a heartbeat on the attempt's lease), keep the
// partners' contacts and reminder preferences, and answer operators about
// mails.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// ErrNotFound is what adapters return for a missing delivery or contact.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is what Repository.Create returns when the delivery exists.
var ErrDuplicate = errors.New("duplicate delivery")

// LinkEndedError is what Repository.Create returns for a confirmation mail
// still to be sent whose challenge ended before the mail was recorded
// (Repository.EndLinkAhead): nothing is written.
type LinkEndedError struct{ Why string }

func (e *LinkEndedError) Error() string {
	return "the challenge ended before its mail was recorded: " + e.Why
}

// ErrPermanent marks a send error that retrying cannot fix (an SMTP 5xx, a
// refused recipient, a secret that does not open).
var ErrPermanent = errors.New("permanent delivery failure")

// SendError is what a Sender reports: the server's reply code when there
// was one, and whether retrying can help.
type SendError struct {
	Code      int // SMTP reply code; 0: no reply (connection, TLS, timeout)
	Permanent bool
	Err       error
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Is makes a permanent SendError match ErrPermanent.
func (e *SendError) Is(target error) bool { return target == ErrPermanent && e.Permanent }

// Repository stores deliveries. Contract for adapters: Create and Update save
// the delivery and write its PullEvents() to the outbox in one transaction;
// Update runs fn under a row lock and saves only when fn returns nil.
type Repository interface {
	// Create inserts a new delivery; ErrDuplicate (and no change) if the id
	// exists; *LinkEndedError (and no change) if it is not finished and its
	// challenge ended ahead of it (EndLinkAhead). A confirmation mail's
	// insert also finds the mails its challenge superseded (Created).
	Create(ctx context.Context, d *domain.Delivery) (Created, error)
	// EndLinkAhead records that a challenge ended before any mail of it was
	// recorded, with why; a second call keeps the first.
	EndLinkAhead(ctx context.Context, challengeID, why string, at time.Time) error
	// Update runs fn on the delivery under a row lock; ErrNotFound when absent.
	Update(ctx context.Context, id string, fn func(ctx context.Context, d *domain.Delivery) error) error
	// Due lists up to limit deliveries with status pending or sending whose
	// NextAttemptAt is at or before now (an indexed column: the durable timer).
	Due(ctx context.Context, now time.Time, limit int) ([]string, error)
	// NextAttemptAt is the earliest NextAttemptAt of a pending or sending
	// delivery (zero: none).
	NextAttemptAt(ctx context.Context) (time.Time, error)
	// Exists reports whether the delivery id is recorded.
	Exists(ctx context.Context, id string) (bool, error)
	// Thread reads what the fold of a new mail of partnerID's thread needs
	// of the thread's other mails (all but exceptID).
	Thread(ctx context.Context, partnerID, thread, exceptID string) (Thread, error)
	// Get reads a delivery; ErrNotFound when absent.
	Get(ctx context.Context, id string) (*domain.Delivery, error)
	// List reads deliveries, newest first.
	// List returns a page of q's mails, newest first, and the position of
	// its last mail when more follow (nil at the last page).
	List(ctx context.Context, q MailQuery) ([]*domain.Delivery, *page.Position, error)
	// Record saves the outcomes of attempts in one transaction, with their
	// events: each Recorded is a delivery as its sender holds it (claimed,
	// then Succeed or Fail applied), saved only while its attempt is still
	// the one in flight. errs[i] is ErrTakenOver when attempt i's lease ran
	// out and another attempt began (then only the attempt's own outcome is
	// kept); err is the transaction's failure (nothing saved).
	Record(ctx context.Context, rs []Recorded) (errs []error, err error)
}

// Thread is what a thread's mails tell the fold of a new one.
type Thread struct {
	// Waiting are the mails still waiting to go (pending), by ThreadSeq.
	Waiting []ThreadMail
	// Told is the mail on its way or gone (sending, delivered, failed)
	// with the highest ThreadSeq: the state the recipient was last told.
	// Latest is the mail with the highest ThreadSeq whatever its status:
	// the thread's state now. First is the one with the lowest: the
	// state before anything the thread tells. Nil: no such mail.
	Told, Latest, First *ThreadMail
}

// ThreadRef names one partner's thread.
type ThreadRef struct {
	PartnerID, Thread string
}

// ThreadMail is a mail of a thread as the fold sees it.
type ThreadMail struct {
	ID            string
	Seq           uint64
	News          mails.News
	NextAttemptAt time.Time
}

// Created is what recording a mail found beside it.
type Created struct {
	// Superseded are the confirmation mails of the same enrollment's
	// earlier challenges still to be sent or in flight: a confirmation
	// mail's challenge supersedes every earlier one of its enrollment (a
	// resend, a contact change), and a partner's mail requests arrive in
	// the order they were made.
	Superseded []string
}

// Recorded is an attempt's outcome to save: D, whose attempt number
// Attempt has just finished.
type Recorded struct {
	D       *domain.Delivery
	Attempt int
}

// ErrTakenOver: the attempt's lease ran out before its outcome was saved,
// and another attempt began.
var ErrTakenOver = errors.New("attempt taken over after its lease ran out")

// Contact is what the notifier keeps of a partner (from the registration):
// where its mail goes and how to address it.
type Contact struct {
	PartnerID   string
	Email       string
	FirstName   string
	LastName    string
	Language    string
	Market      string
	CompanyName string
	// Removed are the partner's addresses an upheld "this wasn't me"
	// dispute removed: no mail goes to them.
	Removed []string
	// Sequence is the partner sequence of registration's event that gave
	// the contact (0: not known): a contact of an earlier one is not kept
	// after it.
	Sequence uint64
}

// Gone reports whether address is one of the partner's removed addresses.
func (c Contact) Gone(address string) bool {
	return slices.ContainsFunc(c.Removed, func(r string) bool { return strings.EqualFold(r, address) })
}

// Directory is what the notifier knows about partners besides its mails.
type Directory interface {
	// Contact returns the partner's contact; ErrNotFound when unknown.
	Contact(ctx context.Context, partnerID string) (Contact, error)
	// PrefetchContact queues the read of the partner's contact to go out
	// with the next statement of the transaction in ctx, in its round trip,
	// and hands done what Contact would return once it is read. It reports
	// false, reading nothing, when it cannot (no transaction in ctx).
	PrefetchContact(ctx context.Context, partnerID string, done func(Contact, error)) bool
	// SaveContact records the contact and makes the partner's mails that
	// wait for an address due at now.
	SaveContact(ctx context.Context, c Contact, now time.Time) error
	// RemoveAddress records an address an upheld dispute removed from the
	// partner (Contact.Removed).
	RemoveAddress(ctx context.Context, partnerID, address string) error
	// RemindersOff reports whether the partner stopped reminders.
	RemindersOff(ctx context.Context, partnerID string) (bool, error)
	// SetRemindersOff records the partner's choice.
	SetRemindersOff(ctx context.Context, partnerID string, off bool, now time.Time) error
	// SaveSealed keeps a sealed secret (an invitation link) until expires,
	// so that a later reminder can carry it too; Sealed reads it back
	// (ErrNotFound when absent or expired).
	SaveSealed(ctx context.Context, ref string, sealed []byte, expires time.Time) error
	Sealed(ctx context.Context, ref string, now time.Time) ([]byte, error)
}

// Opener opens the sealed secret with the notifier's private key (pkg/sealedbox.Opener).
type Opener interface {
	Open(sealed []byte) ([]byte, error)
}

// Message is one mail to send.
type Message struct {
	ID     string // stable per mail: the Message-ID local part
	To     string
	ToName string
	mails.Rendered
	// Unsubscribe is the reminder's unsubscribe URL (List-Unsubscribe).
	Unsubscribe string
}

// Sender delivers a message (adapters/smtp). Errors wrapping ErrPermanent are
// not retried; any other error is. A *SendError carries the reply code.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Metrics counts what happens to mails (Prometheus in the service).
type Metrics interface {
	Attempt(template string, outcome domain.Outcome, smtpCode int)
	Retry(template string)
	Dead(template string, reason domain.FailReason)
	Suppressed(template string)
	// Sent is how long a sender spent on one attempt (rendering and SMTP).
	Sent(template string, d time.Duration)
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

// Links are the public URLs mails point to.
type Links struct {
	// ConfirmURL and DisputeURL are e-mail ownership's link pages; the
	// token is added as the "token" query parameter.
	ConfirmURL string
	DisputeURL string
	// PortalURL is the partner portal: mails link to
	// <PortalURL>/partners/<id> (the partner's page: its standing) and
	// <PortalURL>/partners/<id>/{verification,agreements,relationships,reactivation}.
	PortalURL string
	// PublicURL is where the notifier's own pages are served
	// (<PublicURL>/unsubscribe).
	PublicURL string
}

// Validate checks that every URL is an absolute http(s) URL.
func (l Links) Validate() error {
	var errs []error
	for name, s := range map[string]string{"confirm": l.ConfirmURL, "dispute": l.DisputeURL, "portal": l.PortalURL, "public": l.PublicURL} {
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("links: %s URL %q must be an absolute http(s) URL", name, s))
		}
	}
	return errors.Join(errs...)
}

func withQuery(base string, kv ...string) string {
	u, _ := url.Parse(base) // validated in New
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (l Links) partner(id string) mails.Links {
	base := strings.TrimRight(l.PortalURL, "/")
	p := base + "/partners/" + url.PathEscape(id)
	return mails.Links{Portal: base, Documents: p + "/verification", Agreements: p + "/agreements", Relationships: p + "/relationships",
		Account: p, Reactivation: p + "/reactivation"}
}

// Deps are the collaborators of the App.
type Deps struct {
	Repo      Repository
	Directory Directory
	Opener    Opener
	Sender    Sender
	Clock     Clock
	Jitter    func() float64 // uniform in [0,1); math/rand/v2.Float64 in production
	Policy    domain.Policy
	// Settle is how long a mail of a thread (news about a state that may
	// change back soon: a partner's standing, access on hold or given back)
	// waits before it is sent; a newer mail of its thread arriving
	// meanwhile takes its place and tells the net change, or nothing when
	// the state is back where it was. A mail asked to settle
	// (MailRequest.Settle) waits as long. 0: sent at once, nothing folded.
	Settle time.Duration
	Links  Links
	Mails  *mails.Set
	// LinkKey signs the unsubscribe links (HMAC-SHA256).
	LinkKey []byte
	Metrics Metrics      // nil: none
	Log     *slog.Logger // nil: none
	// Ticker paces the heartbeat of an attempt in flight; nil: time.NewTicker.
	Ticker func(d time.Duration) (<-chan time.Time, func())
	// Senders is how many mails are sent at once, by as many goroutines
	// that RunSenders runs; an attempt is claimed (saved with its lease)
	// before it is handed to them. 0: every attempt is made synchronously
	// by its caller (Accept, Deliver), which the app's unit tests use.
	Senders int
	// AfterCommit runs fn once the transaction carried by ctx (the event's
	// inbox transaction) has committed, or at once without one
	// (pg.AfterCommit); nil: at once.
	AfterCommit func(ctx context.Context, fn func())
}

// App exposes the use cases. Safe for concurrent use.
type App struct {
	d    Deps
	pool *senders // nil: synchronous attempts (Senders 0)
	// sending are the deliveries this process has an attempt of in flight
	// (id → attempt; from the hand-off until its outcome is saved or given
	// up): a lease that ran out while the database could not be reached is
	// not taken again here while the sender still holds it.
	sending sync.Map
}

// New checks the dependencies.
func New(d Deps) (*App, error) {
	var errs []error
	if d.Repo == nil || d.Directory == nil || d.Opener == nil || d.Sender == nil || d.Clock == nil || d.Jitter == nil || d.Mails == nil {
		errs = append(errs, errors.New("app: repo, directory, opener, sender, clock, jitter and mails are required"))
	}
	if len(d.LinkKey) < 16 {
		errs = append(errs, errors.New("app: the link key must have at least 16 bytes"))
	}
	if d.Senders < 0 {
		errs = append(errs, errors.New("app: senders must not be negative"))
	}
	if d.Settle < 0 {
		errs = append(errs, errors.New("app: the settle time must not be negative"))
	}
	errs = append(errs, d.Policy.Validate(), d.Links.Validate())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if d.Metrics == nil {
		d.Metrics = noMetrics{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Ticker == nil {
		d.Ticker = func(p time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(p)
			return t.C, t.Stop
		}
	}
	if d.AfterCommit == nil {
		d.AfterCommit = func(_ context.Context, fn func()) { fn() }
	}
	a := &App{d: d}
	if d.Senders > 0 {
		a.pool = newSenders(a, d.Senders)
	}
	return a, nil
}

type noMetrics struct{}

func (noMetrics) Attempt(string, domain.Outcome, int) {}
func (noMetrics) Retry(string)                        {}
func (noMetrics) Dead(string, domain.FailReason)      {}
func (noMetrics) Suppressed(string)                   {}
func (noMetrics) Sent(string, time.Duration)          {}
