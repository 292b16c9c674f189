package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// senders send claimed attempts concurrently (Deps.Senders goroutines).
//
// An attempt reaches them already claimed: saved as "sending" with its
// lease (in the event's inbox transaction for a first attempt, by Deliver
// for a retry), so a crash at any point leaves a lease that runs out and
// the mail is sent again, with the same Message-ID. From the hand-off on,
// a heartbeat renews the lease while the attempt waits and is sent. A
// sender renders and sends; one recorder saves the outcomes, those that
// finished together in one transaction (Repository.Record), then stops the
// heartbeats and writes the log lines and metrics.
type senders struct {
	a        *App
	n        int
	queue    chan *sendJob
	results  chan *sendJob
	stopping chan struct{}
	stopOnce sync.Once
	started  atomic.Bool
	busy     atomic.Int32
}

// sendJob is one claimed attempt: d as saved by the claim (attempt n in
// flight), then with its outcome applied.
type sendJob struct {
	d      *domain.Delivery
	n      int
	stopHB func()
	// data is the template data, read before the hand-off (dataErr: what
	// reading it failed with, the attempt's outcome).
	data    mails.Data
	dataErr error
}

const (
	recordBatch = 32
	// recordLinger bounds how long an outcome waits for the outcomes of
	// the attempts still being sent, to share their transaction.
	recordLinger = 50 * time.Millisecond
)

func newSenders(a *App, n int) *senders {
	return &senders{a: a, n: n, queue: make(chan *sendJob, n), results: make(chan *sendJob, 2*n), stopping: make(chan struct{})}
}

// RunSenders sends the claimed attempts handed to the senders until ctx
// ends; then the attempts being sent finish and are recorded, and the
// attempts still waiting are given back (due at once, for another replica
// or the next start). Without senders (Deps.Senders 0) it only waits.
func (a *App) RunSenders(ctx context.Context) error {
	p := a.pool
	if p == nil {
		<-ctx.Done()
		return nil
	}
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("app: the senders run once")
	}
	var wg sync.WaitGroup
	for range p.n {
		wg.Go(p.send)
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		p.record()
	}()
	<-ctx.Done()
	p.stopOnce.Do(func() { close(p.stopping) })
	wg.Wait()
	for {
		select {
		case j := <-p.queue:
			j.stopHB()
			a.release(j)
			continue
		default:
		}
		break
	}
	close(p.results)
	<-recorded
	return nil
}

// SendersStopping reports whether the senders were told to stop (the
// service is shutting down): an attempt handed to them from now on is given
// back, due at once, for another replica or the next start.
func (a *App) SendersStopping() bool {
	if a.pool == nil {
		return false
	}
	select {
	case <-a.pool.stopping:
		return true
	default:
		return false
	}
}

// Busy is how many senders are sending now, and how many there are.
func (a *App) Busy() (busy, senders int) {
	if a.pool == nil {
		return 0, 0
	}
	return int(a.pool.busy.Load()), a.pool.n
}

// prepareSend reads what attempt n of d needs from Postgres (the partner's
// contact, a kept secret) so that a sender only renders and sends. A
// failure of the mail itself (a secret that does not open) becomes the
// attempt's outcome; any other failure is returned.
func (a *App) prepareSend(ctx context.Context, d *domain.Delivery, n int, contact *contactLookup) (*sendJob, error) {
	j := &sendJob{d: d, n: n}
	if req := d.Request(); req.Recipient != "" {
		j.data, j.dataErr = a.data(ctx, req, contact)
		var se *SendError
		if j.dataErr != nil && !errors.As(j.dataErr, &se) {
			return nil, j.dataErr
		}
	}
	return j, nil
}

// dispatch prepares attempt n of d (saved as claimed) and hands it to the
// senders; an attempt that cannot be prepared is sent with the error as
// its outcome (retried later).
func (a *App) dispatch(ctx context.Context, d *domain.Delivery, n int) bool {
	j, err := a.prepareSend(ctx, d, n, a.contactOf(d.Request().PartnerID))
	if err != nil {
		j = &sendJob{d: d, n: n, dataErr: err}
	}
	return a.submit(j)
}

// submit hands a prepared attempt to the senders, and keeps its lease
// alive from now on. It waits while every sender is busy and the queue is
// full (the event consumer waits with it). When the senders are stopping,
// the attempt is given back.
func (a *App) submit(j *sendJob) bool {
	j.stopHB = a.heartbeat(context.Background(), j.d.ID(), j.n)
	p := a.pool
	select {
	case <-p.stopping:
	default:
		select {
		case p.queue <- j:
			return true
		case <-p.stopping:
		}
	}
	j.stopHB()
	a.release(j)
	return false
}

// release gives back an attempt that was never sent.
func (a *App) release(j *sendJob) {
	err := a.d.Repo.Update(context.Background(), j.d.ID(), func(_ context.Context, d *domain.Delivery) error {
		return d.Release(a.d.Clock.Now(), j.n)
	})
	if err != nil && !errors.Is(err, domain.ErrNotSending) {
		a.d.Log.Warn("mail attempt not given back: it is sent once its lease runs out", "mail_id", j.d.ID(), "attempt", j.n, "err", err)
	}
}

func (p *senders) send() {
	for {
		select {
		case <-p.stopping:
			return
		default:
		}
		select {
		case <-p.stopping:
			return
		case j := <-p.queue:
			p.busy.Add(1)
			p.attempt(j)
			p.busy.Add(-1)
			p.results <- j
		}
	}
}

// attempt renders and sends j's mail and applies the outcome to j.d. The
// send is not cancelled by a shutdown: it finishes (bounded by the SMTP
// timeout) and is recorded.
func (p *senders) attempt(j *sendJob) {
	a := p.a
	req := j.d.Request()
	start := time.Now()
	var sendErr error
	switch {
	case req.Recipient == "":
		sendErr = errNoRecipient
	case j.dataErr != nil:
		sendErr = j.dataErr
	default:
		sendErr = a.sendData(context.Background(), req, j.data)
	}
	a.d.Metrics.Sent(req.TemplateID, time.Since(start))
	now := a.d.Clock.Now()
	if sendErr == nil {
		_ = j.d.Succeed(now) // j.d is sending attempt n: it was claimed so
		return
	}
	_ = j.d.Fail(now, failure(sendErr), a.d.Policy, a.d.Jitter())
}

// record saves outcomes until the senders stop, several per transaction:
// what finished while the previous transaction ran, and, while other
// senders are still sending (their outcomes are near), what finishes
// within recordLinger of the first. An idle notifier records a lone mail
// at once; a busy one writes one transaction for several mails. Only the
// record waits: the mail has left already.
func (p *senders) record() {
	for j := range p.results {
		batch := []*sendJob{j}
		deadline := time.Now().Add(recordLinger)
	fill:
		for len(batch) < recordBatch {
			select {
			case j, ok := <-p.results:
				if !ok {
					break fill
				}
				batch = append(batch, j)
				continue
			default:
			}
			wait := time.Until(deadline)
			if wait <= 0 || (p.busy.Load() == 0 && len(p.queue) == 0) {
				break
			}
			t := time.NewTimer(min(wait, time.Millisecond))
			select {
			case j, ok := <-p.results:
				t.Stop()
				if !ok {
					break fill
				}
				batch = append(batch, j)
			case <-t.C:
			}
		}
		p.save(batch)
	}
}

// maxOutcomeWait bounds how long the senders keep trying to save outcomes
// while the database cannot be reached.
const maxOutcomeWait = time.Minute

// save records a batch; a failed transaction is retried mail by mail a few
// times (the heartbeats keep the leases meanwhile), and for as long as
// maxOutcomeWait while the database cannot be reached (a restart, a
// failover): the SMTP server has the mail, and an outcome not saved leaves
// its lease to run out, when the mail is sent again.
func (p *senders) save(batch []*sendJob) {
	a := p.a
	ctx := context.Background()
	rs := make([]Recorded, len(batch))
	for i, j := range batch {
		rs[i] = Recorded{D: j.d, Attempt: j.n}
	}
	errs, err := a.d.Repo.Record(ctx, rs)
	if err != nil {
		errs = make([]error, len(batch))
		since := time.Now()
		for i := range rs {
			for try := 0; ; try++ {
				if try > 0 {
					time.Sleep(min(100*time.Millisecond<<min(try, 4), time.Second))
				}
				var e []error
				if e, errs[i] = a.d.Repo.Record(ctx, rs[i:i+1]); errs[i] == nil {
					errs[i] = e[0]
					break
				}
				if try >= 3 && (!pg.Unavailable(errs[i]) || time.Since(since) > maxOutcomeWait) {
					break
				}
			}
		}
	}
	for i, j := range batch {
		j.stopHB()
		q := j.d.Request()
		switch {
		case errs[i] == nil:
			a.observe(ctx, j.d, j.n)
		case errors.Is(errs[i], ErrTakenOver):
			last, _ := j.d.LastAttempt()
			a.d.Metrics.Attempt(q.TemplateID, last.Outcome, last.SMTPCode)
			a.d.Log.Warn("mail attempt recorded after its lease ran out; another attempt took over",
				append(mailAttrs(q), "attempt", j.n, "outcome", string(last.Outcome), "smtp_code", last.SMTPCode)...)
		default:
			a.d.Log.Error("mail attempt outcome not saved: the mail is sent again when its lease runs out",
				append(mailAttrs(q), "attempt", j.n, "err", errs[i])...)
		}
	}
}
