package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The event topics the benchmark watches (the CloudEvents type without
// "com.partnerhub."); each is published on <topic>.<partition>. A JetStream
// publish is an ordinary NATS publish, so plain core subscriptions to
// <topic>.* see each event as it is stored, at no cost to the streams (no
// consumer, no acks).
const (
	subjectTaskCreated      = "verification.task.created.v1"
	subjectCaseApproved     = "verification.case.approved.v1"
	subjectOwnership        = "email.ownership.confirmed.v1"
	subjectEnrollmentStatus = "registration.enrollment.status_changed.v1"
)

// Board is what an outside observer sees of every onboarding: the events
// about each partner, stamped on arrival, and the mails to each address.
// Waiters block on it until a condition holds.
type Board struct {
	mu       sync.Mutex
	partners map[string]*Seen
	mails    map[string][]Mail
	changed  chan struct{} // closed and replaced on every change
	events   int
	dupes    int
	trace    map[string][]traced // with Trace: every event per partner
}

// Seen is what arrived about one partner, each fact stamped with its first
// arrival (a relay may publish an event twice; JetStream drops the copy
// from the stream, core subscribers see both).
type Seen struct {
	TaskID     string
	TaskAt     time.Time
	Confirmed  map[string]time.Time // enrollment id → ownership confirmed
	ApprovedAt time.Time
	Status     map[string]time.Time // "<program>:<status>" → enrollment reached it
}

// NewBoard returns an empty board.
func NewBoard() *Board {
	return &Board{partners: map[string]*Seen{}, mails: map[string][]Mail{}, changed: make(chan struct{})}
}

func (b *Board) seen(partner string) *Seen {
	s := b.partners[partner]
	if s == nil {
		s = &Seen{Confirmed: map[string]time.Time{}, Status: map[string]time.Time{}}
		b.partners[partner] = s
	}
	return s
}

func (b *Board) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// AddMail records a mail under each of its recipients.
func (b *Board) AddMail(m Mail) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, to := range m.To {
		b.mails[to] = append(b.mails[to], m)
	}
	b.notify()
}

// Mails returns the mails to address so far, in arrival order.
func (b *Board) Mails(address string) []Mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Mail(nil), b.mails[strings.ToLower(address)]...)
}

// Partner returns a copy of what was seen about partner.
func (b *Board) Partner(partner string) Seen {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen(partner)
	c := *s
	c.Confirmed = make(map[string]time.Time, len(s.Confirmed))
	for k, v := range s.Confirmed {
		c.Confirmed[k] = v
	}
	c.Status = make(map[string]time.Time, len(s.Status))
	for k, v := range s.Status {
		c.Status[k] = v
	}
	return c
}

// Counts returns the events applied and the duplicates ignored.
func (b *Board) Counts() (events, dupes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.events, b.dupes
}

// Wait blocks until cond (called under the board's lock) holds or ctx ends.
func (b *Board) Wait(ctx context.Context, cond func() bool) error {
	for {
		b.mu.Lock()
		ok := cond()
		ch := b.changed
		b.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// WaitMails waits for n distinct mails to address and returns them, each
// as it first arrived. A mail sent again (the notifier killed after the
// sink accepted it, before it recorded that) carries the Message-ID of the
// first: counted twice, the driver took a mail and its copy for the two
// confirmation mails, followed one link twice, and the enrollment of the
// other never confirmed — a stall at "active" in crash runs of the
// notifier, which was the driver's, not the stack's.
func (b *Board) WaitMails(ctx context.Context, address string, n int) ([]Mail, error) {
	address = strings.ToLower(address)
	var got []Mail
	err := b.Wait(ctx, func() bool {
		got = distinctMails(b.mails[address])
		return len(got) >= n
	})
	return got, err
}

// distinctMails is ms without the mails whose Message-ID came before (a
// mail without one is distinct), in arrival order.
func distinctMails(ms []Mail) []Mail {
	out := make([]Mail, 0, len(ms))
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if m.MessageID != "" {
			if seen[m.MessageID] {
				continue
			}
			seen[m.MessageID] = true
		}
		out = append(out, m)
	}
	return out
}

// WaitPartner waits until cond holds for what was seen about partner.
func (b *Board) WaitPartner(ctx context.Context, partner string, cond func(*Seen) bool) error {
	return b.Wait(ctx, func() bool { return cond(b.seen(partner)) })
}

// apply records one event; at is its arrival.
func (b *Board) apply(subject string, data []byte, at time.Time) error {
	subject = topicOf(subject)
	var ev struct {
		PartnerID    string `json:"partner_id"`
		TaskID       string `json:"task_id"`
		Check        string `json:"check"`
		EnrollmentID string `json:"enrollment_id"`
		Program      string `json:"program"`
		To           string `json:"to"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("%s: %w", subject, err)
	}
	if ev.PartnerID == "" {
		return fmt.Errorf("%s: no partner_id", subject)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen(ev.PartnerID)
	fresh := false
	switch subject {
	case subjectTaskCreated:
		if ev.Check == "company" && s.TaskID == "" {
			s.TaskID, s.TaskAt, fresh = ev.TaskID, at, true
		}
	case subjectOwnership:
		if _, ok := s.Confirmed[ev.EnrollmentID]; !ok {
			s.Confirmed[ev.EnrollmentID], fresh = at, true
		}
	case subjectCaseApproved:
		if s.ApprovedAt.IsZero() {
			s.ApprovedAt, fresh = at, true
		}
	case subjectEnrollmentStatus:
		key := ev.Program + ":" + ev.To
		if _, ok := s.Status[key]; !ok {
			s.Status[key], fresh = at, true
		}
	}
	if fresh {
		b.events++
		b.notify()
	} else {
		b.dupes++
	}
	return nil
}

// watched are the topics the board follows.
var watched = []string{subjectTaskCreated, subjectOwnership, subjectCaseApproved, subjectEnrollmentStatus}

// Observe subscribes to the watched subjects on nc and applies every event
// to b; errors (an undecodable event) go to onErr. Unsubscribe by closing nc.
//
// A core subscription misses what is published while its connection is
// away (nats-server restarted: BENCH_RESTART=nats-server). When the
// connection is back, the events stored since a second before it was lost
// are read from the streams (catchUp) and applied too: a fact seen already
// keeps its first arrival, one missed arrives as it is read.
func (b *Board) Observe(nc *nats.Conn, onErr func(error)) error {
	var lost atomic.Pointer[time.Time]
	nc.SetDisconnectErrHandler(func(*nats.Conn, error) {
		t := time.Now()
		lost.CompareAndSwap(nil, &t)
	})
	nc.SetReconnectHandler(func(nc *nats.Conn) {
		since := lost.Swap(nil)
		if since == nil {
			return
		}
		go func() {
			if err := b.catchUp(nc, since.Add(-time.Second)); err != nil && onErr != nil {
				onErr(fmt.Errorf("reading what was published while the connection was away: %w", err))
			}
		}()
	})
	for _, subj := range watched {
		sub, err := nc.Subscribe(subj+".*", func(m *nats.Msg) {
			if err := b.apply(m.Subject, m.Data, time.Now()); err != nil && onErr != nil {
				onErr(err)
			}
		})
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", subj, err)
		}
		// Never drop an event for being slow: a lost event is a false stall.
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			return err
		}
	}
	return nc.Flush()
}

// catchUp applies the watched events the streams stored since since.
func (b *Board) catchUp(nc *nats.Conn, since time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for _, subj := range watched {
		filter := subj + ".*"
		stream, err := js.StreamNameBySubject(ctx, filter)
		if err != nil {
			return fmt.Errorf("the stream of %s: %w", filter, err)
		}
		cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since,
			InactiveThreshold: 5 * time.Second,
		})
		if err != nil {
			return fmt.Errorf("read %s: %w", filter, err)
		}
		// What was stored when the read began: the core subscription has
		// seen what comes after since the connection came back.
		for left := cons.CachedInfo().NumPending; left > 0; {
			batch, err := cons.Fetch(int(min(left, 256)), jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				return fmt.Errorf("read %s: %w", filter, err)
			}
			n := 0
			for m := range batch.Messages() {
				n++
				if err := b.apply(m.Subject(), m.Data(), time.Now()); err != nil {
					return err
				}
			}
			if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
				return fmt.Errorf("read %s: %w", filter, err)
			}
			if n == 0 {
				return fmt.Errorf("read %s: %d stored events did not come", filter, left)
			}
			left -= uint64(n)
		}
	}
	return nil
}

// sortedTimes returns the values of m in ascending order.
func sortedTimes(m map[string]time.Time) []time.Time {
	out := make([]time.Time, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// topicOf is the topic of a published subject: without its partition.
func topicOf(subject string) string {
	tokens := strings.Split(subject, ".")
	if len(tokens) == 5 {
		if _, err := strconv.Atoi(tokens[4]); err == nil {
			return strings.Join(tokens[:4], ".")
		}
	}
	return subject
}
