package service_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/timeline/internal/service"
)

// onboardingEvents is one complete onboarding as the timeline sees it: the
// 25 events of the issue-12 measurement, from four producers, about one
// partner.
func onboardingEvents(partner string) []ce.Event {
	var evs []ce.Event
	seq := map[string]uint64{}
	add := func(src, typ string, n int) {
		for range n {
			seq[src]++
			evs = append(evs, event(src, "com.partnerhub."+typ, partner, seq[src], t0, map[string]any{"partner_id": partner}))
		}
	}
	add(srcRegistration, "registration.application.submitted.v1", 1)
	add(srcEmail, "email.challenge.opened.v1", 2)
	add(srcEmail, "email.verification_mail.requested.v1", 2)
	add("/services/notifier", "notifier.mail.delivered.v1", 2)
	add("/services/verification", "verification.case.opened.v1", 1)
	add(srcAgreements, "agreements.acceptance.recorded.v1", 1)
	add("/services/verification", "verification.check.state_changed.v1", 4)
	add(srcEmail, "email.ownership.confirmed.v1", 2)
	add("/services/verification", "verification.task.created.v1", 1)
	add("/services/verification", "verification.task.claimed.v1", 1)
	add("/services/verification", "verification.decision.recorded.v1", 1)
	add("/services/verification", "verification.case.approved.v1", 1)
	add(srcRegistration, "registration.partner.activated.v1", 1)
	add(srcRegistration, "registration.enrollment.status_changed.v1", 3)
	add(srcAgreements, "agreements.acceptance.recorded.v1", 1)
	add(srcRegistration, "registration.enrollment.status_changed.v1", 1)
	return evs
}

// dbCost is what a database's backends did: committed transactions and
// CPU (from /proc, in clock ticks of 10 ms).
type dbCost struct {
	commits int64
	cpu     time.Duration
	goCPU   time.Duration
}

func (e *env) cost(b *testing.B) dbCost {
	ctx := context.Background()
	var c dbCost
	// These two reads commit too: four per phase, against a thousand.
	if err := e.svc.Base.Pool.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.commits); err != nil {
		b.Fatal(err)
	}
	rows, err := e.svc.Base.Pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	var pids []int
	for rows.Next() {
		var pid int
		_ = rows.Scan(&pid)
		pids = append(pids, pid)
	}
	rows.Close()
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		c.cpu += time.Duration(ut+st) * 10 * time.Millisecond
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	c.goCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return c
}

// BenchmarkWebhookCost measures what webhooks add per complete onboarding
// (25 events), one onboarding at a time (no batching across onboardings:
// the dearest case): first without endpoints, then with one endpoint that
// receives every event. It reports, per onboarding, the committed
// transactions of the timeline's database (the feed's reads are not in
// the path), the CPU of its Postgres backends and of this process (the
// service, the embedded NATS and the publisher together), and the
// deliveries.
func BenchmarkWebhookCost(b *testing.B) {
	if testing.Short() {
		b.Skip("needs Postgres and JetStream")
	}
	const onboardings = 40
	for range b.N {
		e := start(b, func(c *service.Config) { c.WebhookAllowInsecure, c.TimerInterval = true, 30*time.Second }) // the default sweep period
		var received atomic.Int64
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			received.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		run := func(prefix string, wantDeliveries int64) (dbCost, time.Duration) {
			before, start := e.cost(b), time.Now()
			for i := range onboardings {
				target := received.Load() + wantDeliveries
				for _, ev := range onboardingEvents(fmt.Sprintf("PG-%s-%04d", prefix, i)) {
					e.publish(ev)
				}
				e.settled()
				testkit.Eventually(b, 10*time.Second, func() error {
					if received.Load() < target {
						return fmt.Errorf("%d deliveries", received.Load())
					}
					return nil
				})
			}
			elapsed := time.Since(start)
			time.Sleep(100 * time.Millisecond) // the last outcomes recorded
			after := e.cost(b)
			return dbCost{commits: after.commits - before.commits, cpu: after.cpu - before.cpu, goCPU: after.goCPU - before.goCPU}, elapsed
		}
		plain, _ := run("BNOH", 0)
		a := e.send(http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": recv.URL})
		if a.status != http.StatusCreated {
			b.Fatalf("register: %d %s", a.status, a.raw)
		}
		hooked, _ := run("BWEB", 25)
		recv.Close()
		per := func(v int64) float64 { return float64(v) / onboardings }
		b.ReportMetric(per(plain.commits), "commits/onb_without")
		b.ReportMetric(per(hooked.commits), "commits/onb_with_1_endpoint")
		b.ReportMetric(per(received.Load()), "deliveries/onb")
		b.ReportMetric(float64(plain.cpu.Milliseconds())/onboardings, "pg_cpu_ms/onb_without")
		b.ReportMetric(float64(hooked.cpu.Milliseconds())/onboardings, "pg_cpu_ms/onb_with")
		b.ReportMetric(float64(plain.goCPU.Milliseconds())/onboardings, "go_cpu_ms/onb_without")
		b.ReportMetric(float64(hooked.goCPU.Milliseconds())/onboardings, "go_cpu_ms/onb_with")
	}
}
