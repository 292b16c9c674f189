package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// RestartResult is a load point during which one service was restarted
// the way a rolling deploy restarts an instance: SIGTERM, then the same
// binary with the same environment started again — or a crash restarted
// (SIGKILL) — or, with Replica set, during which a second instance of it
// joined and then left (SIGTERM or SIGKILL).
type RestartResult struct {
	Service string
	Replica bool
	Signal  string // what was sent: "SIGTERM", "SIGKILL" (for postgres "SIGQUIT")
	Crash   bool   // a crash (BENCH_RESTART_SIGNAL=KILL), not a graceful stop
	LoadPoint
	After       time.Duration // into the load when the signal was sent
	Onboardings []Onboarding
	// StopAt: SIGTERM sent; Stopped: the process exited; Ready: the new one
	// answered /readyz. For a replica: Ready when it answered, StopAt when
	// it got SIGTERM, Stopped when it exited.
	StopAt, Stopped, Ready time.Time
	Graceful               bool  // it exited on the signal alone
	Reconnects             int64 // the driver's calls sent again after their connection failed
	Unavailable            int64 // the driver's calls answered 503 with Retry-After, sent again after it
	// Counts is what the stack stored and sent during the point (and the
	// drain after it): a crash must make it neither lose nor duplicate.
	Counts RestartCounts
}

// RestartCounts are running totals of what the stack stored and sent.
type RestartCounts struct {
	Messages    uint64 // JetStream messages stored, dead letters apart
	DeadLetters uint64
	Mails       int64 // mails the sink accepted
	MailsAgain  int64 // of them with a Message-ID accepted before: sent again
}

// takeRestartCounts reads the running totals now.
func takeRestartCounts(ctx context.Context, js jetstream.JetStream, sink *MailSink) (RestartCounts, error) {
	total, per, err := StreamTotals(ctx, js)
	if err != nil {
		return RestartCounts{}, err
	}
	mails := sink.Received()
	return RestartCounts{
		Messages: total - per["DEADLETTER"], DeadLetters: per["DEADLETTER"],
		Mails: mails, MailsAgain: mails - sink.Distinct(),
	}, nil
}

// minus is what happened between earlier and c.
func (c RestartCounts) minus(earlier RestartCounts) RestartCounts {
	return RestartCounts{
		Messages: c.Messages - earlier.Messages, DeadLetters: c.DeadLetters - earlier.DeadLetters,
		Mails: c.Mails - earlier.Mails, MailsAgain: c.MailsAgain - earlier.MailsAgain,
	}
}

// Across are the onboardings in flight while the service was away or
// coming back: submitted before it was ready again, active after SIGTERM;
// for a replica, in flight while partitions moved: active after it
// joined, submitted before it left.
func (r RestartResult) Across() []Onboarding {
	var out []Onboarding
	for _, o := range r.Onboardings {
		if !r.Replica && o.Submit.Before(r.Ready) && o.ActiveAt.After(r.StopAt) ||
			r.Replica && o.ActiveAt.After(r.joinAt()) && o.Submit.Before(r.Stopped) {
			out = append(out, o)
		}
	}
	return out
}

// joinAt is when the replica was started.
func (r RestartResult) joinAt() time.Time {
	if len(r.Onboardings) == 0 {
		return r.Ready
	}
	first := r.Onboardings[0].Submit
	for _, o := range r.Onboardings {
		if o.Submit.Before(first) {
			first = o.Submit
		}
	}
	return first.Add(r.After)
}

// replicaStays is how long the replica of a BENCH_REPLICA run works beside
// the first instance before it gets SIGTERM.
const replicaStays = 3 * time.Second

// measureReplica runs lp; after the given time into it a second instance
// of service name starts (the partitions rebalance: the first gives two
// back), and replicaStays later it stops with sig (SIGTERM: it gives them
// back; SIGKILL: the first takes them over).
func measureReplica(ctx context.Context, d *Driver, stack *Stack, name string, sig syscall.Signal, lp LoadPoint, after time.Duration) (RestartResult, error) {
	rr := RestartResult{Service: name, Replica: true, Signal: signalName(name, sig), Crash: sig == syscall.SIGKILL, LoadPoint: lp, After: after}
	err := measureChange(ctx, d, &rr, func() error {
		p, err := stack.StartReplica(ctx, name)
		rr.Ready = time.Now()
		if err != nil {
			return fmt.Errorf("replica of %s: %w", name, err)
		}
		sleep(ctx, replicaStays)
		rr.StopAt = time.Now()
		rr.Graceful = p.stop(sig, 20*time.Second)
		rr.Stopped = time.Now()
		return nil
	})
	return rr, err
}

// StartReplica starts a second instance of service name, as the first was
// started but on a port of its own, and waits until it is ready. The
// caller stops it; Close does too.
func (s *Stack) StartReplica(ctx context.Context, name string) (*process, error) {
	i, err := s.service(name)
	if err != nil {
		return nil, err
	}
	first := s.services[i]
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := slices.DeleteFunc(slices.Clone(first.cmd.Env), func(v string) bool { return strings.HasPrefix(v, "HTTP_ADDR=") })
	p, err := startProcess(name+"-replica", first.cmd.Path, first.cmd.Args[1:], append(env, "HTTP_ADDR="+addr), first.cmd.Dir, nil)
	if err != nil {
		return nil, err
	}
	s.replicas = append(s.replicas, p)
	return p, waitHTTP(ctx, p, "http://"+addr+"/readyz", 60*time.Second)
}

// measureRestart runs lp and restarts service name, stopped with sig,
// after the given time into it.
func measureRestart(ctx context.Context, d *Driver, stack *Stack, name string, sig syscall.Signal, lp LoadPoint, after time.Duration) (RestartResult, error) {
	rr := RestartResult{Service: name, Signal: signalName(name, sig), Crash: sig == syscall.SIGKILL, LoadPoint: lp, After: after}
	err := measureChange(ctx, d, &rr, func() error {
		rr.StopAt = time.Now()
		var err error
		rr.Stopped, rr.Graceful, err = stack.Restart(ctx, name, sig)
		rr.Ready = time.Now()
		if err != nil {
			return fmt.Errorf("restart %s: %w", name, err)
		}
		return nil
	})
	return rr, err
}

// measureChange runs rr's load point and, rr.After into it, change; it
// fills in the onboardings and the driver's reconnects.
func measureChange(ctx context.Context, d *Driver, rr *RestartResult, change func() error) error {
	done := make(chan error, 1)
	go func() {
		sleep(ctx, rr.After)
		done <- change()
	}()
	r0, u0 := d.Reconnects.Load(), d.Unavailable.Load()
	obs, err := d.Load(ctx, rr.N, rr.C)
	rr.Reconnects, rr.Unavailable = d.Reconnects.Load()-r0, d.Unavailable.Load()-u0
	if cerr := <-done; cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	d.FillLate(obs)
	rr.Onboardings = obs
	return nil
}

// Restart stops service name with sig (SIGTERM: up to 20 s, as Close
// does), starts it again with the same binary, arguments, environment (its
// port included) and directory, and waits until it is ready. It returns
// when the old process exited and whether sig alone ended it.
func (s *Stack) Restart(ctx context.Context, name string, sig syscall.Signal) (stopped time.Time, graceful bool, err error) {
	switch name {
	case "nats-server":
		return s.restartNATS(ctx, sig)
	case "postgres":
		return s.Postgres.Restart(ctx, sig)
	}
	i, err := s.service(name)
	if err != nil {
		return time.Time{}, false, err
	}
	old := s.services[i]
	graceful = old.stop(sig, 20*time.Second)
	stopped = time.Now()
	p, err := startProcess(name, old.cmd.Path, old.cmd.Args[1:], old.cmd.Env, old.cmd.Dir, nil)
	if err != nil {
		return stopped, graceful, err
	}
	p.log.continues(old.log)
	s.services[i] = p
	return stopped, graceful, waitHTTP(ctx, p, s.URLs[name]+"/readyz", 60*time.Second)
}

// restartNATS restarts the broker as Restart restarts a service: the same
// binary, port and JetStream store; every service and the driver reconnect
// on their own.
func (s *Stack) restartNATS(ctx context.Context, sig syscall.Signal) (stopped time.Time, graceful bool, err error) {
	old := s.nats
	graceful = old.stop(sig, 20*time.Second)
	stopped = time.Now()
	p, err := startProcess(old.name, old.cmd.Path, old.cmd.Args[1:], old.cmd.Env, old.cmd.Dir, nil)
	if err != nil {
		return stopped, graceful, err
	}
	p.log.continues(old.log)
	s.nats = p
	return stopped, graceful, s.waitNATS(ctx)
}

// service is the index of service name's process in s.services.
func (s *Stack) service(name string) (int, error) {
	i := slices.IndexFunc(s.services, func(p *process) bool { return p.name == name })
	if i < 0 {
		return -1, fmt.Errorf("no service %q in the stack (%v)", name, s.Names)
	}
	return i, nil
}

// printRestart writes the restart's part of the report.
func (r *Report) printRestart(w io.Writer) {
	rr := r.Restart
	if rr == nil {
		return
	}
	how := "gracefully"
	switch {
	case rr.Crash:
		how = "at once (killed: nothing handed over)"
	case !rr.Graceful:
		how = "NOT gracefully (killed after 20 s)"
	}
	if rr.Replica {
		fmt.Fprintf(w, "\na second instance of %s %.1f s into %d onboardings at C=%d: ready %d ms after it started (the partitions shared), %s %.0f s later, stopped %s %d ms after it\n",
			rr.Service, rr.After.Seconds(), rr.N, rr.C, rr.Ready.Sub(rr.joinAt()).Milliseconds(), rr.Signal, rr.StopAt.Sub(rr.Ready).Seconds(), how, rr.Stopped.Sub(rr.StopAt).Milliseconds())
	} else {
		what := restartKind(rr.Service, rr.Crash)
		fmt.Fprintf(w, "\nrestart of %s %.1f s into %d onboardings at C=%d (%s): stopped %s %d ms after %s, ready again %d ms later\n",
			rr.Service, rr.After.Seconds(), rr.N, rr.C, what, how, rr.Stopped.Sub(rr.StopAt).Milliseconds(), rr.Signal, rr.Ready.Sub(rr.Stopped).Milliseconds())
	}
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
	line("in flight across the change", rr.Across())
	fmt.Fprintf(w, "  calls the driver sent again after their connection failed (refused, or closed as the service stopped): %d; after a 503 with Retry-After: %d\n", rr.Reconnects, rr.Unavailable)
	c, n := rr.Counts, float64(rr.N)
	usual := "-"
	if len(r.Points) > 0 {
		p := r.Points[len(r.Points)-1]
		usual = fmt.Sprintf("%.2f", float64(p.Messages)/float64(p.N))
	}
	fmt.Fprintf(w, "  stored and sent over the point and a drain: JetStream messages %.2f per onboarding (the load points: %s), dead letters %d, mails %.2f per onboarding, of them sent again with a Message-ID already accepted: %d\n",
		float64(c.Messages)/n, usual, c.DeadLetters, float64(c.Mails)/n, c.MailsAgain)
}

// restartKind is how the report names a restart of name: a service's is a
// rolling deploy of its one instance; the broker and the database are
// restarted as a server (an upgrade, a node replaced) or crash.
func restartKind(name string, crash bool) string {
	server := name == "nats-server" || name == "postgres"
	switch {
	case crash && server:
		return "a crash of the server, started again"
	case crash:
		return "a crash of its one instance, restarted"
	case server:
		return "a restart of the server, as an upgrade does"
	}
	return "a rolling deploy of its one instance"
}

// signalName is how the report names what stopping service name with sig
// sends (Postgres.Restart: a crash of postgres is SIGQUIT).
func signalName(name string, sig syscall.Signal) string {
	switch {
	case sig == syscall.SIGKILL && name == "postgres":
		return "SIGQUIT"
	case sig == syscall.SIGKILL:
		return "SIGKILL"
	}
	return "SIGTERM"
}
