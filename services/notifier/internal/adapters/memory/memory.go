// Package memory is an in-memory delivery repository and directory for the
// app's tests. It keeps the app.Repository contract with one mutex standing
// in for the Postgres row lock; pulled events are kept in order for
// inspection.
package memory

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// Repository implements app.Repository.
type Repository struct {
	mu     sync.Mutex
	rows   map[string]domain.DeliverySnapshot
	ended  map[string]string // challenge id → why (EndLinkAhead)
	events []domain.Event
	order  map[string]int // id → rank of creation (ties of ThreadSeq)
}

// New returns an empty repository.
func New() *Repository {
	return &Repository{rows: map[string]domain.DeliverySnapshot{}, ended: map[string]string{}, order: map[string]int{}}
}

// Create implements app.Repository.
func (r *Repository) Create(_ context.Context, d *domain.Delivery) (app.Created, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := d.Request()
	if why, ok := r.ended[q.ChallengeID]; ok && !d.Finished() {
		return app.Created{}, &app.LinkEndedError{Why: why}
	}
	if _, ok := r.rows[d.ID()]; ok {
		return app.Created{}, app.ErrDuplicate
	}
	var c app.Created
	if q.ChallengeID != "" {
		for id, s := range r.rows {
			o := s.Request
			if o.PartnerID == q.PartnerID && o.EnrollmentID == q.EnrollmentID && o.ChallengeID != "" &&
				o.ChallengeID != q.ChallengeID && (s.Status == domain.StatusPending || s.Status == domain.StatusSending) {
				c.Superseded = append(c.Superseded, id)
			}
		}
		sort.Strings(c.Superseded)
	}
	r.save(d)
	r.order[d.ID()] = len(r.order)
	return c, nil
}

// Thread implements app.Repository.
func (r *Repository) Thread(_ context.Context, partnerID, thread, exceptID string) (app.Thread, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var th app.Thread
	var all []app.ThreadMail
	told := map[string]bool{}
	for id, s := range r.rows {
		q := s.Request
		if id == exceptID || thread == "" || q.PartnerID != partnerID || q.Thread != thread {
			continue
		}
		m := app.ThreadMail{ID: id, Seq: q.ThreadSeq, News: mails.News{Template: q.TemplateID, Data: q.Data}, NextAttemptAt: s.NextAttemptAt}
		all = append(all, m)
		switch s.Status {
		case domain.StatusPending:
			th.Waiting = append(th.Waiting, m)
		case domain.StatusSending, domain.StatusDelivered, domain.StatusFailed:
			told[id] = true
		}
	}
	bySeq := func(a, b app.ThreadMail) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(r.order[a.ID], r.order[b.ID]))
	}
	slices.SortFunc(all, bySeq)
	slices.SortFunc(th.Waiting, bySeq)
	for i := range all {
		m := all[i]
		if told[m.ID] {
			th.Told = &m
		}
	}
	if len(all) > 0 {
		first, latest := all[0], all[len(all)-1]
		th.First, th.Latest = &first, &latest
	}
	return th, nil
}

// EndLinkAhead implements app.Repository.
func (r *Repository) EndLinkAhead(_ context.Context, challengeID, why string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ended[challengeID]; !ok {
		r.ended[challengeID] = why
	}
	return nil
}

// Update implements app.Repository.
func (r *Repository) Update(ctx context.Context, id string, fn func(context.Context, *domain.Delivery) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.rows[id]
	if !ok {
		return app.ErrNotFound
	}
	d := domain.RestoreDelivery(s)
	if err := fn(ctx, d); err != nil {
		return err
	}
	r.save(d)
	return nil
}

// Record implements app.Repository.
func (r *Repository) Record(_ context.Context, rs []app.Recorded) ([]error, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := make([]error, len(rs))
	for i, x := range rs {
		s, ok := r.rows[x.D.ID()]
		if !ok {
			errs[i] = app.ErrNotFound
			continue
		}
		if s.Status != domain.StatusSending || len(s.Attempts) != x.Attempt {
			if len(s.Attempts) >= x.Attempt {
				last, _ := x.D.LastAttempt()
				s.Attempts[x.Attempt-1] = last
				r.rows[x.D.ID()] = s
			}
			errs[i] = app.ErrTakenOver
			continue
		}
		r.save(x.D)
	}
	return errs, nil
}

func (r *Repository) save(d *domain.Delivery) {
	r.rows[d.ID()] = d.Snapshot()
	r.events = append(r.events, d.PullEvents()...)
}

// Due implements app.Repository, oldest due first.
func (r *Repository) Due(_ context.Context, now time.Time, limit int) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, s := range r.rows {
		if domain.RestoreDelivery(s).Due(now) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return r.rows[ids[i]].NextAttemptAt.Before(r.rows[ids[j]].NextAttemptAt) })
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}

// NextAttemptAt implements app.Repository.
func (r *Repository) NextAttemptAt(_ context.Context) (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, s := range r.rows {
		if (s.Status == domain.StatusPending || s.Status == domain.StatusSending) && (next.IsZero() || s.NextAttemptAt.Before(next)) {
			next = s.NextAttemptAt
		}
	}
	return next, nil
}

// Exists implements app.Repository.
func (r *Repository) Exists(_ context.Context, id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.rows[id]
	return ok, nil
}

// Get implements app.Repository (a copy).
func (r *Repository) Get(_ context.Context, id string) (*domain.Delivery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.rows[id]
	if !ok {
		return nil, app.ErrNotFound
	}
	return domain.RestoreDelivery(s), nil
}

// List implements app.Repository (by mail id, not by creation time: a
// position's time is not looked at).
func (r *Repository) List(_ context.Context, q app.MailQuery) ([]*domain.Delivery, *page.Position, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*domain.Delivery
	for _, s := range r.rows {
		if s.Request.PartnerID == q.PartnerID && (q.Status == "" || s.Status == q.Status) && (q.After == nil || s.Request.ID < q.After.ID) {
			out = append(out, domain.RestoreDelivery(s))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() > out[j].ID() })
	if len(out) > q.Limit {
		out = out[:q.Limit]
		return out, &page.Position{At: time.Unix(1, 0), ID: out[q.Limit-1].ID()}, nil
	}
	return out, nil, nil
}

// MakeWaitingDue makes the partner's pending mails without an address due
// at now (what SaveContact does in Postgres).
func (r *Repository) MakeWaitingDue(partnerID string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, s := range r.rows {
		if s.Request.PartnerID == partnerID && s.Status == domain.StatusPending && s.Request.Recipient == "" {
			s.NextAttemptAt = now
			r.rows[id] = s
		}
	}
}

// Directory implements app.Directory.
type Directory struct {
	mu       sync.Mutex
	Repo     *Repository // made due when a contact arrives
	contacts map[string]app.Contact
	off      map[string]bool
	sealed   map[string][]byte
}

// NewDirectory returns an empty directory that wakes repo's waiting mails.
func NewDirectory(repo *Repository) *Directory {
	return &Directory{Repo: repo, contacts: map[string]app.Contact{}, off: map[string]bool{}, sealed: map[string][]byte{}}
}

// Contact implements app.Directory.
func (d *Directory) Contact(_ context.Context, partnerID string) (app.Contact, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.contacts[partnerID]
	if !ok {
		return app.Contact{}, app.ErrNotFound
	}
	return c, nil
}

// SaveContact implements app.Directory.
func (d *Directory) SaveContact(_ context.Context, c app.Contact, now time.Time) error {
	d.mu.Lock()
	// as the Postgres directory: the removed addresses stay, and a contact
	// of an earlier event than the kept one's is not kept
	if kept, ok := d.contacts[c.PartnerID]; !ok || c.Sequence == 0 || kept.Sequence < c.Sequence {
		if ok {
			c.Removed, c.Sequence = kept.Removed, max(kept.Sequence, c.Sequence)
		}
		d.contacts[c.PartnerID] = c
	}
	d.mu.Unlock()
	if d.Repo != nil {
		d.Repo.MakeWaitingDue(c.PartnerID, now)
	}
	return nil
}

// RemoveAddress implements app.Directory.
func (d *Directory) RemoveAddress(_ context.Context, partnerID, address string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.contacts[partnerID]; ok && !c.Gone(address) {
		c.Removed = append(slices.Clone(c.Removed), address)
		d.contacts[partnerID] = c
	}
	return nil
}

// RemindersOff implements app.Directory.
// PrefetchContact implements app.Directory: there is no round trip to share.
func (d *Directory) PrefetchContact(context.Context, string, func(app.Contact, error)) bool {
	return false
}

func (d *Directory) RemindersOff(_ context.Context, partnerID string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.off[partnerID], nil
}

// SetRemindersOff implements app.Directory.
func (d *Directory) SetRemindersOff(_ context.Context, partnerID string, off bool, _ time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.off[partnerID] = off
	return nil
}

// SaveSealed implements app.Directory (no expiry in memory).
func (d *Directory) SaveSealed(_ context.Context, ref string, sealed []byte, _ time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sealed[ref] = sealed
	return nil
}

// Sealed implements app.Directory.
func (d *Directory) Sealed(_ context.Context, ref string, _ time.Time) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.sealed[ref]
	if !ok {
		return nil, app.ErrNotFound
	}
	return b, nil
}

// Events returns every event saved so far.
func (r *Repository) Events() []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]domain.Event(nil), r.events...)
}
