package bench

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one run measured.
type Report struct {
	Started, Finished time.Time
	Go                string
	CPUs              int
	NATSServer        string
	Postgres          string
	PGSettings        []string
	Services          []string
	Processors        string // the stack's GOMAXPROCS, as the processes got it
	Steady            string // what Postgres.Steady did before the warm-up; "" when skipped
	Config            Config `json:"-"`

	Baselines   Baselines
	IdleBefore  IdleResult
	IdleAfter   IdleResult
	ConnsAtRest Connections
	Points      []PointResult
	PeakRSS     map[string]int64 // service or nats-server → VmHWM bytes

	DeadLetters  uint64 // messages ever stored on DEADLETTER
	Mails        int64  // mails the SMTP sink accepted
	Refusals409  int64  // over the whole run, warm-up included
	Pending202   int64  // acceptances kept pending (202), whole run
	Answers429   int64
	StopProblems string // services that did not stop gracefully
	// Peer is the Ory Kratos comparison (Config.Kratos.Binary set), else nil.
	Peer *PeerReport `json:",omitempty"`
	// Restart is the restart's load point (Config.Restart set), else nil.
	Restart *RestartResult `json:",omitempty"`
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of v; 0 for none.
func Percentile(v []time.Duration, p float64) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Stage is a latency of an onboarding, from two of its stamps.
type Stage struct {
	Name string
	Of   func(Onboarding) (time.Duration, bool)
}

func span(from, to func(Onboarding) time.Time) func(Onboarding) (time.Duration, bool) {
	return func(o Onboarding) (time.Duration, bool) {
		a, b := from(o), to(o)
		if a.IsZero() || b.IsZero() {
			return 0, false
		}
		return b.Sub(a), true
	}
}

func submit(o Onboarding) time.Time { return o.Submit }

// Stages from submit (what the applicant waits for), then hops (what the
// system adds after an actor's move).
var (
	FromSubmit = []Stage{
		{"registered (201)", span(submit, func(o Onboarding) time.Time { return o.Registered })},
		{"review task", span(submit, func(o Onboarding) time.Time { return o.TaskAt })},
		{"first mail", span(submit, func(o Onboarding) time.Time { return o.Mail1At })},
		{"both mails", span(submit, func(o Onboarding) time.Time { return o.Mail2At })},
		{"both confirmed", span(submit, func(o Onboarding) time.Time { return o.Confirmed })},
		{"approved", span(submit, func(o Onboarding) time.Time { return o.ApprovedAt })},
		{"active", span(submit, func(o Onboarding) time.Time { return o.ActiveAt })},
	}
	Hops = []Stage{
		{"links followed → both confirmed", span(func(o Onboarding) time.Time { return o.Clicked }, func(o Onboarding) time.Time { return o.Confirmed })},
		{"decision 201 → approved", span(func(o Onboarding) time.Time { return o.Decided }, func(o Onboarding) time.Time { return o.ApprovedAt })},
		{"approved → acceptance 201", span(func(o Onboarding) time.Time { return o.ApprovedAt }, func(o Onboarding) time.Time { return o.Accepted })},
		{"acceptance 201 → active", span(func(o Onboarding) time.Time { return o.Accepted }, func(o Onboarding) time.Time { return o.ActiveAt })},
	}
)

// Latencies returns the stage's latency of every onboarding that has it.
func (s Stage) Latencies(os []Onboarding) []time.Duration {
	var out []time.Duration
	for _, o := range os {
		if d, ok := s.Of(o); ok {
			out = append(out, d)
		}
	}
	return out
}

// Print writes the report for a reader.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\n== whole-onboarding benchmark  %s  (%s, %d CPUs, nats-server %s, PostgreSQL %s)\n",
		r.Started.Format(time.RFC3339), r.Go, r.CPUs, r.NATSServer, r.Postgres)
	fmt.Fprintf(w, "stack: %s, default poll/timer config; private Postgres (%s); own nats-server (JetStream file store, default sync); %s\n",
		strings.Join(r.Services, ", "), strings.Join(pgShown(r.PGSettings), ", "), r.Processors)
	if r.Steady != "" {
		fmt.Fprintf(w, "before the warm-up: %s\n", r.Steady)
	} else {
		fmt.Fprintln(w, "before the warm-up: nothing (BENCH_STEADY=0: the set-up's writeback and the WAL's new segments fall into the measurements)")
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }

	b := r.Baselines
	fmt.Fprintf(w, "\nbaselines (same run, median of runs):\n")
	if len(b.PgbenchTPS) > 0 {
		fmt.Fprintf(w, "  pgbench, 4 clients, 1 business + 1 outbox insert per tx  %8.0f tx/s   [%s]  Postgres CPU %.0f µs/tx\n",
			b.Pgbench(), joinFloats(b.PgbenchTPS, "%.0f"), float64(b.PgbenchPGCPU)/float64(time.Microsecond))
	}
	if len(b.PublishAsync) > 0 {
		fmt.Fprintf(w, "  JetStream async publish, 512 B                           %8.0f msg/s  [%s]\n", b.Publish(), joinFloats(b.PublishAsync, "%.0f"))
		fmt.Fprintf(w, "  JetStream durable pull consume + ack, 512 B               %8.0f msg/s  [%s]\n", b.Consume(), joinFloats(b.ConsumeAck, "%.0f"))
	}

	// Load points side by side.
	fmt.Fprintf(w, "\nload (closed loop; window = first submit → last active + %s drain):\n", r.Config.Drain)
	head := []string{"", ""}
	for _, p := range r.Points {
		head = append(head, fmt.Sprintf("C=%d", p.C))
	}
	row(head...)
	line := func(name, unit string, f func(p PointResult) string) {
		cells := []string{name, unit}
		for _, p := range r.Points {
			cells = append(cells, f(p))
		}
		row(cells...)
	}
	line("onboardings", "", func(p PointResult) string { return fmt.Sprint(p.N) })
	line("throughput", "onb/s", func(p PointResult) string { return fmt.Sprintf("%.1f", p.Throughput()) })
	line("stack CPU", "ms/onb", func(p PointResult) string { return fmt.Sprintf("%.1f", ms(p.CPUPerOnboarding())) })
	line("  net of idle", "ms/onb", func(p PointResult) string { return fmt.Sprintf("%.1f", ms(p.CPUNetPerOnboarding(r.IdleBefore.CPU))) })
	line("  stack cores busy", "cores", func(p PointResult) string { return fmt.Sprintf("%.2f", p.CPU.Cores("")) })
	// The window above ends with the drain, when little runs, so its
	// average understates how busy the machine was while loaded: this is
	// every process' CPU (the window's, drain included) over the load alone.
	line("  machine cores busy while loaded", "cores", func(p PointResult) string {
		return fmt.Sprintf("%.2f", p.CPU.Machine.Seconds()/p.Last.Sub(p.First).Seconds())
	})
	syscalls := func(name string, of func(p PointResult) ioCount) {
		line(name, "/onb", func(p PointResult) string {
			c := of(p)
			return fmt.Sprintf("%.0f + %.0f", float64(c.Reads)/float64(p.N), float64(c.Writes)/float64(p.N))
		})
	}
	services := slices.DeleteFunc(groups(r.Points), func(g string) bool { return g == "nats-server" || g == "postgres" })
	syscalls("  services' system calls, read + write", func(p PointResult) ioCount { return p.CPU.Syscalls(services...) })
	for _, g := range groups(r.Points) {
		line("  "+g, "ms/onb", func(p PointResult) string { return fmt.Sprintf("%.1f", ms(p.CPU.Groups[g]/time.Duration(p.N))) })
		if g != "postgres" {
			syscalls("    system calls, read + write", func(p PointResult) ioCount { return p.CPU.Syscalls(g) })
		}
		if g == "postgres" {
			shown, rest := categories(r.Points, g)
			for _, c := range shown {
				name := c
				if c == "backend postgres" {
					name += " (bench's sampler)"
				}
				line("    "+name, "ms/onb", func(p PointResult) string {
					return fmt.Sprintf("%.1f", ms(p.CPU.Categories[g][c]/time.Duration(p.N)))
				})
			}
			if len(rest) > 0 {
				line("    other background", "ms/onb", func(p PointResult) string {
					var t time.Duration
					for _, c := range rest {
						t += p.CPU.Categories[g][c]
					}
					return fmt.Sprintf("%.1f", ms(t/time.Duration(p.N)))
				})
			}
		}
	}
	line("driver (bench process)", "ms/onb", func(p PointResult) string { return fmt.Sprintf("%.1f", ms(p.CPU.Driver/time.Duration(p.N))) })
	line("other processes on the machine (rough)", "cores", func(p PointResult) string {
		return fmt.Sprintf("%.2f", p.CPU.Others().Seconds()/p.CPU.Wall.Seconds())
	})
	line("CPU pressure (a task waiting for a CPU)", "%", func(p PointResult) string {
		return fmt.Sprintf("%.0f", 100*p.CPU.Pressure.Seconds()/p.CPU.Wall.Seconds())
	})
	line("steal (hypervisor)", "cores", func(p PointResult) string { return fmt.Sprintf("%.2f", p.CPU.Steal.Seconds()/p.CPU.Wall.Seconds()) })
	line("write tx (xids)", "/onb", func(p PointResult) string { return fmt.Sprintf("%.1f", p.WriteTxPerOnboarding()) })
	line("commits (xact_commit)", "/onb", func(p PointResult) string { return fmt.Sprintf("%.1f", p.CommitsPerOnboarding()) })
	line("rollbacks", "/onb", func(p PointResult) string {
		return fmt.Sprintf("%.2f", float64(p.PG1.Rollbacks-p.PG0.Rollbacks)/float64(p.N))
	})
	line("WAL", "kB/onb", func(p PointResult) string {
		return fmt.Sprintf("%.1f", float64(p.PG1.WALBytes-p.PG0.WALBytes)/1024/float64(p.N))
	})
	line("write tx/s achieved", "tx/s", func(p PointResult) string { return fmt.Sprintf("%.0f", p.WriteTxPerSecond()) })
	if b.Pgbench() > 0 {
		line("  of pgbench tx/s", "%", func(p PointResult) string { return fmt.Sprintf("%.1f", 100*p.WriteTxPerSecond()/b.Pgbench()) })
		line("onb/s if only write tx counted", "onb/s", func(p PointResult) string {
			return fmt.Sprintf("%.0f", b.Pgbench()/p.WriteTxPerOnboarding())
		})
	}
	line("JetStream messages", "/onb", func(p PointResult) string { return fmt.Sprintf("%.1f", float64(p.Messages)/float64(p.N)) })
	if b.Publish() > 0 {
		line("  msg/s of async publish", "%", func(p PointResult) string {
			return fmt.Sprintf("%.2f", 100*float64(p.Messages)/p.CPU.Wall.Seconds()/b.Publish())
		})
	}
	line("mails delivered", "mail/s", func(p PointResult) string { return fmt.Sprintf("%.1f", p.Mail().PerSecond) })
	line("  notifier loop time per mail", "ms", func(p PointResult) string { return fmt.Sprintf("%.1f", ms(p.Mail().GapP50)) })
	line("  notifier loop busy sending", "%", func(p PointResult) string { return fmt.Sprintf("%.0f", 100*p.Mail().Busy) })
	line("  notifier senders (0: serial, from the sink)", "", func(p PointResult) string { return fmt.Sprint(p.Mail().Senders) })
	line("  SMTP connections opened", "", func(p PointResult) string { return fmt.Sprint(p.Mail().Connections) })
	line("  mails per connection", "", func(p PointResult) string { return fmt.Sprintf("%.0f", p.Mail().MailsPerConnection) })
	line("PG connections peak", "", func(p PointResult) string { return fmt.Sprint(p.PeakConns.Total) })
	line(fmt.Sprintf("driver woken late: max (stalls ≥ %s)", StallThreshold), "ms", func(p PointResult) string {
		return fmt.Sprintf("%.0f (%d)", ms(p.Hiccups.Max), p.Hiccups.Stalls)
	})
	line("409 refusals (acceptance)", "", func(p PointResult) string { return fmt.Sprint(p.Refusals409) })
	line("  onboardings refused ≥1", "", func(p PointResult) string {
		n := 0
		for _, o := range p.Onboardings {
			if o.Refusals409 > 0 {
				n++
			}
		}
		return fmt.Sprint(n)
	})
	line("202 pending acceptances", "", func(p PointResult) string { return fmt.Sprint(p.Pending202) })
	line("429 answers", "", func(p PointResult) string { return fmt.Sprint(p.Answers429) })
	line("ownership events missing", "", func(p PointResult) string { return fmt.Sprint(p.MissingConfirmed) })
	tw.Flush()

	fmt.Fprintf(w, "\nlatency from submit, ms (p50 / p95 / p99 / max):\n")
	printStages(w, r.Points, FromSubmit)
	fmt.Fprintf(w, "\nsystem hops after an actor's move, ms (p50 / p95 / p99 / max):\n")
	printStages(w, r.Points, Hops)

	fmt.Fprintf(w, "\nJetStream messages per onboarding by stream:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	streams := map[string]bool{}
	for _, p := range r.Points {
		for s := range p.PerStream {
			streams[s] = true
		}
	}
	row(head...)
	for _, s := range slices.Sorted(maps.Keys(streams)) {
		line(s, "", func(p PointResult) string { return fmt.Sprintf("%.2f", float64(p.PerStream[s])/float64(p.N)) })
	}
	tw.Flush()

	if len(r.Points) > 0 && r.Points[len(r.Points)-1].Tables != nil {
		r.printTables(w)
	}
	if len(r.Points) > 0 && len(r.Points[len(r.Points)-1].Statements) > 0 {
		r.printStatements(w)
	}

	fmt.Fprintf(w, "\nidle (%% of one core over %s; before load / after load):\n", r.Config.Idle)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row("", "before", "after")
	for _, g := range r.IdleBefore.CPU.SortedGroups() {
		row("  "+g, pct(r.IdleBefore.CPU.Cores(g)), pct(r.IdleAfter.CPU.Cores(g)))
	}
	for _, c := range idleCategories(r.IdleBefore.CPU, r.IdleAfter.CPU) {
		row("    postgres: "+c, pct(r.IdleBefore.CPU.Categories["postgres"][c].Seconds()/r.IdleBefore.CPU.Wall.Seconds()),
			pct(r.IdleAfter.CPU.Categories["postgres"][c].Seconds()/r.IdleAfter.CPU.Wall.Seconds()))
	}
	row("  stack total", pct(r.IdleBefore.CPU.Cores("")), pct(r.IdleAfter.CPU.Cores("")))
	others := func(u CPUUsage) string {
		if u.Wall <= 0 {
			return "-"
		}
		return pct(u.Others().Seconds() / u.Wall.Seconds())
	}
	row("  other processes on the machine (rough)", others(r.IdleBefore.CPU), others(r.IdleAfter.CPU))
	pressure := func(u CPUUsage) string {
		if u.Wall <= 0 {
			return "-"
		}
		return pct(u.Pressure.Seconds() / u.Wall.Seconds())
	}
	row("  CPU pressure (% of time a task waited)", pressure(r.IdleBefore.CPU), pressure(r.IdleAfter.CPU))
	perSec := func(i IdleResult, f func(PGCounters) float64) string {
		if i.CPU.Wall <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", (f(i.PG1)-f(i.PG0))/i.CPU.Wall.Seconds())
	}
	row("  commits/s", perSec(r.IdleBefore, func(c PGCounters) float64 { return float64(c.Commits) }),
		perSec(r.IdleAfter, func(c PGCounters) float64 { return float64(c.Commits) }))
	row("  write tx/s", perSec(r.IdleBefore, func(c PGCounters) float64 { return float64(c.NextXID) }),
		perSec(r.IdleAfter, func(c PGCounters) float64 { return float64(c.NextXID) }))
	tw.Flush()

	fmt.Fprintf(w, "\nPostgres connections to %q: at rest %d %s; peak under load %s\n", Database, r.ConnsAtRest.Total, byRole(r.ConnsAtRest),
		strings.Join(func() []string {
			var out []string
			for _, p := range r.Points {
				out = append(out, fmt.Sprintf("C=%d: %d %s", p.C, p.PeakConns.Total, byRole(p.PeakConns)))
			}
			return out
		}(), "; "))
	fmt.Fprintf(w, "peak RSS (VmHWM):")
	for _, g := range slices.Sorted(maps.Keys(r.PeakRSS)) {
		fmt.Fprintf(w, " %s %.0f MiB;", g, float64(r.PeakRSS[g])/(1<<20))
	}
	fmt.Fprintf(w, "\ndead letters (DEADLETTER stream): %d; mails sent: %d; 409 refusals: %d; 202 pending acceptances: %d; 429 answers: %d (whole run, warm-up included)\n",
		r.DeadLetters, r.Mails, r.Refusals409, r.Pending202, r.Answers429)
	if r.StopProblems != "" {
		fmt.Fprintf(w, "stop problems: %s\n", r.StopProblems)
	}
	r.printPeer(w)
	r.printRestart(w)
	fmt.Fprintf(w, "run took %s\n", r.Finished.Sub(r.Started).Round(time.Second))
	for _, p := range r.Points {
		// Pressure alone does not tell: the stack saturates two cores by itself.
		if busy := p.CPU.Pressure.Seconds() / p.CPU.Wall.Seconds(); p.CPU.Others().Seconds()/p.CPU.Wall.Seconds() > 0.25 {
			fmt.Fprintf(w, "NOTE: at C=%d the machine was busy with other work (other processes ≈ %.2f cores, a task waited for a CPU %.0f%% of the time):\n"+
				"      throughput and latency are lower, CPU per onboarding higher than on a quiet machine; compare ratios and medians.\n",
				p.C, p.CPU.Others().Seconds()/p.CPU.Wall.Seconds(), 100*busy)
		}
	}
}

func printStages(w io.Writer, points []PointResult, stages []Stage) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{""}
	for _, p := range points {
		head = append(head, fmt.Sprintf("C=%d", p.C))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, s := range stages {
		cells := []string{s.Name}
		for _, p := range points {
			l := s.Latencies(p.Onboardings)
			cells = append(cells, fmt.Sprintf("%.0f / %.0f / %.0f / %.0f", ms(Percentile(l, 50)), ms(Percentile(l, 95)),
				ms(Percentile(l, 99)), ms(Percentile(l, 100))))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
}

// groups lists the CPU groups, services first (by CPU), then nats-server and postgres.
func groups(points []PointResult) []string {
	if len(points) == 0 {
		return nil
	}
	last := points[len(points)-1].CPU.Groups
	var svc []string
	for g := range last {
		if g != "postgres" && g != "nats-server" {
			svc = append(svc, g)
		}
	}
	sort.Slice(svc, func(i, j int) bool { return last[svc[i]] > last[svc[j]] })
	return append(svc, "nats-server", "postgres")
}

// categories splits a tree group's categories into those worth a line
// (client backends per role, and any process above 0.5 ms per onboarding)
// and the rest, by CPU.
func categories(points []PointResult, g string) (shown, rest []string) {
	seen := map[string]time.Duration{}
	big := map[string]bool{}
	for _, p := range points {
		for c, v := range p.CPU.Categories[g] {
			seen[c] += v
			if strings.HasPrefix(c, "backend ") || c == "postmaster+exited" || v/time.Duration(p.N) >= 500*time.Microsecond {
				big[c] = true
			}
		}
	}
	all := slices.Collect(maps.Keys(seen))
	sort.Slice(all, func(i, j int) bool { return seen[all[i]] > seen[all[j]] })
	for _, c := range all {
		if big[c] {
			shown = append(shown, c)
		} else {
			rest = append(rest, c)
		}
	}
	return shown, rest
}

func byRole(c Connections) string {
	if len(c.ByRole) == 0 {
		return ""
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(c.ByRole)) {
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimSuffix(r, "_app"), c.ByRole[r]))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func pct(cores float64) string { return fmt.Sprintf("%.1f", 100*cores) }

// pgShown are the settings worth printing beside the figures.
func pgShown(settings []string) []string {
	var out []string
	for _, s := range settings {
		if strings.HasPrefix(s, "port=") || strings.HasPrefix(s, "unix_socket") || strings.HasPrefix(s, "listen") || strings.HasPrefix(s, "log") {
			continue
		}
		out = append(out, s)
	}
	return out
}

// idleCategories lists the postgres categories that used at least 0.5% of
// a core in either idle window.
func idleCategories(a, b CPUUsage) []string {
	seen := map[string]bool{}
	for _, u := range []CPUUsage{a, b} {
		if u.Wall <= 0 {
			continue
		}
		for c, v := range u.Categories["postgres"] {
			if v.Seconds()/u.Wall.Seconds() >= 0.005 {
				seen[c] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// printTables shows Postgres row writes per onboarding: by schema for every
// point, and the busiest tables of the last point.
func (r *Report) printTables(w io.Writer) {
	fmt.Fprintf(w, "\nPostgres row writes per onboarding by schema (inserts + updates + deletes; pg_stat_user_tables):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{""}
	for _, p := range r.Points {
		head = append(head, fmt.Sprintf("C=%d", p.C))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	bySchema := func(p PointResult) map[string]RowWrites {
		out := map[string]RowWrites{}
		for name, t := range p.Tables {
			sch, _, _ := strings.Cut(name, ".")
			o := out[sch]
			o.Ins, o.Upd, o.Del, o.HotUpd = o.Ins+t.Ins, o.Upd+t.Upd, o.Del+t.Del, o.HotUpd+t.HotUpd
			out[sch] = o
		}
		return out
	}
	schemas := map[string]bool{}
	for _, p := range r.Points {
		for sch := range bySchema(p) {
			schemas[sch] = true
		}
	}
	f := func(t RowWrites, n int) string {
		return fmt.Sprintf("%.1f + %.1f + %.1f", float64(t.Ins)/float64(n), float64(t.Upd)/float64(n), float64(t.Del)/float64(n))
	}
	for _, sch := range slices.Sorted(maps.Keys(schemas)) {
		cells := []string{sch}
		for _, p := range r.Points {
			cells = append(cells, f(bySchema(p)[sch], p.N))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	last := r.Points[len(r.Points)-1]
	names := slices.Collect(maps.Keys(last.Tables))
	sort.Slice(names, func(i, j int) bool { return last.Tables[names[i]].Total() > last.Tables[names[j]].Total() })
	fmt.Fprintf(w, "busiest tables at C=%d (inserts + updates + deletes per onboarding):\n", last.C)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, n := range names[:min(len(names), 15)] {
		fmt.Fprintf(tw, "  %s\t%s\t\n", n, f(last.Tables[n], last.N))
	}
	tw.Flush()
}

// printStatements shows the last point's most frequent statements (the 30
// most frequent, and any other called at least once per five onboardings).
func (r *Report) printStatements(w io.Writer) {
	last := r.Points[len(r.Points)-1]
	fmt.Fprintf(w, "\npg_stat_statements at C=%d, by calls (calls/onb, exec ms/onb, rows/call, role, statement):\n", last.C)
	statementsTable(w, last.Statements, float64(last.N))
	if e := r.emailPart(); e != nil && len(e.Statements) > 0 {
		fmt.Fprintf(w, "\npg_stat_statements of the e-mail part alone (peer), by calls (calls/addr, exec ms/addr, rows/call, role, statement):\n")
		statementsTable(w, e.Statements, float64(max(e.Addresses, 1)))
	}
}

// emailPart is the e-mail part measured beside the peer, if any.
func (r *Report) emailPart() *EmailPart {
	if r.Peer == nil {
		return nil
	}
	return &r.Peer.Ours.EmailPart
}

// statementsTable prints sts per unit of work (n of them).
func statementsTable(w io.Writer, sts []Statement, n float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, st := range sts {
		if i >= 100 || (i >= 30 && float64(st.Calls)/n < 0.2) {
			break
		}
		q := strings.Join(strings.Fields(st.Query), " ")
		fmt.Fprintf(tw, "  %.2f\t%.2f\t%.1f\t%s\t%s\n", float64(st.Calls)/n, st.TimeMS/n, float64(st.Rows)/float64(max(st.Calls, 1)),
			strings.TrimSuffix(st.Role, "_app"), truncate(q, 110))
	}
	tw.Flush()
}
