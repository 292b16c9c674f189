// Package bench is the whole-onboarding benchmark: it starts a private
// stack (its own Postgres cluster, its own nats-server process, the seven
// service binaries, an SMTP sink), drives complete onboardings through the
// public surface only — HTTP APIs, the mails the notifier sends, events seen
// on NATS subjects — at fixed concurrencies (closed loop), and reports
// throughput, latency per stage, CPU per onboarding of every process,
// Postgres write transactions and connections, memory, idle cost and the
// same run's raw baselines. `make bench` runs it (bench_test.go); a
// partnerctl command can call Run.
//
// It deliberately imports nothing of the platform (pkg/...): tokens follow
// pkg/auth/CLAIMS.md, events are read as JSON from their subjects, the
// services are configured by their documented environment. So it measures
// any build of the services that keeps that surface.
package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/platform"
)

// LoadPoint is one measured load: N onboardings by C concurrent workers.
type LoadPoint struct{ N, C int }

// Config configures Run.
type Config struct {
	Root    string      // repository root (go.work)
	TempDir string      // parent of the run's directory ("" = os.TempDir())
	Points  []LoadPoint // measured one after the other on the same stack
	WarmUp  int         // onboardings before the first point, not measured
	// Timeout bounds one onboarding (submit → active).
	Timeout time.Duration
	// Idle is the length of each idle-CPU window; Settle the wait before it.
	Idle, Settle time.Duration
	// Drain is the wait after a load point's last onboarding before its
	// counters are read (in-flight events, statistics flushed).
	Drain time.Duration
	// Baseline runs: pgbench runs of BaselineTime, JetStream runs of
	// BaselineMsgs messages. Zero runs skip a baseline.
	PgbenchRuns   int
	PgbenchTime   time.Duration
	JetStreamRuns int
	BaselineMsgs  int
	// Statements preloads pg_stat_statements in the private cluster and
	// reports the statements of each load point (a diagnostic: it costs
	// Postgres a little CPU, so the figures of such a run are not "before").
	Statements bool
	// PGSettings are extra -c settings of the private cluster (diagnostics:
	// they are printed in the report's header).
	PGSettings []string
	// Unsteady skips Postgres.Steady before the warm-up (the measurements
	// then include the set-up's writeback and the WAL's segment creation).
	Unsteady bool
	// PGMallocDefault runs the private cluster with glibc's default malloc
	// settings rather than PostgresMalloc (a comparison).
	PGMallocDefault bool
	// PerfData, when set, is where `perf record -a -g` writes a profile of
	// the last load point (a diagnostic; sampling costs a little CPU).
	PerfData string
	// LogDir, when set, is where each process' log is written when the
	// stack stops (<name>.log), at the services' LogLevel (warn if empty).
	LogDir, LogLevel string
	// Kratos, when its Binary is set, adds the peer comparison with Ory
	// Kratos after the load points (kratos.go); without it nothing changes.
	Kratos KratosConfig
	// Trace, when above 0, prints the timelines of the Trace slowest
	// onboardings of each load point (a diagnostic: trace.go).
	Trace int
	// Restart, when set, names a service restarted (SIGTERM, then started
	// again as before) RestartAfter into an extra load point of
	// RestartPoint, run last: a rolling deploy of its one instance under
	// load (restart.go). Nothing else of the run changes.
	Restart      string
	RestartAfter time.Duration
	RestartPoint LoadPoint
	// RestartSignal stops the restarted service: SIGTERM (the zero value),
	// or SIGKILL for a crash — nothing handed over, nothing flushed.
	RestartSignal syscall.Signal
	// Replica, with Restart set, starts a second instance of the service
	// instead, which joins and 3 s later leaves (RestartSignal): the
	// partitions move to it and back under load.
	Replica bool
	Logf    func(format string, args ...any)
}

// DefaultConfig is what `make bench` runs: C=8 and C=16, 200 onboardings each.
func DefaultConfig(root string) Config {
	return Config{Root: root, Points: []LoadPoint{{N: 200, C: 8}, {N: 200, C: 16}}, WarmUp: 24, Timeout: 60 * time.Second,
		Idle: 10 * time.Second, Settle: 3 * time.Second, Drain: 2 * time.Second,
		PgbenchRuns: 3, PgbenchTime: 4 * time.Second, JetStreamRuns: 3, BaselineMsgs: 100_000}
}

// Run starts the stack, measures, stops the stack and returns the report.
// On a stall the error names the onboarding and stage, followed by the tail
// of every service's log.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rep = &Report{Started: time.Now(), Go: runtime.Version(), CPUs: runtime.NumCPU(), Config: cfg,
		Processors: "services and nats-server on one processor each (their default), the driver on " + strconv.Itoa(runtime.GOMAXPROCS(0))}
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		rep.Processors = "GOMAXPROCS=" + v + " for every process (from the environment)"
	}
	if v := os.Getenv("GOGC"); v != "" {
		rep.Processors += "; GOGC=" + v + " for every process (from the environment)"
	} else {
		rep.Processors += "; services at GOGC=" + strconv.Itoa(platform.GCPercent) + " (their default)"
	}
	if v, ok := os.LookupEnv("TIMER_SLACK"); ok {
		rep.Processors += "; services' timer slack TIMER_SLACK=" + v + " (from the environment)"
	} else {
		rep.Processors += "; services' timer slack " + platform.TimerSlack.String() + " (their default)"
	}
	board := NewBoard()
	id := runID()
	total := cfg.WarmUp
	for _, lp := range cfg.Points {
		total += lp.N
	}
	if cfg.Restart != "" {
		total += cfg.RestartPoint.N
	}
	if cfg.Kratos.Binary != "" {
		total += emailPartOnboardings(cfg.Kratos)
	}
	register, err := RegisterRecords(id, total)
	if err != nil {
		return nil, err
	}
	so := StackOptions{Root: cfg.Root, Dir: cfg.TempDir, Logf: logf, OnMail: board.AddMail, Register: register, LogDir: cfg.LogDir, LogLevel: cfg.LogLevel}
	if !cfg.PGMallocDefault {
		so.PGEnv = []string{PostgresMalloc}
	}
	if cfg.Statements {
		so.PGSettings = []string{"shared_preload_libraries=pg_stat_statements", "pg_stat_statements.max=10000"}
	}
	so.PGSettings = append(so.PGSettings, cfg.PGSettings...)
	stack, err := Start(ctx, so)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			var stall *StallError
			if errors.As(err, &stall) && stall.Onboarding.PartnerID != "" {
				err = fmt.Errorf("%w\n%s", err, Diagnose(context.Background(), stack.NATSURL, stall.Onboarding.PartnerID))
			}
			err = fmt.Errorf("%w\n%s", err, stack.Logs(2500))
		}
		if cerr := stack.Close(); cerr != nil {
			logf("stopping the stack: %v", cerr)
			rep.StopProblems = cerr.Error()
		}
	}()
	rep.NATSServer, rep.Postgres, rep.PGSettings, rep.Services = stack.NATSServer, stack.Postgres.Version, append(slices.Clone(stack.Postgres.Settings), stack.Postgres.Env...), stack.Names

	// Back as soon as the server is (BENCH_RESTART=nats-server), as the
	// services are: the board reads what it missed meanwhile.
	nc, err := nats.Connect(stack.NATSURL, nats.Name("bench-observer"), nats.ReconnectWait(100*time.Millisecond), nats.MaxReconnects(-1))
	if err != nil {
		return rep, err
	}
	defer nc.Close()
	obsErrs := make(chan error, 1)
	if err := board.Observe(nc, func(e error) {
		select {
		case obsErrs <- e:
		default:
		}
	}); err != nil {
		return rep, err
	}
	if cfg.Trace > 0 {
		if err := board.Trace(nc); err != nil {
			return rep, err
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return rep, err
	}
	stats, err := OpenPGStats(ctx, stack.Postgres.URL("postgres"), stack.Postgres.URL(Database), Database)
	if err != nil {
		return rep, err
	}
	defer stats.Close()
	if cfg.Statements {
		if err := stats.EnableStatements(ctx); err != nil {
			return rep, err
		}
	}
	procs := stack.Procs()

	// Idle before load, once start-up has settled.
	sleep(ctx, cfg.Settle)
	if rep.IdleBefore, err = measureIdle(ctx, procs, stats, cfg.Idle); err != nil {
		return rep, err
	}
	if rep.ConnsAtRest, err = stats.Connections(ctx); err != nil {
		return rep, err
	}
	logf("idle before load: %.1f%% of one core", 100*rep.IdleBefore.CPU.Cores(""))

	// Same-run baselines.
	var pgProc Proc
	for _, p := range procs {
		if p.Group == "postgres" {
			pgProc = p
		}
	}
	if cfg.PgbenchRuns > 0 {
		if rep.Baselines.PgbenchTPS, rep.Baselines.PgbenchPGCPU, err = Pgbench(ctx, stack.Postgres, stack.Dir, cfg.PgbenchRuns, cfg.PgbenchTime, pgProc); err != nil {
			return rep, fmt.Errorf("pgbench baseline: %w", err)
		}
		logf("baseline pgbench: %s tx/s", joinFloats(rep.Baselines.PgbenchTPS, "%.0f"))
	}
	if cfg.JetStreamRuns > 0 {
		if rep.Baselines.PublishAsync, rep.Baselines.ConsumeAck, err = JetStreamBaseline(ctx, stack.NATSURL, cfg.BaselineMsgs, cfg.JetStreamRuns); err != nil {
			return rep, fmt.Errorf("JetStream baseline: %w", err)
		}
		logf("baseline JetStream: publish %s msg/s, consume+ack %s msg/s",
			joinFloats(rep.Baselines.PublishAsync, "%.0f"), joinFloats(rep.Baselines.ConsumeAck, "%.0f"))
	}

	if !cfg.Unsteady {
		ready, took, err := stack.Postgres.Steady(ctx, walSegments(cfg))
		if err != nil {
			return rep, err
		}
		rep.Steady = fmt.Sprintf("%d WAL segments recycled ahead, dirty pages flushed (%s)", ready, took.Round(10*time.Millisecond))
		logf("steady state: %s", rep.Steady)
	}
	d := &Driver{URLs: stack.URLs, Tokens: stack.Tokens, Board: board, RunID: id, Timeout: cfg.Timeout,
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024, IdleConnTimeout: time.Minute}}}
	if cfg.WarmUp > 0 && len(cfg.Points) > 0 {
		start := time.Now()
		if _, err := d.Load(ctx, cfg.WarmUp, min(cfg.Points[0].C, cfg.WarmUp)); err != nil {
			return rep, fmt.Errorf("warm-up: %w", err)
		}
		logf("warm-up: %d onboardings in %s", cfg.WarmUp, time.Since(start).Round(time.Millisecond))
		sleep(ctx, cfg.Drain)
	}
	for i, lp := range cfg.Points {
		var perf *process
		if cfg.PerfData != "" && i == len(cfg.Points)-1 {
			if perf, err = startProcess("perf", "perf", []string{"record", "-a", "-g", "-F", "499", "-o", cfg.PerfData}, environ(), stack.Dir, nil); err != nil {
				return rep, err
			}
		}
		pr, err := measurePoint(ctx, d, lp, procs, stats, js, stack.Mail, cfg.Drain, cfg.Statements)
		if perf != nil {
			perf.stop(syscall.SIGINT, 30*time.Second)
			logf("perf profile of C=%d in %s (perf report -i %s --sort comm,dso,sym): %s", lp.C, cfg.PerfData, cfg.PerfData,
				strings.TrimSpace(tail(perf.log.String(), 300)))
		}
		if err != nil {
			return rep, fmt.Errorf("load C=%d: %w", lp.C, err)
		}
		if err := stack.Check(); err != nil {
			return rep, err
		}
		logf("C=%d: %d onboardings, %.1f/s, CPU %.0f ms/onboarding, %.1f write tx/onboarding",
			lp.C, lp.N, pr.Throughput(), ms(pr.CPUPerOnboarding()), pr.WriteTxPerOnboarding())
		if cfg.Trace > 0 {
			logf("C=%d: the %d slowest onboardings (ms from submit; events with their ce-time and relay lag):\n%s", lp.C, cfg.Trace, board.Timelines(pr.Onboardings, cfg.Trace))
		}
		rep.Points = append(rep.Points, pr)
	}
	select {
	case e := <-obsErrs:
		return rep, fmt.Errorf("observer: %w", e)
	default:
	}

	// Idle after load, once it drained.
	sleep(ctx, cfg.Settle)
	if rep.IdleAfter, err = measureIdle(ctx, procs, stats, cfg.Idle); err != nil {
		return rep, err
	}
	logf("idle after load: %.1f%% of one core", 100*rep.IdleAfter.CPU.Cores(""))

	rep.PeakRSS = map[string]int64{}
	for _, p := range procs {
		if p.Tree {
			continue
		}
		if v, err := peakRSS(p.PID); err == nil {
			rep.PeakRSS[p.Group] = v
		}
	}
	_, per, err := StreamTotals(ctx, js)
	if err != nil {
		return rep, err
	}
	rep.DeadLetters = per["DEADLETTER"]
	rep.Mails = stack.Mail.Received()
	rep.Refusals409, rep.Pending202, rep.Answers429 = d.Refusals409.Load(), d.Pending202.Load(), d.Answers429.Load()
	// The peer last, beside the idle stack (its backends and the kratos
	// process are accounted apart from ours).
	if cfg.Kratos.Binary != "" && len(rep.Points) > 0 {
		// Ours doing only what the peer does (register, mail, confirm),
		// before the peer runs.
		email, err := measureEmailPart(ctx, d, cfg.Kratos, procs, cfg.Drain, stats, cfg.Statements)
		if err != nil {
			return rep, fmt.Errorf("the e-mail part alone: %w", err)
		}
		logf("ours, the e-mail part alone: %d verified addresses (%d onboardings to confirmed) at C=%d, CPU %.1f ms/address (%s)",
			email.Addresses, email.Onboardings, email.C, ms(email.PerAddress()), email.Breakdown())
		if rep.Peer, err = runKratos(ctx, cfg, stack, board, cfg.Drain, logf); err != nil {
			return rep, err
		}
		rep.Peer.Ours = oursPerAddress(rep.Points, cfg.Kratos.C, rep.IdleBefore.CPU)
		rep.Peer.Ours.EmailPart = email
	}
	// The restart last: the new process' CPU is not among procs.
	if cfg.Restart != "" {
		measure := measureRestart
		if cfg.Replica {
			measure = measureReplica
		}
		sig := cfg.RestartSignal
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		before, err := takeRestartCounts(ctx, js, stack.Mail)
		if err != nil {
			return rep, err
		}
		rr, err := measure(ctx, d, stack, cfg.Restart, sig, cfg.RestartPoint, cfg.RestartAfter)
		if err != nil {
			return rep, err
		}
		sleep(ctx, cfg.Drain) // what a crash makes the stack do again comes late
		after, err := takeRestartCounts(ctx, js, stack.Mail)
		if err != nil {
			return rep, err
		}
		rr.Counts = after.minus(before)
		rep.Restart = &rr
		all := FromSubmit[len(FromSubmit)-1].Latencies(rr.Across())
		logf("restart of %s (%s): %d onboardings in flight across it, submit → active max %.0f ms", rr.Service, rr.Signal, len(all), ms(Percentile(all, 100)))
		if cfg.Trace > 0 {
			logf("restart: the %d slowest onboardings (ms from submit; events with their ce-time and relay lag):\n%s", cfg.Trace, board.Timelines(rr.Onboardings, cfg.Trace))
		}
	}
	rep.Finished = time.Now()
	if err := stack.Check(); err != nil {
		return rep, err
	}
	return rep, nil
}

// IdleResult is the stack at rest over one window.
type IdleResult struct {
	CPU      CPUUsage
	PG0, PG1 PGCounters
}

func measureIdle(ctx context.Context, procs []Proc, stats *PGStats, window time.Duration) (IdleResult, error) {
	var r IdleResult
	var err error
	c0 := TakeCPU(procs)
	if r.PG0, err = stats.Counters(ctx); err != nil {
		return r, err
	}
	sleep(ctx, window)
	r.CPU = TakeCPU(procs).Sub(c0)
	if r.PG1, err = stats.Counters(ctx); err != nil {
		return r, err
	}
	return r, ctx.Err()
}

// PointResult is one measured load point.
type PointResult struct {
	LoadPoint
	Onboardings []Onboarding
	First, Last time.Time // first submit, last reseller enrollment active
	// CPU over [first submit, last active + drain]; CPU.Driver is the
	// benchmark process's own (HTTP client, SMTP sink, observer).
	CPU              CPUUsage
	PG0, PG1         PGCounters
	Messages         uint64               // JetStream messages stored over the window (every stream)
	PerStream        map[string]uint64    // of which, per stream
	SMTPConnections  int                  // connections the notifier opened to the sink over the window
	Senders          SenderStats          // the notifier's senders over the window (zero: not exposed)
	Tables           map[string]RowWrites // row writes over the window per schema.table
	Statements       []Statement          // with Config.Statements: the bench database's statements over the window
	PeakConns        Connections
	Hiccups          Hiccups // the driver's wake-ups over the load (stalls of the machine)
	Refusals409      int64
	Pending202       int64
	Answers429       int64
	MissingConfirmed int // onboardings whose ownership events never arrived (should be 0)
}

func measurePoint(ctx context.Context, d *Driver, lp LoadPoint, procs []Proc, stats *PGStats, js jetstream.JetStream, sink *MailSink,
	drain time.Duration, statements bool) (PointResult, error) {
	pr := PointResult{LoadPoint: lp}
	_, streams0, err := StreamTotals(ctx, js)
	if err != nil {
		return pr, err
	}
	tables0, err := stats.TableWrites(ctx)
	if err != nil {
		return pr, err
	}
	if statements {
		if err := stats.ResetStatements(ctx); err != nil {
			return pr, err
		}
	}
	if pr.PG0, err = stats.Counters(ctx); err != nil {
		return pr, err
	}
	r409, r202, r429 := d.Refusals409.Load(), d.Pending202.Load(), d.Answers429.Load()
	senders0, sendersErr := ReadSenderStats(ctx, d.URLs["notifier"])
	c0 := TakeCPU(procs)
	sctx, stopSampling := context.WithCancel(ctx)
	peak := stats.SamplePeakConnections(sctx, 500*time.Millisecond)
	hiccups := MeasureHiccups(sctx)
	obs, err := d.Load(ctx, lp.N, lp.C)
	stopSampling()
	pr.PeakConns, pr.Hiccups = <-peak, <-hiccups
	if err != nil {
		return pr, err
	}
	sleep(ctx, drain)
	pr.CPU = TakeCPU(procs).Sub(c0)
	if senders1, err := ReadSenderStats(ctx, d.URLs["notifier"]); err == nil && sendersErr == nil {
		pr.Senders = senders1.Sub(senders0)
	}
	if pr.PG1, err = stats.Counters(ctx); err != nil {
		return pr, err
	}
	if statements {
		if pr.Statements, err = stats.Statements(ctx); err != nil {
			return pr, err
		}
	}
	tables1, err := stats.TableWrites(ctx)
	if err != nil {
		return pr, err
	}
	pr.Tables = map[string]RowWrites{}
	for name, w := range tables1 {
		b := tables0[name]
		if d := (RowWrites{w.Ins - b.Ins, w.Upd - b.Upd, w.Del - b.Del, w.HotUpd - b.HotUpd}); d.Total() > 0 {
			pr.Tables[name] = d
		}
	}
	_, streams1, err := StreamTotals(ctx, js)
	if err != nil {
		return pr, err
	}
	pr.PerStream = map[string]uint64{}
	for name, v := range streams1 {
		pr.PerStream[name] = v - streams0[name]
		pr.Messages += v - streams0[name]
	}
	pr.MissingConfirmed = d.FillLate(obs)
	pr.Onboardings = obs
	pr.First, pr.Last = obs[0].Submit, obs[0].ActiveAt
	for _, o := range obs {
		if o.Submit.Before(pr.First) {
			pr.First = o.Submit
		}
		if o.ActiveAt.After(pr.Last) {
			pr.Last = o.ActiveAt
		}
	}
	pr.Refusals409, pr.Pending202, pr.Answers429 = d.Refusals409.Load()-r409, d.Pending202.Load()-r202, d.Answers429.Load()-r429
	for _, at := range sink.Connections() {
		if !at.Before(pr.First) && at.Before(pr.Last) {
			pr.SMTPConnections++
		}
	}
	return pr, nil
}

// Throughput is onboardings per second from the first submit to the last active.
func (p PointResult) Throughput() float64 {
	return float64(p.N) / p.Last.Sub(p.First).Seconds()
}

// CPUPerOnboarding is the stack's CPU over the window per onboarding.
func (p PointResult) CPUPerOnboarding() time.Duration { return p.CPU.Total() / time.Duration(p.N) }

// CPUNetPerOnboarding subtracts what the stack burns at rest (idle rate
// times the window) before dividing.
func (p PointResult) CPUNetPerOnboarding(idle CPUUsage) time.Duration {
	rest := time.Duration(idle.Cores("") * float64(p.CPU.Wall))
	return (p.CPU.Total() - rest) / time.Duration(p.N)
}

// WriteTxPerOnboarding is the xids consumed per onboarding.
func (p PointResult) WriteTxPerOnboarding() float64 {
	return float64(p.PG1.NextXID-p.PG0.NextXID) / float64(p.N)
}

// CommitsPerOnboarding is the bench database's commits per onboarding.
func (p PointResult) CommitsPerOnboarding() float64 {
	return float64(p.PG1.Commits-p.PG0.Commits) / float64(p.N)
}

// WriteTxPerSecond is the xid consumption rate over the window.
func (p PointResult) WriteTxPerSecond() float64 {
	return float64(p.PG1.NextXID-p.PG0.NextXID) / p.CPU.Wall.Seconds()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// runID is four random lower-case letters.
func runID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b[:])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ErrNoRepo is returned by FindRoot outside the repository.
var ErrNoRepo = errors.New("no go.work above the working directory")

// FindRoot is the nearest directory at or above dir holding go.work.
func FindRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", ErrNoRepo
		}
		d = parent
	}
}

// MailLoop describes the notifier's mail delivery: mails per second as the
// sink saw them; the notifier's time per mail and how busy its senders were
// (from its partnerhub_mail_send_seconds and partnerhub_mail_senders over the
// window: the mean time a sender spent on an attempt, and that time over
// senders × window); and the SMTP connections it opened. A notifier that
// does not expose its senders is read from the sink as a serial loop: the
// median gap between consecutive mails of one burst, and the share of the
// window those gaps cover.
type MailLoop struct {
	PerSecond   float64
	GapP50      time.Duration // the time per mail
	Busy        float64
	Senders     int // 0: read from the sink
	Connections int
	// MailsPerConnection is mails over connections opened in the window
	// (mails on connections kept from before count too).
	MailsPerConnection float64
}

// batchGap separates two mails of one delivery batch from two batches (the
// loop polls every DELIVER_INTERVAL, 1 s by default).
const batchGap = 200 * time.Millisecond

// Mail summarises the point's mail delivery.
func (p PointResult) Mail() MailLoop {
	var ts []time.Time
	for _, o := range p.Onboardings {
		ts = append(ts, o.Mail1At, o.Mail2At)
	}
	var m MailLoop
	if len(ts) < 2 {
		return m
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	span := ts[len(ts)-1].Sub(ts[0])
	m.PerSecond = float64(len(ts)) / span.Seconds()
	var gaps []time.Duration
	var busy time.Duration
	for i := 1; i < len(ts); i++ {
		if g := ts[i].Sub(ts[i-1]); g < batchGap {
			gaps = append(gaps, g)
			busy += g
		}
	}
	m.GapP50 = Percentile(gaps, 50)
	m.Busy = busy.Seconds() / span.Seconds()
	if s := p.Senders; s.Sends > 0 && s.Senders > 0 && p.CPU.Wall > 0 {
		m.GapP50 = time.Duration(s.SendSeconds / s.Sends * float64(time.Second))
		m.Busy = s.SendSeconds / (s.Senders * p.CPU.Wall.Seconds())
		m.Senders = int(s.Senders)
	}
	m.Connections = p.SMTPConnections
	m.MailsPerConnection = float64(len(ts)) / float64(max(p.SMTPConnections, 1))
	return m
}

// walSegments is how many 16 MB WAL segments the run is expected to fill
// (about 150 kB of WAL per onboarding, measured; twice that here), and four
// more.
func walSegments(cfg Config) int {
	n := cfg.WarmUp
	for _, p := range cfg.Points {
		n += p.N
	}
	return min(n*300/(16*1024)+4, 200)
}
