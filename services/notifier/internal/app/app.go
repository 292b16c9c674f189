// Package app holds the notifier's use cases: accept a mail request, and
// deliver due mails (open the sealed secret, render, send, record).
package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// ErrNotFound is what repository adapters return for a missing delivery.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is what Repository.Create returns when the delivery exists.
var ErrDuplicate = errors.New("duplicate delivery")

// ErrPermanent marks a send error that retrying cannot fix (an SMTP 5xx, a
// refused recipient). Senders wrap it: fmt.Errorf("%w: ...", app.ErrPermanent).
var ErrPermanent = errors.New("permanent delivery failure")

// Repository stores deliveries. Contract for adapters: Create and Update save
// the delivery and write its PullEvents() to the outbox in one transaction;
// Update runs fn under a row lock and saves only when fn returns nil.
type Repository interface {
	// Create inserts a new delivery; ErrDuplicate (and no change) if the id exists.
	Create(ctx context.Context, d *domain.Delivery) error
	// Update runs fn on the delivery under a row lock; ErrNotFound when absent.
	Update(ctx context.Context, id string, fn func(d *domain.Delivery) error) error
	// Due lists up to limit deliveries with status pending or sending whose
	// NextAttemptAt is at or before now (an indexed column: the durable timer).
	Due(ctx context.Context, now time.Time, limit int) ([]string, error)
	// NextAttemptAt is the earliest NextAttemptAt of a pending or sending
	// delivery (zero: none).
	NextAttemptAt(ctx context.Context) (time.Time, error)
	// Exists reports whether the delivery id is recorded.
	Exists(ctx context.Context, id string) (bool, error)
}

// Opener opens the sealed secret with the notifier's private key (pkg/sealedbox.Opener).
type Opener interface {
	Open(sealed []byte) ([]byte, error)
}

// Message is one mail to send.
type Message struct {
	ID      string // stable per delivery: the Message-ID local part
	To      string
	ToName  string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers a message (adapters/smtp). Errors wrapping ErrPermanent are
// not retried; any other error is.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

// Links are the public URLs the mail points to; the token is added as the
// "token" query parameter.
type Links struct {
	ConfirmURL string // e.g. https://onboarding.example.com/email-ownership/confirm
	DisputeURL string // e.g. https://onboarding.example.com/email-ownership/dispute
}

// Validate checks that both are absolute http(s) URLs.
func (l Links) Validate() error {
	var errs []error
	for name, s := range map[string]string{"confirm": l.ConfirmURL, "dispute": l.DisputeURL} {
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("links: %s URL %q must be an absolute http(s) URL", name, s))
		}
	}
	return errors.Join(errs...)
}

func withToken(base, token string) string {
	u, _ := url.Parse(base) // validated in New
	q := u.Query()
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return u.String()
}

// Deps are the collaborators of the App.
type Deps struct {
	Repo   Repository
	Opener Opener
	Sender Sender
	Clock  Clock
	Jitter func() float64 // uniform in [0,1); math/rand/v2.Float64 in production
	Policy domain.Policy
	Links  Links
}

// App exposes the use cases. Safe for concurrent use.
type App struct {
	d        Deps
	renderer *Renderer
}

// New checks the dependencies and parses the templates.
func New(d Deps) (*App, error) {
	var errs []error
	if d.Repo == nil || d.Opener == nil || d.Sender == nil || d.Clock == nil || d.Jitter == nil {
		errs = append(errs, errors.New("app: repo, opener, sender, clock and jitter are required"))
	}
	errs = append(errs, d.Policy.Validate(), d.Links.Validate())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r, err := NewRenderer()
	if err != nil {
		return nil, err
	}
	return &App{d: d, renderer: r}, nil
}
