package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// AcceptResult tells whether the request was new.
type AcceptResult struct {
	Duplicate bool // the delivery already existed; nothing changed
}

// Accept records a mail and makes its first delivery attempt at once. With
// senders (Deps.Senders), the mail is recorded with its first attempt
// claimed (status sending, under the send lease) in the caller's
// transaction, and handed to the senders when that commits: the event's
// consumer does not wait for the SMTP server, and mails are sent
// concurrently. A crash before the outcome is recorded leaves the lease to
// run out, and the mail is sent again with the same Message-ID. Without
// senders the attempt is made here and the mail recorded with its outcome.
// Either way the outcome is: delivered, failed for good, suppressed (a
// reminder the partner stopped) or pending a retry that DeliverDue makes
// when it is due. No tick stands between an event and its mail. Idempotent
// on the mail id, so duplicated or redelivered events send one mail. A mail whose expiry
// already passed is recorded as failed and never sent (late or
// out-of-order events). Internal trigger (event consumer): no principal.
// Invalid requests fail with "notifier.invalid_request" or
// "notifier.unknown_template" (permanent: dead-letter them).
func (a *App) Accept(ctx context.Context, req domain.MailRequest) (AcceptResult, error) {
	if req.Language != "" {
		req.Language = domain.ChooseLanguage(string(req.Language), req.Market)
	}
	now := a.d.Clock.Now()
	d, err := domain.NewDelivery(req, now)
	if err != nil {
		e := apperr.Invalid("notifier.invalid_request", err.Error())
		e.Err = err
		return AcceptResult{}, e
	}
	if k, ok := mails.KindOf(req.TemplateID); !ok || string(k.Category) != string(req.Category) {
		return AcceptResult{}, apperr.Invalid("notifier.unknown_template", fmt.Sprintf("no %s mail %q in the catalog", req.Category, req.TemplateID))
	}
	switch {
	case a.d.Settle <= 0 || d.Finished():
	case req.Thread != "":
		if d, err = a.settle(ctx, req, now); err != nil {
			return AcceptResult{}, err
		}
	case req.Settle:
		d.Hold(now.Add(a.d.Settle))
	}
	if a.pool == nil {
		// The attempt is made before the mail is recorded: a duplicate
		// must be known first.
		switch exists, err := a.d.Repo.Exists(ctx, req.ID); {
		case err != nil:
			return AcceptResult{}, fmt.Errorf("look up mail %s: %w", req.ID, err)
		case exists:
			return AcceptResult{Duplicate: true}, nil
		}
	}
	contact := a.contactOf(req.PartnerID) // read once for prepare and the send's data
	if q := d.Request(); a.pool != nil && q.Recipient != "" && q.Language != "" && q.Market != "" && !d.Finished() {
		// Only the send's data needs the contact, after the mail is
		// recorded: the read goes out with that insert, in its round trip.
		contact.prefetch(ctx)
	}
	if !d.Finished() {
		if err := a.prepare(ctx, d, contact); err != nil {
			return AcceptResult{}, err
		}
	}
	claimed := 0
	if !d.Finished() {
		if a.pool != nil && d.Request().Recipient != "" {
			// Claimed in the transaction that records the mail (the
			// event's): the senders get it once that commits.
			n, err := d.Begin(a.d.Clock.Now(), a.d.Policy)
			switch {
			case err == nil:
				claimed = n
			case errors.Is(err, domain.ErrExpired), errors.Is(err, domain.ErrExhausted), errors.Is(err, domain.ErrFinished),
				errors.Is(err, domain.ErrNotDue): // held while its state settles
			default:
				return AcceptResult{}, err
			}
		} else if !d.Due(now) {
			// Held while its state settles: the delivery job sends it.
		} else if err := a.attempt(ctx, d); err != nil {
			// Synchronous, or no address yet (fails at once, no I/O).
			return AcceptResult{}, err
		}
	}
	var ended *LinkEndedError
	created, err := a.d.Repo.Create(ctx, d)
	switch {
	case errors.Is(err, ErrDuplicate):
		return AcceptResult{Duplicate: true}, nil
	case errors.As(err, &ended):
		return a.endedAhead(ctx, req, ended.Why)
	case err != nil:
		return AcceptResult{}, fmt.Errorf("record mail %s: %w", req.ID, err)
	}
	if err := a.endSuperseded(ctx, req, created); err != nil {
		return AcceptResult{}, err
	}
	if claimed > 0 {
		// What the mail needs from Postgres is read now, in the event's
		// transaction: the senders only render and talk SMTP.
		j, err := a.prepareSend(ctx, d, claimed, contact)
		if err != nil {
			return AcceptResult{}, err
		}
		a.d.AfterCommit(ctx, func() { a.submit(j) })
		return AcceptResult{}, nil
	}
	a.observe(ctx, d, 0)
	return AcceptResult{}, nil
}

// settle decides what req, a mail of a thread, becomes beside the
// thread's other mails, whatever order their events arrived in (two
// types of event are two durables): the thread's state now is the one
// its latest news left (highest ThreadSeq), and the recipient was last
// told the one of the latest mail on its way or gone (none: the state
// before the thread's first news).
//   - news older than what the recipient was told is superseded;
//   - a state now the same as the one told is no news: req and the mails
//     still waiting are suppressed (no_net_change; superseded);
//   - otherwise one mail tells it: req, retold as the change from the
//     state told, held Settle for the state to settle but no later than
//     the waiting mails it supersedes would have gone — or, when a
//     waiting mail carries newer news than req, that mail, and req is
//     superseded.
//
// A waiting mail that a sender took meanwhile is left to go.
func (a *App) settle(ctx context.Context, req domain.MailRequest, now time.Time) (*domain.Delivery, error) {
	th, err := a.d.Repo.Thread(ctx, req.PartnerID, req.Thread, req.ID)
	if err != nil {
		return nil, fmt.Errorf("mails of %s's thread %s: %w", req.PartnerID, req.Thread, err)
	}
	x := ThreadMail{ID: req.ID, Seq: req.ThreadSeq, News: mails.News{Template: req.TemplateID, Data: req.Data}}
	var told string
	if th.Told != nil {
		_, told, err = mails.States(th.Told.News)
	} else {
		first := x
		if th.First != nil && th.First.Seq <= x.Seq { // a tie: the one recorded first
			first = *th.First
		}
		told, _, err = mails.States(first.News)
	}
	if err != nil {
		return nil, err
	}
	latest := x
	if th.Latest != nil && th.Latest.Seq > x.Seq {
		latest = *th.Latest
	}
	_, current, err := mails.States(latest.News)
	if err != nil {
		return nil, err
	}
	// reason is what becomes of req (none: it is the news); keep is the
	// waiting mail that stays, if any.
	stale := th.Told != nil && x.Seq < th.Told.Seq
	keep, reason := "", domain.ReasonSuperseded
	switch {
	case stale: // everything waiting stays as it is
	case current == told:
		reason = domain.ReasonNoNetChange
	case latest.ID != x.ID:
		keep = latest.ID
	default:
		reason = ""
	}
	until := now.Add(a.d.Settle)
	if !stale {
		for _, w := range th.Waiting {
			if w.ID == keep {
				continue
			}
			if err := a.supersede(ctx, w.ID, req.ID); err != nil {
				return nil, err
			}
			if w.NextAttemptAt.Before(until) {
				until = w.NextAttemptAt
			}
		}
	}
	if reason == "" {
		if req.Data, err = mails.Retell(told, x.News); err != nil {
			return nil, err
		}
	}
	d, err := domain.NewDelivery(req, now)
	if err != nil {
		return nil, err
	}
	switch {
	case reason != "":
		d.Supersede(now, reason)
	case until.After(now):
		d.Hold(until)
	}
	return d, nil
}

// EndThreads gives up the news still waiting on threads, which the event
// by ended (a relationship over: its access is neither held nor given
// back any more). Mails of those threads recorded afterwards are not
// held back by it.
func (a *App) EndThreads(ctx context.Context, threads []ThreadRef, by string) error {
	for _, r := range threads {
		th, err := a.d.Repo.Thread(ctx, r.PartnerID, r.Thread, "")
		if err != nil {
			return fmt.Errorf("mails of %s's thread %s: %w", r.PartnerID, r.Thread, err)
		}
		for _, w := range th.Waiting {
			if err := a.supersede(ctx, w.ID, by); err != nil {
				return err
			}
		}
	}
	return nil
}

// supersede gives up the waiting mail id of a thread for the mail by.
func (a *App) supersede(ctx context.Context, id, by string) error {
	err := a.d.Repo.Update(ctx, id, func(ctx context.Context, w *domain.Delivery) error {
		if w.Supersede(a.d.Clock.Now(), domain.ReasonSuperseded) {
			q := w.Request()
			a.d.Log.InfoContext(ctx, "mail superseded while it waited: a newer one of its thread has the news",
				append(mailAttrs(q), "thread", q.Thread, "by", by)...)
			a.d.Metrics.Suppressed(q.TemplateID)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("supersede mail %s: %w", id, err)
	}
	return nil
}

// prepare resolves what the mail needs from the directory before an
// attempt: what the request left to the partner's contact (the address,
// the language the mail is written in first, the market), for a reminder
// whether the partner stopped reminders (then it is suppressed), and
// whether its address is one a verifier removed from the partner (then it
// is withheld: ReasonAddressRemoved).
// An unknown contact leaves the address empty: the attempt fails
// temporarily and SaveContact makes the mail due again.
func (a *App) prepare(ctx context.Context, d *domain.Delivery, contact *contactLookup) error {
	q := d.Request()
	if q.Category == domain.CategoryReminder {
		off, err := a.d.Directory.RemindersOff(ctx, q.PartnerID)
		if err != nil {
			return fmt.Errorf("reminder preference of %s: %w", q.PartnerID, err)
		}
		if off {
			return d.Suppress(a.d.Clock.Now())
		}
	}
	named := q.Recipient != "" && q.Language != "" && q.Market != ""
	if named && q.TemplateID == mails.VerifyEmail {
		// E-mail ownership opens no challenge to an address removed from
		// the partner; the contact is read with the insert (prefetch).
		return nil
	}
	c, err := contact.get(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("contact of %s: %w", q.PartnerID, err)
	}
	if to := cmp.Or(q.Recipient, c.Email); c.Gone(to) && q.TemplateID != mails.DisputeUpheld {
		// The partner's contact is an address a verifier removed after an
		// upheld "this wasn't me" report: its owner is not the partner's
		// and hears nothing more of it, until the partner corrects it —
		// but the answer to its report, that the address was removed.
		d.Withhold(a.d.Clock.Now(), domain.ReasonAddressRemoved)
		return nil
	}
	if named {
		return nil
	}
	// A contact address mail cannot use leaves the mail without one: its
	// attempt says so.
	_ = d.Complete(c.Email, "", domain.ChooseLanguage(c.Language, c.Market), c.Market)
	return nil
}

// contactLookup reads a partner's contact at most once for the steps of
// one mail that need it (what the request left open, the data the
// template sees): one round trip instead of two.
type contactLookup struct {
	dir       Directory
	partnerID string
	done      bool
	c         Contact
	err       error
}

func (a *App) contactOf(partnerID string) *contactLookup {
	return &contactLookup{dir: a.d.Directory, partnerID: partnerID}
}

// prefetch queues the read to go out with the transaction's next
// statement (Directory.PrefetchContact); get reads it itself if that has
// not happened by then.
func (l *contactLookup) prefetch(ctx context.Context) {
	if l.done {
		return
	}
	l.dir.PrefetchContact(ctx, l.partnerID, func(c Contact, err error) {
		if !l.done {
			l.c, l.err, l.done = c, err, true
		}
	})
}

// get returns the contact (ErrNotFound when there is none), read on the
// first call.
func (l *contactLookup) get(ctx context.Context) (Contact, error) {
	if !l.done {
		l.c, l.err = l.dir.Contact(ctx, l.partnerID)
		l.done = true
	}
	return l.c, l.err
}
