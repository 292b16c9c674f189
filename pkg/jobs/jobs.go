// Package jobs runs a service's work that is not a request or an event:
// durable timers (deadlines, reminders, retries) and periodic maintenance.
// It is the one mechanism for it in every service, instead of a ticker loop
// per service polling its tables.
//
// A job does what is due and says when it is next due; the runner sleeps
// until then, or until woken: code that makes something due sooner than the
// runner knows (a retry scheduled, a timer set) calls Wake, usually through
// pg.AfterCommit so that the job sees the committed row. Every bounds each
// sleep, so rows written by another replica or process are found without a
// wake. An idle service thus queries each job's table about once per Every
// instead of every second.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Job is one kind of due-time or periodic work.
type Job struct {
	// Name identifies the job in logs and for Wake.
	Name string
	// Run does what is due at now and returns when it is next due; zero
	// means no known due time (the runner comes back after Every).
	Run func(ctx context.Context, now time.Time) (next time.Time, err error)
	// Every bounds the sleep between runs: the period of periodic work, and
	// the safety net of due-time work.
	Every time.Duration
}

// Runner runs jobs until its context ends.
type Runner struct {
	// Transient says whether a job's error is a passing state of what it
	// depends on (the database cannot be reached): such failures are
	// logged once per outage, as a warning, and their end once, rather
	// than as an error per run. nil: every failure is an error.
	Transient func(error) bool

	log   *slog.Logger
	now   func() time.Time
	mu    sync.Mutex
	jobs  []Job
	wakes map[string]chan struct{}
}

// New returns a runner that logs to log.
func New(log *slog.Logger) *Runner {
	return &Runner{log: log, now: time.Now, wakes: map[string]chan struct{}{}}
}

// Add registers jobs; call before Run.
func (r *Runner) Add(jobs ...Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, j := range jobs {
		switch {
		case j.Name == "" || j.Run == nil:
			errs = append(errs, fmt.Errorf("job %q: a name and a Run function are required", j.Name))
		case j.Every <= 0:
			errs = append(errs, fmt.Errorf("job %s: Every must be positive", j.Name))
		case r.wakes[j.Name] != nil:
			errs = append(errs, fmt.Errorf("job %s: declared twice", j.Name))
		default:
			r.jobs = append(r.jobs, j)
			r.wakes[j.Name] = make(chan struct{}, 1)
		}
	}
	return errors.Join(errs...)
}

// Names lists the registered jobs.
func (r *Runner) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.jobs))
	for i, j := range r.jobs {
		out[i] = j.Name
	}
	return out
}

// Wake makes job name run now (it never blocks; unknown names are ignored).
func (r *Runner) Wake(name string) {
	r.mu.Lock()
	ch := r.wakes[name]
	r.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Waker returns a function that wakes job name (for pg.AfterCommit).
func (r *Runner) Waker(name string) func() { return func() { r.Wake(name) } }

// Run runs every job until ctx ends; it waits for runs in progress.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	jobs := append([]Job(nil), r.jobs...)
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, j, r.wakes[j.Name])
		}()
	}
	wg.Wait()
	return nil
}

func (r *Runner) loop(ctx context.Context, j Job, wake chan struct{}) {
	failures, immediate := 0, 0
	var waitingSince time.Time // the first of the transient failures going on
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		next, err := r.runOnce(ctx, j)
		wait := j.Every
		now := r.now()
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			failures++
			wait = min(time.Second<<min(failures, 6), j.Every)
			switch {
			case r.Transient == nil || !r.Transient(err):
				r.log.Error("job failed", "job", j.Name, "err", err, "retry_in", wait.String(), "failures", failures)
			case waitingSince.IsZero():
				waitingSince = now
				r.log.Warn("job waits for what it depends on; tried again with backoff", "job", j.Name, "err", err)
			}
		default:
			if !waitingSince.IsZero() {
				r.log.Info("job runs again", "job", j.Name, "waited_ms", now.Sub(waitingSince).Milliseconds(), "failures", failures)
				waitingSince = time.Time{}
			}
			failures = 0
			if !next.IsZero() {
				wait = min(max(next.Sub(now), 0), j.Every)
			}
		}
		// Work due at once (a full batch) runs again at once; a job that
		// keeps reporting work due without finishing it backs off instead
		// of spinning.
		if wait == 0 {
			immediate++
			wait = min(time.Millisecond<<min(immediate-1, 20), j.Every)
			if immediate == 1 {
				wait = 0
			}
		} else {
			immediate = 0
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}

func (r *Runner) runOnce(ctx context.Context, j Job) (next time.Time, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("job panicked", "job", j.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("job %s panicked: %v", j.Name, p)
		}
	}()
	return j.Run(ctx, r.now())
}
