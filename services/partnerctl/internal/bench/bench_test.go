package bench_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/bench"
)

// BenchmarkOnboarding is the whole-onboarding benchmark (`make bench`):
// one private stack, one run whatever b.N is, one report on stdout and the
// key figures as benchmark metrics. It asserts nothing about timing; it
// fails only when the stack cannot start or an onboarding stalls.
//
// Environment: BENCH_ONBOARDINGS (per load point, 200), BENCH_CONCURRENCY
// (comma-separated load points, "8,16"), BENCH_WARMUP (24), BENCH_TIMEOUT
// (per onboarding, 60s), BENCH_IDLE (idle window, 10s), BENCH_BASELINES=0
// (skip pgbench and JetStream), BENCH_JSON (write the report as JSON there),
// BENCH_TMPDIR (parent of the run's directory), BENCH_PG_STATEMENTS=1
// (diagnostic: pg_stat_statements on, the statements of the last load point
// printed, and of the e-mail part beside the peer; Postgres costs a little more, so such figures are not comparable),
// BENCH_PG_MALLOC=default (the private cluster without PostgresMalloc, as
// rounds before 14 ran it), BENCH_STEADY=0 (no Postgres.Steady before the
// warm-up, as rounds before 18 ran it), BENCH_PG_SETTINGS (diagnostic:
// comma-separated extra -c settings of the private cluster, e.g.
// log_min_duration_statement=50 with BENCH_LOGS),
// BENCH_PERF=<file> (diagnostic: `perf record -a -g` over the last load point),
// BENCH_LOGS=<dir> (diagnostic: each process' log written there when the
// stack stops), BENCH_LOG_LEVEL (the services' LOG_LEVEL, warn),
// BENCH_TRACE=n (diagnostic: every event's ce-time and arrival, and the n
// slowest onboardings of each load point printed as timelines),
// BENCH_KRATOS=<kratos binary> (peer comparison with Ory Kratos, built
// outside the repository: README, "Performance and scaling"; before the
// peer, our stack runs half as many onboardings only to both addresses
// confirmed, the peer's work), with
// BENCH_KRATOS_ADDRESSES (verified addresses per poll setting, 200),
// BENCH_KRATOS_CONCURRENCY (8), BENCH_KRATOS_PULL_WAITS (courier poll
// settings, "default,50ms"), BENCH_KRATOS_BCRYPT_COST (4);
// BENCH_RESTART=<service> (a rolling deploy of its one instance: after
// everything else, a load point of BENCH_RESTART_ONBOARDINGS (400) at the
// last concurrency during which the service gets SIGTERM
// BENCH_RESTART_AFTER (2s) in and is started again as before; the report
// gives submit → active of the onboardings in flight across it; the service
// may be nats-server or postgres too: the broker, or the database cluster);
// BENCH_REPLICA=<service> (the same load point, during which a second
// instance of the service joins and, 3 s later, leaves);
// BENCH_RESTART_SIGNAL=KILL (the restarted service, or the leaving replica,
// is killed with SIGKILL instead: a crash; the report counts what the stack
// stored and mailed over the point, duplicates included).
func BenchmarkOnboarding(b *testing.B) {
	wd, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	root, err := bench.FindRoot(wd)
	if err != nil {
		b.Fatal(err)
	}
	cfg := bench.DefaultConfig(root)
	cfg.TempDir = os.Getenv("BENCH_TMPDIR")
	n := envInt(b, "BENCH_ONBOARDINGS", 200)
	if v := os.Getenv("BENCH_CONCURRENCY"); v != "" {
		cfg.Points = nil
		for _, f := range strings.Split(v, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || c < 1 {
				b.Fatalf("BENCH_CONCURRENCY=%q: want comma-separated positive integers", v)
			}
			cfg.Points = append(cfg.Points, bench.LoadPoint{N: n, C: c})
		}
	} else {
		for i := range cfg.Points {
			cfg.Points[i].N = n
		}
	}
	cfg.WarmUp = envInt(b, "BENCH_WARMUP", cfg.WarmUp)
	cfg.Timeout = envDuration(b, "BENCH_TIMEOUT", cfg.Timeout)
	cfg.Idle = envDuration(b, "BENCH_IDLE", cfg.Idle)
	if os.Getenv("BENCH_BASELINES") == "0" {
		cfg.PgbenchRuns, cfg.JetStreamRuns = 0, 0
	}
	cfg.Statements = os.Getenv("BENCH_PG_STATEMENTS") == "1"
	cfg.PGMallocDefault = os.Getenv("BENCH_PG_MALLOC") == "default"
	cfg.Unsteady = os.Getenv("BENCH_STEADY") == "0"
	if v := os.Getenv("BENCH_PG_SETTINGS"); v != "" {
		cfg.PGSettings = strings.Split(v, ",")
	}
	cfg.PerfData = os.Getenv("BENCH_PERF")
	cfg.LogDir, cfg.LogLevel = os.Getenv("BENCH_LOGS"), os.Getenv("BENCH_LOG_LEVEL")
	cfg.Trace = envInt(b, "BENCH_TRACE", 0)
	if bin := os.Getenv("BENCH_KRATOS"); bin != "" {
		cfg.Kratos = bench.KratosConfig{Binary: bin, N: envInt(b, "BENCH_KRATOS_ADDRESSES", 200), C: envInt(b, "BENCH_KRATOS_CONCURRENCY", 8),
			WarmUp: 16, BcryptCost: envInt(b, "BENCH_KRATOS_BCRYPT_COST", 4)}
		for _, f := range strings.Split(cmp.Or(os.Getenv("BENCH_KRATOS_PULL_WAITS"), "default,50ms"), ",") {
			f = strings.TrimSpace(f)
			if f == "default" {
				cfg.Kratos.PullWaits = append(cfg.Kratos.PullWaits, 0)
				continue
			}
			d, err := time.ParseDuration(f)
			if err != nil || d <= 0 {
				b.Fatalf("BENCH_KRATOS_PULL_WAITS=%q: want comma-separated durations or \"default\"", f)
			}
			cfg.Kratos.PullWaits = append(cfg.Kratos.PullWaits, d)
		}
	}
	name := os.Getenv("BENCH_RESTART")
	if replica := os.Getenv("BENCH_REPLICA"); replica != "" {
		name, cfg.Replica = replica, true
	}
	if name != "" {
		last := bench.LoadPoint{C: 16}
		if len(cfg.Points) > 0 {
			last = cfg.Points[len(cfg.Points)-1]
		}
		cfg.Restart, cfg.RestartAfter = name, envDuration(b, "BENCH_RESTART_AFTER", 2*time.Second)
		cfg.RestartPoint = bench.LoadPoint{N: envInt(b, "BENCH_RESTART_ONBOARDINGS", 400), C: last.C}
		switch sig := os.Getenv("BENCH_RESTART_SIGNAL"); sig {
		case "", "TERM", "SIGTERM":
			cfg.RestartSignal = syscall.SIGTERM
		case "KILL", "SIGKILL":
			cfg.RestartSignal = syscall.SIGKILL
		default:
			b.Fatalf("BENCH_RESTART_SIGNAL=%q: want TERM or KILL", sig)
		}
	}
	cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench %s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}

	// Ctrl-C stops the stack in order instead of leaving its directory behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b.ResetTimer()
	rep, err := bench.Run(ctx, cfg)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	rep.Print(os.Stdout)
	if path := os.Getenv("BENCH_JSON"); path != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}

	for _, p := range rep.Points {
		c := fmt.Sprintf("@c%d", p.C)
		b.ReportMetric(p.Throughput(), "onb/s"+c)
		b.ReportMetric(float64(p.CPUPerOnboarding())/float64(time.Millisecond), "cpu-ms/onb"+c)
		b.ReportMetric(p.WriteTxPerOnboarding(), "write-tx/onb"+c)
		active := bench.FromSubmit[len(bench.FromSubmit)-1].Latencies(p.Onboardings)
		b.ReportMetric(float64(bench.Percentile(active, 99))/float64(time.Millisecond), "p99-active-ms"+c)
		b.ReportMetric(float64(p.PeakConns.Total), "pg-conns-peak"+c)
	}
	b.ReportMetric(100*rep.IdleBefore.CPU.Cores(""), "idle-cpu-%")
	b.ReportMetric(float64(rep.DeadLetters), "dead-letters")
	if rep.Peer != nil {
		for _, k := range rep.Peer.Runs {
			w := "default"
			if k.PullWait > 0 {
				w = k.PullWait.String()
			}
			b.ReportMetric(float64(k.PerAddress())/float64(time.Millisecond), "kratos-cpu-ms/addr@"+w)
			b.ReportMetric(float64(bench.Percentile(k.SubmitToMail, 50))/float64(time.Millisecond), "kratos-p50-mail-ms@"+w)
		}
		b.ReportMetric(float64(rep.Peer.Ours.CPU)/float64(time.Millisecond), "ours-cpu-ms/addr")
		if e := rep.Peer.Ours.EmailPart; e.Addresses > 0 {
			b.ReportMetric(float64(e.PerAddress())/float64(time.Millisecond), "ours-email-part-cpu-ms/addr")
		}
		b.ReportMetric(float64(bench.Percentile(rep.Peer.Ours.FirstMail, 50))/float64(time.Millisecond), "ours-p50-mail-ms")
	}
	if len(rep.Baselines.PgbenchTPS) > 0 {
		b.ReportMetric(rep.Baselines.Pgbench(), "pgbench-tx/s")
	}
	if len(rep.Baselines.PublishAsync) > 0 {
		b.ReportMetric(rep.Baselines.Publish(), "js-pub-msg/s")
		b.ReportMetric(rep.Baselines.Consume(), "js-consume-msg/s")
	}
	// The time per op is the whole run's; the metrics above are the figures.
	b.ReportMetric(0, "ns/op")

	// Not timing: correctness the figures rest on.
	if rep.DeadLetters > 0 {
		b.Errorf("%d dead letters on DEADLETTER: an onboarding went wrong somewhere (partnerctl deadletters list on a kept stack)", rep.DeadLetters)
	}
	for _, p := range rep.Points {
		if p.MissingConfirmed > 0 {
			b.Errorf("C=%d: %d active onboardings whose ownership confirmations never showed on the bus", p.C, p.MissingConfirmed)
		}
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration such as 30s", name, v)
	}
	return d
}
