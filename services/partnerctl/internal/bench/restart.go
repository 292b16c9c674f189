package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"syscall"
	"time"
)

// RestartResult is a load point during which one service was restarted
// the way a rolling deploy restarts an instance: SIGTERM, then the same
// binary with the same environment started again.
type RestartResult struct {
	Service string
	LoadPoint
	After       time.Duration // into the load when SIGTERM was sent
	Onboardings []Onboarding
	// StopAt: SIGTERM sent; Stopped: the process exited; Ready: the new one
	// answered /readyz.
	StopAt, Stopped, Ready time.Time
	Graceful               bool  // it exited on SIGTERM alone
	Reconnects             int64 // the driver's calls sent again after their connection failed
}

// Across are the onboardings in flight while the service was away or
// coming back: submitted before it was ready again, active after SIGTERM.
func (r RestartResult) Across() []Onboarding {
	var out []Onboarding
	for _, o := range r.Onboardings {
		if o.Submit.Before(r.Ready) && o.ActiveAt.After(r.StopAt) {
			out = append(out, o)
		}
	}
	return out
}

// measureRestart runs lp and restarts service name after the given time
// into it.
func measureRestart(ctx context.Context, d *Driver, stack *Stack, name string, lp LoadPoint, after time.Duration) (RestartResult, error) {
	rr := RestartResult{Service: name, LoadPoint: lp, After: after}
	done := make(chan error, 1)
	go func() {
		sleep(ctx, after)
		rr.StopAt = time.Now()
		var err error
		rr.Stopped, rr.Graceful, err = stack.Restart(ctx, name)
		rr.Ready = time.Now()
		done <- err
	}()
	r0 := d.Reconnects.Load()
	obs, err := d.Load(ctx, lp.N, lp.C)
	rr.Reconnects = d.Reconnects.Load() - r0
	if rerr := <-done; rerr != nil {
		return rr, fmt.Errorf("restart %s: %w", name, rerr)
	}
	if err != nil {
		return rr, err
	}
	d.FillLate(obs)
	rr.Onboardings = obs
	return rr, nil
}

// Restart stops service name with SIGTERM (up to 20 s, as Close does),
// starts it again with the same binary, arguments, environment (its port
// included) and directory, and waits until it is ready. It returns when
// the old process exited and whether SIGTERM alone ended it.
func (s *Stack) Restart(ctx context.Context, name string) (stopped time.Time, graceful bool, err error) {
	i := slices.IndexFunc(s.services, func(p *process) bool { return p.name == name })
	if i < 0 {
		return time.Time{}, false, fmt.Errorf("no service %q in the stack (%v)", name, s.Names)
	}
	old := s.services[i]
	graceful = old.stop(syscall.SIGTERM, 20*time.Second)
	stopped = time.Now()
	p, err := startProcess(name, old.cmd.Path, old.cmd.Args[1:], old.cmd.Env, old.cmd.Dir, nil)
	if err != nil {
		return stopped, graceful, err
	}
	p.log.continues(old.log)
	s.services[i] = p
	return stopped, graceful, s.waitReadyOne(ctx, p, time.Now().Add(60*time.Second))
}

// printRestart writes the restart's part of the report.
func (r *Report) printRestart(w io.Writer) {
	rr := r.Restart
	if rr == nil {
		return
	}
	how := "gracefully"
	if !rr.Graceful {
		how = "NOT gracefully (killed after 20 s)"
	}
	fmt.Fprintf(w, "\nrestart of %s %.1f s into %d onboardings at C=%d (a rolling deploy of its one instance): stopped %s %d ms after SIGTERM, ready again %d ms later\n",
		rr.Service, rr.After.Seconds(), rr.N, rr.C, how, rr.Stopped.Sub(rr.StopAt).Milliseconds(), rr.Ready.Sub(rr.Stopped).Milliseconds())
	active := FromSubmit[len(FromSubmit)-1]
	line := func(what string, os []Onboarding) {
		l := active.Latencies(os)
		over := 0
		for _, v := range l {
			if v > 5*time.Second {
				over++
			}
		}
		fmt.Fprintf(w, "  submit → active, %-34s %4d onboardings  p50 %6.0f  p99 %6.0f  max %6.0f ms   over 5 s: %d\n",
			what, len(l), ms(Percentile(l, 50)), ms(Percentile(l, 99)), ms(Percentile(l, 100)), over)
	}
	line("all", rr.Onboardings)
	line("in flight across the restart", rr.Across())
	fmt.Fprintf(w, "  calls the driver sent again after their connection failed (refused, or closed as the service stopped): %d\n", rr.Reconnects)
}
